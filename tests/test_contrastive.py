"""L_URA (SPEC §5): values worked by hand, properties, extremes and clear errors."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mini_eau import contrastive as C
from mini_eau.gradcheck import check_backward, registered

# tau = 1/ln 2 turns every e^{S} = e^{cos/tau} into 2^{cos}: cos 1 -> 2, 0 -> 1, -1 -> 1/2
TAU_LN2 = 1.0 / math.log(2.0)
FAST = settings(max_examples=50, deadline=None)


def _loss(anchor, positive, tau=0.5, variant="paper", **kw):
    return float(C.ura_loss_forward(anchor, positive, tau, variant, **kw)[0])


# ------------------------------------------------------------- hand values
def test_cosine_similarity_hand_values():
    # rows chosen so the cosines are 1, 0, -1 and 1/2 (60 degrees); lengths differ on purpose
    a = np.array([[2.0, 0.0], [0.0, 3.0]])
    b = np.array([[1.0, 0.0], [-5.0, 0.0], [1.0, math.sqrt(3.0)]])
    c, _ = C.cosine_similarity_forward(a, b)
    np.testing.assert_allclose(c, [[1.0, -1.0, 0.5], [0.0, 0.0, math.sqrt(3.0) / 2]], atol=1e-15)


def test_three_variants_by_hand_n3():
    # anchor rows (1,0), (0,1), (-3,0); positive rows (1,0), (0,2), (0,-1):
    #   C = [[ 1, 0,  0],
    #        [ 0, 1, -1],
    #        [-1, 0,  0]]
    # and with tau = 1/ln 2, e^S = 2^C = [[2, 1, 1], [1, 2, 1/2], [1/2, 1, 1]].
    anchor = np.array([[1.0, 0.0], [0.0, 1.0], [-3.0, 0.0]])
    positive = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, -1.0]])
    # infonce: l = log(sum_j e^S_ij / e^S_ii)
    #   row1 (2+1+1)/2 = 2, row2 (1+2+1/2)/2 = 7/4, row3 (1/2+1+1)/1 = 5/2; product 35/4
    infonce = math.log(35 / 4) / 3
    # paper: denominator (N-1) e^S_ii + sum_{j!=i} e^S_ij, N - 1 = 2
    #   row1 (4+1+1)/2 = 3, row2 (4+1+1/2)/2 = 11/4, row3 (2+1/2+1)/1 = 7/2; product 231/8
    paper = math.log(231 / 8) / 3
    # official, rows of S: denominator e^S_ii + 2 sum_{j!=i} e^S_ij
    #   row1 (2+4)/2 = 3, row2 (2+3)/2 = 5/2, row3 (1+3)/1 = 4; product 30
    # rows of S^T = [[2,1,1/2],[1,2,1],[1,1/2,1]] (as e^S):
    #   row1 (2+3)/2 = 5/2, row2 (2+4)/2 = 3, row3 (1+3)/1 = 4; product 30 -> same mean
    official = 0.5 * (math.log(30) / 3 + math.log(30) / 3)
    assert _loss(anchor, positive, TAU_LN2, "infonce") == pytest.approx(infonce, rel=1e-12)
    assert _loss(anchor, positive, TAU_LN2, "paper") == pytest.approx(paper, rel=1e-12)
    assert _loss(anchor, positive, TAU_LN2, "official") == pytest.approx(official, rel=1e-12)


def test_official_averages_with_the_transpose_n2():
    # anchor (1,0), (0,1); positive (1,0), (-1,0): C = [[1, -1], [0, 0]], e^S = 2^C = [[2, 1/2], [1, 1]]
    # rows of S:   l1 = log((2 + 2*1/2)/2) = log(3/2),  l2 = log((1 + 2*1)/1) = log 3  -> mean log(9/2)/2
    # rows of S^T: e^{S^T} = [[2, 1], [1/2, 1]]
    #              l1 = log((2 + 2*1)/2) = log 2,      l2 = log((1 + 2*1/2)/1) = log 2 -> mean log 2
    # official = (log(9/2)/2 + log 2)/2 = log(18)/4   (rows alone would give log(9/2)/2)
    anchor = np.array([[1.0, 0.0], [0.0, 1.0]])
    positive = np.array([[1.0, 0.0], [-1.0, 0.0]])
    assert _loss(anchor, positive, TAU_LN2, "official") == pytest.approx(math.log(18) / 4, rel=1e-12)
    # infonce: l1 = log((2 + 1/2)/2) = log(5/4), l2 = log((1+1)/1) = log 2 -> log(5/2)/2;
    # for N = 2 the paper's (N-1) = 1, so paper equals infonce
    assert _loss(anchor, positive, TAU_LN2, "infonce") == pytest.approx(math.log(2.5) / 2, rel=1e-12)
    assert _loss(anchor, positive, TAU_LN2, "paper") == pytest.approx(math.log(2.5) / 2, rel=1e-12)


def test_hand_gradient_of_orthogonal_batch():
    # anchor = positive = I (N = D = 2), tau = 1/ln 2: e^S = [[2, 1], [1, 2]], P = [[2/3, 1/3], [1/3, 2/3]]
    # dL/dS = (P - I)/N = [[-1/6, 1/6], [1/6, -1/6]],  dL/dC = ln2 * dL/dS.
    # Through the product: dL/dâ_1 = sum_j dC_1j b̂_j = ln2 * (-1/6, 1/6); the radial
    # part (â_1 = (1, 0)) is removed and r = 1, so danchor row 1 = ln2 * (0, 1/6).
    eye = np.eye(2)
    _, cache = C.ura_loss_forward(eye, eye, TAU_LN2, "infonce")
    da, dp = C.ura_loss_backward(1.0, cache)
    k = math.log(2.0) / 6
    np.testing.assert_allclose(da, [[0.0, k], [k, 0.0]], atol=1e-15)
    np.testing.assert_allclose(dp, [[0.0, k], [k, 0.0]], atol=1e-15)


# -------------------------------------------------------------- properties
_embeddings = st.integers(2, 6).flatmap(
    lambda n: st.integers(1, 4).flatmap(
        lambda d: st.tuples(
            hnp.arrays(np.float64, (n, d), elements=st.floats(-1e3, 1e3)),
            hnp.arrays(np.float64, (n, d), elements=st.floats(-1e3, 1e3)),
        )
    )
)


def _log_n_minus_1_tolerance(n, tau):
    """How far below log(N-1) rounding may put the paper loss, in ulps.

    The positive's log-domain entry U_ii = (S_ii + log(N-1)) - S_ii is exact in
    exact arithmetic but rounded at the scale of |S_ii| <= 1/tau: up to one ulp
    of 1/tau + log(N-1).  The log-sum-exp and the mean add a few ulps of log(N-1).
    """
    return np.spacing(1.0 / tau + math.log(n - 1)) + 4 * np.spacing(math.log(n - 1))


@FAST
@given(pair=_embeddings, log10_tau=st.floats(-3, 3))
def test_paper_loss_is_at_least_log_n_minus_1(pair, log10_tau):
    # each l_i = -log(e^{S_ii} / ((N-1) e^{S_ii} + ...)) >= log(N-1), up to rounding
    anchor, positive = pair
    n, tau = anchor.shape[0], 10.0 ** log10_tau
    loss = _loss(anchor, positive, tau, "paper")
    assert loss >= math.log(n - 1) - _log_n_minus_1_tolerance(n, tau)


def test_paper_loss_bound_at_sharp_temperature():
    # the case Hypothesis found: 4 orthogonal/opposite unit rows, tau = 0.01.  S_ii = 100,
    # so U_ii = (100 + log 3) - 100 loses bits below ulp(101.1) ~ 1.4e-14: the loss comes
    # out a few ulps of log 3 below log 3 (11 on x86-64), well inside the tolerance.
    a = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    loss = _loss(a, a.copy(), 0.01, "paper")
    assert loss == pytest.approx(math.log(3), abs=_log_n_minus_1_tolerance(4, 0.01))
    assert loss >= math.log(3) - _log_n_minus_1_tolerance(4, 0.01)


def test_offsets_are_not_shared_between_calls():
    b = C._offsets("paper", 4, np)
    b[0, 0] = 99.0  # a caller writing into its B must not change the next caller's
    np.testing.assert_array_equal(C._offsets("paper", 4, np), math.log(3) * np.eye(4))
    np.testing.assert_array_equal(C._offsets("official", 3, np), math.log(2) * (1 - np.eye(3)))
    np.testing.assert_array_equal(C._offsets("infonce", 3, np), np.zeros((3, 3)))


@FAST
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 6), d=st.integers(1, 5),
       variant=st.sampled_from(C.VARIANTS), log10_tau=st.floats(-1, 1))
def test_loss_invariant_to_positive_rescaling_of_rows(seed, n, d, variant, log10_tau):
    rng = np.random.default_rng(seed)
    anchor = rng.standard_normal((n, d))
    positive = rng.standard_normal((n, d))
    # rows of length >= ~0.1 keep eps^2/|row|^2 ~ 1e-14 out of the way
    anchor += 0.1 * np.sign(anchor)
    positive += 0.1 * np.sign(positive)
    tau = 10.0 ** log10_tau
    alpha = 10.0 ** rng.uniform(-2, 2, size=(n, 1))
    beta = 10.0 ** rng.uniform(-2, 2, size=(n, 1))
    base, cache = C.ura_loss_forward(anchor, positive, tau, variant)
    scaled = _loss(alpha * anchor, beta * positive, tau, variant)
    assert scaled == pytest.approx(float(base), rel=1e-10, abs=1e-12)
    # the same fact, differentiated (Euler): a_i . dL/da_i = 0, up to rounding of the
    # gradient w.r.t. the unit rows, whose size is at most 2/tau (|dL/dS| rows sum to <= 2/N)
    da, dp = C.ura_loss_backward(1.0, cache)
    assert np.abs((da * anchor).sum(axis=1)).max() <= 1e-12 / tau
    assert np.abs((dp * positive).sum(axis=1)).max() <= 1e-12 / tau


def test_total_is_the_sum_over_modalities_with_stacked_gradients():
    rng = np.random.default_rng(3)
    anchors, positives = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 4, 2))
    for variant in C.VARIANTS:
        total, cache = C.ura_loss_total_forward(anchors, positives, 0.5, variant)
        parts = [C.ura_loss_forward(anchors[m], positives[m], 0.5, variant) for m in range(3)]
        assert float(total) == pytest.approx(sum(float(p[0]) for p in parts), rel=1e-14)
        da, dp = C.ura_loss_total_backward(2.0, cache)
        assert da.shape == dp.shape == (3, 4, 2)
        for m, (_, c) in enumerate(parts):
            dam, dpm = C.ura_loss_backward(2.0, c)
            np.testing.assert_array_equal(da[m], dam)
            np.testing.assert_array_equal(dp[m], dpm)


def test_components_are_registered_per_variant():
    names = set(registered())
    assert {"cosine_similarity", "ura_loss[paper]", "ura_loss[infonce]", "ura_loss[official]",
            "ura_loss_total"} <= names


# ---------------------------------------------------------------- extremes
def _extreme_inputs():
    rng = np.random.default_rng(7)
    tiny = rng.standard_normal((4, 3))
    tiny[1] *= 1e-12 / np.linalg.norm(tiny[1])  # a row of length 1e-12
    tiny[2] = 0.0  # and one of length exactly 0
    yield "near-zero anchor", tiny, rng.standard_normal((4, 3))
    yield "near-zero positive", rng.standard_normal((4, 3)), tiny.copy()
    yield "all zero", np.zeros((4, 3)), np.zeros((4, 3))
    yield "huge", 1e3 * rng.standard_normal((4, 3)), -1e3 * rng.standard_normal((4, 3))


@pytest.mark.parametrize("variant", C.VARIANTS)
@pytest.mark.parametrize("tau", [1e-3, 1e-1, 1.0, 1e3])
def test_values_and_gradients_finite_at_extremes(variant, tau):
    for what, anchor, positive in _extreme_inputs():
        loss, cache = C.ura_loss_forward(anchor, positive, tau, variant)
        da, dp = C.ura_loss_backward(1.0, cache)
        assert np.isfinite(loss), what
        assert np.all(np.isfinite(da)) and np.all(np.isfinite(dp)), what
        total, tcache = C.ura_loss_total_forward(np.stack([anchor, positive]), np.stack([positive, anchor]),
                                                 tau, variant)
        assert np.isfinite(total) and all(np.all(np.isfinite(g)) for g in C.ura_loss_total_backward(1.0, tcache))


@pytest.mark.parametrize("variant", C.VARIANTS)
def test_extreme_gradients_are_right_not_just_finite(variant):
    # the hand backward agrees with autograd on the same forward where the
    # normalisation is steepest (row lengths 1e-12 and 0) and tau is small
    for what, anchor, positive in _extreme_inputs():
        report = check_backward(C.ura_loss_forward, C.ura_loss_backward, [anchor, positive, 1e-2, variant],
                                diff=[0, 1], use_fd=False)
        assert all(r.autograd_rel_error <= 1e-10 for r in report.rows), (what, report.table())


def test_zero_row_has_zero_similarity_and_cosines_stay_in_range():
    a = np.array([[0.0, 0.0], [1e-12, 0.0], [3.0, 4.0]])
    c, cache = C.cosine_similarity_forward(a, a)
    np.testing.assert_array_equal(c[0], 0.0)
    assert np.all(np.abs(c) <= 1.0)
    assert c[2, 2] == pytest.approx(1.0, abs=1e-15)
    da, db = C.cosine_similarity_backward(np.ones_like(c), cache)
    assert np.all(np.isfinite(da)) and np.all(np.isfinite(db))


# ------------------------------------------------------------------ errors
def test_error_messages_name_the_argument():
    x = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"anchor: expected shape \(N >= 2, D >= 1\), got \(1, 2\)"):
        C.ura_loss_forward(np.ones((1, 2)), np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"variant: expected one of \('paper', 'infonce', 'official'\)"):
        C.ura_loss_forward(x, x, variant="grace")
    with pytest.raises(ValueError, match=r"tau: expected a finite number > 0"):
        C.ura_loss_forward(x, x, tau=0.0)
    with pytest.raises(ValueError, match=r"tau: expected a finite number > 0"):
        C.ura_loss_forward(x, x, tau=-0.5)
    with pytest.raises(ValueError, match=r"positive: expected shape \(3, 2\), got \(3, 4\)"):
        C.ura_loss_forward(x, np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"positive: expected shape \(3, 2\), got \(4, 2\)"):
        C.ura_loss_forward(x, np.ones((4, 2)))
    with pytest.raises(ValueError, match="anchor: expected a 2-d array"):
        C.ura_loss_forward(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"anchor: expected shape \(N >= 2, D >= 1\), got \(3, 0\)"):
        C.ura_loss_forward(np.ones((3, 0)), np.ones((3, 0)))
    with pytest.raises(ValueError, match="positive: contains NaN or inf"):
        C.ura_loss_forward(x, np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="eps: expected a finite number > 0"):
        C.ura_loss_forward(x, x, eps=0.0)
    with pytest.raises(ValueError, match=r"b: expected shape \(K, 2\)"):
        C.cosine_similarity_forward(x, np.ones((3, 3)))


def test_total_error_messages_name_the_argument():
    s = np.ones((2, 3, 2))
    with pytest.raises(ValueError, match=r"anchors: expected shape \(M >= 2, N >= 2, D\), got \(2, 1, 2\)"):
        C.ura_loss_total_forward(np.ones((2, 1, 2)), np.ones((2, 1, 2)))
    with pytest.raises(ValueError, match=r"anchors: expected shape \(M >= 2, N >= 2, D\), got \(1, 3, 2\)"):
        C.ura_loss_total_forward(np.ones((1, 3, 2)), np.ones((1, 3, 2)))
    with pytest.raises(ValueError, match=r"positives: expected shape \(2, 3, 2\)"):
        C.ura_loss_total_forward(s, np.ones((3, 3, 2)))
    with pytest.raises(ValueError, match="variant: expected one of"):
        C.ura_loss_total_forward(s, s, variant="Paper")
    with pytest.raises(ValueError, match="tau: expected a finite number > 0"):
        C.ura_loss_total_forward(s, s, tau=float("inf"))
