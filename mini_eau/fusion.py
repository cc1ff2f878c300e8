r"""Dynamic uncertainty-weighted fusion — RMFI's first step (SPEC §6).

Each modality brings :math:`(\mu^m, s^m)` per sample (SPEC §2).  The weights
are a softmax over the modalities of a logit :math:`a^m` that falls as
:math:`s^m` rises, and the **means** are mixed:
:math:`\hat x_i = \sum_m \alpha_i^m \odot \mu_i^m`.  With :math:`\sigma = e^{s/2}`:

* ``paper``     :math:`a_i^m = 1/(T u_i^m)`, :math:`u_i^m = \operatorname{mean}_d \sigma_{i,d}^m` (one weight per sample);
* ``per_dim``   :math:`a_{i,d}^m = 1/(T \sigma_{i,d}^m)`;
* ``official``  :math:`a_{i,d}^m = -(\sigma_{i,d}^m)^2 / T` (the released code, SPEC §13);
* ``precision`` :math:`a_{i,d}^m = -s_{i,d}^m / T` (the product of Gaussian experts at :math:`T = 1`);
* ``mean``      :math:`\alpha^m = 1/M` (the ablation).
"""
from __future__ import annotations

from .backend import get_array_module
from .gradcheck import Case, register
from .layers import softmax
from .validation import Choice, Real, accepts, checks_dout

__all__ = ["modality_uncertainty", "uncertainty_weights", "fuse_forward", "fuse_backward", "VARIANTS",
           "PER_SAMPLE_VARIANTS"]

VARIANTS = ("paper", "per_dim", "official", "precision", "mean")
PER_SAMPLE_VARIANTS = ("paper", "mean")  # one weight per (modality, sample); the rest one per dimension too


@accepts(ss="M N D")
def modality_uncertainty(ss):
    r"""The paper's per-sample uncertainty :math:`u_i^m = \frac1D \sum_d e^{s^m_{i,d}/2}`: (M, N, D) -> (M, N)."""
    xp = get_array_module(ss)
    return xp.mean(xp.exp(ss / 2.0), axis=2)


def _logits(ss, T, variant):
    """The logit a ((M, N, 1) or (M, N, D)) and da/ds; (None, None) for "mean"."""
    xp = get_array_module(ss)
    if variant == "paper":
        u = modality_uncertainty(ss)[:, :, None]
        a = 1.0 / (T * u)
        return a, -a * xp.exp(ss / 2.0) / (2.0 * ss.shape[2] * u)  # du/ds_d = sigma_d / (2D)
    if variant == "per_dim":
        a = xp.exp(-ss / 2.0) / T
        return a, -a / 2.0
    if variant == "official":
        a = -xp.exp(ss) / T
        return a, a
    if variant == "precision":
        return -ss / T, -1.0 / T
    return None, None


def _weights(ss, T, variant):
    """alpha with a trailing axis kept ((M, N, 1) or (M, N, D)), and da/ds."""
    a, da_ds = _logits(ss, T, variant)
    if a is None:
        return get_array_module(ss).zeros_like(ss[:, :, :1]) + 1.0 / ss.shape[0], None
    return softmax(a, axis=0), da_ds  # max-shifted: a reaches 7e13 at s = -50, T = 1e-3


_SPECS = dict(ss="M>=2 N D", temperature=Real(), variant=Choice(VARIANTS))


@accepts(**_SPECS)
def uncertainty_weights(ss, temperature=1.0, variant="paper"):
    r"""Fusion weights :math:`\alpha^m = \operatorname{softmax}_m(a^m)` from a stack of log-variances (SPEC §6).

    Forward
    -------
    The logits :math:`a` of the module table, e.g. ``paper``:
    :math:`\alpha_i^m = \operatorname{softmax}_m\big(1/(T u_i^m)\big)`.  At :math:`T = 1`
    ``precision`` is the product of experts, :math:`\alpha^m = \sigma_m^{-2} / \sum_k \sigma_k^{-2}`.

    Shapes
    ------
    ss (M, N, D), M >= 2 -> (M, N) for ``paper`` and ``mean``, (M, N, D) otherwise; the weights sum to 1 over m.
    """
    alpha, _ = _weights(ss, temperature, variant)
    return alpha[:, :, 0] if variant in PER_SAMPLE_VARIANTS else alpha


@accepts(mus="M>=2 N D", **_SPECS)
def fuse_forward(mus, ss, temperature=1.0, variant="paper"):
    r"""Uncertainty-weighted fusion of the modality means (SPEC §6, RMFI).

    Forward
    -------
    .. math:: \alpha^m = \operatorname{softmax}_m(a^m),\qquad \hat x_{i,d} = \sum_m \alpha^m_{i(,d)}\, \mu^m_{i,d}

    Backward
    --------
    With :math:`g = \partial L / \partial \hat x` and
    :math:`\gamma^m = \partial L/\partial \alpha^m = g \odot \mu^m` (summed over :math:`d`
    for the per-sample variants):

    .. math::
        \frac{\partial L}{\partial \mu^m} = \alpha^m g,\qquad
        \frac{\partial L}{\partial a^m} = \alpha^m \Big(\gamma^m - \sum_k \alpha^k \gamma^k\Big)
            = \alpha^m \sum_k \alpha^k (\gamma^m - \gamma^k),\qquad
        \frac{\partial L}{\partial s} = \frac{\partial L}{\partial a} \frac{\partial a}{\partial s},

    with :math:`\partial a/\partial s` = :math:`-\frac{a}{2D}\frac{\sigma}{u}` (paper),
    :math:`-\frac a2` (per_dim), :math:`a` (official), :math:`-\frac1T` (precision), 0 (mean).

    Shapes
    ------
    mus, ss (M, N, D), M >= 2 -> fused (N, D).

    Numerics
    --------
    The softmax subtracts the max over m; finite for :math:`s \in [-50, 50]`, :math:`T \in [10^{-3}, 10^3]`.
    The backward uses the pairwise form: its :math:`k = m` term is exactly 0, so a saturated weight
    gets its tiny correct gradient, not rounding noise times :math:`\partial a/\partial s \approx 10^{13}`.
    """
    xp = get_array_module(mus, ss)
    alpha, da_ds = _weights(ss, temperature, variant)
    return xp.sum(alpha * mus, axis=0), (variant, alpha, mus, da_ds)


@checks_dout
def fuse_backward(dfused, cache):
    """Gradients ``(dmus, dss)`` of :func:`fuse_forward` (derivation in its docstring)."""
    variant, alpha, mus, da_ds = cache
    xp = get_array_module(dfused, mus)
    dmus = alpha * dfused
    if da_ds is None:  # "mean": the weights are constants
        return dmus, xp.zeros_like(mus)
    gamma = dfused * mus
    if variant in PER_SAMPLE_VARIANTS:
        gamma = xp.sum(gamma, axis=2, keepdims=True)
    da = alpha * sum(alpha[k] * (gamma - gamma[k]) for k in range(len(gamma)))
    return dmus, da * da_ds


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
