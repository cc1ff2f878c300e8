"""Argument checks shared by every public function.

A learner who passes a wrong shape should read *which* argument was wrong and
what was expected, not a broadcasting error three calls deep.  Every check
raises ``ValueError`` (``TypeError`` when the argument is not an array at all)
with the argument's name in the message.

Finiteness is checked on NumPy data (and autograd boxes around it).  On a GPU
backend it is skipped inside the maths — asking "is everything finite?" costs
a device-to-host copy — and the training loop checks the data once when it is
moved to the device.
"""
from __future__ import annotations

import contextlib
import numbers

import numpy

__all__ = [
    "unbox",
    "check_array",
    "check_same_batch",
    "check_labels",
    "check_choice",
    "check_positive",
    "check_stack",
    "trusted_values",
    "check_keep_prob",
]

_scan_values = True


@contextlib.contextmanager
def trusted_values():
    """Inside this block, ``check_array`` skips its NaN/inf scan (shapes are still checked).

    The training loop uses it around its steps: the data were scanned once
    when training started, and the loop's own guard names the step and loss
    term if a value goes bad later — scanning every intermediate array again
    in every component would only cost time (about a tenth of a small step).
    """
    global _scan_values
    old, _scan_values = _scan_values, False
    try:
        yield
    finally:
        _scan_values = old


def unbox(x):
    """The plain value behind an autograd ``Box`` (``x`` itself otherwise)."""
    while hasattr(x, "_value") and type(x).__module__.startswith("autograd"):
        x = x._value
    return x


def _shape_str(shape):
    return "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_array(name, x, ndim=None, shape=None, finite=True, dtype_kind=None):
    """Check that ``x`` is an array of the expected rank/shape with finite values.

    Parameters
    ----------
    name : str
        Argument name used in the error message.
    ndim : int or tuple of int, optional
        Allowed ranks.
    shape : tuple, optional
        Expected shape; ``None`` entries match any size.
    finite : bool
        Refuse NaN and inf (NumPy data only, see module docstring).
    dtype_kind : str, optional
        Allowed ``dtype.kind`` letters, e.g. ``"f"`` or ``"iu"``.
    """
    v = unbox(x)
    if not hasattr(v, "shape") or not hasattr(v, "dtype"):
        raise TypeError(f"{name}: expected an array, got {type(v).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if v.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name}: expected a {want}-d array, got shape {tuple(v.shape)}")
    if shape is not None:
        if len(shape) != v.ndim or any(s is not None and s != t for s, t in zip(shape, v.shape)):
            raise ValueError(f"{name}: expected shape {_shape_str(shape)}, got {tuple(v.shape)}")
    if dtype_kind is not None and v.dtype.kind not in dtype_kind:
        kinds = {"f": "floating", "i": "integer", "u": "unsigned integer", "b": "boolean"}
        want = " or ".join(kinds.get(k, k) for k in dtype_kind)
        raise ValueError(f"{name}: expected a {want} array, got dtype {v.dtype}")
    if (finite and _scan_values and isinstance(v, numpy.ndarray) and v.dtype.kind in "fc"
            and not numpy.isfinite(v).all()):
        raise ValueError(f"{name}: contains NaN or inf; expected finite values")
    return x


def check_stack(name, x, ndim=3, finite=True):
    """Check a modality stack of shape (M, N, D) with M >= 2."""
    check_array(name, x, ndim=ndim, finite=finite)
    if unbox(x).shape[0] < 2:
        raise ValueError(f"{name}: expected a stack over M >= 2 modalities (shape (M, N, D)), got shape {tuple(unbox(x).shape)}")
    return x


def check_same_batch(**arrays):
    """All arrays must share their first dimension (the batch)."""
    sizes = {k: unbox(v).shape[0] for k, v in arrays.items()}
    if len(set(sizes.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in sizes.items())
        raise ValueError(f"batch sizes differ: {desc}; expected the same number of samples")


def check_labels(name, y, n_samples=None, n_classes=None):
    """Integer class labels of shape (N,) in ``0 .. n_classes-1``."""
    v = unbox(y)
    if not hasattr(v, "dtype"):
        raise TypeError(f"{name}: expected an integer array of class labels, got {type(v).__name__}")
    if v.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integer class labels, got dtype {v.dtype}")
    if v.ndim != 1:
        raise ValueError(f"{name}: expected shape (N,), got {tuple(v.shape)}")
    if n_samples is not None and v.shape[0] != n_samples:
        raise ValueError(f"{name}: expected {n_samples} labels (one per sample), got {v.shape[0]}")
    if n_classes is not None and v.size and isinstance(v, numpy.ndarray):
        lo, hi = int(v.min()), int(v.max())
        if lo < 0 or hi >= n_classes:
            raise ValueError(f"{name}: labels must lie in [0, {n_classes - 1}], got values in [{lo}, {hi}]")
    return y


def check_choice(name, value, choices):
    """``value`` must be one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name}: expected one of {tuple(choices)}, got {value!r}")
    return value


def check_positive(name, value, allow_zero=False):
    """A finite real number > 0 (or >= 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    ok = value >= 0 if allow_zero else value > 0
    if not numpy.isfinite(value) or not ok:
        raise ValueError(f"{name}: expected a finite number {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return value


def check_keep_prob(keep_prob, name="keep_prob"):
    """A dropout keep probability: a real number in (0, 1]."""
    if isinstance(keep_prob, bool) or not isinstance(keep_prob, numbers.Real) or not 0.0 < keep_prob <= 1.0:
        raise ValueError(f"{name}: expected a number in (0, 1], got {keep_prob!r}")
    return keep_prob
