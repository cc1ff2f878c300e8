"""Layers and losses: values worked by hand, extremes, and clear errors."""
import math

import numpy as np
import pytest

from mini_eau import layers as L


def test_linear_value_and_shape_errors():
    x = np.array([[1.0, 2.0]])
    W = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
    out, _ = L.linear_forward(x, W, np.array([0.5, 0.0, -1.0]))
    np.testing.assert_allclose(out, [[1.5, 2.0, 3.0]])
    with pytest.raises(ValueError, match="W: expected shape"):
        L.linear_forward(x, np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="b: expected shape"):
        L.linear_forward(x, W, np.ones(2))
    with pytest.raises(ValueError, match="x: expected a 2-d array"):
        L.linear_forward(np.ones(2), W, np.ones(3))
    with pytest.raises(ValueError, match="x: contains NaN or inf"):
        L.linear_forward(np.array([[np.nan, 1.0]]), W, np.ones(3))


def test_softmax_cross_entropy_hand_value():
    # logits (0, log 3): p = (1/4, 3/4); label 1 -> -log(3/4)
    loss, _ = L.softmax_cross_entropy_forward(np.array([[0.0, math.log(3.0)]]), np.array([1]))
    assert loss == pytest.approx(-math.log(0.75))


def test_softmax_cross_entropy_huge_logits_are_finite():
    z = np.array([[1e4, -1e4, 0.0], [-1e300, 1e300, 5.0]])
    y = np.array([1, 0])
    loss, cache = L.softmax_cross_entropy_forward(z, y)
    assert np.isfinite(loss)
    assert np.all(np.isfinite(L.softmax_cross_entropy_backward(1.0, cache)))


def test_softmax_cross_entropy_label_errors():
    z = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"y: labels must lie in \[0, 2\]"):
        L.softmax_cross_entropy_forward(z, np.array([0, 3]))
    with pytest.raises(ValueError, match="y: labels must lie"):
        L.softmax_cross_entropy_forward(z, np.array([-1, 0]))
    with pytest.raises(ValueError, match="y: expected integer class labels"):
        L.softmax_cross_entropy_forward(z, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="y: expected 2 labels"):
        L.softmax_cross_entropy_forward(z, np.array([0, 1, 1]))


def test_softplus_and_sigmoid_extremes():
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    out, cache = L.softplus_forward(x)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[[2, 4]], [math.log(2.0), 1000.0])
    d = L.softplus_backward(np.ones_like(x), cache)
    np.testing.assert_allclose(d[[0, 2, 4]], [0.0, 0.5, 1.0], atol=1e-300)


def test_relu_tanh_values():
    out, _ = L.relu_forward(np.array([-1.0, 2.0]))
    np.testing.assert_allclose(out, [0.0, 2.0])
    out, cache = L.tanh_forward(np.array([0.0]))
    assert L.tanh_backward(np.array([1.0]), cache)[0] == 1.0


def test_dropout_is_inverted_and_checks_arguments():
    x = np.ones((2, 2))
    mask = np.array([[1.0, 0.0], [1.0, 1.0]])
    out, _ = L.dropout_forward(x, mask, 0.5)
    np.testing.assert_allclose(out, [[2.0, 0.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match="mask: expected shape"):
        L.dropout_forward(x, np.ones((2, 3)), 0.5)
    with pytest.raises(ValueError, match="keep_prob"):
        L.dropout_forward(x, mask, 0.0)


def test_mse_and_gaussian_nll_hand_values():
    loss, _ = L.mse_forward(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    assert loss == 5.0
    # s = 0, residual 1: 1/2 (0 + 1 + log 2 pi)
    loss, _ = L.gaussian_nll_forward(np.array([0.0]), np.array([0.0]), np.array([1.0]))
    assert loss == pytest.approx(0.5 * (1 + math.log(2 * math.pi)))
    with pytest.raises(ValueError, match="s: expected shape"):
        L.gaussian_nll_forward(np.zeros(2), np.zeros(3), np.zeros(2))


def test_gaussian_nll_variance_gradient_zero_at_the_residual():
    # d/ds vanishes exactly when e^s equals the squared residual
    r = 0.7
    _, cache = L.gaussian_nll_forward(np.array([0.0]), np.array([math.log(r * r)]), np.array([r]))
    dmu, ds = L.gaussian_nll_backward(1.0, cache)
    assert abs(ds[0]) < 1e-15


def test_logsumexp_and_log_softmax_hand_values():
    # logsumexp(0, log 3) = log(1 + 3) = log 4; log_softmax = (0, log 3) - log 4 = (log 1/4, log 3/4)
    z = np.array([[0.0, math.log(3.0)]])
    assert L.logsumexp(z, axis=1)[0] == pytest.approx(math.log(4.0), rel=1e-15)
    np.testing.assert_allclose(L.log_softmax(z, axis=1), [[math.log(0.25), math.log(0.75)]], rtol=1e-15)
    # along axis 0, and shifted by 1000 (no overflow: the max is subtracted first)
    np.testing.assert_allclose(L.log_softmax(z.T + 1000.0, axis=0), [[math.log(0.25)], [math.log(0.75)]], rtol=1e-12)
    np.testing.assert_allclose(L.softmax(z, axis=1), [[0.25, 0.75]], rtol=1e-15)
    # large equal logits: the softmax is exactly uniform to rounding of O(1) numbers, not of O(1e4)
    np.testing.assert_allclose(L.softmax(np.full((2, 1), -22026.47), axis=0), 0.5, rtol=1e-15)
