r"""Trusted Multi-view Classification, TMC (Han, Zhang, Fu, Zhou; ICLR 2021; SPEC §10).

Each modality's logits become Dirichlet evidence, the evidence becomes a
subjective-logic *opinion* (beliefs plus an uncertainty mass), and the
opinions are fused with Dempster's rule (:mod:`.dempster_shafer`).  Trained with the evidential (EDL)
loss on every modality and on the fused opinion.

* :func:`edl_loss_forward` / :func:`edl_loss_backward`: the EDL loss of one Dirichlet;
* :func:`tmc_loss_forward` / :func:`tmc_loss_backward`: the whole objective on a logits stack (M, N, K);
* :func:`tmc_predict`: expected probabilities and uncertainty of the fused opinion;
* :class:`TMC`: the model, EAU's encoders with one linear head per modality.

The digamma / log-gamma / trigamma functions come from the special-function
module that matches the array module (:func:`_special`): ``scipy.special`` for
NumPy, ``autograd.scipy.special`` while autograd traces, ``cupyx.scipy.special``
for CuPy.  SciPy is imported lazily, on the first TMC call.
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass

from ...backend import get_array_module
from ...gradcheck import Case, register
from ...layers import _one_hot, softplus_backward, softplus_forward
from ...validation import Labels, Real, accepts, checks_dout
from .base import PREDICT, PerModalityLogits, model_cases
from .dempster_shafer import STACKS, alphas_for_checks, dirichlet, ds_combine_backward, ds_combine_forward

__all__ = [
    "edl_loss_forward", "edl_loss_backward",
    "tmc_loss_forward", "tmc_loss_backward",
    "tmc_predict",
    "TMC",
]

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



# ------------------------------------------------------------------- EDL loss
@accepts(alpha=dirichlet("N K"), y=Labels("N", "K"), annealing_coef=Real(">=0"))
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
    N, K = alpha.shape
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


@checks_dout
def edl_loss_backward(dout, cache):
    """Gradient ``dalpha`` of :func:`edl_loss_forward`."""
    alpha, onehot, S, alpha_t, T, coef = cache
    xp = get_array_module(alpha)
    N, K = alpha.shape
    d_risk = _trigamma(S, xp)[:, None] - onehot * _trigamma(alpha, xp)
    d_kl_t = (alpha_t - 1.0) * _trigamma(alpha_t, xp) - ((T - K) * _trigamma(T, xp))[:, None]
    return dout * (d_risk + coef * (1.0 - onehot) * d_kl_t) / N


# ------------------------------------------------------------------- TMC loss
@accepts(logits="M>=2 N K", y=Labels("N", "K"), annealing_coef=Real(">=0"))
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
    M = logits.shape[0]
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


@checks_dout
def tmc_loss_backward(dout, cache):
    """Gradient ``dlogits`` (M, N, K) of :func:`tmc_loss_forward`."""
    c_soft, c_edl, c_ds, c_comb = cache
    xp = get_array_module(c_soft)
    dalphas = ds_combine_backward(edl_loss_backward(dout, c_comb), c_ds)
    dalphas = dalphas + xp.stack([edl_loss_backward(dout, c) for c in c_edl])
    return softplus_backward(dalphas, c_soft)


@accepts(logits="M>=2 N K")
def tmc_predict(logits):
    r"""TMC prediction: expected class probabilities and uncertainty of the fused opinion.

    .. math::
        \alpha = \texttt{ds\_combine}(\operatorname{softplus}(f^m) + 1),\qquad
        p_k = \alpha_k / S,\qquad u = K / S.

    Shapes
    ------
    logits (M, N, K) -> probs (N, K), u (N,)
    """
    xp = get_array_module(logits)
    evidence, _ = softplus_forward(logits)
    alpha, _ = ds_combine_forward(evidence + 1.0)
    S = xp.sum(alpha, axis=1)
    return alpha / S[:, None], logits.shape[2] / S


# ------------------------------------------------------------------ the model
@dataclass
class TMC(PerModalityLogits):
    """Trusted Multi-view Classification (SPEC §10): :func:`tmc_loss_forward` on per-modality logits.

    The KL term of the EDL loss is annealed as in the original:
    ``annealing_coef = min(1, epoch / annealing_epochs)``, set by the
    trainer at the start of each epoch (:meth:`start_epoch`).
    """

    annealing_epochs: int = 10
    annealing_coef: float = 1.0

    def start_epoch(self, epoch, total_epochs):
        self.annealing_coef = min(1.0, epoch / self.annealing_epochs)

    term = "edl"

    def stack_loss_forward(self, logits, y, draws):
        return tmc_loss_forward(logits, y, self.annealing_coef)

    def stack_loss_backward(self, dout, cache):
        return tmc_loss_backward(dout, cache)

    def stack_predict(self, logits):
        return tmc_predict(logits)[0]

    @accepts(xs=PREDICT["xs"])
    def uncertainty(self, params, xs):
        """The combined opinion's uncertainty mass u = K / S (N,)."""
        logits, _ = self._logits(params, xs, None)
        return tmc_predict(logits)[1]


# ------------------------------------------------------------ gradient checks
@register("edl_loss")
def _edl_cases(rng):
    cases = []
    for (n, k), coef in zip([(1, 2), (3, 4), (3, 2), (1, 4), (4, 3)], [0.0, 1.0, 0.5, 0.3, 1.0]):
        cases.append(Case(edl_loss_forward, edl_loss_backward, [alphas_for_checks(rng, (n, k)), rng.integers(0, k, n), coef],
                          diff=[0], label=f"N={n},K={k},coef={coef}"))
    return cases


@register("tmc_loss")
def _tmc_cases(rng):
    cases = []
    for s, coef in zip(STACKS, [1.0, 0.5, 0.0, 1.0, 0.7]):
        cases.append(Case(tmc_loss_forward, tmc_loss_backward,
                          [2.0 * rng.standard_normal(s), rng.integers(0, s[2], s[1]), coef],
                          diff=[0], label=f"M={s[0]},N={s[1]},K={s[2]},coef={coef}"))
    return cases


register("baseline[tmc]")(model_cases(lambda dims, k, c: TMC(dims, k, c, name="tmc"), "tmc"))
