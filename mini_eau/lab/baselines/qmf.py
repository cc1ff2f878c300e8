r"""Quality-aware Multimodal Fusion, QMF (Zhang, Wu, Liu, Hu, Zhou, Peng; ICML 2023; SPEC §10).

The simplified form of SPEC §10: energy-weighted late fusion with detached
weights.  Each modality has its own linear head on EAU's encoder; the fused
logits are the modalities' logits weighted by their (constant) energy scores.

* :func:`qmf_weights`: each modality's energy confidence, detached;
* :func:`qmf_loss_forward` / :func:`qmf_loss_backward`: the loss on a logits stack (M, N, K);
* :func:`qmf_predict`: the fused prediction;
* :class:`QMF`: the model.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...backend import get_array_module
from ...gradcheck import Case, register
from ...layers import softmax, softmax_cross_entropy_backward, softmax_cross_entropy_forward
from ...validation import Labels, Optional, accepts, checks_dout, unbox
from .base import PerModalityLogits, model_cases
from .dempster_shafer import STACKS

__all__ = ["qmf_weights", "qmf_loss_forward", "qmf_loss_backward", "qmf_predict", "QMF", "QMF_ENERGY_SCALE"]

# QMF divides the free energy by this constant (as in the released QMF code).
QMF_ENERGY_SCALE = 10.0


@accepts(logits="M>=2 N K")
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
    f = unbox(logits)
    xp = get_array_module(f)
    # log-sum-exp with the row maximum subtracted: no overflow for large logits
    fmax = xp.max(f, axis=2)
    return (fmax + xp.log(xp.sum(xp.exp(f - fmax[:, :, None]), axis=2))) / QMF_ENERGY_SCALE


@accepts(logits="M>=2 N K", y=Labels("N", "K"), weights=Optional("M N"))
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
    M = logits.shape[0]
    weights = qmf_weights(logits) if weights is None else unbox(weights)
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


@checks_dout
def qmf_loss_backward(dout, cache):
    """Gradient ``dlogits`` (M, N, K) of :func:`qmf_loss_forward` (weights held constant)."""
    c_uni, c_fused, weights = cache
    xp = get_array_module(weights)
    d_fused = softmax_cross_entropy_backward(dout, c_fused)
    d_uni = xp.stack([softmax_cross_entropy_backward(dout, c) for c in c_uni])
    return d_uni + weights[:, :, None] * d_fused[None]


@accepts(logits="M>=2 N K")
def qmf_predict(logits):
    r"""QMF prediction: :math:`\operatorname{softmax}\big(\sum_m w^m f^m\big)`, shape (N, K)."""
    xp = get_array_module(logits)
    return softmax(xp.sum(qmf_weights(logits)[:, :, None] * logits, axis=0), axis=1)


# ------------------------------------------------------------------ the model
@dataclass
class QMF(PerModalityLogits):
    """Quality-aware Multimodal Fusion, energy-weighted late fusion (SPEC §10).

    The energy weights are detached (constants in the backward).  A gradient
    check holds them fixed by passing ``draws["qmf_weights"]``: finite
    differences would otherwise differentiate through them.
    """

    term = "qmf"

    def stack_loss_forward(self, logits, y, draws):
        return qmf_loss_forward(logits, y, weights=draws.get("qmf_weights"))

    def stack_loss_backward(self, dout, cache):
        return qmf_loss_backward(dout, cache)

    def stack_predict(self, logits):
        return qmf_predict(logits)


# ------------------------------------------------------------ gradient checks
@register("qmf_loss")
def _qmf_cases(rng):
    cases = []
    for s in STACKS:
        f = 2.0 * rng.standard_normal(s)
        # weights passed in: finite differences then see them as the constants they are
        cases.append(Case(qmf_loss_forward, qmf_loss_backward, [f, rng.integers(0, s[2], s[1]), qmf_weights(f)],
                          diff=[0], label=f"M={s[0]},N={s[1]},K={s[2]}"))
    return cases


def _hold_weights(model, params, xs, draws):
    """Hold the detached energy weights fixed for the finite differences."""
    draws["qmf_weights"] = qmf_weights(model._logits(params, xs, draws.get("masks"))[0])


register("baseline[qmf]")(model_cases(lambda dims, k, c: QMF(dims, k, c, name="qmf"), "qmf", hold=_hold_weights))
