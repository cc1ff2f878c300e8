"""scikit-learn's bundled multi-view sets (no download): digits as 2 or 4 views, breast cancer as 3.

Each loader returns ``(train, test)``, a stratified split (``random_state=seed``)
of :class:`~mini_eau.lab.data.container.MultimodalData` with zero noise, every
feature MinMax-scaled to [0, 1] on the training rows (scikit-learn's
``MinMaxScaler``, one per view).  scikit-learn is imported on first use: it
is slow to import.
"""
from __future__ import annotations

import numbers

import numpy as np

from ...validation import check_array, check_choice
from .container import MultimodalData

__all__ = ["load_digits_views", "load_breast_cancer_views", "join_halves", "DIGITS_LEVELS"]

DIGITS_LEVELS = (0.0, 0.1, 0.25, 0.5, 1.0, 1.5)
"""Noise scales of the digits sweep, for pixels in [0, 1] (pixel std about 0.38).

A logistic regression trained on the clean left half (right half) of the
``seed=0`` split scores 0.84 (0.89) at 0, 0.68 (0.74) at 0.25, 0.46 (0.49) at
0.5, 0.27 (0.28) at 1 and 0.22 (0.20) at 1.5 (chance 0.1); on both halves
with the noisy one at 1.5, 0.38 (0.36)."""


def _minmax_scaled(train, test):
    """Both sets scaled per feature to [0, 1] with the **training** rows' min and max (one ``MinMaxScaler`` per view).

    Features constant on the training rows map to 0.  Test values outside
    the training range fall outside [0, 1] (no clipping: that is what a
    deployed model would see).
    """
    from sklearn.preprocessing import MinMaxScaler

    scalers = [MinMaxScaler().fit(x) for x in train.xs]
    return tuple(MultimodalData([s.transform(x) for s, x in zip(scalers, d.xs)], d.y, d.noise, d.n_classes, d.names)
                 for d in (train, test))


def _split_views(views, y, n_classes, names, seed, test_fraction):
    """Stratified train/test split of per-view feature matrices, MinMax-scaled on the training rows."""
    from sklearn.model_selection import train_test_split  # imported here: sklearn is slow to import

    if not isinstance(test_fraction, numbers.Real) or not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction: expected a number in (0, 1), got {test_fraction!r}")
    tr, te = train_test_split(np.arange(len(y)), test_size=test_fraction, stratify=y, random_state=seed)
    make = lambda idx: MultimodalData([v[idx].astype(np.float64) for v in views], y[idx].astype(np.int64),
                                      np.zeros((len(views), len(idx))), n_classes, names)
    return _minmax_scaled(make(np.sort(tr)), make(np.sort(te)))


def load_digits_views(split="halves", seed=0, test_fraction=0.3):
    """scikit-learn's bundled 8x8 digits (1797 images, 10 classes; no download) as 2 or 4 views.

    ``split="halves"``: views ``left`` (columns 0-3) and ``right`` (columns
    4-7), 32 pixels each.  ``split="quadrants"``: views ``top-left``,
    ``top-right``, ``bottom-left``, ``bottom-right``, 16 pixels each.
    Stratified split with ``random_state=seed``; pixels MinMax-scaled per
    feature on the training rows.  Returns ``(train, test)`` with zero noise.
    """
    from sklearn.datasets import load_digits

    check_choice("split", split, ("halves", "quadrants"))
    digits = load_digits()
    img = digits.images
    n = len(img)
    if split == "halves":
        views = [img[:, :, :4].reshape(n, 32), img[:, :, 4:].reshape(n, 32)]
        names = ("left", "right")
    else:
        views = [img[:, :4, :4].reshape(n, 16), img[:, :4, 4:].reshape(n, 16),
                 img[:, 4:, :4].reshape(n, 16), img[:, 4:, 4:].reshape(n, 16)]
        names = ("top-left", "top-right", "bottom-left", "bottom-right")
    return _split_views(views, digits.target, 10, names, seed, test_fraction)


def load_breast_cancer_views(seed=0, test_fraction=0.3):
    """scikit-learn's bundled breast-cancer set (569 tumours, 2 classes; no download) as three views.

    The 30 features are ten cell-nucleus measurements (radius, texture,
    perimeter, area, smoothness, compactness, concavity, concave points,
    symmetry, fractal dimension) each summarised three ways; the views are
    those summaries: ``mean``, ``se`` (standard error) and ``worst`` (mean of
    the three largest), 10 features each.  Stratified split with
    ``random_state=seed``; MinMax-scaled on the training rows.
    """
    from sklearn.datasets import load_breast_cancer

    bc = load_breast_cancer()
    x = bc.data
    views = [x[:, 0:10], x[:, 10:20], x[:, 20:30]]
    return _split_views(views, bc.target, 2, ("mean", "se", "worst"), seed, test_fraction)


def join_halves(left, right):
    """Images (N, 8, 8) from left and right halves (N, 32) each (inverse of the split)."""
    check_array("left", left, shape=(None, 32))
    check_array("right", right, shape=(left.shape[0], 32))
    return np.concatenate([left.reshape(-1, 8, 4), right.reshape(-1, 8, 4)], axis=2)
