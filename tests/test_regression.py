"""Heteroscedastic MC-dropout regressor (SPEC §1, §9): values, errors, and the 1-D gap experiment."""
import contextlib
import math

import numpy as np
import pytest

from mini_eau.layers import gaussian_nll_forward
from mini_eau.regression import (
    fit_regressor,
    init_regressor,
    predict_regressor,
    regressor_loss_backward,
    regressor_loss_forward,
)

try:  # installed with scikit-learn
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None


def _one_blas_thread():
    # The training loop multiplies 256 x 64 by 64 x 64 matrices: big enough for OpenBLAS
    # to split over two threads, too small to gain from it.  On two cores that other
    # processes are also using, the split made training ~8x slower (17 s instead of 2 s).
    return threadpool_limits(1) if threadpool_limits is not None else contextlib.nullcontext()


def _ones(params, n):
    h = params["W1"].shape[1]
    return [np.ones((n, h)) for _ in range(2 if "W2" in params else 1)]


def test_fresh_regressor_predicts_standard_normal():
    # the head starts at zero: mu = 0 and s = bound(0) = 0 everywhere, so the loss is
    # 1/2 [0 + y^2 e^0 + log 2 pi] averaged: 1/2 (mean y^2 + log 2 pi)
    rng = np.random.default_rng(0)
    p = init_regressor(rng, hidden=8)
    x, y = rng.uniform(-3, 3, 5), np.array([1.0, -2.0, 0.0, 3.0, 0.5])
    loss, _ = regressor_loss_forward(p, x, y, _ones(p, 5), 1.0)
    assert loss == pytest.approx(0.5 * (np.mean(y ** 2) + math.log(2 * math.pi)), rel=1e-14)
    mu, var = predict_regressor(p, x)
    np.testing.assert_array_equal(mu, 0.0)
    np.testing.assert_array_equal(var, 1.0)


@pytest.mark.parametrize("n_layers", [1, 2])
def test_loss_without_dropout_is_the_nll_of_the_deterministic_prediction(n_layers):
    rng = np.random.default_rng(1)
    p = init_regressor(rng, hidden=6, n_layers=n_layers)
    for k in ("W_mu", "b_mu", "W_s", "b_s"):
        p[k] = rng.standard_normal(p[k].shape)
    x, y = rng.uniform(-3, 3, (7, 1)), rng.standard_normal(7)
    loss, _ = regressor_loss_forward(p, x, y, _ones(p, 7), 1.0)
    mu, var = predict_regressor(p, x)
    assert loss == pytest.approx(gaussian_nll_forward(mu, np.log(var), y)[0], rel=1e-13)
    # dropping units changes the loss: the masks are really used
    masks = [(rng.random((7, 6)) < 0.5).astype(float) for _ in range(n_layers)]
    assert regressor_loss_forward(p, x, y, masks, 0.5)[0] != loss


def test_extreme_inputs_give_finite_loss_and_gradients():
    rng = np.random.default_rng(2)
    p = init_regressor(rng, hidden=5)
    for k in ("W_mu", "b_mu", "W_s", "b_s"):
        p[k] = 30.0 * rng.standard_normal(p[k].shape)  # raw log-variances far outside [-10, 10]
    x, y = np.array([-1e3, -1.0, 0.0, 2.0, 1e3]), np.array([1e3, -1e3, 0.0, 5.0, -1e3])
    loss, cache = regressor_loss_forward(p, x, y, _ones(p, 5), 1.0)
    assert np.isfinite(loss)
    assert all(np.all(np.isfinite(g)) for g in regressor_loss_backward(1.0, cache).values())


def test_gradients_are_a_dict_matching_params():
    rng = np.random.default_rng(3)
    p = init_regressor(rng, hidden=4, n_layers=1)
    _, cache = regressor_loss_forward(p, rng.standard_normal(3), rng.standard_normal(3), _ones(p, 3), 1.0)
    g = regressor_loss_backward(1.0, cache)
    assert set(g) == set(p) and all(g[k].shape == p[k].shape for k in p)


def test_one_pass_has_no_epistemic_part_and_seeds_reproduce():
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-3, 3, 40), rng.standard_normal(40)
    a = fit_regressor(x, y, np.random.default_rng(9), hidden=8, epochs=2, batch_size=16)
    b = fit_regressor(x[:, None], y, np.random.default_rng(9), hidden=8, epochs=2, batch_size=16)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    mean, aleatoric, epistemic = predict_regressor(a, x, rng=np.random.default_rng(0), n_passes=1)
    np.testing.assert_array_equal(epistemic, 0.0)
    assert mean.shape == aleatoric.shape == (40,)


def test_errors_name_the_argument():
    rng = np.random.default_rng(5)
    p = init_regressor(rng, hidden=4)
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    with pytest.raises(ValueError, match="masks: expected a list of 2 keep-masks"):
        regressor_loss_forward(p, x, y, [np.ones((3, 4))], 1.0)
    with pytest.raises(ValueError, match=r"masks\[1\]: expected shape \(3, 4\)"):
        regressor_loss_forward(p, x, y, [np.ones((3, 4)), np.ones((3, 5))], 1.0)
    with pytest.raises(ValueError, match="keep_prob"):
        regressor_loss_forward(p, x, y, _ones(p, 3), 0.0)
    with pytest.raises(ValueError, match="keep_prob"):
        predict_regressor(p, x, rng=rng, keep_prob=1.5)
    with pytest.raises(ValueError, match="y: expected shape"):
        regressor_loss_forward(p, x, rng.standard_normal(4), _ones(p, 3), 1.0)
    with pytest.raises(ValueError, match="x: expected a 2-d array"):
        regressor_loss_forward(p, np.zeros((3, 1, 1)), y, _ones(p, 3), 1.0)
    with pytest.raises(ValueError, match="params: expected the keys"):
        regressor_loss_forward({k: v for k, v in p.items() if k != "b_s"}, x, y, _ones(p, 3), 1.0)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 1\), got \(3, 2\)"):
        regressor_loss_forward(p, rng.standard_normal((3, 2)), y, _ones(p, 3), 1.0)
    with pytest.raises(ValueError, match=r"params\['W_s'\]: expected shape \(4, 1\)"):
        regressor_loss_forward({**p, "W_s": np.zeros((4, 2))}, x, y, _ones(p, 3), 1.0)
    with pytest.raises(ValueError, match="n_layers"):
        init_regressor(rng, n_layers=3)
    with pytest.raises(TypeError, match="rng"):
        fit_regressor(x, y, 0)
    with pytest.raises(ValueError, match="epochs"):
        fit_regressor(x, y, rng, epochs=0)


def test_gap_experiment_separates_aleatoric_and_epistemic():
    # The 1-D teaching example (SPEC §11): training inputs in [-3, -1] u [1, 3], a gap in
    # the middle; y = sin x + sigma(x) xi with noise growing away from 0.
    rng = np.random.default_rng(0)
    n = 2000
    x = rng.choice([-1.0, 1.0], n) * rng.uniform(1.0, 3.0, n)
    y = np.sin(x) + (0.1 + 0.2 * np.abs(x)) * rng.standard_normal(n)
    with _one_blas_thread():
        params = fit_regressor(x, y, rng, hidden=64, keep_prob=0.9, epochs=375, lr=1e-2, batch_size=256)

    x_train = np.concatenate([np.linspace(-2.8, -1.2, 20), np.linspace(1.2, 2.8, 20)])
    x_gap = np.linspace(-0.5, 0.5, 21)
    mc = dict(n_passes=100, keep_prob=0.9)
    mean, aleatoric, epi_train = predict_regressor(params, x_train, rng=np.random.default_rng(1), **mc)
    _, _, epi_gap = predict_regressor(params, x_gap, rng=np.random.default_rng(1), **mc)

    # the mean follows sin x where there was data (RMSE 0.04-0.17 over 12 seeds; 0.10 here)
    assert np.sqrt(np.mean((mean - np.sin(x_train)) ** 2)) < 0.2
    # aleatoric: the predicted noise std follows the true one, 0.1 + 0.2|x| (0.34 ... 0.66 here);
    # over 12 seeds: correlation 0.91-0.99 (0.93 here), median relative error 4-9% (9% here)
    sigma_true = 0.1 + 0.2 * np.abs(x_train)
    assert np.corrcoef(np.sqrt(aleatoric), sigma_true)[0, 1] > 0.8
    assert np.median(np.abs(np.sqrt(aleatoric) / sigma_true - 1.0)) < 0.2
    # epistemic: the sub-networks disagree where there was no data.  Seed 0 gives 4.6x;
    # seeds 0-11 of this very test gave 3.06x to 4.69x (median 3.7x).
    ratio = epi_gap.mean() / epi_train.mean()
    assert ratio > 3.0, f"epistemic variance gap/train = {ratio:.2f}"
    # the deterministic pass (dropout off) gives the aleatoric variance alone
    mu_det, var_det = predict_regressor(params, x_train)
    assert np.median(np.abs(np.sqrt(var_det) / sigma_true - 1.0)) < 0.2
