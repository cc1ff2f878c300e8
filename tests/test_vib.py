"""VIB loss (SPEC §7): hand values, its two terms, the eps = 0 and beta = 0 limits, extremes, errors."""
import math

import numpy as np
import pytest

from mini_eau.gaussian import gaussian_head_forward
from mini_eau.kl import kl_standard_normal_forward
from mini_eau.layers import softmax, softmax_cross_entropy_forward
from mini_eau.vib import vib_loss_backward, vib_loss_forward, vib_predict


def _params(rng, d_in=3, d_z=2, k=4):
    return [rng.standard_normal((d_in, d_z)), rng.standard_normal(d_z),
            rng.standard_normal((d_in, d_z)), rng.standard_normal(d_z),
            rng.standard_normal((d_z, k)), rng.standard_normal(k)]


# a one-dimensional code worked by hand:
#   x = 1, W_mu = 0.5, b_mu = 0 -> mu_f = 0.5;  W_s = b_s = 0 -> bound(0) = 0 -> s_f = 0 (sigma = 1)
#   eps = 2 -> z_f = 0.5 + 1 * 2 = 2.5
#   KL = 1/2 (e^0 + 0.5^2 - 1 - 0) = 0.125
HAND = dict(x=np.array([[1.0]]), W_mu=np.array([[0.5]]), b_mu=np.zeros(1), W_s=np.zeros((1, 1)), b_s=np.zeros(1),
            eps=np.array([[2.0]]))


def test_classification_hand_value():
    # logits = 2.5 * (1, -1) = (2.5, -2.5); label 0 -> CE = log(1 + e^{-5})
    # loss = log(1 + e^{-5}) + 0.5 * 0.125
    h = HAND
    loss, _ = vib_loss_forward(h["x"], h["W_mu"], h["b_mu"], h["W_s"], h["b_s"], np.array([[1.0, -1.0]]), np.zeros(2),
                               h["eps"], np.array([0]), beta=0.5)
    assert loss == pytest.approx(math.log1p(math.exp(-5.0)) + 0.0625, rel=1e-14)


def test_beta_zero_is_the_task_loss_of_the_sampled_code():
    rng = np.random.default_rng(0)
    n, k = 5, 4
    x, eps = rng.standard_normal((n, 3)), rng.standard_normal((n, 2))
    p = _params(rng, k=k)
    y = rng.integers(0, k, n)
    loss, _ = vib_loss_forward(x, *p, eps, y, beta=0.0)
    (mu, s), _ = gaussian_head_forward(x, *p[:4])
    z = mu + np.exp(s / 2) * eps
    a = z @ p[4] + p[5]
    want = softmax_cross_entropy_forward(a, y)[0]
    assert loss == pytest.approx(want, rel=1e-13)


@pytest.mark.parametrize("beta", [1e-3, 0.5, 7.0])
def test_kl_term_is_beta_times_mean_prior_kl(beta):
    rng = np.random.default_rng(1)
    n, k = 6, 3
    x, eps = rng.standard_normal((n, 4)), rng.standard_normal((n, 2))
    p = _params(rng, d_in=4, k=k)
    y = rng.integers(0, k, n)
    with_kl, _ = vib_loss_forward(x, *p, eps, y, beta=beta)
    without, _ = vib_loss_forward(x, *p, eps, y, beta=0.0)
    (mu, s), _ = gaussian_head_forward(x, *p[:4])
    kl, _ = kl_standard_normal_forward(mu, s)
    assert with_kl - without == pytest.approx(beta * kl.mean(), rel=1e-10)


def test_eps_zero_decodes_the_mean_code():
    rng = np.random.default_rng(2)
    n = 4
    x, p = rng.standard_normal((n, 3)), _params(rng)
    y = rng.integers(0, 4, n)
    loss, _ = vib_loss_forward(x, *p, np.zeros((n, 2)), y, beta=0.0)
    (mu, _), _ = gaussian_head_forward(x, *p[:4])
    assert loss == pytest.approx(softmax_cross_entropy_forward(mu @ p[4] + p[5], y)[0], rel=1e-13)
    # and prediction through S zero draws equals the deterministic prediction dec(mu_f)
    np.testing.assert_allclose(vib_predict(x, *p, eps=np.zeros((3, n, 2))), vib_predict(x, *p), rtol=1e-14)
    # with eps = 0 no gradient reaches s_f through the sample: only the KL (beta = 0 here) could
    grads = vib_loss_backward(1.0, vib_loss_forward(x, *p, np.zeros((n, 2)), y, beta=0.0)[1])
    np.testing.assert_array_equal(grads[3], 0.0)
    np.testing.assert_array_equal(grads[4], 0.0)


def test_predict_averages_sampled_predictions():
    rng = np.random.default_rng(3)
    n, k, S = 5, 3, 4
    x, p = rng.standard_normal((n, 3)), _params(rng, k=k)
    eps = rng.standard_normal((S, n, 2))
    (mu, s), _ = gaussian_head_forward(x, *p[:4])
    outs = []
    for t in range(S):
        a = (mu + np.exp(s / 2) * eps[t]) @ p[4] + p[5]
        outs.append(softmax(a))
    got = vib_predict(x, *p, eps=eps)
    np.testing.assert_allclose(got, np.mean(outs, axis=0), rtol=1e-13)
    assert got.shape == (n, k)
    np.testing.assert_allclose(got.sum(axis=1), 1.0)


def test_extreme_inputs_give_finite_loss_and_gradients():
    rng = np.random.default_rng(4)
    n, k = 6, 3
    x = 1e3 * rng.standard_normal((n, 3))
    x[0] = [1e3, -1e3, 1e3]
    p = _params(rng, k=k)
    p[2] = 50.0 * p[2]  # raw log-variances of order 1e5: the bound must hold them in [-10, 10]
    y = rng.integers(0, k, n)
    loss, cache = vib_loss_forward(x, *p, rng.standard_normal((n, 2)), y, beta=0.5)
    assert np.isfinite(loss)
    for g in vib_loss_backward(1.0, cache):
        assert np.all(np.isfinite(g))
    assert np.all(np.isfinite(vib_predict(x, *p, eps=rng.standard_normal((2, n, 2)))))


def test_errors_name_the_argument():
    rng = np.random.default_rng(6)
    n = 3
    x, p, eps, y = rng.standard_normal((n, 3)), _params(rng), rng.standard_normal((n, 2)), np.array([0, 1, 3])
    with pytest.raises(ValueError, match="task"):
        vib_loss_forward(x, *p, eps, y, task="ranking")
    with pytest.raises(ValueError, match="task"):  # the regression decoder is not built (vib.py)
        vib_loss_forward(x, *p, eps, y, task="regression")
    with pytest.raises(ValueError, match="task"):
        vib_predict(x, *p, task="ranking")
    with pytest.raises(ValueError, match="beta"):
        vib_loss_forward(x, *p, eps, y, beta=-1e-3)
    with pytest.raises(ValueError, match="y: expected integer class labels"):
        vib_loss_forward(x, *p, eps, y.astype(float))
    with pytest.raises(ValueError, match=r"y: labels must lie in \[0, 3\]"):
        vib_loss_forward(x, *p, eps, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="y: expected 3 labels"):
        vib_loss_forward(x, *p, eps, np.array([0, 1]))
    with pytest.raises(ValueError, match="W_mu: expected shape"):
        vib_loss_forward(rng.standard_normal((n, 4)), *p, eps, y)
    with pytest.raises(ValueError, match="W_s: expected shape"):
        vib_loss_forward(x, p[0], p[1], np.zeros((3, 5)), p[3], p[4], p[5], eps, y)
    with pytest.raises(ValueError, match="b_mu: expected shape"):
        vib_loss_forward(x, p[0], np.zeros(5), *p[2:], eps, y)
    with pytest.raises(ValueError, match=r"W_out: expected shape \(2, K >= 2\)"):
        vib_loss_forward(x, *_params(rng, k=1), eps, np.zeros(n, dtype=int))
    with pytest.raises(ValueError, match="b_out: expected shape"):
        vib_loss_forward(x, *p[:5], np.zeros(2), eps, y)
    with pytest.raises(ValueError, match="eps: expected shape"):
        vib_loss_forward(x, *p, rng.standard_normal((n, 3)), y)
    with pytest.raises(ValueError, match=r"eps: expected a 3-d array of shape \(S >= 1, 3, 2\)"):
        vib_predict(x, *p, eps=rng.standard_normal((n, 2)))
    with pytest.raises(ValueError, match="x: expected a 2-d array"):
        vib_loss_forward(np.zeros(3), *p, eps, y)
