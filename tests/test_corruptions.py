"""Test-time corruption families (mini_eau.lab.corruptions) and their place in the demo."""
import numpy as np
import pytest

from mini_eau.lab.corruptions import CORRUPTIONS, FRACTION_LEVELS, corrupt_sweep, corruption
from mini_eau.lab.data import MultimodalData, TOY_LEVELS, add_noise


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(1.0, 2.0, (n, 6)), rng.standard_normal((n, 4))]
    return MultimodalData(xs, rng.integers(0, 3, n), n_classes=3)


def test_mask_zeroes_a_growing_nested_fraction_of_the_swept_view_only():
    d = _data()
    sweep = corrupt_sweep(d, 7, "mask", FRACTION_LEVELS, noisy=0)
    masked = [x.xs[0] == 0.0 for x in sweep]
    for lvl, m in zip(FRACTION_LEVELS, masked):
        assert abs(m.mean() - lvl) < 0.03                      # the level is the fraction of features hit
    for small, large in zip(masked, masked[1:]):
        assert np.all(large[small])                            # common random numbers: nested masks
    assert all(np.array_equal(x.xs[1], d.xs[1]) for x in sweep)  # the other view is left alone (other=0)
    assert np.array_equal(sweep[0].xs[0], d.xs[0])
    assert all(np.all(x.noise[0] == lvl) for x, lvl in zip(sweep, FRACTION_LEVELS))
    assert all(np.all(x.noise[1] == 0.0) for x in sweep)


def test_saltpepper_uses_the_training_minimum_and_maximum_of_each_feature():
    train, test = _data(seed=1), _data(seed=2)
    lo, hi = train.xs[0].min(axis=0), train.xs[0].max(axis=0)
    out = corrupt_sweep(test, 3, "saltpepper", (0.0, 0.5, 1.0), noisy=[0], train=train)
    full = out[-1].xs[0]
    assert np.all((full == lo) | (full == hi))                 # level 1: every feature is salt or pepper
    assert 0.4 < np.mean(full == hi) < 0.6                     # a fair coin between them
    half = out[1].xs[0]
    hit = half != test.xs[0]
    assert 0.45 < hit.mean() < 0.55 and np.all((half[hit] == np.broadcast_to(lo, half.shape)[hit])
                                              | (half[hit] == np.broadcast_to(hi, half.shape)[hit]))


def test_gaussian_family_is_the_noise_sweep_in_noise_units():
    d = _data()
    unit = 2.5
    sweep = corrupt_sweep(d, 11, "gaussian", TOY_LEVELS, noisy=1, other=0.5, unit=unit)
    r = np.random.default_rng(11)
    by_hand = add_noise(add_noise(d, 0, 0.5, r), 1, TOY_LEVELS[2] * unit, r)
    np.testing.assert_array_equal(sweep[2].xs[0], by_hand.xs[0])
    np.testing.assert_array_equal(sweep[2].xs[1], by_hand.xs[1])
    assert float(sweep[2].noise[1].mean()) == TOY_LEVELS[2]     # recorded in noise units, like the levels


def test_bad_corruption_arguments_fail_in_one_line():
    d = _data()
    with pytest.raises(ValueError, match=r"corruption: expected one of \('gaussian', 'mask', 'saltpepper'\), got 'blur'"):
        corruption("blur")
    with pytest.raises(ValueError, match=r"levels: expected fractions in \[0, 1\]"):
        corrupt_sweep(d, 0, "mask", (0.0, 1.5), noisy=0)
    with pytest.raises(ValueError, match="levels"):
        corrupt_sweep(d, 0, "mask", (-0.1, 0.5), noisy=0)
    with pytest.raises(ValueError, match="train: the saltpepper corruption needs"):
        corrupt_sweep(d, 0, "saltpepper", (0.5,), noisy=0)
    with pytest.raises(ValueError, match="seed"):
        corrupt_sweep(d, -1, "mask", (0.5,), noisy=0)
    assert set(CORRUPTIONS) == {"gaussian", "mask", "saltpepper"}


def test_demo_rejects_an_unknown_corruption_before_loading_or_training(monkeypatch):
    from mini_eau.lab import demo

    def no(*args, **kwargs):
        raise AssertionError("work started before the corruption was checked")

    monkeypatch.setattr(demo, "load_benchmark", no)
    monkeypatch.setattr(demo, "fit", no)
    with pytest.raises(ValueError, match="corruption: expected one of"):
        demo.run_demo(corruption="blur", log=lambda s: None)


def test_run_corruptions_tests_the_same_models_under_every_family():
    from dataclasses import replace

    from mini_eau.lab.demo import FAST_SETTINGS, run_corruptions, run_demo

    kw = dict(methods=("eau", "concat", "unimodal_0", "unimodal_1"), log=lambda s: None,
              settings=replace(FAST_SETTINGS, steps=20, n_train=300, n_test=100))
    results, trained = run_corruptions("toy", 0, "clean", ("mask", "gaussian"), **kw)
    assert [r["corruption"] for r in results] == ["mask", "gaussian"]
    assert results[0]["levels"] == list(FRACTION_LEVELS) and results[1]["levels"] == list(TOY_LEVELS)
    assert "fraction" in results[0]["level_label"] and "noise units" in results[1]["level_label"]
    alone = run_demo(corruption="mask", protocol="clean", **kw)   # a family's sweeps do not depend on the others
    assert alone["sweeps"][0]["methods"]["eau"] == results[0]["sweeps"][0]["methods"]["eau"]
