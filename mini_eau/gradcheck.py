r"""Gradient checking: does a hand-written backward match its forward?

It proves the backward is the derivative of the forward *as written*; it
says nothing about whether the forward is the paper's formula (the tests pin
that: hand-computed values, Monte Carlo estimates, closed forms).
Two independent witnesses are asked about every differentiable input:

1. **Central finite differences** in float64,

   .. math:: \frac{\partial L}{\partial x_j} \approx \frac{L(x + h e_j) - L(x - h e_j)}{2h},

   where :math:`L = \sum_k \langle \text{out}_k, \text{dout}_k \rangle` contracts the
   forward's outputs with a random upstream gradient.  The error is
   :math:`O(h^2)` plus rounding :math:`O(\epsilon_{\text{mach}} |L| / h)`, about
   :math:`10^{-10}` relative at :math:`h = 10^{-5}`: far below the
   :math:`10^{-7}` pass mark, far above a 0.1% mistake.
2. **autograd** differentiating *the very same forward function* (the backend
   hands it ``autograd.numpy`` while tracing), so the two sides agree to
   rounding error — pass mark :math:`10^{-10}`.

The error reported is the **max-normalised error** over the whole array,

.. math:: \text{err}(a, b) = \frac{\max_j |a_j - b_j|}{\max(\max_j |a_j|, \max_j |b_j|, \text{tiny})}:

the largest disagreement measured against the largest entry.  It is *not*
cs231n's element-wise relative error
:math:`\max_j |a_j - b_j| / \max(|a_j| + |b_j|, 10^{-8})`, which divides each
entry by its own size: a gradient entry that is zero up to rounding (a
saturated tanh, a far-off softmax column) would then score an error near 1
although the backward is right.  Scaling by the array's largest entry keeps
the verdict about the gradient as a whole, so a 0.1% mistake in any entry
that matters still shows as about :math:`10^{-3}`.

Everything random (inputs, noise, masks, the upstream gradient) is drawn once
and then held fixed, so both sides see the same function.

Learners can use it on their own code::

    from mini_eau.gradcheck import check_backward
    report = check_backward(my_forward, my_backward, [x, W], diff=[0, 1])
    print(report)
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np

from .backend import get_array_module, to_numpy

__all__ = [
    "rel_error",
    "numerical_gradient",
    "check_backward",
    "positional_loss",
    "InputCheck",
    "GradCheckReport",
    "Case",
    "register",
    "registered",
    "run_registered",
    "FD_TOL",
    "AUTOGRAD_TOL",
]

FD_TOL = 1e-7
AUTOGRAD_TOL = 1e-10
_TINY = np.finfo(np.float64).tiny


def rel_error(a, b, tiny=_TINY):
    """The max-normalised error ``max|a-b| / max(max|a|, max|b|, tiny)`` over whole arrays (not element-wise)."""
    a = np.asarray(to_numpy(a), dtype=np.float64)
    b = np.asarray(to_numpy(b), dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    num = np.max(np.abs(a - b))
    den = max(np.max(np.abs(a)), np.max(np.abs(b)), tiny)
    return float(num / den)


def _require_float64(name, x):
    x = to_numpy(x)
    if x.dtype != np.float64:
        raise ValueError(
            f"{name}: gradient checks need float64 arrays (finite differences in lower precision "
            f"are dominated by rounding), got {x.dtype}"
        )


def numerical_gradient(f, x, h=1e-5, entries=None):
    """Central-difference gradient of a scalar function ``f`` at float64 array ``x``.

    ``x`` is perturbed in place and restored.  With ``entries`` (flat indices)
    only those entries are differenced; the others are returned as NaN.
    """
    _require_float64("x", x)
    grad = np.full(x.shape, np.nan) if entries is not None else np.zeros_like(x)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)
    for j in range(x.size) if entries is None else entries:
        old = flat_x[j]
        flat_x[j] = old + h
        f_plus = float(f(x))
        flat_x[j] = old - h
        f_minus = float(f(x))
        flat_x[j] = old
        flat_g[j] = (f_plus - f_minus) / (2 * h)
    return grad


@dataclass
class InputCheck:
    """The verdict for one differentiable input of one component."""

    component: str
    input: str
    case: str
    # both errors are max-normalised (see rel_error), not element-wise
    fd_rel_error: float
    autograd_rel_error: float
    autograd_abs_diff: float
    fd_tol: float = FD_TOL
    autograd_tol: float = AUTOGRAD_TOL
    fd_ran: bool = True
    autograd_ran: bool = True

    @property
    def passed(self) -> bool:
        # a witness that ran must agree; NaN (a NaN anywhere in a gradient) never does
        fd_ok = not self.fd_ran or bool(self.fd_rel_error <= self.fd_tol)
        ad_ok = not self.autograd_ran or bool(self.autograd_rel_error <= self.autograd_tol)
        return fd_ok and ad_ok


def _fmt(v, ran=True):
    return "-" if v is None or not ran else ("NaN" if np.isnan(v) else f"{v:.2e}")


@dataclass
class GradCheckReport:
    """A list of :class:`InputCheck` rows with a readable table."""

    rows: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    def extend(self, other):
        self.rows.extend(other.rows)
        return self

    def components(self):
        """Per component: (name, worst FD error, worst autograd abs. diff, worst autograd error, passed); errors max-normalised."""
        def worst(values):  # NaN wins: a NaN gradient must show, not be skipped; None: witness not run
            return float(np.max(values)) if values else None

        out = []
        for name in dict.fromkeys(r.component for r in self.rows):
            rows = [r for r in self.rows if r.component == name]
            out.append((name,
                        worst([r.fd_rel_error for r in rows if r.fd_ran]),
                        worst([r.autograd_abs_diff for r in rows if r.autograd_ran]),
                        worst([r.autograd_rel_error for r in rows if r.autograd_ran]),
                        all(r.passed for r in rows)))
        return out

    def table(self, by="input"):
        """Text table, one row per checked input (``by="input"``) or per component."""
        if by == "component":
            head = ("component", "max-normalised error vs FD", "max abs. diff vs autograd", "status")
            body = [(c, _fmt(fd), _fmt(ad), "ok" if ok else "FAIL") for c, fd, ad, _, ok in self.components()]
        else:
            head = ("component", "input", "case", "max-normalised error vs FD", "max-normalised error vs autograd", "status")
            body = [
                (r.component, r.input, r.case, _fmt(r.fd_rel_error, r.fd_ran), _fmt(r.autograd_rel_error, r.autograd_ran),
                 "ok" if r.passed else "FAIL")
                for r in self.rows
            ]
        widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
        line = lambda cells: " | ".join(str(c).ljust(w) for c, w in zip(cells, widths))  # noqa: E731
        return "\n".join([line(head), "-+-".join("-" * w for w in widths)] + [line(b) for b in body])

    def __str__(self):
        return self.table()


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _random_like(out, rng):
    if isinstance(out, (tuple, list)):
        return tuple(_random_like(o, rng) for o in out)
    arr = to_numpy(out)
    if arr.ndim == 0:
        return float(rng.standard_normal())
    return rng.standard_normal(arr.shape)


def _contract(out, dout):
    """sum_k <out_k, dout_k>: the scalar whose gradient the backward computes."""
    if isinstance(out, (tuple, list)):
        return sum(_contract(o, d) for o, d in zip(out, dout))
    xp = get_array_module(out)
    return xp.sum(out * dout)


def check_backward(forward, backward, args, diff=None, kwargs=None, name=None, case="", rng=None,
                   h=1e-5, fd_tol=FD_TOL, autograd_tol=AUTOGRAD_TOL, use_fd=True, use_autograd=True,
                   fd_entries=None, names=None):
    """Check a ``name_forward`` / ``name_backward`` pair on every differentiable input.

    Parameters
    ----------
    forward : callable
        ``out, cache = forward(*args, **kwargs)``; ``out`` an array, a scalar
        or a tuple of arrays.
    backward : callable
        ``grads = backward(dout, cache)``: one gradient per entry of ``diff``,
        in input order (a bare array when there is only one).
    args : list
        Positional arguments.  Every floating array among them must be float64.
    diff : list of int, optional
        Positions of the differentiable arguments (default: every float array).
    use_fd, use_autograd : bool
        Which witnesses to ask.
    fd_entries : int, optional
        Difference only this many randomly chosen entries per input (for
        large models); the rest of the array is compared against autograd.
    names : list of str, optional
        Names of the positional arguments for the report (default: the
        forward's parameter names).

    Returns
    -------
    GradCheckReport
    """
    rng = np.random.default_rng(0) if rng is None else rng
    kwargs = dict(kwargs or {})
    args = list(args)
    if names is not None:
        params = list(names)
    else:
        try:
            params = list(inspect.signature(forward).parameters)
        except (TypeError, ValueError):  # pragma: no cover - builtins
            params = []
    arg_name = lambda i: params[i] if i < len(params) else f"arg{i}"  # noqa: E731
    for i, a in enumerate(args):
        if hasattr(a, "dtype") and a.dtype.kind == "f":
            _require_float64(arg_name(i), a)
    if diff is None:
        diff = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    name = name or getattr(forward, "__name__", "component").removesuffix("_forward")

    out, cache = forward(*args, **kwargs)
    dout = _random_like(out, rng)
    grads = _as_tuple(backward(dout, cache))
    if len(grads) != len(diff):
        raise ValueError(f"{name}: backward returned {len(grads)} gradients, expected {len(diff)} (one per differentiable input)")

    def objective(*diff_values):
        full = list(args)
        for i, v in zip(diff, diff_values):
            full[i] = v
        return _contract(forward(*full, **kwargs)[0], dout)

    report = GradCheckReport()
    for k, (i, g) in enumerate(zip(diff, grads)):
        g = to_numpy(g)
        x = args[i]
        if g.shape != np.shape(x):
            raise ValueError(f"{name}: gradient for {arg_name(i)} has shape {g.shape}, expected {np.shape(x)}")
        fd_err = np.nan
        if use_fd:
            x_work = np.array(x, dtype=np.float64, copy=True)
            entries = None
            if fd_entries is not None and x_work.size > fd_entries:
                entries = rng.choice(x_work.size, size=fd_entries, replace=False)

            def f(xv, k=k):
                vals = [args[j] for j in diff]
                vals[k] = xv
                return objective(*vals)

            num = numerical_gradient(f, x_work, h=h, entries=entries)
            if entries is None:
                fd_err = rel_error(g, num)
            else:
                fd_err = rel_error(g.reshape(-1)[entries], num.reshape(-1)[entries])
        ad_err = ad_abs = np.nan
        if use_autograd:
            import warnings

            import autograd

            with warnings.catch_warnings():
                # an input the output truly does not depend on (e.g. the log-variances under
                # "mean" fusion) has gradient zero; autograd warns about it, we check it
                warnings.filterwarnings("ignore", message="Output seems independent of input")
                ad = autograd.grad(objective, k)(*[args[j] for j in diff])
            ad = np.asarray(ad, dtype=np.float64)
            ad_err = rel_error(g, ad)
            ad_abs = float(np.max(np.abs(g - ad))) if g.size else 0.0
        report.rows.append(InputCheck(name, arg_name(i), case, fd_err, ad_err, ad_abs, fd_tol, autograd_tol,
                                      fd_ran=use_fd, autograd_ran=use_autograd))
    return report


# ----------------------------------------------------------------------------
# Registry: every component contributes cases; `python -m mini_eau gradcheck`
# and tests/test_gradients.py run them all.
# ----------------------------------------------------------------------------


@dataclass
class Case:
    """One gradient check: a forward/backward pair at fixed inputs."""

    forward: object
    backward: object
    args: list
    diff: list | None = None
    kwargs: dict = field(default_factory=dict)
    label: str = ""
    fd_entries: int | None = None
    fd_tol: float = FD_TOL
    names: list | None = None


def positional_loss(model, names, xs, y, draws):
    """``(forward, backward)`` taking the parameters as positional arrays, for :func:`check_backward`."""

    def forward(*values):
        return model.loss_forward(dict(zip(names, values)), xs, y, draws)

    def backward(dout, cache):
        g = model.loss_backward(dout, cache)
        return tuple(g[k] for k in names)

    return forward, backward


_REGISTRY: dict = {}
_COMPONENT_PACKAGES = ("mini_eau", "mini_eau.lab.baselines")
"""Where the registered components live (:func:`registered` imports every module of each)."""


def register(name):
    """Decorator: ``@register("linear") def cases(rng): return [Case(...), ...]``."""

    def deco(factory):
        if name in _REGISTRY and _REGISTRY[name] is not factory:
            raise ValueError(f"gradcheck component {name!r} is registered twice")
        _REGISTRY[name] = factory
        return factory

    return deco


def registered():
    """Name -> case factory for every registered component.

    Imports every module of the packages that hold hand-derived pairs
    (:data:`_COMPONENT_PACKAGES`: the core and the kit's baselines), so a
    component registers itself just by living there with an ``@register``
    block, and the list does not depend on what the caller happened to
    import before.  The rest of the kit (data, plots, the estimator) holds
    no gradient and is not imported: the check needs only the core's
    dependencies.  ``__main__`` is skipped: importing it runs the command line.
    """
    import importlib
    import pkgutil

    for package in _COMPONENT_PACKAGES:
        for mod in pkgutil.iter_modules(importlib.import_module(package).__path__, prefix=f"{package}."):
            if not mod.ispkg and mod.name.rsplit(".", 1)[-1] != "__main__":
                importlib.import_module(mod.name)
    return dict(_REGISTRY)


def run_component(name, seed=0):
    """Run every case of one registered component."""
    factory = registered()[name]
    rng = np.random.default_rng(seed)
    report = GradCheckReport()
    for case in factory(rng):
        report.extend(
            check_backward(case.forward, case.backward, case.args, diff=case.diff, kwargs=case.kwargs,
                           name=name, case=case.label, rng=rng, fd_entries=case.fd_entries, fd_tol=case.fd_tol,
                           names=case.names)
        )
    return report


def run_registered(names=None, seed=0):
    """Run the cases of ``names`` (default: all registered components)."""
    names = list(registered()) if names is None else list(names)
    report = GradCheckReport()
    for n in names:
        report.extend(run_component(n, seed=seed))
    return report
