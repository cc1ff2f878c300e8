"""Gaussian heads, sampling, closed-form KL and L_UDR (SPEC §2–§4)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from mini_eau.gaussian import bound_backward, bound_forward, gaussian_head_forward, sample_backward, sample_forward
from mini_eau.kl import (kl_gaussians_backward, kl_gaussians_forward, kl_standard_normal_forward,
                         udr_loss_backward, udr_loss_forward)

floats = st.floats(-5, 5, allow_nan=False)


def test_bound_stays_inside_and_is_identity_at_the_centre():
    raw = np.array([-1e6, -50.0, 0.0, 1e-4, 50.0, 1e6])
    s, cache = bound_forward(raw)
    assert np.all(s >= -10) and np.all(s <= 10)
    assert s[2] == 0.0 and s[3] == pytest.approx(1e-4, rel=1e-6)  # slope 1 at the centre
    g = bound_backward(np.ones_like(raw), cache)
    assert np.all(np.isfinite(g)) and g[2] == 1.0
    with pytest.raises(ValueError, match="s_min, s_max"):
        bound_forward(raw, s_min=1.0, s_max=0.0)


def test_bound_at_uneven_limits_by_hand():
    # s_min = -3, s_max = 1: centre c = -1, radius r = 2, s = -1 + 2 tanh((raw + 1) / 2)
    raw = np.array([-1.0, 0.0, 3.0, -5.0])
    s, cache = bound_forward(raw, s_min=-3.0, s_max=1.0)
    np.testing.assert_allclose(s, [-1.0, -1.0 + 2 * math.tanh(0.5), -1.0 + 2 * math.tanh(2.0),
                                   -1.0 + 2 * math.tanh(-2.0)], rtol=1e-15)
    # slope 1 - tanh^2 of the same argument: 1 at the centre
    np.testing.assert_allclose(bound_backward(np.ones(4), cache),
                               [1.0, 1 - math.tanh(0.5) ** 2, 1 - math.tanh(2.0) ** 2, 1 - math.tanh(2.0) ** 2],
                               rtol=1e-14)
    # the head hands its limits to the bound: W_s = b_s = 0 gives s = bound(0)
    (mu, s_head), _ = gaussian_head_forward(np.ones((2, 3)), np.ones((3, 2)), np.zeros(2), np.zeros((3, 2)),
                                            np.zeros(2), s_min=-3.0, s_max=1.0)
    np.testing.assert_allclose(s_head, -1.0 + 2 * math.tanh(0.5), rtol=1e-15)
    np.testing.assert_allclose(mu, 3.0)


def test_sample_is_mu_plus_sigma_eps():
    mu, s, eps = np.array([[1.0, -2.0]]), np.array([[math.log(4.0), 0.0]]), np.array([[0.5, 3.0]])
    z, _ = sample_forward(mu, s, eps)
    np.testing.assert_allclose(z, [[1.0 + 2.0 * 0.5, -2.0 + 3.0]])
    with pytest.raises(ValueError, match="eps: expected shape"):
        sample_forward(mu, s, np.zeros((2, 2)))


def test_sample_statistics_match_the_gaussian():
    rng = np.random.default_rng(0)
    mu, s = np.full((200_000, 1), 1.5), np.full((200_000, 1), math.log(0.25))
    z, _ = sample_forward(mu, s, rng.standard_normal(mu.shape))
    assert abs(z.mean() - 1.5) < 4 * 0.5 / math.sqrt(2e5)
    assert abs(z.var() - 0.25) < 0.01


def test_head_shapes_and_bounded_log_variance():
    rng = np.random.default_rng(1)
    h = 1e3 * rng.standard_normal((4, 3))
    (mu, s), _ = gaussian_head_forward(h, rng.standard_normal((3, 2)), np.zeros(2), rng.standard_normal((3, 2)), np.zeros(2))
    assert mu.shape == s.shape == (4, 2)
    assert np.all(np.abs(s) <= 10)


def test_kl_hand_value():
    # 1-D: p = N(1, e^0 = 1), q = N(0, e^{log 2} = 2):
    # 1/2 [log 2 - 0 + (1 + 1)/2 - 1] = 1/2 log 2
    kl, _ = kl_gaussians_forward(np.array([[1.0]]), np.array([[0.0]]), np.array([[0.0]]), np.array([[math.log(2.0)]]))
    assert kl[0] == pytest.approx(0.5 * math.log(2.0))
    # prior form: mu = 1, s = 0 -> 1/2 [1 + 1 - 1 - 0] = 1/2
    kl0, _ = kl_standard_normal_forward(np.array([[1.0]]), np.array([[0.0]]))
    assert kl0[0] == pytest.approx(0.5)


def test_kl_equals_monte_carlo_within_three_standard_errors():
    rng = np.random.default_rng(2)
    d = 3
    mu_p, s_p = rng.standard_normal((1, d)), 0.5 * rng.standard_normal((1, d))
    mu_q, s_q = rng.standard_normal((1, d)), 0.5 * rng.standard_normal((1, d))
    kl, _ = kl_gaussians_forward(mu_p, s_p, mu_q, s_q)
    n = 200_000
    z = mu_p + np.exp(s_p / 2) * rng.standard_normal((n, d))

    def logpdf(z, mu, s):
        return -0.5 * np.sum(s + (z - mu) ** 2 * np.exp(-s) + math.log(2 * math.pi), axis=1)

    diff = logpdf(z, mu_p, s_p) - logpdf(z, mu_q, s_q)
    se = diff.std(ddof=1) / math.sqrt(n)
    assert abs(diff.mean() - kl[0]) < 3 * se


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (2, 3), elements=floats), arrays(np.float64, (2, 3), elements=floats),
       arrays(np.float64, (2, 3), elements=floats), arrays(np.float64, (2, 3), elements=floats))
def test_kl_non_negative_and_zero_only_for_equal(mu_p, s_p, mu_q, s_q):
    kl, _ = kl_gaussians_forward(mu_p, s_p, mu_q, s_q)
    assert np.all(kl >= -1e-12)
    self_kl, _ = kl_gaussians_forward(mu_p, s_p, mu_p, s_p)
    np.testing.assert_allclose(self_kl, 0.0, atol=1e-12)
    differs = np.any((mu_p != mu_q) | (s_p != s_q), axis=1)
    gap = np.sum((mu_p - mu_q) ** 2 + (s_p - s_q) ** 2, axis=1)
    assert np.all(kl[differs & (gap > 1e-4)] > 0)


def test_kl_extremes_are_finite():
    s = np.array([[-50.0, 50.0, 0.0, -50.0]])
    s_q = np.array([[50.0, -50.0, -50.0, -50.0]])
    mu = np.array([[1e3, -1e3, 1e3, 0.0]])
    kl, cache = kl_gaussians_forward(mu, s, -mu, s_q)
    grads = kl_gaussians_backward(np.ones(1), cache)
    assert np.isfinite(kl).all() and all(np.isfinite(g).all() for g in grads)


def test_udr_for_two_modalities_is_the_jeffreys_divergence_plus_priors():
    rng = np.random.default_rng(3)
    mus, ss = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 3))
    val, _ = udr_loss_forward(mus, ss, lambda_align=0.7, lambda_prior=0.2)
    kl12, _ = kl_gaussians_forward(mus[0], ss[0], mus[1], ss[1])
    kl21, _ = kl_gaussians_forward(mus[1], ss[1], mus[0], ss[0])
    p1, _ = kl_standard_normal_forward(mus[0], ss[0])
    p2, _ = kl_standard_normal_forward(mus[1], ss[1])
    assert val == pytest.approx(np.mean(0.7 * (kl12 + kl21) + 0.2 * (p1 + p2)))


def test_udr_counts_ordered_pairs_for_three_modalities():
    # 3 modalities -> 6 ordered pairs; with identical means and variances 1 vs e
    mus = np.zeros((3, 1, 1))
    ss = np.array([0.0, 1.0, 1.0]).reshape(3, 1, 1)
    val, _ = udr_loss_forward(mus, ss, lambda_align=1.0, lambda_prior=0.0)
    a = 0.5 * (1.0 - 0.0 + math.exp(-1.0) - 1.0)   # KL(N(0,1) || N(0,e))
    b = 0.5 * (0.0 - 1.0 + math.exp(1.0) - 1.0)    # KL(N(0,e) || N(0,1))
    assert val == pytest.approx(2 * a + 2 * b)       # pairs (0,1),(0,2) give a; (1,0),(2,0) give b; (1,2),(2,1) give 0


def test_udr_errors_and_extremes():
    with pytest.raises(ValueError, match=r"mus: expected shape \(M >= 2, N, D\)"):
        udr_loss_forward(np.zeros((1, 2, 3)), np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="ss: expected shape"):
        udr_loss_forward(np.zeros((2, 2, 3)), np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="lambda_align"):
        udr_loss_forward(np.zeros((2, 2, 3)), np.zeros((2, 2, 3)), lambda_align=-1.0)
    with pytest.raises(ValueError, match="mus: contains NaN"):
        udr_loss_forward(np.full((2, 2, 3), np.nan), np.zeros((2, 2, 3)))
    rng = np.random.default_rng(4)
    mus = 1e3 * rng.standard_normal((2, 3, 4))
    ss = rng.uniform(-50, 50, (2, 3, 4))
    val, cache = udr_loss_forward(mus, ss)
    dmus, dss = udr_loss_backward(1.0, cache)
    assert np.isfinite(val) and np.isfinite(dmus).all() and np.isfinite(dss).all()


def test_sample_gradient_extremes():
    s = np.array([[-50.0, 50.0]])
    z, cache = sample_forward(np.array([[1e3, -1e3]]), s, np.array([[1.0, -1.0]]))
    assert np.isfinite(z).all() and all(np.isfinite(g).all() for g in sample_backward(np.ones((1, 2)), cache))


def test_head_errors_name_the_callers_argument():
    # not "W" (the name inside linear_forward): the caller passed W_mu
    with pytest.raises(ValueError, match=r"^W_mu: expected shape \(4, D\), got \(5, 2\)"):
        gaussian_head_forward(np.ones((3, 4)), np.ones((5, 2)), np.ones(2), np.ones((4, 2)), np.ones(2))
    with pytest.raises(ValueError, match=r"^b_s: expected shape \(2,\), got \(3,\)"):
        gaussian_head_forward(np.ones((3, 4)), np.ones((4, 2)), np.ones(2), np.ones((4, 2)), np.ones(3))
