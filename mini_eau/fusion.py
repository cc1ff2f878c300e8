r"""Dynamic uncertainty-weighted fusion — RMFI's first step (SPEC §6).

Each modality :math:`m` brings a Gaussian :math:`\mathcal N(\mu^m, \operatorname{diag}
e^{s^m})` per sample (SPEC §2).  Fusion turns the log-variances into weights
:math:`\alpha^m` — a softmax over the modalities — and mixes the **means**:

.. math:: \hat x_i = \sum_m \alpha_i^m \odot \mu_i^m .

Every variant is a softmax over :math:`m` of a *logit* :math:`a^m` that falls
as :math:`s^m` rises, so the noisier modality always gets less weight; the
variants differ only in the logit (and in whether it is one number per sample
or one per dimension):

* ``paper`` — :math:`a_i^m = 1/(T u_i^m)`, :math:`u_i^m = \operatorname{mean}_d \sigma_{i,d}^m`;
  one weight per sample (the paper's :math:`e^{1/\sigma} / \sum e^{1/\sigma}`).
* ``per_dim`` — :math:`a_{i,d}^m = 1/(T \sigma_{i,d}^m)`; the paper's rule per dimension.
* ``official`` — :math:`a_{i,d}^m = -(\sigma_{i,d}^m)^2 / T`; the released code (SPEC §13).
* ``precision`` — :math:`a_{i,d}^m = -s_{i,d}^m / T`; the product of Gaussian experts at :math:`T = 1`.
* ``mean`` — :math:`\alpha^m = 1/M`; the ablation.

Here :math:`\sigma = e^{s/2}`.  The temperature :math:`T > 0` always divides
the logit; ``mean`` ignores it.

``uncertainty_weights`` gives the weights alone; ``fuse_forward`` /
``fuse_backward`` are the differentiable pair.
"""
from __future__ import annotations

from .backend import get_array_module
from .gradcheck import Case, register
from .layers import softmax
from .validation import check_array, check_choice, check_positive, check_stack

__all__ = ["uncertainty_weights", "fuse_forward", "fuse_backward", "VARIANTS", "PER_SAMPLE_VARIANTS"]

VARIANTS = ("paper", "per_dim", "official", "precision", "mean")
PER_SAMPLE_VARIANTS = ("paper", "mean")  # one weight per (modality, sample); the rest one per dimension too


def _logits(ss, temperature, variant):
    r"""Logits :math:`a` (shape (M, N, 1) or (M, N, D)) and :math:`\partial a / \partial s` (broadcastable to (M, N, D)).

    ``None`` for ``mean``: its weights do not depend on ``ss``.
    """
    xp = get_array_module(ss)
    T = temperature
    if variant == "paper":
        # Divide every sigma by the sample's largest one: the ratios lie in (0, 1] for any s,
        # so sigma / u stays in (0, D] even where sigma itself would overflow (s > ~1419).
        half = ss / 2.0
        top = xp.max(half, axis=2, keepdims=True)
        rel = xp.exp(half - top)                       # sigma / e^top
        rel_u = xp.mean(rel, axis=2, keepdims=True)    # u / e^top, in [1/D, 1]
        a = xp.exp(-top) / (rel_u * T)                 # 1 / (T u)
        return a, -a * (rel / rel_u) / (2.0 * ss.shape[2])
    if variant == "per_dim":
        a = xp.exp(-ss / 2.0) / T
        return a, -a / 2.0
    if variant == "official":
        a = -xp.exp(ss) / T
        return a, a
    if variant == "precision":
        return -ss / T, -1.0 / T
    return None, None  # "mean"


def _check_common(temperature, variant):
    check_choice("variant", variant, VARIANTS)
    check_positive("temperature", temperature)


def _weights(ss, temperature, variant):
    """Weights with a trailing axis kept ((M, N, 1) or (M, N, D)), and da/ds."""
    a, dads = _logits(ss, temperature, variant)
    if a is None:
        xp = get_array_module(ss)
        return xp.zeros_like(ss[:, :, :1]) + 1.0 / ss.shape[0], None
    # layers.softmax subtracts the max over m first: logits reach ~7e13 (s = -50, T = 1e-3)
    return softmax(a, axis=0), dads


def uncertainty_weights(ss, temperature=1.0, variant="paper"):
    r"""Fusion weights :math:`\alpha` from a stack of log-variances (SPEC §6).

    Forward
    -------
    With :math:`\sigma^m_{i,d} = e^{s^m_{i,d}/2}` and the logits :math:`a` of the
    module table,

    .. math::
        \alpha^m = \frac{e^{a^m}}{\sum_{k=1}^{M} e^{a^k}}
        \qquad\text{e.g. ``paper'':}\quad
        \alpha_i^m = \operatorname{softmax}_m\!\Big(\frac{1}{T\,u_i^m}\Big),\
        u_i^m = \frac1D \sum_d \sigma_{i,d}^m .

    * ``paper`` — the paper's :math:`e^{1/\sigma} / \sum e^{1/\sigma}` with one
      scalar uncertainty per sample and modality.
    * ``per_dim`` — the same rule applied to each dimension separately.
    * ``official`` — the released code: :math:`\operatorname{softmax}_m(-\sigma^2)`
      per dimension; here the temperature divides the logit, :math:`-\sigma^2/T`.
    * ``precision`` — :math:`\operatorname{softmax}_m(-s/T)`, i.e.
      :math:`\alpha^m \propto \sigma^{-2/T}`.  At :math:`T = 1` this is exactly the
      product of Gaussian experts, :math:`\alpha^m = \sigma_m^{-2} / \sum_k \sigma_k^{-2}`;
      :math:`T > 1` flattens towards ``mean``, :math:`T < 1` sharpens.
    * ``mean`` — :math:`\alpha^m = 1/M` (``temperature`` is checked, then ignored).

    The weights have no backward of their own; :func:`fuse_backward` carries the
    gradient through them.

    Shapes
    ------
    ss (M, N, D), M >= 2 -> weights (M, N) for ``paper`` and ``mean``,
    (M, N, D) for ``per_dim``, ``official`` and ``precision``.
    Every weight lies in [0, 1] and they sum to 1 over m.

    Numerics
    --------
    See :func:`fuse_forward`.
    """
    check_stack("ss", ss)
    _check_common(temperature, variant)
    alpha, _ = _weights(ss, temperature, variant)
    return alpha[:, :, 0] if variant in PER_SAMPLE_VARIANTS else alpha


def fuse_forward(mus, ss, temperature=1.0, variant="paper"):
    r"""Uncertainty-weighted fusion of the modality means (SPEC §6, RMFI).

    Forward
    -------
    .. math::
        \alpha^m = \operatorname{softmax}_m(a^m),\qquad
        \hat x_{i,d} = \sum_{m=1}^{M} \alpha^m_{i(,d)}\, \mu^m_{i,d},

    with the logits

    .. math::
        a^m_i = \frac{1}{T u^m_i},\ u^m_i = \frac1D\sum_d e^{s^m_{i,d}/2}\ (\text{paper});\quad
        a^m_{i,d} = \frac{e^{-s^m_{i,d}/2}}{T}\ (\text{per\_dim});\quad
        a^m_{i,d} = -\frac{e^{s^m_{i,d}}}{T}\ (\text{official});\quad
        a^m_{i,d} = -\frac{s^m_{i,d}}{T}\ (\text{precision});\quad
        \alpha^m = \frac1M\ (\text{mean}).

    The means are fused, not samples: :math:`\hat x` is the paper's stable
    representation.  ``precision`` at :math:`T = 1` gives the mean of the product
    of Gaussian experts, :math:`\sum_m \sigma_m^{-2}\mu^m / \sum_m \sigma_m^{-2}`.

    Backward
    --------
    Write :math:`g = \partial L / \partial \hat x` (``dfused``).  The means enter
    linearly:

    .. math:: \frac{\partial L}{\partial \mu^m_{i,d}} = \alpha^m_{i(,d)}\, g_{i,d}.

    The weights: :math:`\gamma^m_i = \sum_d g_{i,d}\mu^m_{i,d}` (per-sample variants)
    or :math:`\gamma^m_{i,d} = g_{i,d}\mu^m_{i,d}` (per-dimension variants) is
    :math:`\partial L / \partial \alpha^m`.  Through the softmax,
    :math:`\partial\alpha^k/\partial a^m = \alpha^k(\delta_{km} - \alpha^m)`, so

    .. math::
        \frac{\partial L}{\partial a^m}
          = \alpha^m\Big(\gamma^m - \sum_k \alpha^k\gamma^k\Big)
          = \alpha^m \sum_{k} \alpha^k\,(\gamma^m - \gamma^k)

    (the two forms are equal because :math:`\sum_k\alpha^k = 1`; the code uses the
    second, see Numerics).  Then :math:`\partial L/\partial s = \partial L/\partial a
    \cdot \partial a/\partial s` with

    .. math::
        \text{paper:}\ \frac{\partial a^m_i}{\partial s^m_{i,d}}
            = -\frac{1}{T (u^m_i)^2}\cdot\frac{\sigma^m_{i,d}}{2D}
            = -\frac{a^m_i}{2D}\,\frac{\sigma^m_{i,d}}{u^m_i};\qquad
        \text{per\_dim:}\ -\frac{a}{2};\qquad
        \text{official:}\ -\frac{e^{s}}{T} = a;\qquad
        \text{precision:}\ -\frac1T;\qquad
        \text{mean:}\ 0 .

    (:math:`\partial u^m_i / \partial s^m_{i,d} = \sigma^m_{i,d} / (2D)` because
    :math:`\sigma = e^{s/2}`.)  For ``paper`` the gradient of one sample's
    :math:`a^m_i` spreads over its D dimensions in proportion to :math:`\sigma_{i,d}`.

    Shapes
    ------
    mus, ss (M, N, D) with M >= 2 -> fused (N, D).
    ``fuse_backward(dfused (N, D), cache) -> (dmus, dss)``, both (M, N, D).

    Numerics
    --------
    * Logits reach :math:`1/(T\sigma) = e^{25}/10^{-3} \approx 7\cdot10^{13}` at
      :math:`s = -50`; the softmax subtracts the max over :math:`m` before
      exponentiating (``layers.softmax``), so the weights are exact 0/1 when it
      saturates, never NaN.
    * ``paper`` computes :math:`u` after dividing every :math:`\sigma` by the
      sample's largest one, so :math:`\sigma/u \in (0, D]` without overflow.
    * The backward uses :math:`\alpha^m\sum_k\alpha^k(\gamma^m-\gamma^k)`: the term
      :math:`k = m` vanishes exactly, so a saturated weight (:math:`\alpha^m = 1`
      to rounding) gets the tiny but *correct* :math:`\alpha^m\sum_{k\ne m}\alpha^k(\dots)`
      instead of the rounding noise of :math:`\gamma^m - \sum_k\alpha^k\gamma^k`,
      which huge :math:`\partial a/\partial s` would otherwise amplify.  When the
      softmax saturates completely the gradient to ``ss`` is exactly 0.
    * Finite values and gradients are guaranteed for :math:`s \in [-50, 50]`,
      :math:`|\mu| \le 10^3`, :math:`T \in [10^{-3}, 10^{3}]`.  Beyond that the logit
      itself overflows first: ``per_dim`` for :math:`s \lesssim -1400`,
      ``official`` for :math:`s \gtrsim 709`, ``paper`` for :math:`s \lesssim -1400`
      (the bounded heads of SPEC §2 keep :math:`s \in [-10, 10]`).

    Implements SPEC §6 (variants as in SPEC §13).
    """
    check_stack("mus", mus)
    check_stack("ss", ss)
    if tuple(ss.shape) != tuple(mus.shape):
        raise ValueError(f"ss: expected the shape of mus {tuple(mus.shape)}, got {tuple(ss.shape)}")
    _check_common(temperature, variant)
    xp = get_array_module(mus, ss)
    alpha, dads = _weights(ss, temperature, variant)
    fused = xp.sum(alpha * mus, axis=0)
    return fused, (variant, alpha, mus, dads)


def fuse_backward(dfused, cache):
    """Gradients ``(dmus, dss)`` of :func:`fuse_forward` (derivation in its docstring)."""
    variant, alpha, mus, dads = cache
    check_array("dfused", dfused, shape=tuple(mus.shape[1:]))
    xp = get_array_module(dfused, mus)
    dmus = alpha * dfused[None]
    if dads is None:  # "mean": the weights are constants
        return dmus, xp.zeros_like(mus)
    gamma = dfused[None] * mus                                   # dL/dalpha, per dimension
    if variant in PER_SAMPLE_VARIANTS:
        gamma = xp.sum(gamma, axis=2, keepdims=True)             # one alpha per sample
    # alpha^m sum_k alpha^k (gamma^m - gamma^k): exact 0 for the k = m term (see Numerics)
    pair = gamma[:, None] - gamma[None, :]                       # (M, M, N, .): gamma^m - gamma^k
    da = alpha * xp.sum(alpha[None, :] * pair, axis=1)
    return dmus, da * dads


# ------------------------------------------------------------ gradient checks
# (M, N, D): batch size 1, two and three modalities
_SHAPES = [(2, 1, 3), (2, 2, 4), (3, 2, 3), (3, 5, 2)]


def _fuse_cases(variant):
    def cases(rng):
        out = []
        for M, N, D in _SHAPES:
            # moderate log-variances: the weights stay away from 0/1 so finite differences see them move
            out.append(Case(fuse_forward, fuse_backward,
                            [rng.standard_normal((M, N, D)), rng.uniform(-2.0, 2.0, (M, N, D))],
                            diff=[0, 1], kwargs={"variant": variant}, label=f"M={M},N={N},D={D}"))
        for T in (0.5, 3.0):
            out.append(Case(fuse_forward, fuse_backward,
                            [rng.standard_normal((3, 2, 3)), rng.uniform(-2.0, 2.0, (3, 2, 3))],
                            diff=[0, 1], kwargs={"variant": variant, "temperature": T},
                            label=f"M=3,N=2,D=3,T={T}"))
        return out

    cases.__name__ = f"_fuse_cases_{variant}"
    return cases


for _variant in VARIANTS:
    register(f"fuse[{_variant}]")(_fuse_cases(_variant))
del _variant
