"""A CPU array type that behaves like CuPy where it matters for the backend.

Most machines that run the tests have no GPU, yet the CuPy path must never
fall back to NumPy behind the backend's back.  :class:`StrictArray` makes any
such fall-back fail loudly on a CPU:

* it wraps a NumPy array but refuses implicit conversion to one
  (``numpy.asarray(a)`` raises ``TypeError``, as for a CuPy array);
* arithmetic with a raw ``numpy.ndarray`` operand raises ``TypeError``
  (CuPy does the same), in either order (``__array_ufunc__ = None``);
* a NumPy function called on it (``np.sum(a)``) raises ``TypeError``: the
  code must go through ``xp`` (stricter than CuPy, which would dispatch);
* reductions return 0-d arrays, never NumPy scalars, as CuPy does;
* every device-to-host conversion (``float(a)``, ``int(a)``, ``bool(a)``,
  ``a.item()``, ``a.get()``, ``a.tolist()``, ``backend.to_numpy(a)``) and
  every host-to-device copy (``xp.asarray(host_data)``) is *counted*, so a
  test can assert that none happens inside a training step;
* every matrix product's operand shapes are logged (the benchmark's
  "floor" is checked against this log).

:data:`xp` is the array module (``get_array_module`` returns it for strict
arrays once this file is imported): it mirrors the NumPy functions mini_eau
uses, ``xp.random.default_rng`` (a generator drawing strict arrays, i.e. "on
the device"), and :data:`special` mirrors ``cupyx.scipy.special``.

Helpers for the backend tests live here too: :func:`to_backend` moves a
nested structure (and the arrays a closure captured) onto a backend, and
:func:`run_case` runs one gradient-check :class:`~mini_eau.gradcheck.Case`.
"""
from __future__ import annotations

import operator
import types
from dataclasses import dataclass, field

import numpy as np

from mini_eau import backend

__all__ = ["StrictArray", "xp", "special", "LOG", "counts", "wrap", "use_strict_special", "to_backend", "run_case",
           "rel_error"]


# ------------------------------------------------------------------ the log
@dataclass
class _Log:
    """What crossed between "host" and "device", and the matrix products."""

    to_host: list = field(default_factory=list)     # kinds of device -> host conversions
    to_device: int = 0                               # host -> device copies
    matmuls: list = field(default_factory=list)      # (shape of a, shape of b) per product
    record_matmuls: bool = False

    def reset(self):
        self.to_host.clear()
        self.to_device = 0
        self.matmuls.clear()


LOG = _Log()


def counts():
    """``(device->host conversions, host->device copies)`` so far."""
    return len(LOG.to_host), LOG.to_device


def _to_host(kind):
    LOG.to_host.append(kind)


# ------------------------------------------------------------ unwrap / wrap
_SCALARS = (bool, int, float, complex, np.generic)


def _operand(x):
    """The NumPy value behind an operand; raw NumPy arrays are refused, as CuPy refuses them."""
    if isinstance(x, StrictArray):
        return x._data
    if isinstance(x, np.ndarray):
        raise TypeError("StrictArray: operand is a numpy.ndarray; implicit host arrays are not allowed "
                        "(move it with xp.asarray first, as CuPy requires)")
    if isinstance(x, _SCALARS) or x is None:
        return x
    raise TypeError(f"StrictArray: unsupported operand type {type(x).__name__}")


def _unwrap_tree(x):
    """Unwrap the arguments of an ``xp`` function (lists and tuples of arrays for stack/concatenate)."""
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap_tree(v) for v in x)
    if isinstance(x, (StrictArray, np.ndarray)):
        return _operand(x)
    return x  # scalars, dtypes, strings, slices, None


def wrap(x):
    """NumPy results back to strict arrays; NumPy scalars become 0-d arrays (as CuPy returns)."""
    if isinstance(x, np.ndarray):
        return StrictArray(x)
    if isinstance(x, np.generic):
        return StrictArray(np.asarray(x))
    if isinstance(x, tuple):
        return tuple(wrap(v) for v in x)
    if isinstance(x, list):
        return [wrap(v) for v in x]
    return x


def _index(key):
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    if isinstance(key, StrictArray):
        return key._data
    if isinstance(key, np.ndarray):
        raise TypeError("StrictArray: index is a numpy.ndarray; move it with xp.asarray first")
    return key


# ---------------------------------------------------------------- the array
def _binary(op, reflected=False):
    def method(self, other):
        o = _operand(other)
        return wrap(op(o, self._data) if reflected else op(self._data, o))

    return method


def _inplace(op):
    def method(self, other):
        op(self._data, _operand(other))  # numpy's in-place operator writes into self._data (and its base)
        return self

    return method


def _unary(op):
    def method(self):
        return wrap(op(self._data))

    return method


def _array_method(name):
    def method(self, *args, **kwargs):
        return wrap(getattr(self._data, name)(*_unwrap_tree(args), **{k: _unwrap_tree(v) for k, v in kwargs.items()}))

    method.__name__ = name
    return method


class StrictArray:
    """A NumPy array in disguise that, like a CuPy array, will not silently become one."""

    __slots__ = ("_data",)
    __array_ufunc__ = None   # np.<ufunc>(strict) and ndarray <op> strict raise TypeError
    __hash__ = None          # == is elementwise

    def __init__(self, data):
        if not isinstance(data, np.ndarray):
            raise TypeError(f"StrictArray wraps a numpy.ndarray, got {type(data).__name__}")
        self._data = data

    # -- refusing NumPy
    def __array__(self, dtype=None, copy=None):
        raise TypeError("implicit conversion to a NumPy array is not allowed (StrictArray, like a CuPy array); "
                        "use to_numpy()/get() explicitly")

    def __array_function__(self, func, types_, args, kwargs):
        raise TypeError(f"numpy.{func.__name__} called on a StrictArray: use the backend's module (xp.{func.__name__})")

    # -- counted host conversions
    def __float__(self):
        _to_host("float")
        return float(self._data)

    def __int__(self):
        _to_host("int")
        return int(self._data)

    def __index__(self):
        _to_host("index")
        return operator.index(self._data)

    def __bool__(self):
        _to_host("bool")
        return bool(self._data)

    def __complex__(self):
        _to_host("complex")
        return complex(self._data)

    def item(self):
        _to_host("item")
        return self._data.item()

    def tolist(self):
        _to_host("tolist")
        return self._data.tolist()

    def get(self):
        """Copy to a NumPy array (CuPy's name for it)."""
        _to_host("get")
        return self._data.copy()

    def to_numpy(self):
        """Copy to a NumPy array (what ``mini_eau.backend.to_numpy`` calls)."""
        _to_host("to_numpy")
        return self._data.copy()

    # -- metadata (no data moves)
    shape = property(lambda self: self._data.shape)
    ndim = property(lambda self: self._data.ndim)
    dtype = property(lambda self: self._data.dtype)
    size = property(lambda self: self._data.size)
    itemsize = property(lambda self: self._data.itemsize)
    nbytes = property(lambda self: self._data.nbytes)
    T = property(lambda self: StrictArray(self._data.T))

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        return (StrictArray(np.asarray(r)) for r in self._data)

    def __repr__(self):
        return f"StrictArray({self._data!r})"

    # -- indexing (basic indexing gives views, as in NumPy and CuPy)
    def __getitem__(self, key):
        return wrap(self._data[_index(key)])

    def __setitem__(self, key, value):
        self._data[_index(key)] = _operand(value)

    # -- arithmetic
    __add__, __radd__ = _binary(operator.add), _binary(operator.add, True)
    __sub__, __rsub__ = _binary(operator.sub), _binary(operator.sub, True)
    __mul__, __rmul__ = _binary(operator.mul), _binary(operator.mul, True)
    __truediv__, __rtruediv__ = _binary(operator.truediv), _binary(operator.truediv, True)
    __floordiv__, __rfloordiv__ = _binary(operator.floordiv), _binary(operator.floordiv, True)
    __mod__, __rmod__ = _binary(operator.mod), _binary(operator.mod, True)
    __pow__, __rpow__ = _binary(operator.pow), _binary(operator.pow, True)
    __and__, __rand__ = _binary(operator.and_), _binary(operator.and_, True)
    __or__, __ror__ = _binary(operator.or_), _binary(operator.or_, True)
    __xor__, __rxor__ = _binary(operator.xor), _binary(operator.xor, True)
    __eq__, __ne__ = _binary(operator.eq), _binary(operator.ne)
    __lt__, __le__ = _binary(operator.lt), _binary(operator.le)
    __gt__, __ge__ = _binary(operator.gt), _binary(operator.ge)
    __iadd__, __isub__ = _inplace(operator.iadd), _inplace(operator.isub)
    __imul__, __itruediv__ = _inplace(operator.imul), _inplace(operator.itruediv)
    __ipow__ = _inplace(operator.ipow)
    __neg__, __pos__ = _unary(operator.neg), _unary(operator.pos)
    __abs__, __invert__ = _unary(operator.abs), _unary(operator.invert)

    def __matmul__(self, other):
        o = _operand(other)
        if LOG.record_matmuls:
            LOG.matmuls.append((tuple(self._data.shape), tuple(np.shape(o))))
        return wrap(self._data @ o)

    def __rmatmul__(self, other):
        o = _operand(other)
        if LOG.record_matmuls:
            LOG.matmuls.append((tuple(np.shape(o)), tuple(self._data.shape)))
        return wrap(o @ self._data)

    # -- methods that return arrays
    for _name in ("astype", "reshape", "sum", "mean", "max", "min", "argmax", "argmin", "prod", "std", "var",
                  "any", "all", "cumsum", "transpose", "swapaxes", "squeeze", "ravel", "flatten", "copy", "clip",
                  "dot", "diagonal", "trace", "round", "conj", "fill", "repeat"):
        locals()[_name] = _array_method(_name)
    del _name


# --------------------------------------------------------------- the module
def _function(name, fn=None):
    fn = getattr(np, name) if fn is None else fn

    def f(*args, **kwargs):
        return wrap(fn(*_unwrap_tree(args), **{k: _unwrap_tree(v) for k, v in kwargs.items()}))

    f.__name__ = name
    f.__doc__ = f"strict mirror of numpy.{name}"
    return f


def _asarray(a, dtype=None, **kwargs):
    """Strict arrays pass through (cast if asked); anything else is a host-to-device copy, and counted."""
    if isinstance(a, StrictArray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    LOG.to_device += 1
    return StrictArray(np.array(a, dtype=dtype, copy=True))


class _Generator:
    """``xp.random.default_rng(seed)``: a generator whose draws are strict arrays (drawn "on the device")."""

    def __init__(self, seed=None):
        self._rng = np.random.default_rng(seed)

    def __getattr__(self, name):
        method = getattr(self._rng, name)

        def draw(*args, **kwargs):
            return wrap(method(*_unwrap_tree(args), **{k: _unwrap_tree(v) for k, v in kwargs.items()}))

        return draw


xp = types.ModuleType("strict_numpy", "NumPy mirror computing on StrictArray (see tests/strict_array.py)")
for _name in ("sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "prod", "std", "var", "cumsum",
              "exp", "expm1", "log", "log1p", "log2", "sqrt", "square", "tanh", "sinh", "cosh", "sin", "cos",
              "abs", "absolute", "sign", "negative", "reciprocal", "floor", "ceil", "isfinite", "isnan", "isinf",
              "maximum", "minimum", "clip", "where", "logaddexp", "add", "subtract", "multiply", "divide", "power",
              "matmul", "dot", "outer", "einsum", "tensordot", "stack", "concatenate", "hstack", "vstack", "split",
              "reshape", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze", "broadcast_to", "tile",
              "repeat", "diag", "diagonal", "trace", "triu", "tril", "all", "any", "allclose", "array_equal",
              "zeros", "ones", "full", "empty", "eye", "identity", "arange", "linspace",
              "zeros_like", "ones_like", "full_like", "empty_like", "take", "sort", "argsort", "cumprod",
              "logical_and", "logical_or", "logical_not", "equal", "not_equal", "less", "greater"):
    setattr(xp, _name, _function(_name))
del _name
xp.asarray = _asarray
xp.array = _asarray
for _name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_", "intp",
              "dtype", "newaxis", "pi", "e", "inf", "nan", "finfo", "iinfo", "ndarray"):
    setattr(xp, _name, getattr(np, _name))
del _name
xp.ndarray = StrictArray
xp.random = types.SimpleNamespace(default_rng=_Generator)

# cupyx.scipy.special's counterpart, for the TMC baseline (digamma, gammaln, trigamma)
special = types.ModuleType("strict_special", "scipy.special mirror on StrictArray")


def _special_function(name):
    import scipy.special

    return _function(name, getattr(scipy.special, name))


for _name in ("digamma", "gammaln", "polygamma"):
    setattr(special, _name, _special_function(_name))
del _name
xp.special = special

backend.register_array_module(StrictArray, xp)


# ------------------------------------------------------ backend test helpers
def use_strict_special(monkeypatch):
    """Let TMC (digamma, gammaln) find :data:`special` for the strict module, as it finds cupyx.scipy.special."""
    import sys

    from mini_eau.lab.baselines import tmc

    monkeypatch.setitem(sys.modules, "strict_special", special)
    monkeypatch.setitem(tmc._SPECIAL_MODULES, "strict_numpy", "strict_special")


def rel_error(a, b):
    """max|a - b| / max|a| over whole arrays, after copying each to the host (float64)."""
    a = np.asarray(backend.to_numpy(a), dtype=np.float64)
    b = np.asarray(backend.to_numpy(b), dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a - b), initial=0.0) / max(np.max(np.abs(a), initial=0.0), 1e-300))


def to_backend(obj, module):
    """``obj`` with every NumPy array moved onto ``module`` (``xp.asarray``), recursively.

    Lists, tuples and dicts are rebuilt; a function's captured variables
    (a closure, e.g. the ``positional_loss`` of a model's gradient check)
    are moved too, giving a new function.  Everything else is returned as is.
    """
    if isinstance(obj, np.ndarray):
        return module.asarray(obj)
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_backend(v, module) for v in obj)
    if isinstance(obj, dict):
        return {k: to_backend(v, module) for k, v in obj.items()}
    if isinstance(obj, types.FunctionType) and obj.__closure__:
        cells = tuple(types.CellType(to_backend(c.cell_contents, module)) for c in obj.__closure__)
        g = types.FunctionType(obj.__code__, obj.__globals__, obj.__name__, obj.__defaults__, cells)
        g.__kwdefaults__ = obj.__kwdefaults__
        return g
    return obj


def _upstream(out, rng):
    """A random upstream gradient shaped like ``out`` (NumPy; a float for a scalar output)."""
    if isinstance(out, (tuple, list)):
        return tuple(_upstream(o, rng) for o in out)
    shape = tuple(out.shape) if hasattr(out, "shape") else ()
    return float(rng.standard_normal()) if shape == () else rng.standard_normal(shape)


def run_case(case, module, rng, between=None):
    """Forward and backward of a gradient-check case on NumPy and on ``module``.

    Returns ``(numpy outputs, numpy grads, backend outputs, backend grads)``
    as flat lists (backend values still on the backend).  ``between`` is
    called with a label just before and after the backend's forward+backward
    (the strict tests snapshot the transfer counters there).
    """
    out, cache = case.forward(*case.args, **case.kwargs)
    dout = _upstream(out, rng)
    grads = case.backward(dout, cache)
    args_b, kwargs_b = to_backend(case.args, module), to_backend(case.kwargs, module)
    fwd_b, bwd_b = to_backend(case.forward, module), to_backend(case.backward, module)
    dout_b = to_backend(dout, module)
    if between:
        between("start")
    out_b, cache_b = fwd_b(*args_b, **kwargs_b)
    grads_b = bwd_b(dout_b, cache_b)
    if between:
        between("end")
    flat = lambda g: list(g) if isinstance(g, (tuple, list)) else [g]  # noqa: E731
    return flat(out), flat(grads), flat(out_b), flat(grads_b)
