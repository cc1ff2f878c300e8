r"""Dempster–Shafer combination of per-modality Dirichlet opinions, TMC's fusion rule (SPEC §10).

A Dirichlet :math:`\alpha = e + 1` over K classes is read as a subjective-logic
opinion: beliefs :math:`b_k` and an uncertainty mass :math:`u`, summing to 1.
Dempster's rule fuses two opinions; :func:`ds_combine_forward` applies it
across M modalities and turns the result back into a Dirichlet, and
:func:`ds_combine_backward` is its gradient.  Used by :mod:`.tmc`.
"""
from __future__ import annotations

import numpy as _np  # validation only (isinstance checks), never the compute module

from ...backend import get_array_module
from ...gradcheck import Case, register
from ...validation import Array, accepts, checks_dout, unbox

__all__ = ["ds_combine_forward", "ds_combine_backward", "dirichlet"]


def dirichlet(axes):
    """Spec of Dirichlet parameters of evidence >= 0: a float array of shape ``axes``, every entry >= 1."""
    shape = Array(axes, kind="f")

    def spec(name, alpha, call):
        shape(name, alpha, call)
        v = unbox(alpha)
        # On the GPU the check would cost a device-to-host copy; it is skipped
        # there, like the finiteness check of mini_eau.validation.
        if isinstance(v, _np.ndarray) and v.size and v.min() < 1.0:
            raise ValueError(f"{name}: expected Dirichlet parameters alpha = evidence + 1 >= 1, got minimum {v.min()!r}")

    return spec


# ------------------------------------------------------------------ opinions
def _opinion_forward(alpha):
    """A Dirichlet (N, K) as an opinion: ``((b, u), cache)``, beliefs b (N, K) and uncertainty mass u (N,)."""
    xp = get_array_module(alpha)
    K = alpha.shape[-1]
    S = xp.sum(alpha, axis=-1)
    b = (alpha - 1.0) / S[:, None]
    u = K / S
    return (b, u), (b, u, S)


def _opinion_backward(dout, cache):
    """d alpha_j = (db_j - sum_k db_k b_k - du u) / S, with ``dout = (db, du)``."""
    db, du = dout
    b, u, S = cache
    xp = get_array_module(b)
    return (db - (xp.sum(db * b, axis=-1) + du * u)[:, None]) / S[:, None]


def _ds_pair_forward(b1, u1, b2, u2):
    """Dempster's rule for two opinions: ``((b, u), cache)``, the fused opinion.

    ``1 - C`` is computed as ``u1 + u2 (1 - u1) + <b1, b2>``, a sum of
    non-negative terms, which is >= max(u1, u2) > 0 (see ds_combine_forward).
    """
    xp = get_array_module(b1, u1, b2, u2)
    D = u1 + u2 * (1.0 - u1) + xp.sum(b1 * b2, axis=-1)
    b = (b1 * b2 + b1 * u2[:, None] + b2 * u1[:, None]) / D[:, None]
    u = u1 * u2 / D
    return (b, u), (b1, u1, b2, u2, b, u, D)


def _ds_pair_backward(dout, cache):
    """Gradients ``(db1, du1, db2, du2)`` from ``dout = (db, du)``."""
    db, du = dout
    b1, u1, b2, u2, b, u, D = cache
    xp = get_array_module(b1)
    gn = db / D[:, None]                          # dL/d(numerator of b_k)
    gD = -(xp.sum(db * b, axis=-1) + du * u) / D  # dL/dD
    db1 = gn * (b2 + u2[:, None]) + gD[:, None] * b2
    db2 = gn * (b1 + u1[:, None]) + gD[:, None] * b1
    du1 = xp.sum(gn * b2, axis=-1) + du * u2 / D + gD * (1.0 - u2)
    du2 = xp.sum(gn * b1, axis=-1) + du * u1 / D + gD * (1.0 - u1)
    return db1, du1, db2, du2


# ------------------------------------------------------------- DS combination
@accepts(alphas=dirichlet("M>=2 N K"))
def ds_combine_forward(alphas):
    r"""Dempster–Shafer combination of per-modality Dirichlet opinions (TMC, SPEC §10).

    Forward
    -------
    Each modality's Dirichlet :math:`\alpha^m = e^m + 1` gives an opinion
    (beliefs and uncertainty mass, :math:`\sum_k b_k^m + u^m = 1`):

    .. math::
        S^m = \sum_k \alpha_k^m,\qquad b_k^m = \frac{\alpha_k^m - 1}{S^m},\qquad u^m = \frac{K}{S^m}.

    Two opinions are fused by Dempster's rule, :math:`C` being the conflict:

    .. math::
        C = \sum_{i \ne j} b_i^1 b_j^2,\qquad
        b_k = \frac{b_k^1 b_k^2 + b_k^1 u^2 + b_k^2 u^1}{1 - C},\qquad
        u = \frac{u^1 u^2}{1 - C}.

    For :math:`M > 2` the rule is applied left to right,
    :math:`o = ((o^1 \oplus o^2) \oplus o^3) \dots`; Dempster's rule is
    commutative and associative, so the order does not matter.  The fused
    opinion is turned back into a Dirichlet:

    .. math:: S = K / u,\qquad e_k = b_k S,\qquad \alpha_k = e_k + 1.

    Backward
    --------
    Write :math:`\bar g_x` for :math:`\partial L / \partial x`.  The chain
    is run in reverse, one step at a time.

    *Back to alpha* (:math:`\alpha_k = b_k K / u + 1`):

    .. math::
        \bar g_{b_k} = \bar g_{\alpha_k} S,\qquad
        \bar g_u = -\frac{1}{u}\sum_k \bar g_{\alpha_k} b_k S.

    *One Dempster step*, with :math:`D = 1 - C = u^1 + u^2 - u^1 u^2 + \sum_k b_k^1 b_k^2`
    (the identity is derived under Numerics; every partial below is of this
    form of :math:`D`, which agrees with :math:`1 - C` wherever
    :math:`\sum_k b_k^m + u^m = 1`, i.e. everywhere the inputs can be):

    .. math::
        \bar g_D = -\frac{1}{D}\Big(\sum_k \bar g_{b_k} b_k + \bar g_u u\Big),

        \frac{\partial L}{\partial b_k^1} = \frac{\bar g_{b_k}}{D}(b_k^2 + u^2) + \bar g_D\, b_k^2,\qquad
        \frac{\partial L}{\partial b_k^2} = \frac{\bar g_{b_k}}{D}(b_k^1 + u^1) + \bar g_D\, b_k^1,

        \frac{\partial L}{\partial u^1} = \sum_k \frac{\bar g_{b_k}}{D} b_k^2 + \frac{\bar g_u}{D} u^2 + \bar g_D (1 - u^2),\qquad
        \frac{\partial L}{\partial u^2} = \sum_k \frac{\bar g_{b_k}}{D} b_k^1 + \frac{\bar g_u}{D} u^1 + \bar g_D (1 - u^1).

    The gradient reaching the running opinion :math:`o^1` is passed on to the
    previous Dempster step; the one reaching :math:`o^m` goes to modality
    :math:`m`.

    *Opinion of one modality* (:math:`b_k = (\alpha_k - 1)/S`, :math:`u = K/S`):

    .. math::
        \frac{\partial L}{\partial \alpha_j^m} = \frac{1}{S^m}\Big(\bar g_{b_j^m} - \sum_k \bar g_{b_k^m} b_k^m - \bar g_{u^m} u^m\Big).

    Shapes
    ------
    alphas (M, N, K), M >= 2, every entry >= 1 -> alpha (N, K)

    Numerics
    --------
    :math:`1 - C` never reaches 0, so no guard is needed.  Since
    :math:`\sum_k b_k^m = 1 - u^m`,

    .. math::
        1 - C = 1 - (1 - u^1)(1 - u^2) + \sum_k b_k^1 b_k^2
              = u^1 + u^2 (1 - u^1) + \sum_k b_k^1 b_k^2 \;\ge\; \max(u^1, u^2) > 0,

    and this sum of non-negative terms is how it is computed (no cancellation
    of :math:`1 - (1-u^1)(1-u^2)` when both :math:`u` are small).  Also
    :math:`1 - C \le 1`, so the fused :math:`u \ge u^1 u^2 > 0` and the next
    Dempster step is safe as well: after all :math:`M` steps
    :math:`u \ge \prod_m u^m = \prod_m K / S^m`.  For logits in
    :math:`[-50, 50]`, :math:`S^m \le 51 K`, so :math:`u \ge 51^{-M}` — far from
    underflow.  (``alphas`` so large that :math:`\prod_m K/S^m` underflows,
    around :math:`10^{100}` for :math:`M = 3`, would give :math:`S = \infty`.)

    References
    ----------
    Han, Zhang, Fu, Zhou, "Trusted Multi-View Classification", ICLR 2021.
    """
    xp = get_array_module(alphas)
    M, K = alphas.shape[0], alphas.shape[2]
    (b, u), c_first = _opinion_forward(alphas[0])
    op_caches, pair_caches = [c_first], []
    for m in range(1, M):
        (bm, um), c_m = _opinion_forward(alphas[m])
        op_caches.append(c_m)
        (b, u), c_pair = _ds_pair_forward(b, u, bm, um)
        pair_caches.append(c_pair)
    S = K / u
    alpha = b * S[:, None] + 1.0
    return alpha, (op_caches, pair_caches, b, u, S, xp)


@checks_dout
def ds_combine_backward(dalpha, cache):
    """Gradient ``dalphas`` (M, N, K) of :func:`ds_combine_forward`."""
    op_caches, pair_caches, b, u, S, xp = cache
    db = dalpha * S[:, None]
    du = -xp.sum(dalpha * b, axis=-1) * S / u
    dalphas = []
    for m in range(len(op_caches) - 1, 0, -1):
        db, du, dbm, dum = _ds_pair_backward((db, du), pair_caches[m - 1])
        dalphas.append(_opinion_backward((dbm, dum), op_caches[m]))
    dalphas.append(_opinion_backward((db, du), op_caches[0]))
    return xp.stack(dalphas[::-1])


# ------------------------------------------------------------ gradient checks
STACKS = [(2, 1, 2), (2, 3, 4), (3, 3, 2), (3, 1, 4), (3, 2, 3)]
"""(M, N, K) of the gradient-check cases here and in :mod:`.tmc`; N = 1 on purpose."""


def alphas_for_checks(rng, shape):
    """Dirichlet parameters for gradient checks: >= 1 (evidence >= 0) but not huge, so FD on digamma stays accurate."""
    return 1.0 + rng.exponential(2.0, shape)


@register("ds_combine")
def _ds_cases(rng):
    return [Case(ds_combine_forward, ds_combine_backward, [alphas_for_checks(rng, s)], label=f"M={s[0]},N={s[1]},K={s[2]}")
            for s in STACKS]
