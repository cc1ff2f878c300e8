r"""Gaussian heads and reparameterised sampling (SUFA, SPEC §2–§3).

Each modality's feature :math:`h^m` is mapped to a diagonal Gaussian
:math:`p(z^m \mid x^m) = \mathcal N(\mu^m, \operatorname{diag}(e^{s^m}))`:
the mean is the modality's *stable representation*, the log-variance
:math:`s^m` its *aleatoric uncertainty*.
"""
from __future__ import annotations

from .backend import get_array_module
from .gradcheck import Case, register
from .layers import RunningVariance, batch_norm_backward, batch_norm_forward, batch_statistics, linear_backward, linear_forward
from .validation import Optional, SameShape, accepts, check_choice, checks_dout

__all__ = [
    "S_MIN", "S_MAX",
    "bound_forward", "bound_backward",
    "VARIANCE_INPUTS", "gaussian_head_forward", "gaussian_head_backward", "head_statistics",
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


VARIANCE_INPUTS = ("deviation", "standardised", "raw")
r"""What the variance head reads (SPEC §2): ``"raw"`` h itself (the paper), ``"standardised"``
:math:`\hat h = \operatorname{BN}(h)`, ``"deviation"`` :math:`\hat h \odot \hat h - 1`."""


def _variance_input(name, value, call):
    check_choice(name, value, VARIANCE_INPUTS)
    if value == "raw" and call.args["h_mean"] is not None:
        raise ValueError("h_mean, h_var: only for variance_input 'standardised' or 'deviation' (the raw head keeps "
                         "no statistics)")


@accepts(h="N H", W_mu="H D", b_mu="D", W_s="H D", b_s="D", s_max=_above_s_min, variance_input=_variance_input,
         h_mean=Optional("H"), h_var=RunningVariance("h_mean", "H"))
def gaussian_head_forward(h, W_mu, b_mu, W_s, b_s, s_min=S_MIN, s_max=S_MAX, variance_input="raw", h_mean=None,
                          h_var=None):
    r"""Gaussian head: a mean and a bounded log-variance from the feature :math:`h` (SPEC §2).

    Forward
    -------
    .. math::
        \mu = h W_\mu + b_\mu,\qquad s = \operatorname{bound}(q W_s + b_s),\qquad
        q = \begin{cases} h & \texttt{"raw"} \\ \hat h & \texttt{"standardised"} \\
                          \hat h \odot \hat h - 1 & \texttt{"deviation"} \end{cases}

    with :math:`\hat h = \operatorname{BN}(h)`, :func:`~mini_eau.layers.batch_norm_forward`
    without scale or shift: over the batch in training, with the running
    statistics ``h_mean``, ``h_var`` the training loop kept in prediction.
    ``"raw"`` is the head as the paper writes it (and the VIB's head, SPEC §7).

    *Why not h itself.*  ReLU features are non-negative, and noise the model
    never saw in training mostly makes them *larger* along their mean
    direction :math:`\bar h`.  A head on raw :math:`h` can lower every
    training sample's :math:`s` (which L_URA asks for) by tilting
    :math:`W_s` against :math:`\bar h` instead of lowering :math:`b_s`; then
    the larger features of a noisy input get a *smaller* :math:`s`.
    Standardised, every column of :math:`q` has batch mean 0 (for
    ``"deviation"``: :math:`\overline{\hat h^2} = v/(v+\epsilon) \approx 1`),
    so a uniform push on :math:`s` can only move :math:`b_s`.

    *Why the squared deviation.*  :math:`s` linear in :math:`\hat h` rises
    only for departures along :math:`W_s`; which way a corruption moves the
    features is then a coin flip of training.
    :math:`s = b_s + \sum_d (\hat h_d^2 - 1) W_{s,d}` is a diagonal
    Mahalanobis distance to the training features with learned weights: any
    feature pushed away from where training put it, up or down, moves
    :math:`s` by the same sign of :math:`W_{s,d}` (NOTES.md, "The variance
    head on clean training").

    Backward
    --------
    With :math:`g = \text{ds}\odot\operatorname{bound}'(q W_s + b_s)` and
    :math:`\text{dq} = g\, W_s^\top`:

    .. math::
        \frac{\partial L}{\partial W_s} = q^\top g,\quad
        \frac{\partial L}{\partial b_s} = \textstyle\sum_i g_{i,:},\quad
        \frac{\partial L}{\partial W_\mu} = h^\top \text{dmu},\quad
        \frac{\partial L}{\partial b_\mu} = \textstyle\sum_i \text{dmu}_{i,:},\\
        \frac{\partial L}{\partial h} = \text{dmu}\, W_\mu^\top + \operatorname{BN}'(\text{d}\hat h),\qquad
        \text{d}\hat h = \begin{cases} \text{dq} & \texttt{"standardised"} \\
                                   2 \hat h \odot \text{dq} & \texttt{"deviation"} \end{cases}

    where :math:`\operatorname{BN}'` is :func:`~mini_eau.layers.batch_norm_backward`
    (and :math:`\partial L/\partial h = \text{dmu}\,W_\mu^\top + \text{dq}` for ``"raw"``).

    Shapes
    ------
    h (N, H); W_mu, W_s (H, D); b_mu, b_s (D,); h_mean, h_var (H,) or None -> mu, s (N, D)
    """
    mu, c_mu = linear_forward(h, W_mu, b_mu)
    if variance_input == "raw":
        q, c_bn = h, None
    else:
        h_hat, c_bn = batch_norm_forward(h, h_mean, h_var)
        q = h_hat * h_hat - 1.0 if variance_input == "deviation" else h_hat
    raw, c_s = linear_forward(q, W_s, b_s)
    s, c_b = bound_forward(raw, s_min, s_max)
    return (mu, s), (c_mu, c_bn, variance_input, c_s, c_b)


@checks_dout
def gaussian_head_backward(dout, cache):
    """Gradients ``(dh, dW_mu, db_mu, dW_s, db_s)``; ``dout = (dmu, ds)``."""
    dmu, ds = dout
    c_mu, c_bn, variance_input, c_s, c_b = cache
    dh1, dW_mu, db_mu = linear_backward(dmu, c_mu)
    dq, dW_s, db_s = linear_backward(bound_backward(ds, c_b), c_s)
    if variance_input == "raw":
        return dh1 + dq, dW_mu, db_mu, dW_s, db_s
    h_hat = c_bn[0]
    dh_hat = 2.0 * h_hat * dq if variance_input == "deviation" else dq
    return dh1 + batch_norm_backward(dh_hat, c_bn), dW_mu, db_mu, dW_s, db_s


def head_statistics(cache):
    """The batch's ``(mean, var)`` of h that a training-mode head standardised with (None for the raw head)."""
    c_bn = cache[1]
    return None if c_bn is None else batch_statistics(c_bn)


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
        cases.append(Case(gaussian_head_forward, gaussian_head_backward, args, label=f"raw,N={n},H={h},D={d}"))
        for v in ("standardised", "deviation"):
            stats = {"h_mean": rng.standard_normal(h), "h_var": rng.uniform(0.5, 2.0, h)}
            cases.append(Case(gaussian_head_forward, gaussian_head_backward, args,
                              kwargs={"variance_input": v, **stats}, label=f"{v} (prediction),N={n},H={h},D={d}"))
            if n >= 3:  # training mode: the batch's own statistics (N >= 3, see batch_norm's cases)
                cases.append(Case(gaussian_head_forward, gaussian_head_backward, args, kwargs={"variance_input": v},
                                  label=f"{v} (training),N={n},H={h},D={d}"))
    cases.append(Case(gaussian_head_forward, gaussian_head_backward,
                      [rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2),
                       rng.standard_normal((3, 2)), rng.standard_normal(2)],
                      kwargs={"variance_input": "deviation", "s_min": -3.0, "s_max": 1.0}, label="deviation, bounds [-3, 1]"))
    return cases


@register("sample")
def _sample_cases(rng):
    cases = []
    for shape in [(1, 3), (2, 4), (3, 2, 5)]:
        cases.append(Case(sample_forward, sample_backward,
                          [rng.standard_normal(shape), rng.standard_normal(shape), rng.standard_normal(shape)],
                          diff=[0, 1], label=f"{shape}"))
    return cases
