"""TMC and QMF fusion/loss parts (mini_eau.lab.baselines.tmc, .dempster_shafer, .qmf): hand-worked values, properties, extremes, errors."""
import math

import autograd.numpy as anp
import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from mini_eau.lab.baselines import dempster_shafer as DS
from mini_eau.lab.baselines import qmf as Q
from mini_eau.lab.baselines import tmc as T
from mini_eau.gradcheck import check_backward, numerical_gradient, rel_error


def _opinion(alpha):
    alpha = np.asarray(alpha, dtype=float)
    S = alpha.sum(-1, keepdims=True)
    return (alpha - 1) / S, alpha.shape[-1] / S[..., 0]


# ------------------------------------------------------------ DS combination
def test_ds_combine_hand_worked_conflict_k2():
    # alpha1 = (3, 1): S = 4, b1 = (1/2, 0), u1 = 2/4 = 1/2
    # alpha2 = (1, 3): S = 4, b2 = (0, 1/2), u2 = 1/2
    # C = b1_0 b2_1 + b1_1 b2_0 = 1/4,  1 - C = 3/4
    # b_0 = (0 + 1/2 * 1/2 + 0) / (3/4) = 1/3,  b_1 = 1/3 by symmetry,  u = (1/4) / (3/4) = 1/3
    # S = K / u = 6, e = b S = (2, 2), alpha = (3, 3)
    alphas = np.array([[[3.0, 1.0]], [[1.0, 3.0]]])
    alpha, _ = DS.ds_combine_forward(alphas)
    np.testing.assert_allclose(alpha, [[3.0, 3.0]], rtol=1e-14)


def test_ds_combine_hand_worked_agreement_k2():
    # alpha1 = (5, 1): b1 = (4/6, 0) = (2/3, 0), u1 = 2/6 = 1/3
    # alpha2 = (3, 1): b2 = (2/4, 0) = (1/2, 0), u2 = 2/4 = 1/2
    # C = b1_0 b2_1 + b1_1 b2_0 = 0
    # b_0 = 2/3 * 1/2 + 2/3 * 1/2 + 1/2 * 1/3 = 1/3 + 1/3 + 1/6 = 5/6,  b_1 = 0,  u = 1/3 * 1/2 = 1/6
    # S = 2 / (1/6) = 12, e = (10, 0), alpha = (11, 1)
    alphas = np.array([[[5.0, 1.0]], [[3.0, 1.0]]])
    alpha, _ = DS.ds_combine_forward(alphas)
    np.testing.assert_allclose(alpha, [[11.0, 1.0]], rtol=1e-14)


def test_fully_uncertain_opinion_is_neutral():
    # alpha = 1 means no evidence: b = 0, u = 1; then 1 - C = 1, b = b2, u = u2
    rng = np.random.default_rng(0)
    other = 1.0 + rng.exponential(2.0, (3, 4))
    vacuous = np.ones((3, 4))
    for stack in ([vacuous, other], [other, vacuous]):
        alpha, _ = DS.ds_combine_forward(np.stack(stack))
        np.testing.assert_allclose(alpha, other, rtol=1e-13)
    # M = 3, vacuous in the middle: same as combining the outer two
    third = 1.0 + rng.exponential(2.0, (3, 4))
    a3, _ = DS.ds_combine_forward(np.stack([other, vacuous, third]))
    a2, _ = DS.ds_combine_forward(np.stack([other, third]))
    np.testing.assert_allclose(a3, a2, rtol=1e-13)


def test_ds_combine_matches_paper_formula_with_explicit_conflict_sum():
    # C written literally as sum over i != j, against the module's u1 + u2(1-u1) + <b1,b2> form
    rng = np.random.default_rng(1)
    a1, a2 = 1.0 + rng.exponential(3.0, (2, 5, 3))
    b1, u1 = _opinion(a1)
    b2, u2 = _opinion(a2)
    K = 3
    C = sum(b1[:, i] * b2[:, j] for i in range(K) for j in range(K) if i != j)
    b = (b1 * b2 + b1 * u2[:, None] + b2 * u1[:, None]) / (1 - C)[:, None]
    u = u1 * u2 / (1 - C)
    alpha, _ = DS.ds_combine_forward(np.stack([a1, a2]))
    np.testing.assert_allclose(alpha, b * (K / u)[:, None] + 1, rtol=1e-12)


_opinions = st.integers(2, 5).flatmap(
    lambda k: st.lists(st.lists(st.floats(0.0, 10.0), min_size=k + 1, max_size=k + 1), min_size=2, max_size=2)
)


@settings(max_examples=50, deadline=None)
@given(_opinions)
def test_pair_rule_keeps_belief_plus_uncertainty_one(raw):
    # any two opinions (b >= 0, u > 0, sum b + u = 1), not only those from a Dirichlet
    m = np.array(raw) + 1e-3
    m = m / m.sum(axis=1, keepdims=True)
    b1, u1, b2, u2 = m[0, :-1][None], m[0, -1:], m[1, :-1][None], m[1, -1:]
    (b, u), _ = DS._ds_pair_forward(b1, u1, b2, u2)
    assert b.sum() + u[0] == pytest.approx(1.0, abs=1e-12)
    assert np.all(b >= 0) and u[0] <= min(u1[0], u2[0]) * (1 + 1e-12)


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 4), st.integers(2, 5), st.integers(0, 2**32 - 1), st.floats(0.1, 30.0))
def test_combined_uncertainty_never_exceeds_any_modality(M, K, seed, scale):
    rng = np.random.default_rng(seed)
    alphas = 1.0 + rng.exponential(scale, (M, 3, K))
    alpha, _ = DS.ds_combine_forward(alphas)
    u = K / alpha.sum(-1)
    u_m = K / alphas.sum(-1)
    assert np.all(u <= u_m.min(axis=0) * (1 + 1e-12))
    assert np.all(alpha >= 1.0)
    # Dempster's rule is commutative and associative: the order of modalities does not matter
    alpha_rev, _ = DS.ds_combine_forward(alphas[::-1].copy())
    np.testing.assert_allclose(alpha_rev, alpha, rtol=1e-10)


# ------------------------------------------------------------------ EDL loss
def test_edl_loss_hand_worked():
    # sample 0: alpha = (2, 1), y = 0.  S = 3, risk = psi(3) - psi(2) = 1/2  (psi(n+1) = psi(n) + 1/n)
    #           alpha~ = (1, 1) -> KL(Dir(1) || Dir(1)) = 0
    # sample 1: alpha = (2, 1), y = 1.  risk = psi(3) - psi(1) = 1 + 1/2 = 3/2
    #           alpha~ = (2, 1), T = 3: KL = lnG(3) - lnG(2) - lnG(2) - lnG(1) + (2-1)(psi(2) - psi(3)) = ln 2 - 1/2
    # coef = 0.5: mean = (1/2 + 3/2 + 0.5 (ln 2 - 1/2)) / 2
    alpha = np.array([[2.0, 1.0], [2.0, 1.0]])
    loss, _ = T.edl_loss_forward(alpha, np.array([0, 1]), 0.5)
    assert loss == pytest.approx((0.5 + 1.5 + 0.5 * (math.log(2) - 0.5)) / 2, rel=1e-14)


def test_edl_loss_against_direct_formula_and_scipy_entropy():
    rng = np.random.default_rng(2)
    alpha = 1.0 + rng.exponential(2.0, (4, 3))
    y = np.array([0, 2, 1, 2])
    coef = 0.7
    loss, _ = T.edl_loss_forward(alpha, y, coef)
    total = 0.0
    for a, k in zip(alpha, y):
        risk = scipy.special.digamma(a.sum()) - scipy.special.digamma(a[k])
        at = a.copy()
        at[k] = 1.0
        # Dir(1) has the constant density Gamma(K), so KL(Dir(at) || Dir(1)) = -H(Dir(at)) - ln Gamma(K)
        kl = -scipy.stats.dirichlet(at).entropy() - math.lgamma(3)
        total += risk + coef * kl
    assert loss == pytest.approx(total / 4, rel=1e-12)


def test_edl_loss_gradient_of_risk_by_hand():
    # coef = 0, N = 1, alpha = (2, 1), y = 0:  dL/dalpha = psi1(3) - (psi1(2), 0)
    _, cache = T.edl_loss_forward(np.array([[2.0, 1.0]]), np.array([0]), 0.0)
    d = T.edl_loss_backward(1.0, cache)
    psi1_3 = math.pi ** 2 / 6 - 1 - 0.25  # psi1(n) = pi^2/6 - sum_{j<n} 1/j^2
    psi1_2 = math.pi ** 2 / 6 - 1
    np.testing.assert_allclose(d, [[psi1_3 - psi1_2, psi1_3]], rtol=1e-13)


# ------------------------------------------------------------------- TMC loss
def test_tmc_loss_is_sum_of_modality_and_fused_edl():
    rng = np.random.default_rng(3)
    f = 2.0 * rng.standard_normal((3, 4, 3))
    y = np.array([0, 1, 2, 1])
    loss, _ = T.tmc_loss_forward(f, y, 0.4)
    alphas = np.logaddexp(0.0, f) + 1.0
    parts = [T.edl_loss_forward(a, y, 0.4)[0] for a in alphas]
    parts.append(T.edl_loss_forward(DS.ds_combine_forward(alphas)[0], y, 0.4)[0])
    assert loss == pytest.approx(sum(parts), rel=1e-13)


def test_tmc_predict_probabilities_and_uncertainty():
    f = np.array([[[0.0, 0.0]], [[0.0, 0.0]]])
    probs, u = T.tmc_predict(f)
    np.testing.assert_allclose(probs, [[0.5, 0.5]])
    # each modality: e = ln 2, S = 2 + 2 ln 2, u = 1/(1 + ln 2); fused u is smaller than either
    assert 0 < u[0] < 1 / (1 + math.log(2))
    # evidence for class 0 in both views: prediction follows it, and uncertainty drops
    probs, u2 = T.tmc_predict(np.array([[[8.0, -8.0]], [[6.0, -6.0]]]))
    assert probs[0, 0] > 0.9 and u2[0] < u[0]


@pytest.mark.parametrize("scale", [50.0, 1e3])
def test_tmc_extremes_are_finite(scale):
    K = 3
    # samples (columns): 0 full conflict, 1 no evidence in any view, 2 saturated / mixed evidence
    f = np.array([
        [[scale, -scale, -scale], [-scale] * K, [scale] * K],
        [[-scale, scale, -scale], [-scale] * K, [scale, -scale, scale]],
        [[-scale, -scale, scale], [-scale] * K, [-scale] * K],
    ])
    y = np.array([0, 1, 2])
    loss, cache = T.tmc_loss_forward(f, y, 1.0)
    d = T.tmc_loss_backward(1.0, cache)
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    probs, u = T.tmc_predict(f)
    assert np.all(np.isfinite(probs)) and np.all((u > 0) & (u <= 1))
    np.testing.assert_allclose(probs.sum(1), 1.0)
    # sample 1 has no evidence anywhere (logits -scale): the fused opinion stays vacuous
    assert u[1] == pytest.approx(1.0)


def test_tmc_gradient_at_fifty_matches_autograd():
    rng = np.random.default_rng(4)
    f = 50.0 * np.sign(rng.standard_normal((2, 3, 4)))
    rep = check_backward(T.tmc_loss_forward, T.tmc_loss_backward, [f, np.array([0, 3, 1]), 1.0],
                         diff=[0], use_fd=False)
    assert rep.rows[0].autograd_rel_error < 1e-10


# ------------------------------------------------------------------------ QMF
def test_qmf_weights_and_prediction_hand_case():
    # modality 1: f = (0, 0)       -> lse = ln 2,          w = ln 2 / 10
    # modality 2: f = (ln 3, 0)    -> lse = ln(3 + 1) = 2 ln 2, w = 2 ln 2 / 10
    # fused = w2 * (ln 3, 0) = (0.2 ln 2 ln 3, 0) -> p_0 = sigmoid(0.2 ln 2 ln 3)
    f = np.array([[[0.0, 0.0]], [[math.log(3.0), 0.0]]])
    w = Q.qmf_weights(f)
    np.testing.assert_allclose(w, [[math.log(2) / 10], [2 * math.log(2) / 10]], rtol=1e-14)
    p = Q.qmf_predict(f)
    t = 0.2 * math.log(2) * math.log(3)
    np.testing.assert_allclose(p, [[1 / (1 + math.exp(-t)), 1 / (1 + math.exp(t))]], rtol=1e-14)
    # loss with y = 0: CE1 = ln 2, CE2 = ln(4/3), fused CE = ln(1 + e^{-t})
    loss, _ = Q.qmf_loss_forward(f, np.array([0]))
    assert loss == pytest.approx(math.log(2) + math.log(4 / 3) + math.log1p(math.exp(-t)), rel=1e-14)


def test_qmf_weights_are_detached_under_autograd():
    # autograd on the default forward (weights computed inside) agrees with the detached backward
    rng = np.random.default_rng(5)
    f = 2.0 * rng.standard_normal((3, 4, 3))
    y = np.array([0, 2, 1, 1])
    rep = check_backward(Q.qmf_loss_forward, Q.qmf_loss_backward, [f, y], diff=[0], use_fd=False)
    assert rep.rows[0].autograd_rel_error < 1e-10


def test_qmf_full_derivative_adds_exactly_the_documented_term():
    # finite differences of the default forward see w move with f; the difference to the
    # detached backward is (1/(10N)) p^m_k sum_j (p_j - Y_j) f^m_j
    rng = np.random.default_rng(6)
    f = 2.0 * rng.standard_normal((2, 3, 4))
    y = np.array([3, 0, 1])
    N = 3
    _, cache = Q.qmf_loss_forward(f, y)
    detached = Q.qmf_loss_backward(1.0, cache)
    full = numerical_gradient(lambda x: Q.qmf_loss_forward(x, y)[0], f.copy())
    pm = scipy.special.softmax(f, axis=2)
    p = Q.qmf_predict(f)
    Y = np.eye(4)[y]
    extra = pm * np.sum((p - Y)[None] * f, axis=2, keepdims=True) / (10 * N)
    assert rel_error(full, detached + extra) < 1e-7
    assert rel_error(full, detached) > 1e-3  # the term is not negligible


@pytest.mark.parametrize("scale", [50.0, 1e3])
def test_qmf_extremes_are_finite(scale):
    f = np.array([[[scale, -scale], [-scale, -scale]], [[-scale, scale], [scale, scale]]])
    y = np.array([1, 0])
    loss, cache = Q.qmf_loss_forward(f, y)
    d = Q.qmf_loss_backward(1.0, cache)
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    assert np.all(np.isfinite(Q.qmf_predict(f)))


# --------------------------------------------------------------------- errors
def test_error_messages():
    f = np.zeros((2, 3, 4))
    y = np.array([0, 1, 2])
    with pytest.raises(ValueError, match="logits: expected a 3-d array"):
        T.tmc_loss_forward(np.zeros((3, 4)), y, 1.0)
    with pytest.raises(ValueError, match=r"logits: expected shape \(M >= 2"):
        T.tmc_loss_forward(np.zeros((1, 3, 4)), y, 1.0)
    with pytest.raises(ValueError, match=r"logits: expected shape \(M >= 2"):
        Q.qmf_loss_forward(np.zeros((1, 3, 4)), y)
    with pytest.raises(ValueError, match=r"alphas: expected shape \(M >= 2"):
        DS.ds_combine_forward(np.ones((1, 3, 4)))
    with pytest.raises(ValueError, match=r"y: labels must lie in \[0, 3\]"):
        T.tmc_loss_forward(f, np.array([0, 1, 4]), 1.0)
    with pytest.raises(ValueError, match="y: labels must lie"):
        Q.qmf_loss_forward(f, np.array([-1, 1, 2]))
    with pytest.raises(ValueError, match="y: expected 3 labels"):
        T.edl_loss_forward(np.ones((3, 4)), np.array([0, 1]), 1.0)
    with pytest.raises(ValueError, match="annealing_coef: expected a finite number >= 0"):
        T.tmc_loss_forward(f, y, -0.1)
    with pytest.raises(ValueError, match="annealing_coef"):
        T.edl_loss_forward(np.ones((3, 4)), y, float("nan"))
    with pytest.raises(ValueError, match="alpha: expected Dirichlet parameters"):
        T.edl_loss_forward(np.full((3, 4), 0.5), y, 1.0)
    with pytest.raises(ValueError, match="alphas: expected Dirichlet parameters"):
        DS.ds_combine_forward(np.full((2, 3, 4), 0.9))
    with pytest.raises(ValueError, match="alpha: expected a 2-d array"):
        T.edl_loss_forward(np.ones((2, 3, 4)), y, 1.0)
    with pytest.raises(ValueError, match=r"weights: expected shape \(2, 3\)"):
        Q.qmf_loss_forward(f, y, weights=np.ones((3, 2)))
    with pytest.raises(ValueError, match="logits: contains NaN"):
        T.tmc_predict(np.full((2, 3, 4), np.nan))


def test_special_module_follows_array_module():
    import autograd.scipy.special

    assert T._special(np) is scipy.special
    assert T._special(anp) is autograd.scipy.special
    with pytest.raises(TypeError, match="special-function module"):
        T._special(math)


def test_trigamma_values():
    # psi1(1) = pi^2/6, psi1(2) = pi^2/6 - 1; the order goes in as an array (CuPy needs that)
    np.testing.assert_allclose(T._trigamma(np.array([1.0, 2.0]), np), [math.pi ** 2 / 6, math.pi ** 2 / 6 - 1],
                               rtol=1e-14)
