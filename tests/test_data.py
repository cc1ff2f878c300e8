"""Data sets (SPEC §11): shapes, determinism, the stored noise is the injected noise,
sweeps, conflict and OOD sets, the regression gap, and the digits halves."""
import copy
import math
from collections import Counter

import numpy as np
import pytest

from mini_eau.lab import data as D


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.fixture(scope="module")
def toy():
    return D.ToyProblem(seed=0)


@pytest.fixture(scope="module")
def digits():
    return D.load_digits_views("halves", seed=0)


# ---------------------------------------------------------------- container
def test_multimodal_data_subset_and_batches():
    d = D.MultimodalData([np.arange(10.0)[:, None], np.ones((10, 3))], np.arange(10) % 3,
                         np.zeros((2, 10)), 3)
    assert len(d) == 10 and d.names == ("a", "b") and d.n_modalities == 2
    s = d.subset(np.array([7, 2]))
    np.testing.assert_array_equal(s.xs[0][:, 0], [7.0, 2.0])
    np.testing.assert_array_equal(s.y, [1, 2])
    assert s.noise.shape == (2, 2)
    assert len(d.subset(d.y == 0)) == 4
    # one pass covers every index exactly once; sizes 4, 4, 2 (or 4, 4 with drop_last)
    batches = list(d.batches(4, rng(1)))
    assert [len(b) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(10))
    assert [len(b) for b in d.batches(4, rng(1), drop_last=True)] == [4, 4]
    np.testing.assert_array_equal(np.concatenate(list(d.batches(3))), np.arange(10))  # no rng: in order
    for b1, b2 in zip(d.batches(4, rng(5)), d.batches(4, rng(5))):
        np.testing.assert_array_equal(b1, b2)


def test_multimodal_data_validation():
    x = np.zeros((4, 2))
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"xs\[1\]: expected 4 rows"):
        D.MultimodalData([x, np.zeros((3, 2))], y, np.zeros((2, 4)), 2)
    with pytest.raises(ValueError, match="noise: expected shape"):
        D.MultimodalData([x, x], y, np.zeros((2, 3)), 2)
    with pytest.raises(ValueError, match="noise: expected scales >= 0"):
        D.MultimodalData([x, x], y, -np.ones((2, 4)), 2)
    with pytest.raises(ValueError, match=r"y: labels must lie in \[0, 1\]"):
        D.MultimodalData([x, x], y + 1, np.zeros((2, 4)), 2)
    with pytest.raises(ValueError, match="names"):
        D.MultimodalData([x, x], y, np.zeros((2, 4)), 2, names=("a", "a"))
    d = D.MultimodalData([x, x], y, np.zeros((2, 4)), 2)
    with pytest.raises(ValueError, match="batch_size"):
        next(d.batches(0))
    with pytest.raises(ValueError, match="modality"):
        d.modality_index("c")


# --------------------------------------------------------------- toy problem
def test_toy_shapes_and_training_noise(toy):
    d = toy.sample(500, rng())
    assert [x.shape for x in d.xs] == [(500, 16), (500, 16)]
    assert d.y.shape == (500,) and d.y.dtype.kind == "i" and set(d.y) == {0, 1, 2, 3}
    assert d.noise.shape == (2, 500) and d.n_classes == 4 and d.names == ("a", "b")
    assert d.noise.min() >= 0 and d.noise.max() <= 3
    assert abs(d.noise[0].mean() - 1.5) < 0.15 and abs(d.noise[1].mean() - 1.5) < 0.15  # U(0, 3)
    assert not np.allclose(d.noise[0], d.noise[1])  # independent per modality


def test_toy_determinism(toy):
    same = D.ToyProblem(seed=0)
    np.testing.assert_array_equal(same.P, toy.P)
    np.testing.assert_array_equal(same.W_b, toy.W_b)
    np.testing.assert_array_equal(same.r, toy.r)
    a, b = toy.sample(50, rng(3)), same.sample(50, rng(3))
    for xa, xb in zip(a.xs + [a.y, a.noise], b.xs + [b.y, b.noise]):
        np.testing.assert_array_equal(xa, xb)
    assert not np.allclose(D.ToyProblem(seed=1).P, toy.P)
    assert not np.allclose(toy.sample(50, rng(4)).xs[0], a.xs[0])


def test_toy_views_have_unit_rms_clean_signal(toy):
    d = toy.sample(4000, rng(2), noise_a=0.0, noise_b=0.0)
    for x in d.xs:
        assert abs(np.sqrt(np.mean(x ** 2)) - 1.0) < 0.05
    assert np.all(np.abs(d.xs[1]) <= 1.0 / toy.r[1] + 1e-12)  # tanh view is bounded


def test_stored_noise_is_the_injected_noise(toy):
    # Fixed scales: with equal generator states only the scale changes, so
    # x(s) - x(0) = s * xi with the same xi for every s.
    x0, x1, x2 = (toy.sample(300, rng(7), noise_a=s, noise_b=2 * s) for s in (0.0, 1.0, 2.5))
    np.testing.assert_allclose(x2.xs[0] - x0.xs[0], 2.5 * (x1.xs[0] - x0.xs[0]), atol=1e-12)
    np.testing.assert_allclose(x2.xs[1] - x0.xs[1], 2.5 * (x1.xs[1] - x0.xs[1]), atol=1e-12)
    assert np.all(x2.noise[0] == 2.5) and np.all(x2.noise[1] == 5.0)
    assert abs(np.std(x1.xs[0] - x0.xs[0]) - 1.0) < 0.03  # xi ~ N(0, 1)
    # Training noise: (x - clean)/noise is standard normal.  _clean draws (y, eta) first,
    # so a copy of the generator reproduces the clean views of the same samples.
    r = rng(8)
    _, _, ca, cb = toy._clean(2000, copy.deepcopy(r))
    d = toy.sample(2000, r)
    for x, c, s in ((d.xs[0], ca, d.noise[0]), (d.xs[1], cb, d.noise[1])):
        u = (x - c) / s[:, None]
        assert abs(u.mean()) < 0.02 and abs(u.std() - 1.0) < 0.02


def test_sweep_levels_and_common_random_numbers(toy):
    sweep = toy.sweep(n=200, rng=rng(1))
    assert len(sweep) == 6
    for lvl, d in zip(D.TOY_LEVELS, sweep):
        assert np.all(d.noise[0] == lvl) and np.all(d.noise[1] == 1.0)
        np.testing.assert_array_equal(d.y, sweep[0].y)
        np.testing.assert_array_equal(d.xs[1], sweep[0].xs[1])  # B untouched across levels
    # A differs from the clean level 0 by lvl * (the same xi)
    xi = sweep[1].xs[0] - sweep[0].xs[0]
    np.testing.assert_allclose(sweep[5].xs[0] - sweep[0].xs[0], 6.0 * xi, atol=1e-10)
    mirror = toy.sweep(levels=(0.5, 2.0), noisy="b", other=0.0, n=10, rng=rng(1))
    assert [float(d.noise[1, 0]) for d in mirror] == [0.5, 2.0]
    assert all(np.all(d.noise[0] == 0.0) for d in mirror)


def test_conflict_swaps_one_view_to_class_y_plus_one(toy):
    K = toy.n_classes
    ref = toy.sample(2000, rng(0), noise_a=0.0, noise_b=0.0)
    means = [np.stack([x[ref.y == k].mean(0) for k in range(K)]) for x in ref.xs]

    def nearest(x, mu):
        return np.argmin(((x[:, None, :] - mu[None]) ** 2).sum(-1), axis=1)

    c = toy.conflict(1000, rng(4), modality="b", noise_a=0.0, noise_b=0.0)
    plain = toy.sample(1000, rng(4), noise_a=0.0, noise_b=0.0)
    np.testing.assert_array_equal(c.y, plain.y)          # label stays y ...
    np.testing.assert_array_equal(c.xs[0], plain.xs[0])  # ... and A is the untouched sample
    assert np.mean(nearest(c.xs[0], means[0]) == c.y) > 0.85
    assert np.mean(nearest(c.xs[1], means[1]) == (c.y + 1) % K) > 0.85
    ca = toy.conflict(1000, rng(4), modality="a", noise_a=0.0, noise_b=0.0)
    assert np.mean(nearest(ca.xs[0], means[0]) == (ca.y + 1) % K) > 0.85
    np.testing.assert_array_equal(ca.xs[1], plain.xs[1])


def test_ood_shifts_the_latent_along_the_direction():
    toy = D.ToyProblem(seed=3, nonlinear_b=False)  # linear B: the shift shows exactly in both views
    assert np.linalg.norm(toy.direction) == pytest.approx(1.0)
    o = toy.ood(100, rng(6), shift=2.5, noise_a=0.0, noise_b=0.0)
    s = toy.sample(100, rng(6), noise_a=0.0, noise_b=0.0)
    np.testing.assert_array_equal(o.y, s.y)
    for m, W in enumerate((toy.W_a, toy.W_b)):
        delta = 2.5 * (toy.direction @ W) / toy.r[m]
        np.testing.assert_allclose(o.xs[m] - s.xs[m], np.broadcast_to(delta, s.xs[m].shape), atol=1e-12)


def test_toy_argument_errors(toy):
    with pytest.raises(ValueError, match="noise_a: expected a finite number >= 0"):
        toy.sample(10, rng(), noise_a=-1.0)
    with pytest.raises(ValueError, match="n: expected an integer >= 1"):
        toy.sample(0, rng())
    with pytest.raises(ValueError, match="noisy: expected one of"):
        toy.sweep(noisy="c", rng=rng())
    with pytest.raises(ValueError, match="levels"):
        toy.sweep(levels=(0.0, -1.0), rng=rng())
    with pytest.raises(ValueError, match="modality: expected one of"):
        toy.conflict(10, rng(), modality="x")
    with pytest.raises(TypeError, match="rng"):
        toy.sweep()
    with pytest.raises(ValueError, match="separation"):
        D.ToyProblem(separation=0.0)
    with pytest.raises(ValueError, match="shift"):
        toy.ood(10, rng(), shift=float("nan"))


# -------------------------------------------------------------- regression
def test_regression_gap_is_empty_and_sigma_is_the_true_std():
    x, y, sigma = D.make_regression_1d(4000, rng(0), gap=(-1.0, 1.0), x_range=(-3.0, 3.0))
    assert x.shape == (4000, 1) and y.shape == (4000,) and sigma.shape == (4000,)
    x = x[:, 0]
    assert not np.any((x >= -1.0) & (x <= 1.0))
    assert x.min() >= -3.0 and x.max() <= 3.0
    assert abs(np.mean(x < 0) - 0.5) < 0.05  # both sides of the gap are used
    np.testing.assert_array_equal(sigma, D.regression_noise_std(x))
    u = (y - D.regression_mean(x)) / sigma
    assert abs(u.mean()) < 0.05 and abs(u.std() - 1.0) < 0.05
    # f and sigma by hand: f(0) = 0, sigma(0) = 0.05, sigma(3) = 0.05 + 0.45 = 0.5
    assert D.regression_mean(0.0) == 0.0
    assert D.regression_noise_std(3.0) == pytest.approx(0.7)
    x2, y2, _ = D.make_regression_1d(4000, rng(0), gap=(-1.0, 1.0), x_range=(-3.0, 3.0))
    np.testing.assert_array_equal(x2[:, 0], x)
    np.testing.assert_array_equal(y2, y)


def test_regression_grid_and_errors():
    xg, fg, sg = D.regression_grid(n=9, x_range=(-4.0, 4.0))
    assert xg.shape == (9, 1)
    np.testing.assert_allclose(xg[:, 0], np.arange(-4.0, 5.0))
    np.testing.assert_allclose(fg, D.regression_mean(xg[:, 0]))
    np.testing.assert_allclose(sg, D.regression_noise_std(xg[:, 0]))
    x, _, _ = D.make_regression_1d(50, rng(), gap=None)
    assert x.min() >= -3 and x.max() <= 3
    with pytest.raises(ValueError, match="gap"):
        D.make_regression_1d(10, rng(), gap=(1.0, -1.0))
    with pytest.raises(ValueError, match="gap"):
        D.make_regression_1d(10, rng(), gap=(2.0, 4.0))
    with pytest.raises(ValueError, match="n: expected an integer >= 1"):
        D.make_regression_1d(0, rng())


# ------------------------------------------------------------------ digits
def test_digits_split_shapes_and_stratification(digits):
    train, test = digits
    assert len(train) + len(test) == 1797
    assert len(test) == math.ceil(0.3 * 1797)
    assert train.names == ("left", "right") and train.n_classes == 10
    assert [x.shape[1] for x in train.xs] == [32, 32]
    assert np.all(train.noise == 0) and np.all(test.noise == 0)
    assert 0.0 <= min(x.min() for x in train.xs) and max(x.max() for x in train.xs) <= 1.0
    frac_train = np.bincount(train.y, minlength=10) / len(train)
    frac_test = np.bincount(test.y, minlength=10) / len(test)
    assert np.max(np.abs(frac_train - frac_test)) < 0.01


def test_digits_halves_reconstruct_the_images(digits):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    from sklearn.model_selection import train_test_split

    data = sklearn_datasets.load_digits()
    images, target = data.images, data.target
    tr, te = train_test_split(np.arange(len(target)), test_size=0.3, stratify=target, random_state=0)
    tr, te = np.sort(tr), np.sort(te)
    train, test = digits
    # MinMax scaling on the training rows, per pixel: undo it with the training rows' min and max
    flat = np.concatenate([images[:, :, :4].reshape(-1, 32), images[:, :, 4:].reshape(-1, 32)], axis=1)
    lo, hi = flat[tr].min(axis=0), flat[tr].max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    for d, idx in ((train, tr), (test, te)):
        raw = np.concatenate(d.xs, axis=1) * span + lo
        np.testing.assert_allclose(raw, flat[idx], atol=1e-12)
        np.testing.assert_allclose(D.join_halves(*[raw[:, :32], raw[:, 32:]]), images[idx], atol=1e-12)
        np.testing.assert_array_equal(d.y, target[idx])
    assert min(x.min() for x in train.xs) == 0.0 and max(x.max() for x in train.xs) == 1.0


def test_add_noise_and_noise_sweep_on_digits(digits):
    _, test = digits
    noisy = D.add_noise(test, "left", 0.5, rng(1))
    assert np.all(noisy.noise[0] == 0.5) and np.all(noisy.noise[1] == 0.0)
    np.testing.assert_array_equal(noisy.xs[1], test.xs[1])
    assert np.all(test.noise == 0)  # the input is not modified
    assert abs(np.std(noisy.xs[0] - test.xs[0]) - 0.5) < 0.02
    # independent noises add in variance: sqrt(0.5^2 + 1.2^2) = sqrt(1.69) = 1.3
    twice = D.add_noise(noisy, 0, 1.2, rng(2))
    np.testing.assert_allclose(twice.noise[0], 1.3)
    per_sample = D.add_noise(test, "right", np.linspace(0, 1, len(test)), rng(3))
    np.testing.assert_allclose(per_sample.noise[1], np.linspace(0, 1, len(test)))
    sweep = D.noise_sweep(test, rng(4), D.DIGITS_LEVELS, noisy="right", other=0.1)
    assert [float(d.noise[1, 0]) for d in sweep] == list(D.DIGITS_LEVELS)
    assert all(np.all(d.noise[0] == 0.1) for d in sweep)
    np.testing.assert_allclose(sweep[-1].xs[1] - test.xs[1], 1.5 / 0.5 * (sweep[3].xs[1] - test.xs[1]), atol=1e-12)
    with pytest.raises(ValueError, match="scale: expected a finite number >= 0"):
        D.add_noise(test, "left", -0.1, rng())
    with pytest.raises(ValueError, match="modality: expected one of"):
        D.add_noise(test, "top", 0.1, rng())
    with pytest.raises(ValueError, match="levels"):
        D.noise_sweep(test, rng(), (-1.0,), noisy="left")
    with pytest.raises(ValueError, match="test_fraction"):
        D.load_digits_views("halves", test_fraction=1.5)
