"""Uncertainty-weighted fusion (SPEC §6): hand values, properties, extremes, clear errors."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mini_eau.fusion import PER_SAMPLE_VARIANTS, VARIANTS, fuse_backward, fuse_forward, uncertainty_weights

WEIGHTED = [v for v in VARIANTS if v != "mean"]  # the variants whose weights react to s
FAST = settings(max_examples=50, deadline=None)


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


# ------------------------------------------------------------------ hand values
# One sample, two dimensions, two modalities:
#   s^1 = (0, 0)        -> sigma^1 = (1, 1),  u^1 = 1
#   s^2 = (0, 2 ln 3)   -> sigma^2 = (1, 3),  u^2 = 2
#   mu^1 = (1, 0), mu^2 = (0, 1): the fused vector reads off alpha^1 in dim 0 and alpha^2 in dim 1.
S_HAND = np.array([[[0.0, 0.0]], [[0.0, 2 * math.log(3.0)]]])
MU_HAND = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])


def test_paper_hand_value():
    # logits 1/u = (1, 1/2); alpha^1 = e^1 / (e^1 + e^0.5) = sigmoid(1/2) = 0.6224593...
    a1 = _sigmoid(0.5)
    w = uncertainty_weights(S_HAND, variant="paper")
    assert w.shape == (2, 1)
    np.testing.assert_allclose(w[:, 0], [a1, 1 - a1], rtol=1e-14)
    fused, _ = fuse_forward(MU_HAND, S_HAND, variant="paper")
    np.testing.assert_allclose(fused, [[a1, 1 - a1]], rtol=1e-14)


def test_paper_temperature_divides_the_logit():
    # T = 1/2: logits (2, 1); alpha^1 = sigmoid(1) = 0.7310585...
    w = uncertainty_weights(S_HAND, temperature=0.5, variant="paper")
    np.testing.assert_allclose(w[0, 0], _sigmoid(1.0), rtol=1e-14)


def test_per_dim_hand_value():
    # dim 0: logits 1/sigma = (1, 1)   -> (1/2, 1/2)
    # dim 1: logits 1/sigma = (1, 1/3) -> alpha^1 = sigmoid(2/3) = 0.6681877...
    w = uncertainty_weights(S_HAND, variant="per_dim")
    assert w.shape == (2, 1, 2)
    a1 = _sigmoid(2.0 / 3.0)
    np.testing.assert_allclose(w[:, 0, :], [[0.5, a1], [0.5, 1 - a1]], rtol=1e-14)
    fused, _ = fuse_forward(MU_HAND, S_HAND, variant="per_dim")
    np.testing.assert_allclose(fused, [[0.5, 1 - a1]], rtol=1e-14)


def test_per_dim_temperature_divides_the_logit():
    # T = 2: dim 1 logits (1, 1/3) / 2 = (1/2, 1/6) -> alpha^1 = sigmoid(1/3) = 0.5825702...
    w = uncertainty_weights(S_HAND, temperature=2.0, variant="per_dim")
    np.testing.assert_allclose(w[:, 0, 1], [_sigmoid(1 / 3), 1 - _sigmoid(1 / 3)], rtol=1e-14)
    np.testing.assert_allclose(w[:, 0, 0], [0.5, 0.5], rtol=1e-14)
    fused, _ = fuse_forward(MU_HAND, S_HAND, temperature=2.0, variant="per_dim")
    np.testing.assert_allclose(fused, [[0.5, 1 - _sigmoid(1 / 3)]], rtol=1e-14)


def test_official_hand_value():
    # dim 0: logits -sigma^2 = (-1, -1) -> (1/2, 1/2)
    # dim 1: logits -sigma^2 = (-1, -9) -> alpha^1 = sigmoid(8) = 0.9996646...
    a1 = _sigmoid(8.0)
    w = uncertainty_weights(S_HAND, variant="official")
    np.testing.assert_allclose(w[:, 0, :], [[0.5, a1], [0.5, 1 - a1]], rtol=1e-12)
    # T = 4: logits (-1/4, -9/4) in dim 1 -> alpha^1 = sigmoid(2) = 0.8807970...
    w = uncertainty_weights(S_HAND, temperature=4.0, variant="official")
    np.testing.assert_allclose(w[0, 0, 1], _sigmoid(2.0), rtol=1e-14)


def test_precision_hand_value_is_product_of_experts():
    # dim 1: precisions 1/sigma^2 = (1, 1/9) -> alpha^1 = 1 / (1 + 1/9) = 0.9 exactly
    w = uncertainty_weights(S_HAND, variant="precision")
    np.testing.assert_allclose(w[:, 0, :], [[0.5, 0.9], [0.5, 0.1]], rtol=1e-14)
    # T = 2: softmax(-s/2) -> weights proportional to 1/sigma = (1, 1/3) -> alpha^1 = 0.75
    w = uncertainty_weights(S_HAND, temperature=2.0, variant="precision")
    np.testing.assert_allclose(w[:, 0, 1], [0.75, 0.25], rtol=1e-14)


def test_mean_hand_value_and_zero_variance_gradient():
    w = uncertainty_weights(np.zeros((4, 3, 2)), variant="mean")
    assert w.shape == (4, 3)
    np.testing.assert_allclose(w, 0.25, rtol=1e-15)
    rng = np.random.default_rng(0)
    mus, ss = rng.standard_normal((3, 2, 4)), rng.standard_normal((3, 2, 4))
    fused, cache = fuse_forward(mus, ss, variant="mean")
    np.testing.assert_allclose(fused, mus.mean(axis=0), rtol=1e-14)
    dmus, dss = fuse_backward(np.ones((2, 4)), cache)
    np.testing.assert_allclose(dmus, 1.0 / 3.0, rtol=1e-15)
    assert np.all(dss == 0.0)


def test_precision_backward_hand_value():
    # M = 2, N = 1, D = 1, T = 1: alpha = softmax(-s) with s = (0, ln 4) -> alpha = (0.8, 0.2).
    # gamma^m = g mu^m with g = 1, mu = (3, 1): gamma = (3, 1).
    # dL/da^1 = alpha^1 alpha^2 (gamma^1 - gamma^2) = 0.8 * 0.2 * 2 = 0.32, da/ds = -1 -> ds^1 = -0.32, ds^2 = +0.32.
    # dL/dmu = alpha g = (0.8, 0.2).
    ss = np.array([0.0, math.log(4.0)]).reshape(2, 1, 1)
    mus = np.array([3.0, 1.0]).reshape(2, 1, 1)
    fused, cache = fuse_forward(mus, ss, variant="precision")
    np.testing.assert_allclose(fused, [[0.8 * 3 + 0.2 * 1]], rtol=1e-14)
    dmus, dss = fuse_backward(np.ones((1, 1)), cache)
    np.testing.assert_allclose(dmus.ravel(), [0.8, 0.2], rtol=1e-14)
    np.testing.assert_allclose(dss.ravel(), [-0.32, 0.32], rtol=1e-13)


def test_paper_backward_hand_value():
    # S_HAND, MU_HAND, g = (1, 0): only dim 0 counts, gamma = (mu^1_0, mu^2_0) = (1, 0).
    # alpha^1 = sigmoid(1/2) =: p; dL/da^1 = p(1-p)(1 - 0), dL/da^2 = -p(1-p).
    # da^1/ds^1_d = -a^1 (sigma^1_d/u^1) / (2D) = -1 * 1 / 4 for both d.
    # da^2/ds^2_d = -a^2 (sigma^2_d/u^2) / (2D) = -(1/2)(sigma_d/2)/4 = (-1/16, -3/16).
    p = _sigmoid(0.5)
    q = p * (1 - p)
    _, cache = fuse_forward(MU_HAND, S_HAND, variant="paper")
    _, dss = fuse_backward(np.array([[1.0, 0.0]]), cache)
    np.testing.assert_allclose(dss[:, 0, :], [[-q / 4, -q / 4], [q / 16, 3 * q / 16]], rtol=1e-13)


# ------------------------------------------------------------------- properties
def _stack(M, N, D, lo, hi):
    return arrays(np.float64, (M, N, D), elements=st.floats(lo, hi, allow_nan=False, allow_infinity=False))


@st.composite
def _weight_inputs(draw, lo=-50.0, hi=50.0):
    M, N, D = draw(st.integers(2, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ss = draw(_stack(M, N, D, lo, hi))
    T = 10.0 ** draw(st.floats(-3.0, 3.0))
    return ss, T


@FAST
@given(_weight_inputs(), st.sampled_from(VARIANTS))
def test_weights_are_a_distribution_over_modalities(inputs, variant):
    ss, T = inputs
    w = uncertainty_weights(ss, temperature=T, variant=variant)
    M, N, D = ss.shape
    assert w.shape == ((M, N) if variant in PER_SAMPLE_VARIANTS else (M, N, D))
    assert np.all(np.isfinite(w))
    assert np.all((w >= 0.0) & (w <= 1.0))
    np.testing.assert_allclose(w.sum(axis=0), 1.0, rtol=1e-12)


@FAST
@given(_weight_inputs(), st.sampled_from(VARIANTS), st.floats(-1e3, 1e3))
def test_fused_mean_lies_between_the_modality_means(inputs, variant, scale):
    # a convex combination: never outside [min_m mu^m, max_m mu^m]
    ss, T = inputs
    mus = scale * np.cos(np.arange(ss.size, dtype=float)).reshape(ss.shape)
    fused, _ = fuse_forward(mus, ss, temperature=T, variant=variant)
    tol = 1e-12 * (1 + abs(scale))
    assert np.all(fused >= mus.min(axis=0) - tol) and np.all(fused <= mus.max(axis=0) + tol)


@FAST
@given(_weight_inputs(-2.0, 2.0), st.integers(0, 3), st.floats(0.05, 2.0), st.floats(0.5, 2.0),
       st.sampled_from(WEIGHTED))
def test_weight_strictly_falls_as_variance_rises(inputs, which, step, T, variant):
    # moderate ranges: logit gaps stay below ~15 (official: e^2 / 0.5), so no weight rounds to 0 or 1
    ss, _ = inputs
    m = which % ss.shape[0]
    raised = ss.copy()
    raised[m] += step  # every dimension of modality m becomes noisier
    before = uncertainty_weights(ss, temperature=T, variant=variant)[m]
    after = uncertainty_weights(raised, temperature=T, variant=variant)[m]
    assert np.all(after < before)


@pytest.mark.parametrize("variant", WEIGHTED)
@pytest.mark.parametrize("T", [0.5, 1.0, 2.0])
def test_weight_falls_step_by_step(variant, T):
    # modality 0's log-variance climbs from -3 to 3 while the other two stay put
    rng = np.random.default_rng(1)
    base = rng.uniform(-1.0, 1.0, (3, 2, 2))
    trace = []
    for s0 in np.linspace(-3.0, 3.0, 13):
        ss = base.copy()
        ss[0] = s0
        trace.append(uncertainty_weights(ss, temperature=T, variant=variant)[0])
    assert np.all(np.diff(np.array(trace), axis=0) < 0)


@FAST
@given(_weight_inputs(-5.0, 5.0))
def test_precision_fuses_like_a_product_of_gaussian_experts(inputs):
    # the mean of prod_m N(mu^m, sigma_m^2) is sum_m mu^m / sigma_m^2 / sum_m 1 / sigma_m^2
    ss, _ = inputs
    mus = np.sin(np.arange(ss.size, dtype=float)).reshape(ss.shape)
    prec = np.exp(-ss)
    fused, _ = fuse_forward(mus, ss, variant="precision")
    np.testing.assert_allclose(fused, (prec * mus).sum(0) / prec.sum(0), rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------- extremes
def _extreme_inputs():
    # log-variances at the contract's edges, variances a million times apart, means of size 1e3
    s = np.array([
        [[-50.0, -50.0, 50.0], [0.0, 0.0, 0.0], [-50.0, 0.0, 50.0], [0.0, math.log(1e6), -50.0]],
        [[50.0, -50.0, -50.0], [math.log(1e6), math.log(1e6), 0.0], [-50.0, 0.0, 50.0], [0.0, 0.0, 50.0]],
        [[0.0, 50.0, -49.0], [-50.0, -50.0, -50.0], [50.0, 50.0, 50.0], [-13.8, 13.8, 0.0]],
    ])
    mus = 1e3 * np.cos(np.arange(s.size)).reshape(s.shape)
    return mus, s


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("T", [1e-3, 1e-1, 1.0, 1e1, 1e3])
def test_extreme_values_stay_finite(variant, T):
    mus, ss = _extreme_inputs()
    for M in (2, 3):
        w = uncertainty_weights(ss[:M], temperature=T, variant=variant)
        fused, cache = fuse_forward(mus[:M], ss[:M], temperature=T, variant=variant)
        dmus, dss = fuse_backward(np.full(fused.shape, 1e3), cache)
        for x in (w, fused, dmus, dss):
            assert np.all(np.isfinite(x))
        np.testing.assert_allclose(w.sum(axis=0), 1.0, rtol=1e-12)


@pytest.mark.parametrize("variant", WEIGHTED)
def test_all_equal_extreme_variances_share_the_weight(variant):
    # equal huge logits (e.g. 1/sigma = e^25 / 1e-3): the max-shift leaves exactly 1/M, gradients finite
    for s in (-50.0, 50.0):
        ss = np.full((3, 2, 2), s)
        mus = 1e3 * np.arange(12.0).reshape(3, 2, 2)
        fused, cache = fuse_forward(mus, ss, temperature=1e-3, variant=variant)
        np.testing.assert_allclose(fused, mus.mean(axis=0), rtol=1e-12)
        assert all(np.all(np.isfinite(g)) for g in fuse_backward(np.ones((2, 2)), cache))


def test_million_fold_variance_ratio():
    # sigma_2^2 = 1e6 sigma_1^2: product of experts gives alpha^1 = 1 / (1 + 1e-6)
    ss = np.array([0.0, math.log(1e6)]).reshape(2, 1, 1)
    w = uncertainty_weights(ss, variant="precision")
    np.testing.assert_allclose(w.ravel(), [1 / (1 + 1e-6), 1e-6 / (1 + 1e-6)], rtol=1e-12)
    # the paper's rule with sigma ratio 1000: logits (1, 1e-3) -> alpha^1 = sigmoid(0.999)
    w = uncertainty_weights(ss, variant="paper")
    np.testing.assert_allclose(w[0, 0], _sigmoid(0.999), rtol=1e-12)


@pytest.mark.parametrize("variant", WEIGHTED)
def test_saturated_softmax_has_exactly_zero_variance_gradient(variant):
    # modality 0 is certain (s = -50), modality 1 vague (s = 50), T = 1e-3: alpha = (1, 0) exactly
    ss = np.stack([np.full((2, 3), -50.0), np.full((2, 3), 50.0)])
    mus = np.stack([np.ones((2, 3)), -np.ones((2, 3))]) * 1e3
    fused, cache = fuse_forward(mus, ss, temperature=1e-3, variant=variant)
    np.testing.assert_array_equal(fused, 1e3)
    dmus, dss = fuse_backward(np.ones((2, 3)), cache)
    np.testing.assert_array_equal(dmus[0], 1.0)
    np.testing.assert_array_equal(dmus[1], 0.0)
    np.testing.assert_array_equal(dss, 0.0)


def test_nearly_saturated_gradient_is_accurate():
    # precision, s = (0, 46): alpha^2 = e^-46 / (1 + e^-46) ~ 1e-20, so alpha^1 == 1.0 in float64.
    # dL/ds^1 = -alpha^1 alpha^2 (gamma^1 - gamma^2) with gamma = (2, -1): -3 alpha^1 alpha^2 ~ -3e-20.
    # gamma^1 - sum_k alpha^k gamma^k would round to 0 (or to ~1e-16 noise); the pairwise form keeps it.
    ss = np.array([0.0, 46.0]).reshape(2, 1, 1)
    mus = np.array([2.0, -1.0]).reshape(2, 1, 1)
    _, cache = fuse_forward(mus, ss, variant="precision")
    _, dss = fuse_backward(np.ones((1, 1)), cache)
    a2 = math.exp(-46.0) / (1 + math.exp(-46.0))
    expected = -3.0 * (1 - a2) * a2
    np.testing.assert_allclose(dss.ravel(), [expected, -expected], rtol=1e-13)


# ----------------------------------------------------------------------- errors
def test_argument_errors():
    ss = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match="temperature"):
        uncertainty_weights(ss, temperature=0.0)
    with pytest.raises(ValueError, match="temperature"):
        fuse_forward(ss, ss, temperature=-1.0)
    with pytest.raises(ValueError, match="temperature"):
        fuse_forward(ss, ss, temperature=float("inf"))
    with pytest.raises(ValueError, match="variant: expected one of"):
        uncertainty_weights(ss, variant="softmax")
    with pytest.raises(ValueError, match="variant"):
        fuse_forward(ss, ss, variant="Paper")
    with pytest.raises(ValueError, match=r"ss: expected shape \(2, 3, 4\), got \(2, 3, 5\)"):
        fuse_forward(ss, np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match=r"ss: expected shape \(2, 3, 4\), got \(3, 3, 4\)"):
        fuse_forward(ss, np.zeros((3, 3, 4)))
    with pytest.raises(ValueError, match=r"mus: expected shape \(M >= 2, N, D\)"):
        fuse_forward(np.zeros((1, 3, 4)), np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match=r"ss: expected shape \(M >= 2, N, D\)"):
        uncertainty_weights(np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match="mus: expected a 3-d array"):
        fuse_forward(np.zeros((2, 3)), ss)
    with pytest.raises(ValueError, match="ss: expected a 3-d array"):
        fuse_forward(ss, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="ss: contains NaN"):
        uncertainty_weights(np.full((2, 1, 1), np.nan))
    _, cache = fuse_forward(ss, ss)
    with pytest.raises(ValueError, match="dfused: expected shape"):
        fuse_backward(np.zeros((3, 5)), cache)
