"""Optimiser steps checked against hand computation."""
import numpy as np
import pytest

from mini_eau.optim import SGD, Adam


def test_sgd_plain_and_momentum_steps():
    p = {"w": np.array([1.0, -2.0])}
    opt = SGD(p, lr=0.1, momentum=0.9)
    g = {"w": np.array([1.0, 2.0])}
    opt.step(g)  # v = g; w = w - 0.1 g
    np.testing.assert_allclose(p["w"], [0.9, -2.2])
    opt.step(g)  # v = 0.9 g + g = 1.9 g
    np.testing.assert_allclose(p["w"], [0.9 - 0.19, -2.2 - 0.38])


def test_adam_first_step_moves_by_lr_against_the_sign():
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(5)
    p = {"w": w0.copy()}
    g = rng.standard_normal(5) * np.array([1e-3, 1.0, 10.0, 1e2, 1e3])
    Adam(p, lr=0.01).step({"w": g})
    np.testing.assert_allclose(p["w"] - w0, -0.01 * np.sign(g), rtol=1e-4)


def test_adam_second_step_by_hand():
    p = {"w": np.array([0.0])}
    opt = Adam(p, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-300)  # negligible: the hand formula below omits it
    opt.step({"w": np.array([1.0])})
    opt.step({"w": np.array([3.0])})
    m = 0.9 * 0.1 + 0.1 * 3.0
    v = 0.999 * 0.001 + 0.001 * 9.0
    step2 = 0.1 * (m / (1 - 0.81)) / np.sqrt(v / (1 - 0.999 ** 2))
    np.testing.assert_allclose(p["w"], [-0.1 - step2])


def test_updates_are_in_place():
    w = np.ones(3)
    Adam({"w": w}, lr=0.5).step({"w": np.ones(3)})
    np.testing.assert_allclose(w, 0.5)


def test_optimizer_argument_errors():
    with pytest.raises(ValueError, match="params"):
        SGD({}, lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        Adam({"w": np.ones(1)}, lr=-1.0)
    opt = Adam({"w": np.ones(2)})
    with pytest.raises(ValueError, match="missing"):
        opt.step({"v": np.ones(2)})
    with pytest.raises(ValueError, match=r"grads\['w'\]: expected shape"):
        opt.step({"w": np.ones(3)})
