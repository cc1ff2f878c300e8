r"""Variational information bottleneck: RMFI's compression step (SPEC §7).

The fused representation :math:`\hat x` is squeezed through a stochastic code

.. math::
    q(z_f \mid \hat x) = \mathcal N\!\left(\mu_f, \operatorname{diag}(e^{s_f})\right),\qquad
    \mu_f = \hat x W_\mu + b_\mu,\quad s_f = \operatorname{bound}(\hat x W_s + b_s),

one reparameterised sample :math:`z_f = \mu_f + e^{s_f/2}\varepsilon` is decoded
by an affine map, and the KL to the prior :math:`\mathcal N(0, I)` charges for
every nat the code keeps about :math:`\hat x` (Alemi et al., 2017).

Everything here is composed from existing pairs — :func:`~mini_eau.gaussian.gaussian_head_forward`,
:func:`~mini_eau.gaussian.sample_forward`, :func:`~mini_eau.layers.linear_forward`,
the task loss of :mod:`mini_eau.layers` and
:func:`~mini_eau.kl.kl_standard_normal_forward` — and the backward calls their
backwards in reverse order.
"""
from __future__ import annotations

from .backend import get_array_module
from .gaussian import gaussian_head_backward, gaussian_head_forward, sample_backward, sample_forward
from .gradcheck import Case, register
from .kl import kl_standard_normal_backward, kl_standard_normal_forward
from .layers import linear_backward, linear_forward, softmax, softmax_cross_entropy_backward, softmax_cross_entropy_forward
from .validation import Choice, Labels, Optional, Real, accepts, checks_dout

__all__ = ["TASKS", "vib_loss_forward", "vib_loss_backward", "vib_predict"]

# EAU's bottleneck decodes class logits; SPEC §7's regression decoder is not
# built (nothing uses it: the §9 regressor is mini_eau.regression).  ``task``
# stays a keyword so that calls which name the task read as what they do.
TASKS = ("classification",)

_SPECS = dict(task=Choice(TASKS), x="N D_in", W_mu="D_in D_z", b_mu="D_z", W_s="D_in D_z", b_s="D_z",
              W_out="D_z K>=2", b_out="K")


@accepts(**_SPECS, eps="N D_z", y=Labels("N", "K"), beta=Real(">=0"))
def vib_loss_forward(x, W_mu, b_mu, W_s, b_s, W_out, b_out, eps, y, beta=1e-3, task="classification"):
    r"""VIB loss: task loss of one sampled code plus :math:`\beta` times its KL to the prior (SPEC §7).

    Forward
    -------
    .. math::
        \mu_f = \hat x W_\mu + b_\mu,\qquad
        s_f = \operatorname{bound}(\hat x W_s + b_s),\qquad
        z_f = \mu_f + e^{s_f/2} \odot \varepsilon,

    .. math::
        L_{\text{VIB}} = \frac1N \sum_i \ell_{\text{task}}\!\left(y_i, \operatorname{dec}(z_{f,i})\right)
                       + \beta\,\frac1N \sum_i \mathrm{KL}\!\left(q(z_f \mid \hat x_i)\,\|\,\mathcal N(0, I)\right)

    with :math:`\mathrm{KL}_i = \tfrac12\sum_d [e^{s_{f,id}} + \mu_{f,id}^2 - 1 - s_{f,id}]` (SPEC §4),
    logits :math:`a = z_f W_{\text{out}} + b_{\text{out}}` and
    :math:`\ell_{\text{task}} = -\log \operatorname{softmax}(a_i)_{y_i}`.

    Backward
    --------
    Write :math:`\bar L` for ``dout``.  The task loss gives the decoder's upstream gradient

    .. math::
        \frac{\partial L}{\partial a_{ik}} = \frac{\bar L}{N}\left(p_{ik} - \mathbb 1[k = y_i]\right),

    the decoder

    .. math::
        \frac{\partial L}{\partial z_f} = \frac{\partial L}{\partial a} W_{\text{out}}^\top,\quad
        \frac{\partial L}{\partial W_{\text{out}}} = z_f^\top \frac{\partial L}{\partial a},\quad
        \frac{\partial L}{\partial b_{\text{out}}} = \textstyle\sum_i \frac{\partial L}{\partial a_{i,:}},

    and the sample and the KL both reach the code's parameters:

    .. math::
        \frac{\partial L}{\partial \mu_f} = \frac{\partial L}{\partial z_f} + \frac{\beta\bar L}{N}\,\mu_f,\qquad
        \frac{\partial L}{\partial s_f} = \frac{\partial L}{\partial z_f} \odot \tfrac12 e^{s_f/2}\varepsilon
                                      + \frac{\beta\bar L}{N}\,\tfrac12\left(e^{s_f} - 1\right).

    Finally, with :math:`g = \frac{\partial L}{\partial s_f} \odot \operatorname{bound}'(\hat x W_s + b_s)`,

    .. math::
        \frac{\partial L}{\partial \hat x} = \frac{\partial L}{\partial \mu_f} W_\mu^\top + g\,W_s^\top,\quad
        \frac{\partial L}{\partial W_\mu} = \hat x^\top \frac{\partial L}{\partial \mu_f},\quad
        \frac{\partial L}{\partial b_\mu} = \textstyle\sum_i \frac{\partial L}{\partial \mu_{f,i}},\quad
        \frac{\partial L}{\partial W_s} = \hat x^\top g,\quad
        \frac{\partial L}{\partial b_s} = \textstyle\sum_i g_i.

    Shapes
    ------
    x (N, D_in); W_mu, W_s (D_in, D_z); b_mu, b_s (D_z,); eps (N, D_z);
    W_out (D_z, K), b_out (K,), y (N,) integers in [0, K) -> scalar.

    Numerics
    --------
    :math:`s_f` is bounded (SPEC §2) and the cross-entropy uses log-sum-exp: finite for inputs of size :math:`10^3`.

    Parameters
    ----------
    beta : float
        Weight of the KL term, :math:`\ge 0`; default :math:`10^{-3}` as in
        Alemi et al. and the released code (SPEC §7).  ``beta=0`` leaves the
        plain task loss of the sampled code.
    task : {"classification"}
    """
    xp = get_array_module(x, W_mu, b_mu, W_s, b_s, W_out, b_out)
    n = x.shape[0]
    (mu, s), c_head = gaussian_head_forward(x, W_mu, b_mu, W_s, b_s)
    z, c_sample = sample_forward(mu, s, eps)
    a, c_dec = linear_forward(z, W_out, b_out)
    l_task, c_task = softmax_cross_entropy_forward(a, y)
    kl, c_kl = kl_standard_normal_forward(mu, s)
    loss = l_task + beta * xp.sum(kl) / n
    return loss, (beta, n, c_head, c_sample, c_dec, c_task, c_kl)


@checks_dout
def vib_loss_backward(dout, cache):
    """Gradients ``(dx, dW_mu, db_mu, dW_s, db_s, dW_out, db_out)`` of :func:`vib_loss_forward`."""
    beta, n, c_head, c_sample, c_dec, c_task, c_kl = cache
    da = softmax_cross_entropy_backward(dout, c_task)
    dz, dW_out, db_out = linear_backward(da, c_dec)
    dmu_z, ds_z = sample_backward(dz, c_sample)
    xp = get_array_module(dz)
    dmu_kl, ds_kl = kl_standard_normal_backward(xp.full(n, dout * beta / n), c_kl)
    dx, dW_mu, db_mu, dW_s, db_s = gaussian_head_backward((dmu_z + dmu_kl, ds_z + ds_kl), c_head)
    return dx, dW_mu, db_mu, dW_s, db_s, dW_out, db_out


@accepts(**_SPECS, eps=Optional("S>=1 N D_z"))
def vib_predict(x, W_mu, b_mu, W_s, b_s, W_out, b_out, task="classification", eps=None):
    r"""Predict through the bottleneck (SPEC §7): decode the mean code, or average sampled codes.

    * ``eps=None``: decode :math:`\mu_f`,
      :math:`\operatorname{softmax}(\mu_f W_{\text{out}} + b_{\text{out}})`.
    * ``eps`` of shape (S, N, D_z): decode :math:`z_f^{(t)} = \mu_f + e^{s_f/2}\varepsilon^{(t)}`
      for each of the S draws and return the mean of the S probability vectors.

    Shapes
    ------
    x (N, D_in), parameters as in :func:`vib_loss_forward`, eps (S, N, D_z) ->
    probabilities (N, K).
    """
    xp = get_array_module(x, W_mu, b_mu, W_s, b_s, W_out, b_out)
    (mu, s), _ = gaussian_head_forward(x, W_mu, b_mu, W_s, b_s)
    if eps is None:
        z = mu
    else:  # all S draws through one decoder call
        z, _ = sample_forward(xp.broadcast_to(mu, eps.shape), xp.broadcast_to(s, eps.shape), eps)
        z = xp.reshape(z, (-1, mu.shape[1]))
    a, _ = linear_forward(z, W_out, b_out)
    out = softmax(a, axis=1)
    if eps is not None:
        out = xp.mean(xp.reshape(out, (eps.shape[0], x.shape[0]) + tuple(out.shape[1:])), axis=0)
    return out


# ------------------------------------------------------------ gradient checks
_VIB_SHAPES = [(1, 3, 2, 3, 1e-3), (2, 4, 3, 2, 0.5), (2, 3, 2, 4, 1e-3), (5, 3, 4, 3, 0.5)]  # N, D_in, D_z, K, beta


def _vib_args(rng, n, d_in, d_z, k):
    return [rng.standard_normal((n, d_in)),
            rng.standard_normal((d_in, d_z)), rng.standard_normal(d_z),
            0.7 * rng.standard_normal((d_in, d_z)), rng.standard_normal(d_z),
            rng.standard_normal((d_z, k)), rng.standard_normal(k),
            rng.standard_normal((n, d_z))]


@register("vib_loss")
def _vib_cases(rng):
    cases = []
    for n, d_in, d_z, k, beta in _VIB_SHAPES:
        args = _vib_args(rng, n, d_in, d_z, k) + [rng.integers(0, k, n)]
        cases.append(Case(vib_loss_forward, vib_loss_backward, args, diff=list(range(7)),
                          kwargs={"beta": beta},
                          label=f"N={n},D_in={d_in},D_z={d_z},K={k},beta={beta:g}"))
    return cases

