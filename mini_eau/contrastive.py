r"""L_URA: the uncertainty-based contrastive augmentation loss of SUFA (SPEC §5).

For one modality, SUFA draws an anchor :math:`\tilde z_i` and an augmented
point :math:`z_i` per sample (SPEC §3).  With :math:`S_{ij} = \cos(\tilde z_i, z_j)/\tau`
every variant is

.. math:: l_i = -\log \frac{e^{S_{ii}}}{\sum_j e^{S_{ij} + B_{ij}}}
              = \operatorname{LSE}_j (S_{ij} + B_{ij}) - S_{ii},

with a constant offset :math:`B` per variant (:func:`ura_loss_forward`).
"""
from __future__ import annotations

import math

from .backend import get_array_module
from .gradcheck import Case, register
from .layers import logsumexp
from .validation import Choice, Real, accepts, checks_dout

__all__ = [
    "VARIANTS",
    "COSINE_EPS",
    "cosine_similarity_forward", "cosine_similarity_backward",
    "ura_loss_forward", "ura_loss_backward",
    "ura_loss_total_forward", "ura_loss_total_backward",
]

VARIANTS = ("paper", "infonce", "official")

# Below float64 rounding for rows of length >= ~1; 1/eps, the steepest the normalisation gets, is finite.
COSINE_EPS = 1e-8


# ---------------------------------------------------------- cosine similarity
def _normalise_rows(x, eps, xp):
    # sqrt(|x|^2 + eps^2), not max(|x|, eps): smooth, and a zero row maps to a zero row
    r = xp.sqrt(xp.sum(x * x, axis=1, keepdims=True) + eps * eps)
    return x / r, r


def _normalise_rows_backward(d_hat, x_hat, r):
    xp = get_array_module(d_hat, x_hat)
    return (d_hat - x_hat * xp.sum(x_hat * d_hat, axis=1, keepdims=True)) / r


@accepts(a="N D", b="K D", eps=Real())
def cosine_similarity_forward(a, b, eps=COSINE_EPS):
    r"""All pairwise cosine similarities between the rows of ``a`` and ``b`` (SPEC §5).

    Forward
    -------
    .. math::
        r_i = \sqrt{\lVert a_i \rVert^2 + \epsilon^2},\quad \hat a_i = a_i / r_i,\qquad
        q_j = \sqrt{\lVert b_j \rVert^2 + \epsilon^2},\quad \hat b_j = b_j / q_j,\qquad
        C_{ij} = \hat a_i \cdot \hat b_j .

    Backward
    --------
    With :math:`G = \partial L / \partial C`: :math:`\partial L/\partial \hat a_i = (G\hat B)_i`,
    :math:`\partial L/\partial \hat b_j = (G^\top \hat A)_j`, and since
    :math:`\partial \hat a_i / \partial a_i = (I - \hat a_i \hat a_i^\top)/r_i` (symmetric),

    .. math::
        \frac{\partial L}{\partial a_i} = \frac{g_i - \hat a_i\,(\hat a_i \cdot g_i)}{r_i},
        \qquad g_i = \frac{\partial L}{\partial \hat a_i},

    and the same for :math:`b` with :math:`q`.

    Shapes
    ------
    a (N, D), b (K, D) -> C (N, K).

    Numerics
    --------
    :math:`\epsilon` keeps a zero-length row finite (similarity 0, gradient at most :math:`1/\epsilon`).
    """
    xp = get_array_module(a, b)
    a_hat, r = _normalise_rows(a, eps, xp)
    b_hat, q = _normalise_rows(b, eps, xp)
    return a_hat @ b_hat.T, (a_hat, r, b_hat, q)


@checks_dout
def cosine_similarity_backward(dout, cache):
    """Gradients ``(da, db)`` of :func:`cosine_similarity_forward`."""
    a_hat, r, b_hat, q = cache
    return _normalise_rows_backward(dout @ b_hat, a_hat, r), _normalise_rows_backward(dout.T @ a_hat, b_hat, q)


# ------------------------------------------------------------------ L_URA, one modality
def _offsets(variant, n, xp):
    """B: paper counts the positive N-1 times (log(N-1) on the diagonal), official each negative twice.

    Built afresh in every call (one N x N pass, cheap next to the similarity
    matrix): a cached array would be one mutable object shared by every caller.
    """
    eye = xp.eye(n)
    if variant == "paper":
        return math.log(n - 1) * eye
    if variant == "official":
        return math.log(2.0) * (1.0 - eye)
    return 0.0 * eye


def _rows(S, B, xp):
    """l_i = LSE_j(S_ij + B_ij) - S_ii as one LSE of U_ij = S_ij + B_ij - S_ii ("paper": l_i >= log(N-1) exactly)."""
    U = S + B - xp.diagonal(S, 0, -1, -2)[:, None]  # axes (-1, -2): the form autograd can differentiate
    return logsumexp(U, axis=1), U


@accepts(anchor="N>=2 D>=1", positive="N D", tau=Real(), variant=Choice(VARIANTS), eps=Real())
def ura_loss_forward(anchor, positive, tau=0.5, variant="paper", *, eps=COSINE_EPS):
    r"""One modality's URA contrastive loss :math:`\frac1N \sum_i l_i` (SPEC §5).

    Forward
    -------
    :math:`S = C/\tau` with :math:`C` from :func:`cosine_similarity_forward`
    (rows of ``anchor`` against rows of ``positive``), and
    :math:`l_i = \operatorname{LSE}_j (S_{ij} + B_{ij}) - S_{ii}`:

    * ``"paper"``: :math:`l_i = -\log \frac{e^{S_{ii}}}{\sum_{j\ne i}(e^{S_{ii}} + e^{S_{ij}})}`,
      i.e. :math:`B = \log(N-1)\,I`, so :math:`l_i \ge \log(N-1)`;
    * ``"infonce"``: :math:`B = 0`;
    * ``"official"`` (released code): :math:`B = \log 2\,(\mathbf 1\mathbf 1^\top - I)`,
      averaged with the same loss on :math:`S^\top`:
      :math:`L = \tfrac12\bigl(\frac1N\sum_i l_i(S) + \frac1N\sum_i l_i(S^\top)\bigr)`.

    Backward
    --------
    With :math:`P` the row softmax of :math:`S + B` (and :math:`Q` that of :math:`S^\top + B`),

    .. math::
        \frac{\partial L}{\partial S} = \frac{\text{dout}}{N}(P - I)\ \text{(paper, infonce)},\qquad
        \frac{\partial L}{\partial S} = \frac{\text{dout}}{2N}\left[(P - I) + (Q - I)^\top\right]\ \text{(official)},

    then :math:`\partial L/\partial C = (\partial L/\partial S)/\tau` through
    :func:`cosine_similarity_backward`.

    Shapes
    ------
    anchor (N, D), positive (N, D), N >= 2 -> scalar.

    Numerics
    --------
    Log-sum-exp: :math:`|S| \le 1/\tau` reaches 1000 at :math:`\tau = 10^{-3}`, where :math:`e^S` overflows.
    """
    xp = get_array_module(anchor, positive)
    C, cos_cache = cosine_similarity_forward(anchor, positive, eps)
    S, B = C / tau, _offsets(variant, anchor.shape[0], xp)
    directions = [_rows(S, B, xp)] + ([_rows(S.T, B, xp)] if variant == "official" else [])
    loss = sum(xp.mean(l) for l, _ in directions) / len(directions)
    return loss, (cos_cache, directions, tau)


def _softmax_minus_identity(l, U, xp):
    """P - I, with P_ij = e^{U_ij - l_i} the row softmax of U (and of S + B: they differ by a row constant)."""
    G = xp.exp(U - l[:, None])
    i = xp.arange(G.shape[0])
    G[i, i] -= 1.0  # O(N), not another N x N pass
    return G


@checks_dout
def ura_loss_backward(dout, cache):
    """Gradients ``(danchor, dpositive)`` of :func:`ura_loss_forward`."""
    cos_cache, directions, tau = cache
    xp = get_array_module(directions[0][1])
    dS = _softmax_minus_identity(*directions[0], xp)
    if len(directions) == 2:  # official: (P - I) + (Q - I)^T
        dS += _softmax_minus_identity(*directions[1], xp).T
    dS *= dout / (len(directions) * dS.shape[0] * tau)  # the mean's 1/N, official's 1/2, and S = C / tau
    return cosine_similarity_backward(dS, cos_cache)


# ------------------------------------------------------------ L_URA, all modalities
@accepts(anchors="M>=2 N>=2 D", positives="M N D", tau=Real(), variant=Choice(VARIANTS), eps=Real())
def ura_loss_total_forward(anchors, positives, tau=0.5, variant="paper", *, eps=COSINE_EPS):
    r""":math:`L_{URA} = \sum_m \frac1N \sum_i l_i^m` over a modality stack (SPEC §5).

    Forward
    -------
    :math:`L_{URA} = \sum_{m} \text{ura\_loss}(\tilde z^m, z^m)`; negatives come only from the same modality.

    Backward
    --------
    The modalities do not interact: the per-modality gradients of :func:`ura_loss_backward`, stacked.

    Shapes
    ------
    anchors, positives (M, N, D), M >= 2, N >= 2 -> scalar.
    """
    losses, caches = zip(*(ura_loss_forward(anchors[m], positives[m], tau, variant, eps=eps)
                           for m in range(anchors.shape[0])))
    return sum(losses), caches


@checks_dout
def ura_loss_total_backward(dout, cache):
    """Gradients ``(danchors, dpositives)`` of :func:`ura_loss_total_forward`, each (M, N, D)."""
    grads = [ura_loss_backward(dout, c) for c in cache]
    xp = get_array_module(grads[0][0])
    return xp.stack([g[0] for g in grads]), xp.stack([g[1] for g in grads])


# ------------------------------------------------------------ gradient checks
# D = 1 rows are +-|a|: their cosines are +-1 and the eps = 1e-8 gradient is
# ~1e-16, all rounding noise to finite differences. Those cases use a large
# eps, which also checks that the backward is exact in eps, not just as eps -> 0.
_LOSS_SHAPES = [(2, 4, {}), (5, 4, {}), (2, 1, {"eps": 1.0}), (5, 1, {"eps": 1.0}),
                (5, 4, {"eps": 0.5}), (5, 4, {"tau": 0.1})]


def _label(n, d, kw, m=None):
    extra = "".join(f",{k}={v}" for k, v in kw.items())
    return (f"M={m}," if m else "") + f"N={n},D={d}" + extra


@register("cosine_similarity")
def _cosine_cases(rng):
    cases = []
    for n, k, d, eps in [(1, 1, 3, COSINE_EPS), (2, 2, 4, COSINE_EPS), (5, 5, 4, COSINE_EPS),
                         (2, 2, 1, 1.0), (3, 5, 4, 0.5)]:
        cases.append(Case(cosine_similarity_forward, cosine_similarity_backward,
                          [rng.standard_normal((n, d)), rng.standard_normal((k, d))], diff=[0, 1],
                          kwargs={"eps": eps}, label=f"N={n},K={k},D={d},eps={eps:g}"))
    return cases


def _ura_cases(variant):
    def cases(rng):
        out = []
        for n, d, kw in _LOSS_SHAPES:
            tau = kw.get("tau", 0.5)
            kwargs = {"eps": kw["eps"]} if "eps" in kw else {}
            out.append(Case(ura_loss_forward, ura_loss_backward,
                            [rng.standard_normal((n, d)), rng.standard_normal((n, d)), tau, variant],
                            diff=[0, 1], kwargs=kwargs, label=_label(n, d, kw)))
        return out
    return cases


for _v in VARIANTS:
    register(f"ura_loss[{_v}]")(_ura_cases(_v))
del _v


@register("ura_loss_total")
def _total_cases(rng):
    out = []
    for m, n, d, variant, kw in [(3, 2, 4, "paper", {}), (3, 5, 4, "paper", {}), (3, 5, 4, "infonce", {}),
                                 (3, 5, 4, "official", {}), (3, 2, 1, "official", {"eps": 1.0}),
                                 (2, 5, 1, "paper", {"eps": 1.0})]:
        out.append(Case(ura_loss_total_forward, ura_loss_total_backward,
                        [rng.standard_normal((m, n, d)), rng.standard_normal((m, n, d)), 0.5, variant],
                        diff=[0, 1], kwargs=kw, label=_label(n, d, kw, m) + f",{variant}"))
    return out
