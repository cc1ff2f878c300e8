r"""L_URA: the uncertainty-based contrastive augmentation loss of SUFA (SPEC §5).

For one modality, SUFA draws two points per sample from its Gaussian
(SPEC §3): an anchor :math:`\tilde z_i` and an augmented point :math:`z_i`.
The loss pulls each anchor towards its own augmented point (the positive pair
:math:`(i, i)`) and away from the other samples' points (negatives
:math:`(i, j \ne i)`), all measured by cosine similarity over a temperature:

.. math:: S_{ij} = \cos(\tilde z_i, z_j) / \tau .

Two pairs live here:

* ``cosine_similarity_forward/backward`` -- the matrix of cosines, with the
  gradient through the row normalisation;
* ``ura_loss_forward/backward`` -- one modality's :math:`\frac1N\sum_i l_i`
  in the three variants of SPEC §5 (``"paper"``, ``"infonce"``,
  ``"official"``), built on the cosine pair;

and ``ura_loss_total_forward/backward`` sums it over a modality stack,
:math:`L_{URA} = \sum_m \frac1N \sum_i l_i^m`.

All three variants share one shape, which is what the code computes:

.. math:: l_i = \operatorname{LSE}_j\,(S_{ij} + B_{ij}) - S_{ii},
   \qquad \operatorname{LSE}_j x_j = \log \textstyle\sum_j e^{x_j},

with a constant offset matrix :math:`B` that differs per variant (see
:func:`ura_loss_forward`).
"""
from __future__ import annotations

import math

from .backend import get_array_module
from .gradcheck import Case, register
from .validation import check_array, check_choice, check_positive, check_stack, unbox

__all__ = [
    "VARIANTS",
    "COSINE_EPS",
    "cosine_similarity_forward", "cosine_similarity_backward",
    "ura_loss_forward", "ura_loss_backward",
    "ura_loss_total_forward", "ura_loss_total_backward",
]

VARIANTS = ("paper", "infonce", "official")

# Below float64 rounding for rows of length >= ~1 and 5e-11 relative at length
# 1e-3; large enough that 1/eps (the steepest the normalisation can get) is finite.
COSINE_EPS = 1e-8


# ---------------------------------------------------------- cosine similarity
def _normalise_rows(x, eps, xp):
    # sqrt(|x|^2 + eps^2) instead of max(|x|, eps): smooth everywhere (no kink
    # for finite differences to trip on) and a zero row maps to a zero row.
    r = xp.sqrt(xp.sum(x * x, axis=1, keepdims=True) + eps * eps)
    return x / r, r


def cosine_similarity_forward(a, b, eps=COSINE_EPS):
    r"""All pairwise cosine similarities between the rows of ``a`` and ``b`` (SPEC §5).

    Forward
    -------
    .. math::
        r_i = \sqrt{\lVert a_i \rVert^2 + \epsilon^2},\quad \hat a_i = a_i / r_i,\qquad
        q_j = \sqrt{\lVert b_j \rVert^2 + \epsilon^2},\quad \hat b_j = b_j / q_j,\qquad
        C_{ij} = \hat a_i \cdot \hat b_j .

    For :math:`\lVert a_i\rVert, \lVert b_j\rVert \gg \epsilon` this is
    :math:`\cos(a_i, b_j)`; in every case :math:`|C_{ij}| < 1`.

    Backward
    --------
    With :math:`G = \partial L / \partial C` (``dout``), first through the product,

    .. math::
        \frac{\partial L}{\partial \hat a_i} = \sum_j G_{ij}\, \hat b_j \quad (\text{i.e. } G \hat B),\qquad
        \frac{\partial L}{\partial \hat b_j} = \sum_i G_{ij}\, \hat a_i \quad (\text{i.e. } G^\top \hat A),

    then through the normalisation. Since :math:`\partial r_i / \partial a_i = a_i / r_i`,

    .. math::
        \frac{\partial \hat a_i}{\partial a_i} = \frac{I}{r_i} - \frac{a_i a_i^\top}{r_i^3}
        = \frac{1}{r_i}\left(I - \hat a_i \hat a_i^\top\right),

    a symmetric matrix, so with :math:`g_i = \partial L / \partial \hat a_i`

    .. math::
        \frac{\partial L}{\partial a_i} = \frac{g_i - \hat a_i\,(\hat a_i \cdot g_i)}{r_i},

    and the same with :math:`b, q` in place of :math:`a, r`. (When
    :math:`\epsilon \to 0` the bracket is the projection that removes the
    radial part: a cosine does not change when a row is rescaled.)

    Shapes
    ------
    a (N, D), b (K, D) -> C (N, K). Usually K = N.

    Numerics
    --------
    The length is :math:`\sqrt{\lVert a\rVert^2 + \epsilon^2}` rather than
    :math:`\max(\lVert a\rVert, \epsilon)`: it is smooth (no switch for finite
    differences or autograd to disagree on), a zero row gives
    :math:`\hat a = 0` and similarity 0 ("no direction, no similarity"), and
    the gradient is bounded by :math:`1/\epsilon` times the upstream one, so
    rows of length 1e-12 or 0 give finite values and gradients. The price is a
    relative shrinkage :math:`\approx \epsilon^2 / (2\lVert a\rVert^2)`:
    below float64 rounding for rows of length about 1, 5e-11 at length 1e-3.
    Rows longer than about 1e154 would overflow :math:`\lVert a\rVert^2`;
    SPEC §5 embeddings are far below that.

    Parameters
    ----------
    a, b : arrays (N, D) and (K, D)
    eps : float > 0
        Softening of the row length, default :data:`COSINE_EPS` = 1e-8.

    Returns
    -------
    C : array (N, K)
    cache : tuple for :func:`cosine_similarity_backward`
    """
    check_array("a", a, ndim=2)
    check_array("b", b, ndim=2)
    if unbox(b).shape[1] != unbox(a).shape[1]:
        raise ValueError(f"b: expected shape (K, {unbox(a).shape[1]}) to match a of shape "
                         f"{tuple(unbox(a).shape)}, got {tuple(unbox(b).shape)}")
    check_positive("eps", eps)
    xp = get_array_module(a, b)
    a_hat, r = _normalise_rows(a, eps, xp)
    b_hat, q = _normalise_rows(b, eps, xp)
    return a_hat @ b_hat.T, (a_hat, r, b_hat, q)


def _normalise_rows_backward(d_hat, x_hat, r, xp):
    return (d_hat - x_hat * xp.sum(x_hat * d_hat, axis=1, keepdims=True)) / r


def cosine_similarity_backward(dout, cache):
    """Gradients ``(da, db)`` of :func:`cosine_similarity_forward`."""
    a_hat, r, b_hat, q = cache
    xp = get_array_module(dout, a_hat)
    da = _normalise_rows_backward(dout @ b_hat, a_hat, r, xp)
    db = _normalise_rows_backward(dout.T @ a_hat, b_hat, q, xp)
    return da, db


# ------------------------------------------------------------------ L_URA, one modality
# Each variant is l_i = LSE_j(S_ij + B_ij) - S_ii with a constant offset B:
#   paper    B = log(N-1) on the diagonal  -> the positive counted N-1 times
#   infonce  B = 0
#   official B = log 2 off the diagonal    -> every negative counted twice
# B never becomes a matrix: only the diagonal term of each row's sum changes,
# so L_URA costs four passes over the N x N similarities (max, subtract, exp,
# sum), not a dozen — at N = 4096 that is most of a training step.
def _offset(variant, n):
    """(log of the positive's multiplicity, the negatives' multiplicity)."""
    if variant == "paper":
        return math.log(n - 1), 1.0
    if variant == "official":
        return 0.0, 2.0
    return 0.0, 1.0


def _lse_rows(S, variant, n, xp, axis):
    """Per row (axis=1) or column (axis=0): l = LSE_j(S_j + B_j) - S_diag, and what the backward needs.

    With U_ij = S_ij - S_ii (U_ii = 0 exactly: the diagonal is read from S
    itself) and a shift M_i >= max_j(U_ij + B_ij) (the off-diagonal part is at
    most max_j S_ij - S_ii + log w, the diagonal is b; for "official" with a
    dominant positive the shift exceeds the maximum by at most log 2),
    l_i = M_i + log sum_j e^{U_ij + B_ij - M_i}. The positive's term
    e^{b - M_i} is added exactly, so when the positive is the maximum the sum
    is >= 1 and l_i >= M_i = b: "paper"'s l_i >= log(N-1) holds exactly for
    the computed numbers, not only to rounding.
    """
    b, w = _offset(variant, n)
    diag = xp.diagonal(S, 0, -1, -2)  # these axes: the only ones autograd's diagonal VJP supports
    mx = xp.max(S, axis=axis)
    # the largest U + B: the off-diagonal part is at most mx - diag (+ log w), the diagonal is b
    M = xp.maximum(mx - diag + math.log(w), b)
    shift = diag + M
    E = xp.exp(S - (shift[:, None] if axis == 1 else shift[None, :]))  # exp only sees numbers <= 0
    off = xp.sum(E, axis=axis) - xp.diagonal(E, 0, -1, -2)  # sum over the negatives, >= 0
    pos = xp.exp(b - M)  # the positive's term, exactly
    Zb = w * off + pos
    return M + xp.log(Zb), (E, Zb, pos, w)


def ura_loss_forward(anchor, positive, tau=0.5, variant="paper", *, eps=COSINE_EPS):
    r"""One modality's URA contrastive loss :math:`\frac1N \sum_i l_i` (SPEC §5).

    Forward
    -------
    With :math:`C` from :func:`cosine_similarity_forward` (anchors
    :math:`\tilde z_i` = ``anchor`` rows, augmented points :math:`z_j` =
    ``positive`` rows) and :math:`S = C/\tau`:

    * ``"paper"`` (default), as the paper writes it,

      .. math::
          l_i = -\log \frac{e^{S_{ii}}}{\sum_{j\ne i}\left(e^{S_{ii}} + e^{S_{ij}}\right)}
              = -\log \frac{e^{S_{ii}}}{(N-1)e^{S_{ii}} + \sum_{j\ne i} e^{S_{ij}}}
              \;\ge\; \log(N-1);

    * ``"infonce"``, one-directional InfoNCE / NT-Xent,
      :math:`l_i = -\log \bigl(e^{S_{ii}} / \sum_j e^{S_{ij}}\bigr)`;

    * ``"official"``, what the released code computes (its "reflection"
      matrix duplicates the "between" matrix, hence the 2):
      :math:`l_i(S) = -\log \bigl(e^{S_{ii}} / (e^{S_{ii}} + 2\sum_{j\ne i} e^{S_{ij}})\bigr)`,
      and :math:`L = \tfrac12\bigl(\frac1N\sum_i l_i(S) + \frac1N\sum_i l_i(S^\top)\bigr)`.

    Each is :math:`l_i = \operatorname{LSE}_j (S_{ij} + B_{ij}) - S_{ii}` with
    :math:`B = \log(N-1)\,I` (paper), :math:`B = 0` (infonce),
    :math:`B = \log 2\,(\mathbf 1\mathbf 1^\top - I)` (official).
    For the first two :math:`L = \frac1N\sum_i l_i`. For N = 2, paper and
    infonce coincide (:math:`\log 1 = 0`).

    Backward
    --------
    Let :math:`P_{ij} = e^{S_{ij}+B_{ij}} / \sum_k e^{S_{ik}+B_{ik}}` (row
    softmax). Since :math:`\partial\,\operatorname{LSE}_j(x_j) / \partial x_k`
    is the softmax,

    .. math::
        \frac{\partial l_i}{\partial S_{kj}} = \delta_{ik}\,(P_{ij} - \delta_{ij})
        \quad\Longrightarrow\quad
        \frac{\partial L}{\partial S} = \frac{\text{dout}}{N}\,(P - I)
        \qquad\text{(paper, infonce)}.

    For official, with :math:`Q` the row softmax of :math:`S^\top + B`
    (the column softmax of :math:`S + B`, since :math:`B = B^\top`),

    .. math::
        \frac{\partial L}{\partial S} = \frac{\text{dout}}{2N}\left[(P - I) + (Q - I)^\top\right].

    Then :math:`\partial L/\partial C = (\partial L/\partial S)/\tau`, and
    :func:`cosine_similarity_backward` carries it through the normalisation
    to :math:`\partial L/\partial \tilde z` and :math:`\partial L/\partial z`.

    Shapes
    ------
    anchor (N, D), positive (N, D), N >= 2 -> scalar.

    Numerics
    --------
    Every variant is evaluated as a log-sum-exp of
    :math:`U_{ij} + B_{ij}`, :math:`U_{ij} = S_{ij} - S_{ii}`, shifted by (an
    upper bound of) its row maximum :math:`M_i`:
    :math:`l_i = M_i + \log \sum_j e^{U_{ij} + B_{ij} - M_i}`.
    :math:`|S| \le 1/\tau`, so for :math:`\tau = 10^{-3}` the raw exponents
    reach :math:`\pm 2000` and a direct :math:`e^{S}` would overflow. The
    offset :math:`B` only rescales the positive's term of each row's sum
    (:math:`\times (N-1)` for paper) or the negatives' part (:math:`\times 2`
    for official), so it is never built as an :math:`N \times N` matrix, and
    the positive's term is added exactly: the paper bound
    :math:`l_i \ge \log(N-1)` holds for the computed values too (tested with
    Hypothesis).
    Near-zero-length embeddings are handled by the cosine's
    :math:`\epsilon` (see :func:`cosine_similarity_forward`).

    Parameters
    ----------
    anchor, positive : arrays (N, D)
        :math:`\tilde z` and :math:`z` of one modality, row i of each from sample i.
    tau : float > 0
        Temperature, default 0.5 (the released value).
    variant : {"paper", "infonce", "official"}
    eps : float > 0, keyword only
        Cosine softening, see :func:`cosine_similarity_forward`.

    Returns
    -------
    loss : scalar
    cache : tuple for :func:`ura_loss_backward`
    """
    check_array("anchor", anchor, ndim=2)
    n, d = unbox(anchor).shape
    if n < 2:
        raise ValueError(f"anchor: expected at least 2 samples (N >= 2; a contrastive loss needs negatives), "
                         f"got shape {(n, d)}")
    if d < 1:
        raise ValueError(f"anchor: expected an embedding size D >= 1, got shape {(n, d)}")
    check_array("positive", positive, shape=(n, d))
    check_positive("tau", tau)
    check_choice("variant", variant, VARIANTS)
    check_positive("eps", eps)
    xp = get_array_module(anchor, positive)

    a_hat, r = _normalise_rows(anchor, eps, xp)
    b_hat, q = _normalise_rows(positive, eps, xp)
    S = (a_hat / tau) @ b_hat.T  # S = C / tau, the 1/tau applied to N x D, not N x N, numbers
    l_row, rows = _lse_rows(S, variant, n, xp, axis=1)
    if variant == "official":
        l_col, cols = _lse_rows(S, variant, n, xp, axis=0)  # the same expression on S^T
        loss = 0.5 * (xp.mean(l_row) + xp.mean(l_col))
    else:
        cols = None
        loss = xp.mean(l_row)
    return loss, ((a_hat, r, b_hat, q), rows, cols, variant, tau)


def _softmax_grad(E, Zb, pos, w, coef, axis):
    """coef * (P - I) for P the row (axis=1) or column (axis=0) softmax of S + B."""
    n = E.shape[0]
    scale = coef * w / Zb
    G = E * (scale[:, None] if axis == 1 else scale[None, :])  # the one N x N pass of the backward
    idx = get_array_module(G).arange(n)
    G[idx, idx] = coef * (pos / Zb - 1.0)  # the positive's softmax weight minus the identity, in O(N)
    return G



def ura_loss_backward(dout, cache):
    """Gradients ``(danchor, dpositive)`` of :func:`ura_loss_forward`."""
    cos_cache, rows, cols, variant, tau = cache
    n = rows[0].shape[0]
    if cols is None:
        dS = _softmax_grad(*rows, dout / (n * tau), axis=1)
    else:
        dS = _softmax_grad(*rows, dout / (2 * n * tau), axis=1)
        dS += _softmax_grad(*cols, dout / (2 * n * tau), axis=0)
    # dS already carries the 1/tau of S = C / tau
    return cosine_similarity_backward(dS, cos_cache)


# ------------------------------------------------------------ L_URA, all modalities
def ura_loss_total_forward(anchors, positives, tau=0.5, variant="paper", *, eps=COSINE_EPS):
    r""":math:`L_{URA} = \sum_m \frac1N \sum_i l_i^m` over a modality stack (SPEC §5).

    Forward
    -------
    .. math:: L_{URA} = \sum_{m=1}^{M} L^m,\qquad L^m = \text{ura\_loss}(\tilde z^m, z^m; \tau, \text{variant})

    (:func:`ura_loss_forward`). Negatives come only from the same modality.

    Backward
    --------
    The modalities do not interact, so
    :math:`\partial L_{URA} / \partial \tilde z^m = \partial L^m / \partial \tilde z^m`
    (and likewise for :math:`z^m`): the per-modality gradients, stacked.

    Shapes
    ------
    anchors (M, N, D), positives (M, N, D), M >= 2, N >= 2 -> scalar.

    Numerics
    --------
    As :func:`ura_loss_forward`.

    Returns
    -------
    loss : scalar
    cache : tuple for :func:`ura_loss_total_backward`
    """
    check_stack("anchors", anchors)
    shape = tuple(unbox(anchors).shape)
    if shape[1] < 2:
        raise ValueError(f"anchors: expected at least 2 samples per modality (shape (M, N, D) with N >= 2), "
                         f"got shape {shape}")
    check_array("positives", positives, shape=shape)
    check_positive("tau", tau)
    check_choice("variant", variant, VARIANTS)
    losses, caches = [], []
    for m in range(shape[0]):
        loss_m, cache_m = ura_loss_forward(anchors[m], positives[m], tau, variant, eps=eps)
        losses.append(loss_m)
        caches.append(cache_m)
    return sum(losses), caches


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
