"""Noise sweeps and the benchmark registry: what ``demo --data NAME`` runs (SPEC §11).

* :func:`add_noise`, :func:`noise_sweep`: Gaussian noise on chosen views, one
  copy of a set per noise level (common random numbers across levels);
* :func:`noise_unit`: the scale every data set's noise is measured in;
* :func:`load_benchmark`: a data set by name (:data:`BENCHMARKS`) with its
  clean training and test sets, noise unit, test levels and sweeps
  (:class:`Benchmark`), one rule for every set.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ...validation import Instance, Integer, Optional, Real, accepts, check_array, check_choice, check_positive
from .container import RNG, MultimodalData, check_levels, view_indices
from .real import load_breast_cancer_views, load_digits_views
from .toy import TOY_LEVELS, ToyProblem

__all__ = ["add_noise", "noise_sweep", "noise_unit", "Benchmark", "BENCHMARKS", "load_benchmark"]

DATA = Instance(MultimodalData, "a MultimodalData")


@accepts(data=DATA, rng=RNG)
def add_noise(data, modality, scale, rng):
    r"""A copy of ``data`` with Gaussian noise of std ``scale`` added to one modality.

    ``scale`` is a number >= 0 or an (N,) array of per-sample scales (e.g.
    ``rng.uniform(0, 1, N)`` for training noise).  Independent noises add in
    variance, so the stored scale becomes
    :math:`\sqrt{\text{noise}^2 + \text{scale}^2}` (just ``scale`` on clean data).
    """
    m = data.modality_index(modality)
    n = len(data)
    if isinstance(scale, numbers.Real) and not isinstance(scale, bool):
        check_positive("scale", scale, allow_zero=True)
        s = np.full(n, float(scale))
    else:
        s = np.asarray(check_array("scale", scale, shape=(n,), dtype_kind="fiu"), dtype=float)
        if np.any(s < 0):
            raise ValueError("scale: expected scales >= 0, got a negative value")
    xs = list(data.xs)
    xs[m] = xs[m] + s[:, None] * rng.standard_normal(xs[m].shape)
    noise = data.noise.copy()
    noise[m] = np.sqrt(noise[m] ** 2 + s ** 2)
    return MultimodalData(xs, data.y, noise, data.n_classes, data.names)


@accepts(data=DATA, rng=RNG, other=Real(">=0"))
def noise_sweep(data, rng, levels, noisy, other=0.0):
    """One noisy copy of ``data`` per level: noise ``level`` on the view(s) ``noisy``, ``other`` on the rest.

    ``noisy`` is a view name or index, or a list of them (any subset).  Every
    level reuses the same unit draws (common random numbers: one child seed
    from ``rng``), so differences between levels come from the scale alone.
    """
    noisy = view_indices("noisy", noisy, data.names)
    levels = check_levels(levels)
    child = int(rng.integers(2 ** 63 - 1))
    out = []
    for lvl in levels:
        r = np.random.default_rng(child)
        d = data
        for m in range(data.n_modalities):
            d = add_noise(d, m, lvl if m in noisy else other, r)
        out.append(d)
    return out


@dataclass
class Benchmark:
    """A data set with its test protocol: what ``demo --data NAME`` runs.

    Attributes
    ----------
    name : str
    train, test : MultimodalData
        Clean training and test sets (the toy's test views carry ``other`` noise in the sweeps).
    unit : float
        The data's noise unit, :func:`noise_unit` of the clean training
        set.  Every noise scale below is a multiple of it, so one rule
        serves every data set.
    levels : tuple of float
        Test noise scales of each sweep (``TOY_LEVELS`` times ``unit``).
    train_noise : float
        Upper end of the training noise scale U(0, train_noise) (3 ``unit``).
    other : float
        Noise on the views a sweep leaves alone (the toy: 1 ``unit``, as SPEC
        §11; real data: 0).
    sweeps : tuple of tuple of int
        The noisy views of each sweep: every single view, and for M >= 3
        also the first half of the views (rounded up) together.
    """

    name: str
    train: MultimodalData
    test: MultimodalData
    unit: float
    levels: tuple
    train_noise: float
    other: float
    sweeps: tuple


BENCHMARKS = ("toy", "toy3", "digits", "digits4", "cancer")
"""Names accepted by :func:`load_benchmark` (and ``demo --data``)."""


def noise_unit(data):
    """The root mean square of every feature value of ``data``: noise of scale ``s * unit`` then has signal-to-noise ratio 1/s^2.

    The toy's views are scaled to unit RMS (SPEC §11), so its unit is 1.
    """
    return float(np.sqrt(np.mean(np.concatenate([(x ** 2).ravel() for x in data.xs]))))


@accepts(n_train=Optional(Integer(1)), n_test=Optional(Integer(1)))
def load_benchmark(name, seed=0, n_train=None, n_test=None):
    """The data set ``name`` (one of :data:`BENCHMARKS`) with its sweeps, noise unit and levels.

    ``toy``/``toy3``: the toy problem with 2 / 3 views (problem seed
    ``seed``; ``n_train``/``n_test`` samples, default 4000/2000), clean
    training data.  ``digits``: digits halves; ``digits4``: digits
    quadrants; ``cancer``: breast-cancer feature groups (their sizes are
    fixed).  The rule for every set: training noise U(0, 3 unit), test
    levels (0, 1, 2, 3, 4, 6) unit.
    """
    check_choice("data", name, BENCHMARKS)
    if name in ("toy", "toy3"):
        prob = ToyProblem(seed=seed, n_views=2 if name == "toy" else 3)
        rng = np.random.default_rng([seed, 7])
        n_train = 4000 if n_train is None else n_train
        n_test = 2000 if n_test is None else n_test
        train = prob.sample(n_train, rng, noise=[0.0] * prob.n_views)
        test = prob.sample(n_test, rng, noise=[0.0] * prob.n_views)
        other_units = 1.0
    else:
        if name == "cancer":
            train, test = load_breast_cancer_views(seed)
        else:
            train, test = load_digits_views("halves" if name == "digits" else "quadrants", seed)
        if n_train is not None:
            train = train.subset(np.arange(min(n_train, len(train))))
        other_units = 0.0
    unit = noise_unit(train)
    M = train.n_modalities
    sweeps = tuple((m,) for m in range(M)) + ((tuple(range((M + 1) // 2)),) if M >= 3 else ())
    return Benchmark(name, train, test, unit, tuple(lv * unit for lv in TOY_LEVELS), 3.0 * unit,
                     other_units * unit, sweeps)
