r"""Closed-form KL divergences and the L_UDR loss (SUFA, SPEC §4).

For diagonal Gaussians every KL is a sum of one-dimensional KLs, so the
formulas below hold per dimension and are summed over :math:`d`; one value
per sample is returned.
"""
from __future__ import annotations

from itertools import permutations

from .backend import get_array_module
from .gradcheck import Case, register
from .validation import Real, accepts, checks_dout

__all__ = [
    "kl_gaussians_forward", "kl_gaussians_backward",
    "kl_standard_normal_forward", "kl_standard_normal_backward",
    "udr_loss_forward", "udr_loss_backward",
]


@accepts(mu_p="N D", s_p="N D", mu_q="N D", s_q="N D")
def kl_gaussians_forward(mu_p, s_p, mu_q, s_q):
    r"""KL between two diagonal Gaussians, one value per sample (SPEC §4).

    Forward
    -------
    For :math:`p = \mathcal N(\mu_p, e^{s_p})`, :math:`q = \mathcal N(\mu_q, e^{s_q})`,

    .. math::
        \mathrm{KL}(p\,\|\,q)_i = \frac12 \sum_d \left[ s_q - s_p + \left(e^{s_p} + (\mu_p - \mu_q)^2\right) e^{-s_q} - 1 \right]

    (from :math:`\mathbb E_p[\log p - \log q]` with
    :math:`\mathbb E_p[(z-\mu_q)^2] = e^{s_p} + (\mu_p-\mu_q)^2`).

    Backward
    --------
    With :math:`\delta = \mu_p - \mu_q` and the per-sample upstream gradient
    :math:`\text{dout}_i` broadcast over :math:`d`:

    .. math::
        \frac{\partial \mathrm{KL}}{\partial \mu_p} = \delta\, e^{-s_q},\quad
        \frac{\partial \mathrm{KL}}{\partial \mu_q} = -\delta\, e^{-s_q},\\
        \frac{\partial \mathrm{KL}}{\partial s_p} = \tfrac12\left(e^{s_p - s_q} - 1\right),\quad
        \frac{\partial \mathrm{KL}}{\partial s_q} = \tfrac12\left(1 - e^{s_p - s_q} - \delta^2 e^{-s_q}\right)

    Numerics
    --------
    :math:`e^{s_p - s_q}`, not :math:`e^{s_p} e^{-s_q}`, which under/overflows for :math:`s \in [-50, 50]`.

    Shapes
    ------
    all (N, D) -> (N,)
    """
    xp = get_array_module(mu_p, s_p, mu_q, s_q)
    delta = mu_p - mu_q
    ratio = xp.exp(s_p - s_q)
    d2_inv_q = delta * delta * xp.exp(-s_q)
    kl = 0.5 * xp.sum(s_q - s_p + ratio + d2_inv_q - 1.0, axis=1)
    return kl, (delta, ratio, d2_inv_q, xp.exp(-s_q))


@checks_dout
def kl_gaussians_backward(dout, cache):
    """Gradients ``(dmu_p, ds_p, dmu_q, ds_q)`` of :func:`kl_gaussians_forward`; ``dout`` has shape (N,)."""
    delta, ratio, d2_inv_q, inv_q = cache
    g = dout[:, None]
    dmu_p = g * delta * inv_q
    return dmu_p, 0.5 * g * (ratio - 1.0), -dmu_p, 0.5 * g * (1.0 - ratio - d2_inv_q)


@accepts(mu="N D", s="N D")
def kl_standard_normal_forward(mu, s):
    r"""KL to the standard normal prior, one value per sample (SPEC §4).

    Forward
    -------
    .. math:: \mathrm{KL}(\mathcal N(\mu, e^{s}) \,\|\, \mathcal N(0, I))_i = \frac12 \sum_d \left[ e^{s} + \mu^2 - 1 - s \right]

    (the general formula with :math:`\mu_q = 0, s_q = 0`).

    Backward
    --------
    .. math::
        \frac{\partial \mathrm{KL}}{\partial \mu} = \mu,\qquad
        \frac{\partial \mathrm{KL}}{\partial s} = \tfrac12 (e^{s} - 1)

    Shapes
    ------
    mu, s (N, D) -> (N,)
    """
    xp = get_array_module(mu, s)
    var = xp.exp(s)
    return 0.5 * xp.sum(var + mu * mu - 1.0 - s, axis=1), (mu, var)


@checks_dout
def kl_standard_normal_backward(dout, cache):
    """Gradients ``(dmu, ds)`` of :func:`kl_standard_normal_forward`; ``dout`` has shape (N,)."""
    mu, var = cache
    g = dout[:, None]
    return g * mu, 0.5 * g * (var - 1.0)


@accepts(mus="M>=2 N D", ss="M N D", lambda_align=Real(">=0"), lambda_prior=Real(">=0"))
def udr_loss_forward(mus, ss, lambda_align=1.0, lambda_prior=1.0):
    r"""L_UDR: align the modalities' distributions and keep them near the prior (SPEC §4).

    Forward
    -------
    .. math::
        L_{\text{UDR}} = \frac1N \sum_i \Big[ \lambda_{\text{align}} \sum_{m_1 \ne m_2} \mathrm{KL}(p_i^{m_1} \| p_i^{m_2})
                         + \lambda_{\text{prior}} \sum_m \mathrm{KL}(p_i^{m} \| \mathcal N(0, I)) \Big]

    The first sum runs over **ordered** pairs, as the paper writes it: for
    two modalities it is the symmetric (Jeffreys) divergence.  (The released
    code uses one direction only, with weights 1e-5 / 1e-3; SPEC §13.)

    Backward
    --------
    Each ordered pair :math:`(m_1, m_2)` sends :math:`\lambda_{\text{align}}/N`
    times the gradients of :func:`kl_gaussians_forward` to
    :math:`(\mu^{m_1}, s^{m_1})` (the :math:`p` slots) and to
    :math:`(\mu^{m_2}, s^{m_2})` (the :math:`q` slots); each modality gets
    :math:`\lambda_{\text{prior}}/N` times :math:`(\mu^m, \tfrac12(e^{s^m}-1))`
    from its prior term.  All contributions add.

    Shapes
    ------
    mus, ss (M, N, D) -> scalar
    """
    M, N = mus.shape[0], mus.shape[1]
    total = 0.0
    pair_caches = []
    for m1, m2 in permutations(range(M), 2):
        kl, c = kl_gaussians_forward(mus[m1], ss[m1], mus[m2], ss[m2])
        total = total + lambda_align * kl.sum()
        pair_caches.append((m1, m2, c))
    prior_caches = []
    for m in range(M):
        kl, c = kl_standard_normal_forward(mus[m], ss[m])
        total = total + lambda_prior * kl.sum()
        prior_caches.append(c)
    cache = (pair_caches, prior_caches, lambda_align, lambda_prior, mus.shape)
    return total / N, cache


@checks_dout
def udr_loss_backward(dout, cache):
    """Gradients ``(dmus, dss)`` (stacks of shape (M, N, D)) of :func:`udr_loss_forward`."""
    pair_caches, prior_caches, lambda_align, lambda_prior, shape = cache
    xp = get_array_module(prior_caches[0][0])
    M, N = shape[0], shape[1]
    dtype = prior_caches[0][0].dtype
    dmus, dss = xp.zeros(shape, dtype=dtype), xp.zeros(shape, dtype=dtype)
    g_align = xp.full(N, dout * lambda_align / N)
    for m1, m2, c in pair_caches:
        dmu_p, ds_p, dmu_q, ds_q = kl_gaussians_backward(g_align, c)
        dmus[m1] += dmu_p
        dss[m1] += ds_p
        dmus[m2] += dmu_q
        dss[m2] += ds_q
    g_prior = xp.full(N, dout * lambda_prior / N)
    for m, c in enumerate(prior_caches):
        dmu, ds = kl_standard_normal_backward(g_prior, c)
        dmus[m] += dmu
        dss[m] += ds
    return dmus, dss


# ------------------------------------------------------------ gradient checks
@register("kl_gaussians")
def _kl_cases(rng):
    return [Case(kl_gaussians_forward, kl_gaussians_backward, [rng.standard_normal((n, d)) for _ in range(4)],
                 label=f"N={n},D={d}") for n, d in [(1, 3), (2, 4), (5, 2)]]


@register("kl_standard_normal")
def _kl_prior_cases(rng):
    return [Case(kl_standard_normal_forward, kl_standard_normal_backward, [rng.standard_normal((n, d)) for _ in range(2)],
                 label=f"N={n},D={d}") for n, d in [(1, 3), (2, 4), (5, 2)]]


@register("udr_loss")
def _udr_cases(rng):
    cases = []
    for m, n, d, la, lp in [(2, 1, 3, 1.0, 1.0), (2, 2, 4, 0.3, 2.0), (3, 2, 3, 1.0, 1.0), (3, 5, 2, 1e-5, 1e-3)]:
        cases.append(Case(udr_loss_forward, udr_loss_backward,
                          [rng.standard_normal((m, n, d)), rng.standard_normal((m, n, d))],
                          kwargs={"lambda_align": la, "lambda_prior": lp}, label=f"M={m},N={n},D={d}"))
    return cases
