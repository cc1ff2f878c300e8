r"""Gaussian heads and reparameterised sampling (SUFA, SPEC §2–§3).

Each modality's feature :math:`h^m` is mapped to a diagonal Gaussian
:math:`p(z^m \mid x^m) = \mathcal N(\mu^m, \operatorname{diag}(e^{s^m}))`:
the mean is the modality's *stable representation*, the log-variance
:math:`s^m` its *aleatoric uncertainty*.
"""
from __future__ import annotations

from .backend import get_array_module
from .gradcheck import Case, register
from .layers import linear_backward, linear_forward
from .validation import SameShape, accepts, checks_dout

__all__ = [
    "S_MIN", "S_MAX",
    "bound_forward", "bound_backward",
    "gaussian_head_forward", "gaussian_head_backward",
    "sample_forward", "sample_backward",
]

S_MIN, S_MAX = -10.0, 10.0


def _above_s_min(name, s_max, call):
    if not call.args["s_min"] < s_max:
        raise ValueError(f"s_min, s_max: expected s_min < s_max, got {call.args['s_min']!r}, {s_max!r}")


@accepts(raw="...", s_max=_above_s_min)
def bound_forward(raw, s_min=S_MIN, s_max=S_MAX):
    r"""Smooth bound on a log-variance (SPEC §2).

    Forward
    -------
    .. math::
        s = c + r \tanh\!\left(\frac{\tilde s - c}{r}\right),\qquad
        c = \tfrac12 (s_{\max} + s_{\min}),\ r = \tfrac12 (s_{\max} - s_{\min})

    so :math:`s \in (s_{\min}, s_{\max})`, :math:`s \approx \tilde s` near the
    centre (slope 1 at :math:`\tilde s = c`), and the head starts out as an
    ordinary linear log-variance.

    Backward
    --------
    .. math:: \frac{\partial L}{\partial \tilde s} = \text{ds} \odot \left(1 - \tanh^2\frac{\tilde s - c}{r}\right)

    Numerics
    --------
    :math:`e^{\pm s} \le e^{10}` downstream; tanh, not a clip, so the gradient fades instead of dying at the edges.
    """
    xp = get_array_module(raw)
    c, r = 0.5 * (s_max + s_min), 0.5 * (s_max - s_min)
    t = xp.tanh((raw - c) / r)
    return c + r * t, t


@checks_dout
def bound_backward(ds, cache):
    """Gradient ``draw`` of :func:`bound_forward`."""
    t = cache
    return ds * (1.0 - t * t)


@accepts(h="N H", W_mu="H D", b_mu="D", W_s="H D", b_s="D", s_max=_above_s_min)
def gaussian_head_forward(h, W_mu, b_mu, W_s, b_s, s_min=S_MIN, s_max=S_MAX):
    r"""Gaussian head: two affine maps, the second through the bound (SPEC §2).

    Forward
    -------
    .. math::
        \mu = h W_\mu + b_\mu,\qquad s = \operatorname{bound}(h W_s + b_s)

    Backward
    --------
    With :math:`\tilde s = h W_s + b_s` and :math:`g = \text{ds}\odot\operatorname{bound}'(\tilde s)`:

    .. math::
        \frac{\partial L}{\partial h} = \text{dmu}\, W_\mu^\top + g\, W_s^\top,\quad
        \frac{\partial L}{\partial W_\mu} = h^\top \text{dmu},\quad
        \frac{\partial L}{\partial b_\mu} = \textstyle\sum_i \text{dmu}_{i,:},\\
        \frac{\partial L}{\partial W_s} = h^\top g,\quad
        \frac{\partial L}{\partial b_s} = \textstyle\sum_i g_{i,:}

    Shapes
    ------
    h (N, H); W_mu, W_s (H, D); b_mu, b_s (D,) -> mu, s (N, D)
    """
    mu, c_mu = linear_forward(h, W_mu, b_mu)
    raw, c_s = linear_forward(h, W_s, b_s)
    s, c_b = bound_forward(raw, s_min, s_max)
    return (mu, s), (c_mu, c_s, c_b)


@checks_dout
def gaussian_head_backward(dout, cache):
    """Gradients ``(dh, dW_mu, db_mu, dW_s, db_s)``; ``dout = (dmu, ds)``."""
    dmu, ds = dout
    c_mu, c_s, c_b = cache
    dh1, dW_mu, db_mu = linear_backward(dmu, c_mu)
    dh2, dW_s, db_s = linear_backward(bound_backward(ds, c_b), c_s)
    return dh1 + dh2, dW_mu, db_mu, dW_s, db_s


@accepts(mu="...", s=SameShape("mu"), eps=SameShape("mu"))
def sample_forward(mu, s, eps):
    r"""Reparameterised sample (SPEC §3).

    Forward
    -------
    .. math:: z = \mu + e^{s/2} \odot \varepsilon,\qquad \varepsilon \sim \mathcal N(0, I)\ \text{(passed in)}

    Moving the randomness into :math:`\varepsilon` makes :math:`z` a
    differentiable function of :math:`(\mu, s)`.

    Backward
    --------
    .. math::
        \frac{\partial L}{\partial \mu} = \text{dz},\qquad
        \frac{\partial L}{\partial s} = \text{dz} \odot \tfrac12 e^{s/2} \varepsilon

    Shapes
    ------
    mu, s, eps: any one shape (e.g. (N, D) or a stack (M, N, D)) -> z of that shape
    """
    xp = get_array_module(mu, s, eps)
    sigma_eps = xp.exp(0.5 * s) * eps
    return mu + sigma_eps, sigma_eps


@checks_dout
def sample_backward(dz, cache):
    """Gradients ``(dmu, ds)`` of :func:`sample_forward`."""
    sigma_eps = cache
    return dz, 0.5 * dz * sigma_eps


# ------------------------------------------------------------ gradient checks
@register("bound")
def _bound_cases(rng):
    return [Case(bound_forward, bound_backward, [8 * rng.standard_normal(s)], label=f"{s}")
            for s in [(1, 3), (2, 4), (3, 2, 5)]] + [
        Case(bound_forward, bound_backward, [rng.standard_normal((4, 2))], kwargs={"s_min": -3.0, "s_max": 1.0},
             label="[-3, 1]")]


@register("gaussian_head")
def _head_cases(rng):
    cases = []
    for n, h, d in [(1, 3, 2), (2, 4, 3), (5, 6, 4)]:
        args = [rng.standard_normal((n, h)), rng.standard_normal((h, d)), rng.standard_normal(d),
                rng.standard_normal((h, d)), rng.standard_normal(d)]
        cases.append(Case(gaussian_head_forward, gaussian_head_backward, args, label=f"N={n},H={h},D={d}"))
    return cases


@register("sample")
def _sample_cases(rng):
    cases = []
    for shape in [(1, 3), (2, 4), (3, 2, 5)]:
        cases.append(Case(sample_forward, sample_backward,
                          [rng.standard_normal(shape), rng.standard_normal(shape), rng.standard_normal(shape)],
                          diff=[0, 1], label=f"{shape}"))
    return cases
