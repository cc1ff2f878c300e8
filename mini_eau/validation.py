"""Argument checks, declared once per public function, run at the edge.

A public function states what it accepts in one decorator, and its body is
pure maths::

    @accepts(x="N D_in", W="D_in D_out", b="D_out")
    def linear_forward(x, W, b): ...

    @checks_dout
    def linear_backward(dout, cache): ...

* A string declares an array by its shape: one name per axis. A name binds
  on first use and must then agree across the arguments ("D_in" of ``x`` is
  "D_in" of ``W``); a number fixes the size, ``*`` allows any size,
  ``...`` any leading axes, and ``M>=2`` adds a minimum.  Values must be
  finite (checked on NumPy data; on a GPU that would cost a device-to-host
  copy, so the training loop checks the data once on the host instead).
* Other specs: :class:`Real`, :class:`Choice`, :class:`Labels`,
  :class:`Integer`, :class:`Instance`, :data:`KEEP_PROB`, :class:`Optional`,
  or any function ``spec(name, value, call)``.
* **Only the outermost call checks.**  A checked function called from
  inside another one trusts its caller: the model checks its batch once,
  and the components it composes run their maths unchecked.
* **Backwards check ``dout``** against the shape of the forward's output: a
  ``*_forward`` called from outside records it in its (tuple) cache; an
  elementwise forward's bare-array cache has that shape itself.

Every failure raises ``ValueError`` (``TypeError`` for a wrong type) naming
the caller's argument and what was expected.
"""
from __future__ import annotations

import functools
import inspect
import numbers
import threading

import numpy

__all__ = [
    "accepts", "checks_dout", "call_user", "Array", "SameShape", "Real", "Choice", "Labels", "Integer", "Instance", "Optional", "KEEP_PROB",
    "unbox", "check_array", "check_same_batch", "check_labels", "check_choice", "check_positive", "check_stack",
    "check_keep_prob", "check_inputs",
]

_inside = threading.local()  # .depth > 0 while a checked function runs: inner calls are trusted


def unbox(x):
    """The plain value behind an autograd ``Box`` (``x`` itself otherwise)."""
    while hasattr(x, "_value") and type(x).__module__.startswith("autograd"):
        x = x._value
    return x


# ------------------------------------------------------------------ leaves
def _shape_str(shape):
    return "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_array(name, x, ndim=None, shape=None, finite=True, dtype_kind=None):
    """``x`` is an array of rank ``ndim`` / shape ``shape`` (``None`` entries: any size), finite values."""
    v = unbox(x)
    if not hasattr(v, "shape") or not hasattr(v, "dtype"):
        raise TypeError(f"{name}: expected an array, got {type(v).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if v.ndim not in allowed:
            raise ValueError(f"{name}: expected a {' or '.join(map(str, allowed))}-d array, got shape {tuple(v.shape)}")
    if shape is not None and (len(shape) != v.ndim or any(s is not None and s != t for s, t in zip(shape, v.shape))):
        raise ValueError(f"{name}: expected shape {_shape_str(shape)}, got {tuple(v.shape)}")
    if dtype_kind is not None and v.dtype.kind not in dtype_kind:
        kinds = {"f": "floating", "i": "integer", "u": "unsigned integer", "b": "boolean"}
        raise ValueError(f"{name}: expected a {' or '.join(kinds.get(k, k) for k in dtype_kind)} array, got dtype {v.dtype}")
    if finite and isinstance(v, numpy.ndarray) and v.dtype.kind in "fc" and not numpy.isfinite(v).all():
        raise ValueError(f"{name}: contains NaN or inf; expected finite values")
    return x


def check_stack(name, x, ndim=3, finite=True):
    """A modality stack of shape (M, N, D) with M >= 2."""
    check_array(name, x, ndim=ndim, finite=finite)
    if unbox(x).shape[0] < 2:
        raise ValueError(f"{name}: expected a stack over M >= 2 modalities (shape (M, N, D)), got shape {tuple(unbox(x).shape)}")
    return x


def check_same_batch(**arrays):
    """All arrays share their first dimension (the batch)."""
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


def check_inputs(xs, y=None, input_dims=None, n_classes=None):
    """Validate a multimodal batch: a list of (N, D_m) float arrays (+ labels)."""
    if not isinstance(xs, (list, tuple)) or len(xs) < 2:
        raise ValueError("xs: expected a list of M >= 2 arrays, one (N, D_m) array per modality")
    if input_dims is not None and len(xs) != len(input_dims):
        raise ValueError(f"xs: expected {len(input_dims)} modalities, got {len(xs)}")
    for m, x in enumerate(xs):
        d = None if input_dims is None else input_dims[m]
        check_array(f"xs[{m}]", x, shape=(None, d), dtype_kind="f")
    check_same_batch(**{f"xs[{m}]": x for m, x in enumerate(xs)})
    if y is not None:
        check_labels("y", y, n_samples=xs[0].shape[0], n_classes=n_classes)


def check_choice(name, value, choices):
    """``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name}: expected one of {tuple(choices)}, got {value!r}")
    return value


def check_positive(name, value, allow_zero=False):
    """A finite real number > 0 (or >= 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    if not numpy.isfinite(value) or not (value >= 0 if allow_zero else value > 0):
        raise ValueError(f"{name}: expected a finite number {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return value


def check_keep_prob(keep_prob, name="keep_prob"):
    """A dropout keep probability: a real number in (0, 1]."""
    if isinstance(keep_prob, bool) or not isinstance(keep_prob, numbers.Real) or not 0.0 < keep_prob <= 1.0:
        raise ValueError(f"{name}: expected a number in (0, 1], got {keep_prob!r}")
    return keep_prob


# ------------------------------------------------------------------- specs
class _Call:
    """What a spec sees: the bound arguments and the axis sizes bound so far."""

    def __init__(self, args):
        self.args, self.dims = args, {}


class Array:
    """An array declared by its axes, e.g. ``Array("M>=2 N D")``; a plain string means the same."""

    def __init__(self, axes, kind=None, finite=True):
        self.axes, self.kind, self.finite = axes, kind, finite
        self.tokens = []
        for tok in axes.split():
            name, _, low = tok.partition(">=")
            self.tokens.append((int(name) if name.isdigit() else name, int(low) if low else None))

    def __call__(self, name, value, call):
        check_array(name, value, dtype_kind=self.kind, finite=self.finite)
        shape = tuple(unbox(value).shape)
        lead, trail = self.tokens[0][0] == "...", self.tokens[-1][0] == "..."
        axes = [t for t in self.tokens if t[0] != "..."]
        if len(shape) != len(axes) and not ((lead or trail) and len(shape) >= len(axes)):
            raise ValueError(f"{name}: expected a {len(axes)}-d array of shape {self._want(call.dims)}, got shape {shape}")
        before = dict(call.dims)
        for (axis, low), size in zip(axes, shape[len(shape) - len(axes):] if lead else shape):
            bound = axis if isinstance(axis, int) else call.dims.get(axis)
            if (bound is not None and size != bound) or (low is not None and size < low):
                raise ValueError(f"{name}: expected shape {self._want(before)}, got {shape}")
            if isinstance(axis, str) and axis != "*":
                call.dims.setdefault(axis, size)

    def _want(self, dims):
        parts = []
        for axis, low in self.tokens:
            size = axis if isinstance(axis, int) else dims.get(axis, axis)
            parts.append(str(size) + (f" >= {low}" if low is not None and not isinstance(size, int) else ""))
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


class SameShape:
    """An array of the same shape as the argument ``other``."""

    def __init__(self, other):
        self.other = other

    def __call__(self, name, value, call):
        shape = tuple(unbox(call.args[self.other]).shape)
        check_array(name, value)
        if tuple(unbox(value).shape) != shape:
            raise ValueError(f"{name}: expected shape {shape} (the shape of {self.other}), got {tuple(unbox(value).shape)}")


class Real:
    """A finite real number; ``Real(">0")`` or ``Real(">=0")``."""

    def __init__(self, rule=">0"):
        self.allow_zero = rule == ">=0"

    def __call__(self, name, value, call):
        check_positive(name, value, self.allow_zero)


class Choice:
    """One of a tuple of names."""

    def __init__(self, choices):
        self.choices = tuple(choices)

    def __call__(self, name, value, call):
        check_choice(name, value, self.choices)


class Labels:
    """Integer class labels, one per sample of axis ``n``, below the size of axis ``k``."""

    def __init__(self, n="N", k=None):
        self.n, self.k = n, k

    def __call__(self, name, value, call):
        n_classes = call.dims.get(self.k) if isinstance(self.k, str) else self.k
        check_labels(name, value, call.dims.get(self.n), n_classes)
        call.dims.setdefault(self.n, unbox(value).shape[0])


class Integer:
    """An integer >= ``low``."""

    def __init__(self, low=1):
        self.low = low

    def __call__(self, name, value, call):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
        if value < self.low:
            raise ValueError(f"{name}: expected an integer >= {self.low}, got {value!r}")


class Instance:
    """An instance of ``cls`` (a ``TypeError`` otherwise), described as ``what``."""

    def __init__(self, cls, what):
        self.cls, self.what = cls, what

    def __call__(self, name, value, call):
        if not isinstance(value, self.cls):
            raise TypeError(f"{name}: expected {self.what}, got {type(value).__name__}")


class Optional:
    """``None`` or what ``spec`` accepts."""

    def __init__(self, spec):
        self.spec = _as_spec(spec)

    def __call__(self, name, value, call):
        if value is not None:
            self.spec(name, value, call)


def KEEP_PROB(name, value, call):  # noqa: N802 - a spec, used like the classes above
    check_keep_prob(value, name)


def _as_spec(spec):
    return Array(spec) if isinstance(spec, str) else spec


# -------------------------------------------------------------- decorators
class CheckedCache(tuple):
    """A forward's tuple cache, still readable as that tuple, with the shape of the forward's output."""

    def __new__(cls, cache, out_shape):
        self = super().__new__(cls, cache)
        self.out_shape = out_shape
        return self


def _shape_of(out):
    if isinstance(out, (tuple, list)):
        return tuple(_shape_of(o) for o in out)
    return tuple(getattr(unbox(out), "shape", ()))


def call_user(f, *args):
    """Call user code from inside a checked function: its calls into the library are checked again."""
    depth, _inside.depth = getattr(_inside, "depth", 0), 0
    try:
        return f(*args)
    finally:
        _inside.depth = depth


def _run_trusted(f, args, kwargs):
    _inside.depth = 1
    try:
        return f(*args, **kwargs)
    finally:
        _inside.depth = 0


def accepts(**specs):
    """Declare what a public function accepts; checked when called from outside the library."""
    specs = {k: _as_spec(v) for k, v in specs.items()}

    def decorate(f):
        signature = inspect.signature(f)
        # a module-level *_forward returns (out, cache); methods such as EAU.loss_forward keep their own cache
        records_output = f.__name__.endswith("_forward") and "." not in f.__qualname__

        @functools.wraps(f)
        def checked(*args, **kwargs):
            if getattr(_inside, "depth", 0):
                return f(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            call = _Call(bound.arguments)
            for name, spec in specs.items():
                spec(name, bound.arguments[name], call)
            result = _run_trusted(f, args, kwargs)
            if records_output and isinstance(result[1], tuple):
                return result[0], CheckedCache(result[1], _shape_of(result[0]))
            return result  # a bare-array cache (elementwise forwards) has the output's shape itself

        checked.specs = specs
        return checked

    return decorate


def _check_dout(dout, shape, name="dout"):
    if isinstance(shape, tuple) and shape and isinstance(shape[0], tuple):
        if not isinstance(dout, (tuple, list)) or len(dout) != len(shape):
            raise ValueError(f"{name}: expected {len(shape)} gradients, one per output of the forward")
        for i, (d, s) in enumerate(zip(dout, shape)):
            _check_dout(d, s, f"{name}[{i}]")
    elif shape == ():
        if not isinstance(unbox(dout), numbers.Real) and getattr(unbox(dout), "shape", None) != ():
            raise ValueError(f"{name}: expected a scalar (the forward returned one), got {type(unbox(dout)).__name__}")
    else:
        check_array(name, dout, shape=shape)


def checks_dout(backward):
    """A backward that checks ``dout`` against its forward's output when called from outside the library."""

    name = next(iter(inspect.signature(backward).parameters))  # "dout", or e.g. "dfused"

    @functools.wraps(backward)
    def checked(dout, cache):
        if getattr(_inside, "depth", 0):
            return backward(dout, tuple(cache) if isinstance(cache, CheckedCache) else cache)
        if isinstance(cache, CheckedCache):
            _check_dout(dout, cache.out_shape, name)
            cache = tuple(cache)
        elif hasattr(cache, "shape"):
            _check_dout(dout, tuple(unbox(cache).shape), name)
        return _run_trusted(backward, (dout, cache), {})

    return checked
