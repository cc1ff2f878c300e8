"""Test-time corruption of one or more views: three families, each in its own units.

``python -m mini_eau demo --corruption {gaussian,mask,saltpepper}``

* ``gaussian``: additive Gaussian noise of standard deviation ``level`` times
  the data's noise unit (the RMS of the clean training features,
  :func:`mini_eau.lab.data.benchmarks.noise_unit`); levels (0, 1, 2, 3, 4, 6) units.
* ``mask``: each feature of the view set to 0 with probability ``level``
  (a fraction, 0 to 1), as a sensor drop-out or a masked word would.
* ``saltpepper``: each feature replaced, with probability ``level``, by that
  feature's minimum or maximum over the clean *training* set (a coin flip
  decides which), as salt-and-pepper noise does to an image.

The paper's experiments corrupt images with salt-and-pepper noise and text by
masking words; additive Gaussian noise is the toy's default.

A sweep reuses one set of random draws at every level (common random
numbers): a feature masked at level 0.2 is masked at every level above it,
so differences between levels come from the level alone.  Each corrupted
sample records its level in ``MultimodalData.noise`` (in the family's units),
which is what the predicted uncertainty is compared with.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_choice, check_positive
from .data.benchmarks import add_noise
from .data.container import MultimodalData, check_levels, view_indices
from .data.toy import TOY_LEVELS

__all__ = ["CORRUPTIONS", "FRACTION_LEVELS", "Corruption", "corruption", "corrupt_sweep"]

FRACTION_LEVELS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
"""Test levels of the fraction families (mask, saltpepper): at 1.0 the view carries no information."""


@dataclass(frozen=True)
class Corruption:
    """One family: its name, its test levels, its units (in a table and on a figure's axis) and what it does."""

    name: str
    levels: tuple
    unit_label: str
    axis_label: str
    description: str


CORRUPTIONS = {
    "gaussian": Corruption("gaussian", TOY_LEVELS, "Gaussian noise std, in noise units (RMS of the clean features)",
                           "Gaussian noise (noise units)",
                           "additive Gaussian noise, std = level x noise unit"),
    "mask": Corruption("mask", FRACTION_LEVELS, "fraction of features masked (set to 0)",
                       "mask: fraction of features set to 0",
                       "each feature set to 0 with probability = level"),
    "saltpepper": Corruption("saltpepper", FRACTION_LEVELS, "fraction of features set to their training min or max",
                             "salt-and-pepper: fraction of features hit",
                             "each feature set to its training min or max (coin flip) with probability = level"),
}
"""The corruption families by name (``demo --corruption NAME``)."""


def corruption(name):
    """The :class:`Corruption` called ``name``; a one-line ValueError listing the families otherwise."""
    check_choice("corruption", name, tuple(CORRUPTIONS))
    return CORRUPTIONS[name]


def _check_fractions(levels):
    levels = check_levels(levels)
    if any(lv > 1.0 for lv in levels):
        raise ValueError(f"levels: expected fractions in [0, 1] for this corruption, got {levels}")
    return levels


def corrupt_sweep(data, seed, family, levels, noisy, other=0.0, unit=1.0, train=None):
    """One corrupted copy of ``data`` per level: ``family`` at ``level`` on the view(s) ``noisy``.

    Parameters
    ----------
    data : MultimodalData
        The clean test set.
    seed : int
        Every level draws from a fresh ``numpy.random.default_rng(seed)``:
        the same draws at every level (common random numbers).
    family : str
        A name from :data:`CORRUPTIONS`.
    levels : sequence of float
        In the family's units: noise units for ``gaussian`` (multiplied by
        ``unit`` here), fractions in [0, 1] for ``mask`` and ``saltpepper``.
    noisy : view name or index, or a list of them
    other : float
        Gaussian noise (absolute std) on the views the sweep leaves alone, for
        every family (the toy's background noise, SPEC §11).
    unit : float
        The data's noise unit (``gaussian`` only).
    train : MultimodalData, optional
        The clean training set whose per-feature min and max ``saltpepper``
        uses (required for it).

    Returns
    -------
    list of MultimodalData
        One per level; ``noise[m]`` of a swept view holds the level in the
        family's units.
    """
    if not isinstance(data, MultimodalData):
        raise TypeError(f"data: expected a MultimodalData, got {type(data).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")
    family = corruption(family).name
    noisy = view_indices("noisy", noisy, data.names)
    levels = check_levels(levels) if family == "gaussian" else _check_fractions(levels)
    check_positive("other", other, allow_zero=True)
    check_positive("unit", unit)
    if family == "saltpepper" and train is None:
        raise ValueError("train: the saltpepper corruption needs the clean training set (its per-feature min and max)")
    out = []
    for lvl in levels:
        r = np.random.default_rng(seed)
        d = data
        for m in range(data.n_modalities):  # the same draws, in the same order, at every level
            if m not in noisy:
                d = add_noise(d, m, other, r)
            elif family == "gaussian":
                d = add_noise(d, m, lvl * unit, r)
                d.noise[m] = lvl  # in noise units, like the levels
            else:
                d = _replace_features(d, m, lvl, r, family, train)
        out.append(d)
    return out


def _replace_features(data, m, level, rng, family, train):
    """Mask or salt-and-pepper: each feature of view ``m`` hit with probability ``level``."""
    x = data.xs[m]
    hit = rng.random(x.shape) < level
    if family == "mask":
        value = np.zeros_like(x)
    else:
        low, high = train.xs[m].min(axis=0), train.xs[m].max(axis=0)
        value = np.where(rng.random(x.shape) < 0.5, low, high)
    xs, noise = list(data.xs), data.noise.copy()
    xs[m] = np.where(hit, value, x)
    noise[m] = level
    return MultimodalData(xs, data.y, noise, data.n_classes, data.names)
