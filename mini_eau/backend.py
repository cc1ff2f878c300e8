"""Array backend: which array module does the maths run on?

Every component starts with ``xp = get_array_module(*inputs)`` and then only
calls ``xp.<function>``.  That one line lets the *same* forward code run on

* NumPy arrays (the default),
* ``autograd.numpy`` when autograd is tracing the call — so autograd can
  differentiate exactly the forward we wrote by hand, and the gradient check
  compares two derivatives of one function, not of two look-alikes,
* CuPy arrays on a GPU (CuPy is imported only when a CuPy array shows up or
  the user asks for the ``cupy`` backend),
* any other array type that registers its module with
  :func:`register_array_module` (the test-suite uses this to prove a training
  step never silently falls back to NumPy).

Component code never imports NumPy as its compute module directly.
"""
from __future__ import annotations

import importlib
import os

import numpy

__all__ = [
    "get_array_module",
    "register_array_module",
    "to_numpy",
    "default_xp",
    "array_module",
    "set_default_backend",
    "get_default_backend",
    "asarray",
    "BACKENDS",
    "BackendUnavailable",
    "noise_generator",
]

BACKENDS = ("numpy", "cupy")
ENV_VAR = "MINI_EAU_BACKEND"

# type -> module, for array types that are neither NumPy, CuPy nor autograd boxes
_registered: dict[type, object] = {}
_default: str | None = None


class BackendUnavailable(RuntimeError):
    """The requested backend cannot run here (CuPy missing, or no GPU)."""


def register_array_module(array_type: type, module) -> None:
    """Declare that arrays of ``array_type`` are computed with ``module``."""
    _registered[array_type] = module


def _is_box(x) -> bool:
    # autograd wraps traced values in Box subclasses; look the class up lazily
    # so that importing mini_eau does not pay for importing autograd.
    for cls in type(x).__mro__:
        if cls.__module__.startswith("autograd") and cls.__name__ == "Box":
            return True
    return False


def get_array_module(*arrays):
    """Return the array module that should compute on ``arrays``.

    The first argument that decides wins: an autograd ``Box`` gives
    ``autograd.numpy``; a CuPy array gives ``cupy``; a registered type gives
    its module.  Python scalars, ``None`` and NumPy arrays do not decide; if
    nothing decides the answer is ``numpy``.
    """
    for x in arrays:
        if x is None or isinstance(x, (numpy.ndarray, numpy.generic, int, float, bool)):
            continue
        t = type(x)
        if t in _registered:
            return _registered[t]
        if _is_box(x):
            import autograd.numpy as anp

            return anp
        if t.__module__.split(".")[0] == "cupy":
            import cupy

            return cupy
    return numpy


def to_numpy(x):
    """Copy ``x`` to a NumPy array (from CuPy, an autograd box, or anything array-like)."""
    if isinstance(x, numpy.ndarray):
        return x
    if _is_box(x):
        return to_numpy(x._value)
    if hasattr(x, "get") and type(x).__module__.split(".")[0] == "cupy":
        return x.get()
    if hasattr(x, "to_numpy"):
        return x.to_numpy()
    return numpy.asarray(x)


def _load_cupy():
    try:
        cupy = importlib.import_module("cupy")
    except ImportError as err:  # pragma: no cover - depends on the machine
        raise BackendUnavailable(
            "backend 'cupy' needs CuPy: install the wheel for your CUDA version, "
            "e.g. `pip install cupy-cuda12x`"
        ) from err
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # pragma: no cover - depends on the machine
        raise BackendUnavailable(f"backend 'cupy': CuPy is installed but no CUDA device is usable ({err})") from err
    if n < 1:  # pragma: no cover
        raise BackendUnavailable("backend 'cupy': CuPy is installed but no CUDA device was found")
    return cupy


def set_default_backend(name: str | None) -> None:
    """Choose the module used for *new* arrays: ``"numpy"`` or ``"cupy"``.

    ``None`` goes back to the environment variable ``MINI_EAU_BACKEND``
    (default ``numpy``).  Asking for ``cupy`` without CuPy or a GPU raises
    :class:`BackendUnavailable` with a message saying what is missing.
    """
    global _default
    if name is not None:
        if name not in BACKENDS:
            raise ValueError(f"backend: expected one of {BACKENDS}, got {name!r}")
        if name == "cupy":
            _load_cupy()
    _default = name


def get_default_backend() -> str:
    """The name of the backend new arrays are created on."""
    name = _default if _default is not None else os.environ.get(ENV_VAR, "numpy") or "numpy"
    if name not in BACKENDS:
        raise ValueError(f"{ENV_VAR}: expected one of {BACKENDS}, got {name!r}")
    return name


def default_xp():
    """The array module for new arrays (NumPy unless the CuPy backend is on)."""
    return _load_cupy() if get_default_backend() == "cupy" else numpy


def array_module(name=None):
    """The array module of backend ``name`` (``"numpy"`` or ``"cupy"``), without changing the default.

    ``None`` is :func:`default_xp`.  ``"cupy"`` without CuPy or a GPU raises
    :class:`BackendUnavailable`.
    """
    if name is None:
        return default_xp()
    if name not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS} or None, got {name!r}")
    return _load_cupy() if name == "cupy" else numpy


def asarray(x, dtype=None, xp=None):
    """Move ``x`` onto the backend ``xp`` (default: :func:`default_xp`)."""
    xp = default_xp() if xp is None else xp
    return xp.asarray(x, dtype=dtype)


def noise_generator(rng, xp):
    """The generator that draws a step's noise *on the backend* (no host-to-device copy per step).

    NumPy runs use ``rng`` itself.  Other backends get their own generator
    (``xp.random.default_rng``) seeded from ``rng``, so a run is still
    reproducible from its one seed, but its noise differs from the NumPy
    run's (device generators use other algorithms).
    """
    if xp is numpy:
        return rng
    return xp.random.default_rng(int(rng.integers(2 ** 63 - 1)))
