"""Aleatoric / epistemic decomposition (SPEC §9): the mixture identity, hand values, properties, errors."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mini_eau.uncertainty import decompose_entropy, decompose_variance, mc_dropout_predict


def test_variance_split_equals_the_variance_of_the_mixture():
    # T = 4 Gaussians, equal weights: sample the mixture and compare its sample
    # variance with aleatoric + epistemic, within 4 standard errors.
    mus = np.array([-1.0, 0.5, 2.0, 0.0])
    variances = np.array([0.25, 1.0, 0.04, 2.0])
    mean, aleatoric, epistemic = decompose_variance(mus, variances)
    # by hand: mean = 1.5 / 4 = 0.375; aleatoric = 3.29 / 4 = 0.8225;
    # epistemic = (1.375^2 + 0.125^2 + 1.625^2 + 0.375^2) / 4 = 4.6875 / 4 = 1.171875
    assert (mean, aleatoric, epistemic) == pytest.approx((0.375, 0.8225, 1.171875), rel=1e-14)

    rng = np.random.default_rng(0)
    n = 200_000
    t = rng.integers(0, 4, n)
    y = mus[t] + np.sqrt(variances[t]) * rng.standard_normal(n)
    sq = (y - y.mean()) ** 2
    se_var = sq.std() / math.sqrt(n)  # standard error of the sample variance
    assert abs(sq.mean() - (aleatoric + epistemic)) < 4 * se_var
    assert abs(y.mean() - mean) < 4 * y.std() / math.sqrt(n)


def test_seed_typo_would_make_epistemic_vanish():
    # The seed writes mu*^2 = (1/N) sum mu_i^2.  With that "mu*", the second line
    # (1/N) sum sigma^2 + (1/N) sum mu^2 - mu*^2 leaves only the aleatoric term;
    # with mu* the mean of the mu_t it is the variance of the mixture.
    mus, variances = np.array([1.0, 3.0]), np.array([0.5, 0.5])
    _, aleatoric, epistemic = decompose_variance(mus, variances)
    typo_total = variances.mean() + (mus ** 2).mean() - (mus ** 2).mean()
    assert typo_total == aleatoric == 0.5
    assert epistemic == 1.0  # ((1 - 2)^2 + (3 - 2)^2) / 2


def test_epistemic_is_computed_without_cancellation():
    # passes that agree to 1e-3 on a mean of 1e8: mean(mu^2) - mean(mu)^2 subtracts two
    # numbers of size 1e16 whose spacing is 2, so every digit of the 7e-7 answer is lost
    # (here it returns exactly 0); the centred form keeps them.
    offsets = np.array([-1e-3, 0.0, 1e-3])
    mus = 1e8 + offsets
    _, _, epistemic = decompose_variance(mus, np.zeros(3))
    exact = np.mean((mus - mus.mean()) ** 2)  # 2e-6 / 3 up to the rounding of 1e8 + offsets
    assert epistemic == pytest.approx(exact, rel=1e-12)
    assert epistemic == pytest.approx(2e-6 / 3, rel=1e-3)
    naive = np.mean(mus ** 2) - np.mean(mus) ** 2
    assert abs(naive - exact) > 0.5 * exact  # what the textbook form would have returned


def test_variance_decomposition_keeps_trailing_shape_and_t1_has_no_epistemic():
    rng = np.random.default_rng(1)
    mus, variances = rng.standard_normal((1, 5, 3)), rng.random((1, 5, 3))
    mean, aleatoric, epistemic = decompose_variance(mus, variances)
    assert mean.shape == aleatoric.shape == epistemic.shape == (5, 3)
    np.testing.assert_array_equal(mean, mus[0])
    np.testing.assert_array_equal(aleatoric, variances[0])
    np.testing.assert_array_equal(epistemic, 0.0)


def test_entropy_split_two_confident_passes_that_disagree():
    # p_1 = (1, 0), p_2 = (0, 1): each pass is certain (H = 0, using 0 log 0 = 0),
    # their mean (1/2, 1/2) has H = log 2, so all of it is mutual information.
    probs = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    total, aleatoric, epistemic = decompose_entropy(probs)
    assert aleatoric[0] == 0.0
    assert total[0] == pytest.approx(math.log(2), rel=1e-15)
    assert epistemic[0] == pytest.approx(math.log(2), rel=1e-15)
    # nearly confident passes: aleatoric = H(0.999, 0.001) ~ 0.0079, epistemic ~ log 2 - 0.0079
    p = np.array([[[0.999, 0.001]], [[0.001, 0.999]]])
    total, aleatoric, epistemic = decompose_entropy(p)
    h = -(0.999 * math.log(0.999) + 0.001 * math.log(0.001))
    assert aleatoric[0] == pytest.approx(h, rel=1e-12)
    assert epistemic[0] == pytest.approx(math.log(2) - h, rel=1e-12)


def test_entropy_split_agreeing_passes_are_all_aleatoric():
    # two passes both saying (1/2, 1/2): total = aleatoric = log 2, epistemic = 0
    probs = np.full((2, 1, 2), 0.5)
    total, aleatoric, epistemic = decompose_entropy(probs)
    assert total[0] == aleatoric[0] == pytest.approx(math.log(2))
    assert epistemic[0] == 0.0
    # T = 1: no second opinion, no epistemic part, whatever the probabilities
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.ones(4), size=6)[None]
    total, aleatoric, epistemic = decompose_entropy(p)
    np.testing.assert_array_equal(total, aleatoric)
    np.testing.assert_array_equal(epistemic, 0.0)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 4)),
              elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)),
       st.floats(0.0, 1e3))
def test_variance_parts_are_non_negative_and_add_up(mus, scale):
    variances = scale * np.abs(np.sin(mus))  # any non-negative array of the same shape
    mean, aleatoric, epistemic = decompose_variance(mus, variances)
    assert np.all(aleatoric >= 0) and np.all(epistemic >= 0)
    assert np.all(mean >= mus.min(axis=0) - 1e-9) and np.all(mean <= mus.max(axis=0) + 1e-9)
    # the spread of the means can never exceed the squared range of the passes
    assert np.all(epistemic <= (mus.max(axis=0) - mus.min(axis=0)) ** 2 + 1e-9)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(2, 5)),
              elements=st.floats(0.0, 1.0, allow_nan=False)))
def test_entropy_parts_are_non_negative_and_bounded(raw):
    raw = raw + 1e-3 * (raw.sum(axis=-1, keepdims=True) == 0)  # avoid all-zero rows
    probs = raw / raw.sum(axis=-1, keepdims=True)
    probs = probs / probs.sum(axis=-1, keepdims=True)
    total, aleatoric, epistemic = decompose_entropy(probs)
    k = probs.shape[-1]
    assert np.all(aleatoric >= 0) and np.all(epistemic >= 0)
    assert np.all(total <= math.log(k) + 1e-12)
    np.testing.assert_allclose(aleatoric + epistemic, total, atol=1e-12)


def test_mc_dropout_predict_stacks_fresh_passes():
    x = np.linspace(-1.0, 1.0, 4)

    def gaussian_fn(x, rng):
        # a "network" whose mean gets a fresh perturbation per pass and whose variance is fixed
        return x + 0.1 * rng.standard_normal(x.shape), np.full(x.shape, 0.3)

    mean, aleatoric, epistemic = mc_dropout_predict(gaussian_fn, x, 20, np.random.default_rng(7))
    g = np.random.default_rng(7)
    mus = np.stack([x + 0.1 * g.standard_normal(x.shape) for _ in range(20)])
    np.testing.assert_allclose(mean, mus.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(aleatoric, 0.3, rtol=1e-14)
    np.testing.assert_allclose(epistemic, mus.var(axis=0), rtol=1e-12)
    assert np.all(epistemic > 0)  # every pass drew its own perturbation

    def prob_fn(x, rng):
        # pass t names class 0 or class 1 with certainty, at random
        c = rng.integers(0, 2)
        return np.tile(np.eye(2)[c], (x.shape[0], 1))

    p_bar, aleatoric, epistemic = mc_dropout_predict(prob_fn, x, 50, np.random.default_rng(8))
    assert p_bar.shape == (4, 2)
    np.testing.assert_allclose(p_bar.sum(axis=1), 1.0)
    np.testing.assert_array_equal(aleatoric, 0.0)
    q = p_bar[0, 0]
    np.testing.assert_allclose(epistemic, -(q * math.log(q) + (1 - q) * math.log(1 - q)), rtol=1e-12)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="variances: expected shape"):
        decompose_variance(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="variances: expected non-negative"):
        decompose_variance(np.zeros(3), np.array([1.0, -0.5, 1.0]))
    with pytest.raises(ValueError, match=r"mus: expected shape \(T >= 1, ...\), got \(0, 2\)"):
        decompose_variance(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="mus: contains NaN"):
        decompose_variance(np.array([np.nan]), np.ones(1))
    with pytest.raises(ValueError, match="probs: expected a 3-d array"):
        decompose_entropy(np.full((4, 2), 0.5))
    with pytest.raises(ValueError, match="probs: expected probabilities in"):
        decompose_entropy(np.array([[[2.0, -1.0]]]))  # logits, not probabilities
    with pytest.raises(ValueError, match="probs: expected each row to sum to 1"):
        decompose_entropy(np.array([[[0.5, 0.4]]]))
    fn = lambda x, rng: (x, np.ones_like(x))  # noqa: E731
    with pytest.raises(ValueError, match="n_passes"):
        mc_dropout_predict(fn, np.zeros(2), 0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="n_passes"):
        mc_dropout_predict(fn, np.zeros(2), 2.5, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        mc_dropout_predict(fn, np.zeros(2), 3, 0)
    with pytest.raises(TypeError, match="predict_fn"):
        mc_dropout_predict("model", np.zeros(2), 3, np.random.default_rng(0))
    calls = iter([(np.zeros(2), np.ones(2)), np.full((2, 2), 0.5)])
    with pytest.raises(ValueError, match="predict_fn: pass 1"):
        mc_dropout_predict(lambda x, rng: next(calls), np.zeros(2), 2, np.random.default_rng(0))
    sizes = iter([2, 3])
    with pytest.raises(ValueError, match="predict_fn: mu changed shape"):
        mc_dropout_predict(lambda x, rng: (np.zeros(k := next(sizes)), np.ones(k)), np.zeros(2), 2,
                           np.random.default_rng(0))
