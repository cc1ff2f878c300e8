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
    "HEAD_NORMS", "gaussian_head_forward", "gaussian_head_backward", "head_statistics",
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


HEAD_NORMS = ("batch", "none")
"""What the variance head sees: ``"batch"`` = h standardised per feature (SPEC §2), ``"none"`` = h itself."""


def _head_norm(name, norm, call):
    check_choice(name, norm, HEAD_NORMS)
    given = call.args["h_mean"] is not None
    if norm == "none" and given:
        raise ValueError("h_mean, h_var: only for norm='batch' (the head with norm='none' keeps no statistics)")


@accepts(h="N H", W_mu="H D", b_mu="D", W_s="H D", b_s="D", s_max=_above_s_min, norm=_head_norm,
         h_mean=Optional("H"), h_var=RunningVariance("h_mean", "H"))
def gaussian_head_forward(h, W_mu, b_mu, W_s, b_s, s_min=S_MIN, s_max=S_MAX, norm="none", h_mean=None, h_var=None):
    r"""Gaussian head: a mean and a bounded log-variance from the feature :math:`h` (SPEC §2).

    Forward
    -------
    .. math::
        \mu = h W_\mu + b_\mu,\qquad s = \operatorname{bound}(\hat h W_s + b_s),\qquad
        \hat h = h\ \ (\texttt{norm="none"})\ \text{ or }\ \hat h = \operatorname{BN}(h)\ \ (\texttt{"batch"})

    ``"none"`` is the head as the paper writes it (and the VIB's head, SPEC §7).
    BN is :func:`~mini_eau.layers.batch_norm_forward` without scale or shift:
    in training over the batch, in prediction with the running statistics
    ``h_mean``, ``h_var`` the training loop kept.

    *Why standardise what the variance head sees.*  ReLU features are
    non-negative, and noise the model never saw in training mostly makes them
    *larger* along their mean direction :math:`\bar h`.  A head on raw
    :math:`h` can lower every training sample's :math:`s` (which L_URA asks
    for) by tilting :math:`W_s` against :math:`\bar h` instead of lowering
    :math:`b_s`; then the larger features of a noisy input get a *smaller*
    :math:`s`.  On standardised features the batch mean of
    :math:`\hat h W_s` is exactly 0, so a uniform push on :math:`s` can only
    move :math:`b_s`, and :math:`W_s` is shaped by what differs between
    samples (NOTES.md, "The variance head on clean training").

    Backward
    --------
    With :math:`\tilde s = \hat h W_s + b_s` and :math:`g = \text{ds}\odot\operatorname{bound}'(\tilde s)`:

    .. math::
        \frac{\partial L}{\partial h} = \text{dmu}\, W_\mu^\top + \operatorname{BN}'\!\left(g\, W_s^\top\right),\quad
        \frac{\partial L}{\partial W_\mu} = h^\top \text{dmu},\quad
        \frac{\partial L}{\partial b_\mu} = \textstyle\sum_i \text{dmu}_{i,:},\\
        \frac{\partial L}{\partial W_s} = \hat h^\top g,\quad
        \frac{\partial L}{\partial b_s} = \textstyle\sum_i g_{i,:}

    where :math:`\operatorname{BN}'` is :func:`~mini_eau.layers.batch_norm_backward`
    (the identity for ``norm="none"``).

    Shapes
    ------
    h (N, H); W_mu, W_s (H, D); b_mu, b_s (D,); h_mean, h_var (H,) or None -> mu, s (N, D)
    """
    mu, c_mu = linear_forward(h, W_mu, b_mu)
    h_hat, c_bn = batch_norm_forward(h, h_mean, h_var) if norm == "batch" else (h, None)
    raw, c_s = linear_forward(h_hat, W_s, b_s)
    s, c_b = bound_forward(raw, s_min, s_max)
    return (mu, s), (c_mu, c_bn, c_s, c_b)


@checks_dout
def gaussian_head_backward(dout, cache):
    """Gradients ``(dh, dW_mu, db_mu, dW_s, db_s)``; ``dout = (dmu, ds)``."""
    dmu, ds = dout
    c_mu, c_bn, c_s, c_b = cache
    dh1, dW_mu, db_mu = linear_backward(dmu, c_mu)
    dh_hat, dW_s, db_s = linear_backward(bound_backward(ds, c_b), c_s)
    dh2 = dh_hat if c_bn is None else batch_norm_backward(dh_hat, c_bn)
    return dh1 + dh2, dW_mu, db_mu, dW_s, db_s


def head_statistics(cache):
    """The batch's ``(mean, var)`` of h that a training-mode head standardised with (None for norm='none')."""
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
        cases.append(Case(gaussian_head_forward, gaussian_head_backward, args, kwargs={"norm": "none"},
                          label=f"none,N={n},H={h},D={d}"))
        stats = {"h_mean": rng.standard_normal(h), "h_var": rng.uniform(0.5, 2.0, h)}
        cases.append(Case(gaussian_head_forward, gaussian_head_backward, args, kwargs={"norm": "batch", **stats},
                          label=f"batch (prediction),N={n},H={h},D={d}"))
        if n >= 3:  # training mode: the batch's own statistics (N >= 3, see batch_norm's cases)
            cases.append(Case(gaussian_head_forward, gaussian_head_backward, args, kwargs={"norm": "batch"},
                              label=f"batch (training),N={n},H={h},D={d}"))
    cases.append(Case(gaussian_head_forward, gaussian_head_backward,
                      [rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2),
                       rng.standard_normal((3, 2)), rng.standard_normal(2)],
                      kwargs={"norm": "batch", "s_min": -3.0, "s_max": 1.0}, label="batch, bounds [-3, 1]"))
    return cases


@register("sample")
def _sample_cases(rng):
    cases = []
    for shape in [(1, 3), (2, 4), (3, 2, 5)]:
        cases.append(Case(sample_forward, sample_backward,
                          [rng.standard_normal(shape), rng.standard_normal(shape), rng.standard_normal(shape)],
                          diff=[0, 1], label=f"{shape}"))
    return cases
