r"""Fusion rules and losses of two baselines, TMC and QMF (SPEC §10).

Only the parts that sit *after* the per-modality encoders live here: each
takes a stack of per-modality class logits ``(M, N, K)`` (SPEC notation:
modality, sample, class) and returns a loss or a fused prediction.

* **TMC** — Trusted Multi-view Classification (Han, Zhang, Fu, Zhou; ICLR 2021).
  Each modality's logits become Dirichlet evidence, the evidence becomes a
  subjective-logic *opinion* (beliefs plus an uncertainty mass), and the
  opinions are fused with Dempster's rule.  Trained with the evidential (EDL)
  loss on every modality and on the fused opinion.
  Pairs: :func:`ds_combine_forward` / :func:`ds_combine_backward`,
  :func:`edl_loss_forward` / :func:`edl_loss_backward`,
  :func:`tmc_loss_forward` / :func:`tmc_loss_backward`; :func:`tmc_predict`.
* **QMF** — Quality-aware Multimodal Fusion (Zhang, Wu, Liu, Hu, Zhou, Peng;
  ICML 2023), the simplified form of SPEC §10: energy-weighted late fusion
  with detached weights.  Pair :func:`qmf_loss_forward` /
  :func:`qmf_loss_backward`; :func:`qmf_weights`, :func:`qmf_predict`.

The digamma / log-gamma / trigamma functions come from the special-function
module that matches the array module (:func:`_special`): ``scipy.special`` for
NumPy, ``autograd.scipy.special`` while autograd traces, ``cupyx.scipy.special``
for CuPy.  SciPy is imported lazily, on the first TMC call.
"""
from __future__ import annotations

import importlib
import math

import numpy as _np  # validation only (isinstance checks), never the compute module

from ..backend import get_array_module
from ..gradcheck import Case, register
from ..layers import (_one_hot, softmax, softmax_cross_entropy_backward, softmax_cross_entropy_forward,
                     softplus_backward, softplus_forward)
from ..validation import check_array, check_labels, check_positive, check_stack, unbox

__all__ = [
    "ds_combine_forward", "ds_combine_backward",
    "edl_loss_forward", "edl_loss_backward",
    "tmc_loss_forward", "tmc_loss_backward",
    "tmc_predict",
    "qmf_weights",
    "qmf_loss_forward", "qmf_loss_backward",
    "qmf_predict",
]

# QMF divides the free energy by this constant (as in the released QMF code).
QMF_ENERGY_SCALE = 10.0

_SPECIAL_MODULES = {
    "numpy": "scipy.special",
    "autograd.numpy": "autograd.scipy.special",
    "cupy": "cupyx.scipy.special",
}


def _special(xp):
    """The special-function module (digamma, gammaln, polygamma) matching ``xp``.

    Mixing them up would either break autograd tracing (``scipy.special`` on
    a Box) or copy GPU data to the host, so the choice follows ``xp`` exactly.
    """
    name = _SPECIAL_MODULES.get(getattr(xp, "__name__", ""))
    if name is None:
        raise TypeError(
            f"array module {getattr(xp, '__name__', xp)!r} has no known special-function module "
            f"(digamma, gammaln); supported: {sorted(_SPECIAL_MODULES)}"
        )
    return importlib.import_module(name)


def _trigamma(x, xp):
    r""":math:`\psi_1(x) = \psi'(x)`, as ``polygamma(1, x)``.

    The order is passed as an array like ``x``: CuPy's ``polygamma`` needs an
    array there (a Python ``1`` fails inside its ``where``).
    """
    return _special(xp).polygamma(xp.ones_like(x), x)



def _check_alpha(name, alpha, ndim):
    """Dirichlet parameters of evidence >= 0, i.e. every entry >= 1."""
    if ndim == 3:
        check_stack(name, alpha)
    else:
        check_array(name, alpha, ndim=ndim)
    v = unbox(alpha)
    if v.dtype.kind != "f":
        raise ValueError(f"{name}: expected a floating array, got dtype {v.dtype}")
    # On the GPU the check would cost a device-to-host copy; it is skipped
    # there, like the finiteness check of mini_eau.validation.
    if isinstance(v, _np.ndarray) and v.size and v.min() < 1.0:
        raise ValueError(
            f"{name}: expected Dirichlet parameters alpha = evidence + 1 >= 1, got minimum {v.min()!r}"
        )
    return alpha


# ------------------------------------------------------------------ opinions
def _opinion_forward(alpha):
    # alpha (N, K) -> beliefs b (N, K), uncertainty u (N,)
    xp = get_array_module(alpha)
    K = alpha.shape[-1]
    S = xp.sum(alpha, axis=-1)
    b = (alpha - 1.0) / S[:, None]
    u = K / S
    return b, u, (b, u, S)


def _opinion_backward(db, du, cache):
    # d alpha_j = (db_j - sum_k db_k b_k - du u) / S
    b, u, S = cache
    xp = get_array_module(b)
    return (db - (xp.sum(db * b, axis=-1) + du * u)[:, None]) / S[:, None]


def _ds_pair_forward(b1, u1, b2, u2):
    """Dempster's rule for two opinions: ``(b, u)`` of the fused opinion.

    ``1 - C`` is computed as ``u1 + u2 (1 - u1) + <b1, b2>``, a sum of
    non-negative terms, which is >= max(u1, u2) > 0 (see ds_combine_forward).
    """
    xp = get_array_module(b1, u1, b2, u2)
    D = u1 + u2 * (1.0 - u1) + xp.sum(b1 * b2, axis=-1)
    b = (b1 * b2 + b1 * u2[:, None] + b2 * u1[:, None]) / D[:, None]
    u = u1 * u2 / D
    return b, u, (b1, u1, b2, u2, b, u, D)


def _ds_pair_backward(db, du, cache):
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
    _check_alpha("alphas", alphas, ndim=3)
    xp = get_array_module(alphas)
    M, K = alphas.shape[0], alphas.shape[2]
    b, u, c_first = _opinion_forward(alphas[0])
    op_caches, pair_caches = [c_first], []
    for m in range(1, M):
        bm, um, c_m = _opinion_forward(alphas[m])
        op_caches.append(c_m)
        b, u, c_pair = _ds_pair_forward(b, u, bm, um)
        pair_caches.append(c_pair)
    S = K / u
    alpha = b * S[:, None] + 1.0
    return alpha, (op_caches, pair_caches, b, u, S, xp)


def ds_combine_backward(dalpha, cache):
    """Gradient ``dalphas`` (M, N, K) of :func:`ds_combine_forward`."""
    op_caches, pair_caches, b, u, S, xp = cache
    db = dalpha * S[:, None]
    du = -xp.sum(dalpha * b, axis=-1) * S / u
    dalphas = []
    for m in range(len(op_caches) - 1, 0, -1):
        db, du, dbm, dum = _ds_pair_backward(db, du, pair_caches[m - 1])
        dalphas.append(_opinion_backward(dbm, dum, op_caches[m]))
    dalphas.append(_opinion_backward(db, du, op_caches[0]))
    return xp.stack(dalphas[::-1])


# ------------------------------------------------------------------- EDL loss
def edl_loss_forward(alpha, y, annealing_coef):
    r"""Evidential (EDL) loss of a Dirichlet, averaged over the batch (TMC, SPEC §10).

    Forward
    -------
    With :math:`y` one-hot, :math:`S = \sum_k \alpha_k`, :math:`\lambda` = ``annealing_coef``,

    .. math::
        \ell_i = \underbrace{\sum_k y_{ik}\big(\psi(S_i) - \psi(\alpha_{ik})\big)}_{\text{expected cross-entropy under } \mathrm{Dir}(\alpha_i)}
                 + \lambda\, \mathrm{KL}\big(\mathrm{Dir}(\tilde\alpha_i)\,\|\,\mathrm{Dir}(\mathbf 1)\big),
        \qquad L = \frac1N \sum_i \ell_i,

    where :math:`\tilde\alpha = y + (1 - y)\odot\alpha` removes the evidence of
    the true class, so the KL term only penalises misleading evidence, and with
    :math:`T = \sum_k \tilde\alpha_k`,

    .. math::
        \mathrm{KL}\big(\mathrm{Dir}(\tilde\alpha)\,\|\,\mathrm{Dir}(\mathbf 1)\big)
        = \log\Gamma(T) - \log\Gamma(K) - \sum_k \log\Gamma(\tilde\alpha_k)
          + \sum_k (\tilde\alpha_k - 1)\big(\psi(\tilde\alpha_k) - \psi(T)\big).

    :math:`\psi` is the digamma function; TMC anneals
    :math:`\lambda = \min(1, t / t_{\text{anneal}})` over training.

    Backward
    --------
    With :math:`\psi_1 = \psi'` the trigamma function,

    .. math::
        \frac{\partial}{\partial \alpha_{ik}} \sum_j y_{ij}\big(\psi(S_i) - \psi(\alpha_{ij})\big)
            = \psi_1(S_i) - y_{ik}\,\psi_1(\alpha_{ik}),

        \frac{\partial\, \mathrm{KL}}{\partial \tilde\alpha_{ik}}
            = \psi(T_i) - \psi(\tilde\alpha_{ik}) + \psi(\tilde\alpha_{ik}) - \psi(T_i)
              + (\tilde\alpha_{ik} - 1)\psi_1(\tilde\alpha_{ik}) - \sum_j(\tilde\alpha_{ij} - 1)\psi_1(T_i)
            = (\tilde\alpha_{ik} - 1)\,\psi_1(\tilde\alpha_{ik}) - (T_i - K)\,\psi_1(T_i),

        \frac{\partial \tilde\alpha_{ik}}{\partial \alpha_{ik}} = 1 - y_{ik},\qquad
        \frac{\partial L}{\partial \alpha_{ik}} = \frac{\text{dout}}{N}\Big[\psi_1(S_i) - y_{ik}\psi_1(\alpha_{ik})
            + \lambda (1 - y_{ik})\, \frac{\partial\, \mathrm{KL}}{\partial \tilde\alpha_{ik}}\Big].

    Shapes
    ------
    alpha (N, K) with every entry >= 1, y (N,) integers in [0, K),
    annealing_coef a number >= 0 -> scalar

    Numerics
    --------
    :math:`\alpha \ge 1` keeps every argument of :math:`\psi`,
    :math:`\psi_1` and :math:`\log\Gamma` at 1 or above, away from their poles
    at 0, so values and gradients are finite for any finite :math:`\alpha`.
    No :math:`\log` of a probability is taken: the digamma form is already
    the log-space expectation.

    References
    ----------
    Han et al., ICLR 2021; Sensoy, Kaplan, Kandemir, "Evidential Deep Learning
    to Quantify Classification Uncertainty", NeurIPS 2018.
    """
    _check_alpha("alpha", alpha, ndim=2)
    N, K = alpha.shape
    check_labels("y", y, n_samples=N, n_classes=K)
    check_positive("annealing_coef", annealing_coef, allow_zero=True)
    xp = get_array_module(alpha)
    sp = _special(xp)
    onehot = _one_hot(y, K, xp)
    S = xp.sum(alpha, axis=1)
    risk = sp.digamma(S) - xp.sum(onehot * sp.digamma(alpha), axis=1)
    alpha_t = onehot + (1.0 - onehot) * alpha
    T = xp.sum(alpha_t, axis=1)
    kl = (sp.gammaln(T) - math.lgamma(K) - xp.sum(sp.gammaln(alpha_t), axis=1)
          + xp.sum((alpha_t - 1.0) * (sp.digamma(alpha_t) - sp.digamma(T)[:, None]), axis=1))
    loss = xp.sum(risk + annealing_coef * kl) / N
    return loss, (alpha, onehot, S, alpha_t, T, annealing_coef)


def edl_loss_backward(dout, cache):
    """Gradient ``dalpha`` of :func:`edl_loss_forward`."""
    alpha, onehot, S, alpha_t, T, coef = cache
    xp = get_array_module(alpha)
    N, K = alpha.shape
    d_risk = _trigamma(S, xp)[:, None] - onehot * _trigamma(alpha, xp)
    d_kl_t = (alpha_t - 1.0) * _trigamma(alpha_t, xp) - ((T - K) * _trigamma(T, xp))[:, None]
    return dout * (d_risk + coef * (1.0 - onehot) * d_kl_t) / N


# ------------------------------------------------------------------- TMC loss
def tmc_loss_forward(logits, y, annealing_coef):
    r"""The full TMC objective on per-modality logits (SPEC §10).

    Forward
    -------
    .. math::
        e^m = \operatorname{softplus}(f^m),\qquad \alpha^m = e^m + 1,\qquad
        \alpha = \texttt{ds\_combine}(\alpha^1, \dots, \alpha^M),

        L = \sum_{m=1}^{M} L_{\text{EDL}}(\alpha^m, y; \lambda) + L_{\text{EDL}}(\alpha, y; \lambda),

    each :math:`L_{\text{EDL}}` a batch mean (:func:`edl_loss_forward`),
    :math:`\lambda` = ``annealing_coef``.  The per-modality terms make every
    modality produce useful evidence on its own, as in Han et al.

    Backward
    --------
    .. math::
        \frac{\partial L}{\partial \alpha^m} = \frac{\partial L_{\text{EDL}}(\alpha^m)}{\partial \alpha^m}
            + \Big[\frac{\partial \alpha}{\partial \alpha^m}\Big]^\top \frac{\partial L_{\text{EDL}}(\alpha)}{\partial \alpha},
        \qquad
        \frac{\partial L}{\partial f^m} = \frac{\partial L}{\partial \alpha^m} \odot \sigma(f^m),

    the first bracket being :func:`ds_combine_backward` and
    :math:`\sigma` the logistic function (the derivative of softplus).

    Shapes
    ------
    logits (M, N, K), M >= 2; y (N,) integers in [0, K); annealing_coef >= 0 -> scalar

    Numerics
    --------
    Softplus in its stable form :math:`\max(f, 0) + \log(1 + e^{-|f|})`
    (:func:`mini_eau.layers.softplus_forward`), so logits of any finite size
    give finite evidence; the Dempster step cannot divide by 0
    (:func:`ds_combine_forward`); the EDL loss is finite for
    :math:`\alpha \ge 1`.  Tested at :math:`|f| = 50` and beyond.
    """
    check_stack("logits", logits)
    M, N, K = logits.shape
    check_labels("y", y, n_samples=N, n_classes=K)
    check_positive("annealing_coef", annealing_coef, allow_zero=True)
    evidence, c_soft = softplus_forward(logits)
    alphas = evidence + 1.0
    total = 0.0
    c_edl = []
    for m in range(M):
        loss_m, c_m = edl_loss_forward(alphas[m], y, annealing_coef)
        total = total + loss_m
        c_edl.append(c_m)
    alpha, c_ds = ds_combine_forward(alphas)
    loss_c, c_comb = edl_loss_forward(alpha, y, annealing_coef)
    return total + loss_c, (c_soft, c_edl, c_ds, c_comb)


def tmc_loss_backward(dout, cache):
    """Gradient ``dlogits`` (M, N, K) of :func:`tmc_loss_forward`."""
    c_soft, c_edl, c_ds, c_comb = cache
    xp = get_array_module(c_soft)
    dalphas = ds_combine_backward(edl_loss_backward(dout, c_comb), c_ds)
    dalphas = dalphas + xp.stack([edl_loss_backward(dout, c) for c in c_edl])
    return softplus_backward(dalphas, c_soft)


def tmc_predict(logits):
    r"""TMC prediction: expected class probabilities and uncertainty of the fused opinion.

    .. math::
        \alpha = \texttt{ds\_combine}(\operatorname{softplus}(f^m) + 1),\qquad
        p_k = \alpha_k / S,\qquad u = K / S.

    Shapes
    ------
    logits (M, N, K) -> probs (N, K), u (N,)
    """
    check_stack("logits", logits)
    xp = get_array_module(logits)
    evidence, _ = softplus_forward(logits)
    alpha, _ = ds_combine_forward(evidence + 1.0)
    S = xp.sum(alpha, axis=1)
    return alpha / S[:, None], logits.shape[2] / S


# ------------------------------------------------------------------------ QMF
def qmf_weights(logits):
    r"""QMF's energy-based confidence of each modality, as a constant (SPEC §10).

    .. math::
        w_i^m = \frac{1}{10}\log\sum_k e^{f_{ik}^m} = -\frac{E(f_i^m)}{10},

    :math:`E` the free energy of the logits (temperature 1).  Computed from
    :func:`mini_eau.validation.unbox` of the logits, so autograd sees a
    constant — the ``detach()`` of the released code.  The weights are not
    normalised and may be negative (all logits very negative).

    Shapes
    ------
    logits (M, N, K) -> w (M, N)
    """
    check_stack("logits", logits)
    f = unbox(logits)
    xp = get_array_module(f)
    # log-sum-exp with the row maximum subtracted: no overflow for large logits
    fmax = xp.max(f, axis=2)
    return (fmax + xp.log(xp.sum(xp.exp(f - fmax[:, :, None]), axis=2))) / QMF_ENERGY_SCALE


def qmf_loss_forward(logits, y, weights=None):
    r"""QMF loss, simplified form of SPEC §10: per-modality CE plus CE of the energy-weighted fusion.

    Forward
    -------
    .. math::
        w_i^m = \operatorname{stopgrad}\Big(\tfrac{1}{10}\log\textstyle\sum_k e^{f_{ik}^m}\Big),\qquad
        f_i = \sum_m w_i^m f_i^m,

        L = \sum_m \mathrm{CE}(y, f^m) + \mathrm{CE}(y, f),\qquad
        \mathrm{CE}(y, g) = -\frac1N\sum_i \log \operatorname{softmax}(g_i)_{y_i}.

    ``weights`` (M, N), when given, replaces :math:`w` (it is then a constant
    by construction); the gradient checks pass it so that finite differences
    also see a constant.  Left out, it is :func:`qmf_weights` of ``logits``.

    The full QMF method adds a ranking regulariser that ties the confidence
    to each sample's historical loss; the simplified form drops it.

    Backward
    --------
    With :math:`p^m = \operatorname{softmax}(f^m)`, :math:`p = \operatorname{softmax}(f)`,
    :math:`Y` the one-hot labels and :math:`w` held constant,

    .. math::
        \frac{\partial L}{\partial f_{ik}^m} = \frac{\text{dout}}{N}\Big[(p_{ik}^m - Y_{ik}) + w_i^m (p_{ik} - Y_{ik})\Big].

    *Detachment.* The derivative that treats :math:`w` as a function of
    :math:`f^m` would add, through
    :math:`\partial w_i^m / \partial f_{ik}^m = p_{ik}^m / 10`,

    .. math::
        \frac{\text{dout}}{10 N}\, p_{ik}^m \sum_j (p_{ij} - Y_{ij})\, f_{ij}^m,

    a term that lets a modality lower the loss by inflating its own energy
    (scaling its logits) rather than by classifying better.  QMF detaches
    the weights to rule that out; so does this backward, and so does
    autograd on this forward, because the weights are computed from unboxed
    values.  (Finite differences of the forward *without* ``weights`` see
    the full derivative; the tests check the difference is exactly the term
    above.)

    Shapes
    ------
    logits (M, N, K), M >= 2; y (N,) integers in [0, K); weights (M, N) or None -> scalar

    Numerics
    --------
    Every cross-entropy and the energy use log-sum-exp with the row maximum
    subtracted, so logits of any size (the fused ones reach
    :math:`\sum_m |w^m|\,|f^m|`) give finite values and gradients.
    """
    check_stack("logits", logits)
    M, N, K = logits.shape
    check_labels("y", y, n_samples=N, n_classes=K)
    if weights is None:
        weights = qmf_weights(logits)
    else:
        check_array("weights", weights, shape=(M, N))
        weights = unbox(weights)
    xp = get_array_module(logits)
    total = 0.0
    c_uni = []
    for m in range(M):
        loss_m, c_m = softmax_cross_entropy_forward(logits[m], y)
        total = total + loss_m
        c_uni.append(c_m)
    fused = xp.sum(weights[:, :, None] * logits, axis=0)
    loss_f, c_fused = softmax_cross_entropy_forward(fused, y)
    return total + loss_f, (c_uni, c_fused, weights)


def qmf_loss_backward(dout, cache):
    """Gradient ``dlogits`` (M, N, K) of :func:`qmf_loss_forward` (weights held constant)."""
    c_uni, c_fused, weights = cache
    xp = get_array_module(weights)
    d_fused = softmax_cross_entropy_backward(dout, c_fused)
    d_uni = xp.stack([softmax_cross_entropy_backward(dout, c) for c in c_uni])
    return d_uni + weights[:, :, None] * d_fused[None]


def qmf_predict(logits):
    r"""QMF prediction: :math:`\operatorname{softmax}\big(\sum_m w^m f^m\big)`, shape (N, K)."""
    check_stack("logits", logits)
    xp = get_array_module(logits)
    return softmax(xp.sum(qmf_weights(logits)[:, :, None] * logits, axis=0), axis=1)


# ------------------------------------------------------------ gradient checks
_STACKS = [(2, 1, 2), (2, 3, 4), (3, 3, 2), (3, 1, 4), (3, 2, 3)]  # (M, N, K); N = 1 on purpose


def _alphas(rng, shape):
    # alpha >= 1 (evidence >= 0) but not huge: FD on digamma stays accurate
    return 1.0 + rng.exponential(2.0, shape)


@register("ds_combine")
def _ds_cases(rng):
    return [Case(ds_combine_forward, ds_combine_backward, [_alphas(rng, s)], label=f"M={s[0]},N={s[1]},K={s[2]}")
            for s in _STACKS]


@register("edl_loss")
def _edl_cases(rng):
    cases = []
    for (n, k), coef in zip([(1, 2), (3, 4), (3, 2), (1, 4), (4, 3)], [0.0, 1.0, 0.5, 0.3, 1.0]):
        cases.append(Case(edl_loss_forward, edl_loss_backward, [_alphas(rng, (n, k)), rng.integers(0, k, n), coef],
                          diff=[0], label=f"N={n},K={k},coef={coef}"))
    return cases


@register("tmc_loss")
def _tmc_cases(rng):
    cases = []
    for s, coef in zip(_STACKS, [1.0, 0.5, 0.0, 1.0, 0.7]):
        cases.append(Case(tmc_loss_forward, tmc_loss_backward,
                          [2.0 * rng.standard_normal(s), rng.integers(0, s[2], s[1]), coef],
                          diff=[0], label=f"M={s[0]},N={s[1]},K={s[2]},coef={coef}"))
    return cases


@register("qmf_loss")
def _qmf_cases(rng):
    cases = []
    for s in _STACKS:
        f = 2.0 * rng.standard_normal(s)
        # weights passed in: finite differences then see them as the constants they are
        cases.append(Case(qmf_loss_forward, qmf_loss_backward, [f, rng.integers(0, s[2], s[1]), qmf_weights(f)],
                          diff=[0], label=f"M={s[0]},N={s[1]},K={s[2]}"))
    return cases
