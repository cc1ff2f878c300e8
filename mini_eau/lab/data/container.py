"""The container every multimodal set is held in: :class:`MultimodalData`.

A list of per-modality feature matrices, the labels, and the **noise scale
injected into each sample of each modality**, kept so that predicted
uncertainty can be compared with it (Spearman correlation, SPEC §12).

Below it, the checks the data modules share: :data:`RNG` (the generator
every function that draws takes), :func:`view_indices`, :func:`check_levels`
and :func:`check_interval`.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ...validation import Instance, Integer, Optional, accepts, check_array, check_choice, check_labels

__all__ = ["MultimodalData", "RNG", "view_indices", "check_levels", "check_interval"]

RNG = Instance(np.random.Generator, "a numpy.random.Generator (np.random.default_rng(seed))")
"""The spec of every ``rng`` argument: all randomness comes from a Generator passed in."""


@dataclass
class MultimodalData:
    r"""A multimodal classification set.

    Attributes
    ----------
    xs : list of ndarray
        M float64 arrays, ``xs[m]`` of shape (N, D_m).
    y : ndarray of int
        Labels (N,) in ``0 .. n_classes-1``.
    noise : ndarray, optional
        (M, N) float, ``noise[m, i]`` the standard deviation of the Gaussian
        noise injected into sample i of modality m (default: zeros, i.e.
        your own data, with no noise injected by us).
    n_classes : int, optional
        K (default: ``y.max() + 1``).
    names : tuple of str, optional
        Modality names (default ``("a", "b", ...)``); methods and
        :func:`add_noise` accept a name or an index.
    """

    xs: list
    y: np.ndarray
    noise: np.ndarray = None
    n_classes: int = None
    names: tuple = None

    def __post_init__(self):
        if not isinstance(self.xs, (list, tuple)) or len(self.xs) < 1:
            raise ValueError("xs: expected a non-empty list of (N, D_m) arrays, one per modality")
        self.xs = list(self.xs)
        for m, x in enumerate(self.xs):
            check_array(f"xs[{m}]", x, ndim=2, dtype_kind="f")
        n = self.xs[0].shape[0]
        for m, x in enumerate(self.xs):
            if x.shape[0] != n:
                raise ValueError(f"xs[{m}]: expected {n} rows like xs[0], got {x.shape[0]}")
        if self.n_classes is None:  # inferred from the labels
            check_labels("y", self.y, n_samples=n)
            self.n_classes = int(np.max(self.y)) + 1 if n else 0
            if self.n_classes < 2:
                raise ValueError(f"y: n_classes is inferred as y.max() + 1 = {self.n_classes}; expected labels of at least 2 classes")
        if self.noise is None:  # own data: nothing injected
            self.noise = np.zeros((len(self.xs), n))
        if isinstance(self.n_classes, bool) or not isinstance(self.n_classes, numbers.Integral) or self.n_classes < 2:
            raise ValueError(f"n_classes: expected an integer >= 2, got {self.n_classes!r}")
        check_labels("y", self.y, n_samples=n, n_classes=self.n_classes)
        check_array("noise", self.noise, shape=(len(self.xs), n), dtype_kind="f")
        if np.any(self.noise < 0):
            raise ValueError("noise: expected scales >= 0, got a negative value")
        if self.names is None:
            self.names = tuple("abcdefghijklmnopqrstuvwxyz"[m] for m in range(len(self.xs)))
        self.names = tuple(self.names)
        if len(self.names) != len(self.xs) or len(set(self.names)) != len(self.names):
            raise ValueError(f"names: expected {len(self.xs)} distinct modality names, got {self.names!r}")

    def __len__(self):
        return self.xs[0].shape[0]

    @property
    def n_modalities(self):
        """M."""
        return len(self.xs)

    def modality_index(self, modality):
        """Index of ``modality`` given by name or by integer index."""
        if isinstance(modality, numbers.Integral) and not isinstance(modality, bool):
            if 0 <= modality < len(self.xs):
                return int(modality)
            raise ValueError(f"modality: expected an index in [0, {len(self.xs) - 1}] or one of {self.names}, got {modality!r}")
        check_choice("modality", modality, self.names)
        return self.names.index(modality)

    def subset(self, idx):
        """The samples ``idx`` (integer indices or a boolean mask of length N), as a new set."""
        idx = np.asarray(idx)
        if idx.dtype.kind == "b":
            if idx.shape != (len(self),):
                raise ValueError(f"idx: expected a boolean mask of shape ({len(self)},), got {idx.shape}")
        elif idx.dtype.kind not in "iu" or idx.ndim != 1:
            raise ValueError(f"idx: expected a 1-d integer index array or boolean mask, got dtype {idx.dtype}, shape {idx.shape}")
        elif idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise ValueError(f"idx: indices must lie in [0, {len(self) - 1}]")
        return MultimodalData([x[idx] for x in self.xs], self.y[idx], self.noise[:, idx], self.n_classes, self.names)

    def select(self, views):
        """The views ``views`` (names or indices, in that order) of every sample, as a new set."""
        idx = [self.modality_index(v) for v in ([views] if isinstance(views, (str, numbers.Integral)) else views)]
        return MultimodalData([self.xs[m] for m in idx], self.y, self.noise[idx], self.n_classes,
                              tuple(self.names[m] for m in idx))

    @accepts(batch_size=Integer(1), rng=Optional(RNG))
    def batches(self, batch_size, rng=None, drop_last=False):
        """Yield index arrays of (at most) ``batch_size`` samples covering the set once.

        Shuffled by ``rng`` (a Generator); in order when ``rng`` is None.
        Use ``data.subset(idx)`` for the batch itself.  ``drop_last`` drops a
        final short batch (useful for losses that need N >= 2, SPEC §5).
        """
        order = np.arange(len(self)) if rng is None else rng.permutation(len(self))
        stop = len(self) - (len(self) % batch_size if drop_last else 0)
        for start in range(0, stop, batch_size):
            yield order[start:start + batch_size]


# ------------------------------------------------- checks the data modules share
def view_indices(name, views, names):
    """A view name or index, or a list of them, as a sorted tuple of distinct indices."""
    if isinstance(views, (str, numbers.Integral)):
        views = [views]
    out = []
    for v in views:
        if isinstance(v, numbers.Integral) and not isinstance(v, bool):
            if not 0 <= v < len(names):
                raise ValueError(f"{name}: expected view indices in [0, {len(names) - 1}] or names from {names}, got {v!r}")
            out.append(int(v))
        else:
            check_choice(name, v, names)
            out.append(names.index(v))
    if not out or len(set(out)) != len(out):
        raise ValueError(f"{name}: expected one or more distinct views, got {views!r}")
    return tuple(sorted(out))


def check_levels(levels):
    """Noise levels: a non-empty sequence of finite scales >= 0, as a tuple of floats."""
    levels = tuple(levels)
    if not levels:
        raise ValueError("levels: expected at least one noise level")
    for v in levels:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0:
            raise ValueError(f"levels: expected finite noise scales >= 0, got {v!r}")
    return tuple(float(v) for v in levels)


def check_interval(name, interval):
    """A pair (low, high) of finite numbers with low < high, as floats."""
    if not (isinstance(interval, (tuple, list)) and len(interval) == 2
            and all(isinstance(v, numbers.Real) and math.isfinite(v) for v in interval)
            and interval[0] < interval[1]):
        raise ValueError(f"{name}: expected a pair (low, high) of finite numbers with low < high, got {interval!r}")
    return float(interval[0]), float(interval[1])
