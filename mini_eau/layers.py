r"""Layers and losses as forward/backward pairs (cs231n style).

``out, cache = name_forward(...)`` and ``grads = name_backward(dout, cache)``,
the gradients of the differentiable inputs in input order (a bare array when
there is only one).  Each docstring gives the forward formula and every
partial derivative; ``dout`` is :math:`\partial L / \partial\,\text{out}` for
whatever scalar :math:`L` sits downstream.
"""
from __future__ import annotations

import math

import numpy as np

from .backend import get_array_module
from .gradcheck import Case, register
from .validation import KEEP_PROB, Array, Labels, Optional, SameShape, accepts, checks_dout, unbox

__all__ = [
    "linear_forward", "linear_backward",
    "relu_forward", "relu_backward",
    "tanh_forward", "tanh_backward",
    "softplus_forward", "softplus_backward",
    "sigmoid",
    "dropout_forward", "dropout_backward",
    "batch_norm_forward", "batch_norm_backward", "batch_statistics", "BN_EPS",
    "logsumexp", "log_softmax", "softmax",
    "softmax_cross_entropy_forward", "softmax_cross_entropy_backward",
    "mse_forward", "mse_backward",
    "gaussian_nll_forward", "gaussian_nll_backward",
]

LOG_2PI = math.log(2 * math.pi)


# --------------------------------------------------------------------- linear
@accepts(x="N D_in", W="D_in D_out", b="D_out")
def linear_forward(x, W, b):
    r"""Affine map.

    Forward
    -------
    .. math:: \text{out} = x W + b

    Backward
    --------
    .. math::
        \frac{\partial L}{\partial x} = \text{dout}\, W^\top,\quad
        \frac{\partial L}{\partial W} = x^\top \text{dout},\quad
        \frac{\partial L}{\partial b} = \textstyle\sum_i \text{dout}_{i,:}

    Shapes
    ------
    x (N, D_in), W (D_in, D_out), b (D_out,) -> out (N, D_out)
    """
    return x @ W + b, (x, W)


@checks_dout
def linear_backward(dout, cache):
    """Gradients ``(dx, dW, db)`` of :func:`linear_forward`."""
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


# ----------------------------------------------------------------------- relu
@accepts(x="...")
def relu_forward(x):
    r"""Rectified linear unit.

    Forward
    -------
    .. math:: \text{out} = \max(0, x)

    Backward
    --------
    .. math:: \frac{\partial L}{\partial x} = \text{dout} \odot \mathbb{1}[x > 0]

    (the subgradient 0 is taken at exactly 0).
    """
    xp = get_array_module(x)
    return xp.maximum(x, 0.0), x


@checks_dout
def relu_backward(dout, cache):
    """Gradient ``dx`` of :func:`relu_forward`."""
    x = cache
    return dout * (x > 0)


# ----------------------------------------------------------------------- tanh
@accepts(x="...")
def tanh_forward(x):
    r"""Hyperbolic tangent.

    Forward
    -------
    .. math:: \text{out} = \tanh x

    Backward
    --------
    .. math:: \frac{\partial L}{\partial x} = \text{dout} \odot (1 - \text{out}^2)
    """
    xp = get_array_module(x)
    out = xp.tanh(x)
    return out, out


@checks_dout
def tanh_backward(dout, cache):
    """Gradient ``dx`` of :func:`tanh_forward`."""
    out = cache
    return dout * (1.0 - out * out)


# ------------------------------------------------------------------- softplus
def sigmoid(x):
    r"""Logistic function :math:`1/(1+e^{-x})`, computed without overflow.

    For :math:`x < 0` the form :math:`e^{x}/(1+e^{x})` is used, so ``exp``
    only ever sees non-positive arguments.
    """
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))  # in (0, 1]: never overflows
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@accepts(x="...")
def softplus_forward(x):
    r"""Softplus, a smooth ReLU.

    Forward
    -------
    .. math:: \text{out} = \log(1 + e^{x}) = \max(x, 0) + \log(1 + e^{-|x|})

    Backward
    --------
    .. math:: \frac{\partial L}{\partial x} = \text{dout} \odot \sigma(x),\qquad \sigma(x) = \frac{1}{1 + e^{-x}}

    Numerics
    --------
    The second form of the forward never exponentiates a positive number.
    """
    xp = get_array_module(x)
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x))), x


@checks_dout
def softplus_backward(dout, cache):
    """Gradient ``dx`` of :func:`softplus_forward`."""
    return dout * sigmoid(cache)


# -------------------------------------------------------------------- dropout
@accepts(x="...", mask=SameShape("x"), keep_prob=KEEP_PROB)
def dropout_forward(x, mask, keep_prob):
    r"""Inverted dropout with an explicit keep-mask (SPEC §1).

    Forward
    -------
    .. math:: \text{out} = x \odot m / p,\qquad m_{ij} \in \{0, 1\},\ p = \text{keep\_prob}

    Dividing by :math:`p` at training time keeps :math:`\mathbb{E}[\text{out}] = x`,
    so prediction without dropout needs no rescaling.  The mask is an argument
    (drawn by the caller from a seeded generator), so the forward is a
    deterministic function and can be gradient-checked; MC dropout (SPEC §9)
    passes fresh masks.

    Backward
    --------
    .. math:: \frac{\partial L}{\partial x} = \text{dout} \odot m / p
    """
    scale = mask / keep_prob
    return x * scale, scale


@checks_dout
def dropout_backward(dout, cache):
    """Gradient ``dx`` of :func:`dropout_forward`."""
    return dout * cache


# ------------------------------------------------------- batch normalisation
BN_EPS = 1e-5
"""Added to the variance before the square root: a feature constant over the batch (a dead ReLU unit) maps to 0."""


class RunningVariance:
    """Spec of a running variance: given exactly when the mean ``mean_name`` is, of axis ``axis``, >= 0."""

    def __init__(self, mean_name, axis):
        self.mean_name, self.axis = mean_name, axis

    def __call__(self, name, var, call):
        if (var is None) != (call.args[self.mean_name] is None):
            raise ValueError(f"{self.mean_name}, {name}: expected both (prediction: the running statistics) or "
                             "neither (training: the batch's own)")
        if var is not None:
            Array(self.axis)(name, var, call)
            v = unbox(var)
            if isinstance(v, np.ndarray) and (v < 0).any():  # a scan on the host only, as check_array's NaN scan
                raise ValueError(f"{name}: expected variances >= 0, got a minimum of {float(unbox(var).min())!r}")


@accepts(x="N D", mean=Optional("D"), var=RunningVariance("mean", "D"))
def batch_norm_forward(x, mean=None, var=None, eps=BN_EPS):
    r"""Non-affine batch normalisation: each feature standardised over the batch (SPEC §2).

    Forward
    -------
    .. math::
        \hat x_{i,d} = \frac{x_{i,d} - m_d}{\sqrt{v_d + \epsilon}}

    *Training* (``mean``, ``var`` not given): :math:`m_d = \frac1N\sum_i x_{i,d}`
    and :math:`v_d = \frac1N\sum_i (x_{i,d} - m_d)^2`, the batch's own
    statistics, so every :math:`\hat x_{i,d}` depends on the whole column.
    *Prediction*: :math:`m, v` are given (running statistics kept by the
    training loop) and the map is a fixed affine one, the same for every
    sample whatever else is in the batch.  No learned scale or shift: what
    follows (the variance head's :math:`W_s, b_s`) is affine already.

    Backward
    --------
    Prediction: :math:`\partial L/\partial x = \text{dout}/\sqrt{v + \epsilon}`.

    Training, one feature at a time (drop :math:`d`; :math:`r = (v+\epsilon)^{-1/2}`,
    :math:`g = \text{dout}`).  From :math:`\partial m/\partial x_j = 1/N`,
    :math:`\partial v/\partial x_j = 2(x_j - m)/N` (the :math:`m`-term of
    :math:`v` has zero derivative since :math:`\sum_i (x_i - m) = 0`) and
    :math:`\partial r/\partial v = -r^3/2`:

    .. math::
        \frac{\partial \hat x_i}{\partial x_j} = r\left(\delta_{ij} - \frac1N\right)
            - \frac{r^3}{N}(x_i - m)(x_j - m)
        = \frac rN\left(N\delta_{ij} - 1 - \hat x_i \hat x_j\right)

    so

    .. math::
        \frac{\partial L}{\partial x_j} = \sum_i g_i \frac{\partial \hat x_i}{\partial x_j}
        = r\left(g_j - \overline{g} - \hat x_j\, \overline{g \hat x}\right),

    bars being means over the batch.  The gradient sums to zero over the
    batch and is orthogonal to :math:`\hat x`: shifting or scaling a
    feature's column changes nothing downstream.

    Shapes
    ------
    x (N, D); mean, var (D,) or None -> out (N, D)
    """
    xp = get_array_module(x)
    batch = mean is None
    if batch:
        mean, var = x.mean(axis=0), x.var(axis=0)
    r = 1.0 / xp.sqrt(var + eps)
    out = (x - mean) * r
    return out, (out, r, batch, mean, var)


@checks_dout
def batch_norm_backward(dout, cache):
    """Gradient ``dx`` of :func:`batch_norm_forward` (the statistics are not inputs: no gradient for them)."""
    out, r, batch, _, _ = cache
    if not batch:
        return dout * r
    return r * (dout - dout.mean(axis=0) - out * (dout * out).mean(axis=0))


def batch_statistics(cache):
    """The ``(mean, var)`` a :func:`batch_norm_forward` in training mode computed, for the running averages."""
    return cache[3], cache[4]


# ------------------------------------------------------- softmax cross-entropy
def _shifted(z, axis):
    """m = max z, the shifted z - m and log sum exp(z - m): every exponent <= 0, so no overflow."""
    xp = get_array_module(z)
    m = xp.max(z, axis=axis, keepdims=True)
    zs = z - m
    return m, zs, xp.log(xp.sum(xp.exp(zs), axis=axis, keepdims=True))


def logsumexp(z, axis=-1):
    r""":math:`\log \sum_k e^{z_k}` along ``axis``, computed as :math:`m + \log\sum_k e^{z_k - m}`, :math:`m = \max_k z_k`.

    The shift keeps every exponent <= 0, so logits of any size give a finite result.
    """
    m, _, lse_shifted = _shifted(z, axis)
    return get_array_module(z).squeeze(m + lse_shifted, axis=axis)


def log_softmax(z, axis=-1):
    r""":math:`z - \operatorname{logsumexp}(z)`, written :math:`(z - m) - \log\sum_k e^{z_k - m}`.

    The same shifted sum as :func:`logsumexp`, but subtracted from the shifted
    :math:`z - m`: adding :math:`m` back first would round the result at the
    scale of :math:`m` (digits lost for logits of size :math:`10^4`).
    """
    _, zs, lse_shifted = _shifted(z, axis)
    return zs - lse_shifted


def softmax(z, axis=-1):
    """Softmax along ``axis``, via :func:`log_softmax`."""
    xp = get_array_module(z)
    return xp.exp(log_softmax(z, axis=axis))


def _one_hot(y, k, xp, dtype=float):
    # a comparison, not fancy indexing: safe under autograd and on CuPy
    return (xp.arange(k)[None, :] == y[:, None]).astype(dtype)


@accepts(logits="N K", y=Labels("N", "K"))
def softmax_cross_entropy_forward(logits, y):
    r"""Mean softmax cross-entropy with integer labels.

    Forward
    -------
    .. math::
        L = -\frac{1}{N}\sum_i \log p_{i,y_i},\qquad
        \log p_{i,k} = z_{ik} - \log\textstyle\sum_{k'} e^{z_{ik'}}

    Backward
    --------
    .. math:: \frac{\partial L}{\partial z_{ik}} = \frac{\text{dout}}{N}\,(p_{ik} - \mathbb{1}[k = y_i])

    Numerics
    --------
    Log-sum-exp with the row maximum subtracted: logits of any size give finite values.

    Shapes
    ------
    logits (N, K), y (N,) integers in [0, K) -> scalar
    """
    xp = get_array_module(logits)
    logp = log_softmax(logits, axis=1)
    onehot = _one_hot(y, logits.shape[1], xp, dtype=logits.dtype)  # float32 logits stay float32
    loss = -xp.sum(logp * onehot) / logits.shape[0]
    return loss, (logp, onehot)


@checks_dout
def softmax_cross_entropy_backward(dout, cache):
    """Gradient ``dlogits`` of :func:`softmax_cross_entropy_forward`."""
    logp, onehot = cache
    xp = get_array_module(logp)
    return dout * (xp.exp(logp) - onehot) / logp.shape[0]


# ----------------------------------------------------------------------- MSE
@accepts(pred="...", target=SameShape("pred"))
def mse_forward(pred, target):
    r"""Mean squared error over all entries.

    Forward
    -------
    .. math:: L = \frac{1}{n}\sum_j (\hat y_j - y_j)^2,\qquad n = \text{number of entries}

    Backward
    --------
    .. math::
        \frac{\partial L}{\partial \hat y_j} = \frac{2\,\text{dout}}{n}(\hat y_j - y_j),\qquad
        \frac{\partial L}{\partial y_j} = -\frac{\partial L}{\partial \hat y_j}
    """
    xp = get_array_module(pred, target)
    r = pred - target
    return xp.sum(r * r) / r.size, (r,)


@checks_dout
def mse_backward(dout, cache):
    """Gradients ``(dpred, dtarget)`` of :func:`mse_forward`."""
    (r,) = cache
    d = 2.0 * dout * r / r.size
    return d, -d


# -------------------------------------------------------------- Gaussian NLL
@accepts(mu="...", s=SameShape("mu"), y=SameShape("mu"))
def gaussian_nll_forward(mu, s, y):
    r"""Heteroscedastic Gaussian negative log-likelihood with log-variance ``s`` (SPEC §9).

    Forward
    -------
    .. math::
        L = \frac{1}{N}\sum_i \sum_d \tfrac12\left[s_{id} + (y_{id} - \mu_{id})^2 e^{-s_{id}} + \log 2\pi\right]

    Backward
    --------
    .. math::
        \frac{\partial L}{\partial \mu_{id}} = -\frac{\text{dout}}{N}(y_{id} - \mu_{id})\,e^{-s_{id}},\qquad
        \frac{\partial L}{\partial s_{id}} = \frac{\text{dout}}{2N}\left(1 - (y_{id} - \mu_{id})^2 e^{-s_{id}}\right)

    The second line is where the variance head learns: it pushes
    :math:`e^{s}` towards the squared residual.

    Numerics
    --------
    ``s`` is a log-variance, so no ``log`` of a possibly-zero number is taken (bound it, SPEC §2, to keep :math:`e^{-s}` finite).

    Shapes
    ------
    mu, s, y: (N,) or (N, D) -> scalar
    """
    xp = get_array_module(mu, s, y)
    r = y - mu
    inv_var = xp.exp(-s)
    n = mu.shape[0]
    loss = 0.5 * xp.sum(s + r * r * inv_var + LOG_2PI) / n
    return loss, (r, inv_var, n)


@checks_dout
def gaussian_nll_backward(dout, cache):
    """Gradients ``(dmu, ds)`` of :func:`gaussian_nll_forward`."""
    r, inv_var, n = cache
    return -dout * r * inv_var / n, 0.5 * dout * (1.0 - r * r * inv_var) / n


# ------------------------------------------------------------ gradient checks
_SHAPES = [(1, 3), (2, 4), (5, 7)]  # batch size 1 included on purpose


@register("linear")
def _linear_cases(rng):
    return [Case(linear_forward, linear_backward,
                 [rng.standard_normal((n, d)), rng.standard_normal((d, 3)), rng.standard_normal(3)], label=f"N={n},D={d}")
            for n, d in _SHAPES]


def _away_from_zero(rng, shape):
    # keep finite differences off ReLU's kink
    x = rng.standard_normal(shape)
    return x + 0.1 * (2 * (x > 0) - 1)


@register("relu")
def _relu_cases(rng):
    return [Case(relu_forward, relu_backward, [_away_from_zero(rng, s)], label=f"{s}") for s in _SHAPES]


@register("tanh")
def _tanh_cases(rng):
    return [Case(tanh_forward, tanh_backward, [rng.standard_normal(s)], label=f"{s}") for s in _SHAPES]


@register("softplus")
def _softplus_cases(rng):
    return [Case(softplus_forward, softplus_backward, [3 * rng.standard_normal(s)], label=f"{s}") for s in _SHAPES]


@register("dropout")
def _dropout_cases(rng):
    cases = []
    for s in _SHAPES:
        mask = (rng.random(s) < 0.7).astype(float)
        cases.append(Case(dropout_forward, dropout_backward, [rng.standard_normal(s), mask, 0.7], diff=[0], label=f"{s}"))
    return cases


@register("softmax_cross_entropy")
def _ce_cases(rng):
    cases = []
    for n, k in [(1, 3), (2, 2), (6, 5)]:
        cases.append(Case(softmax_cross_entropy_forward, softmax_cross_entropy_backward,
                          [2 * rng.standard_normal((n, k)), rng.integers(0, k, n)], diff=[0], label=f"N={n},K={k}"))
    return cases


@register("mse")
def _mse_cases(rng):
    return [Case(mse_forward, mse_backward, [rng.standard_normal(s), rng.standard_normal(s)], label=f"{s}")
            for s in [(1,), (2, 3), (6, 2)]]


@register("gaussian_nll")
def _nll_cases(rng):
    return [Case(gaussian_nll_forward, gaussian_nll_backward,
                 [rng.standard_normal(s), rng.standard_normal(s), rng.standard_normal(s)], diff=[0, 1], label=f"{s}")
            for s in [(1,), (2, 3), (6, 2)]]


@register("batch_norm")
def _batch_norm_cases(rng):
    cases = []
    # N >= 3: at N = 2 every standardised column is (-1, 1) whatever x is, the gradient is ~0 and
    # finite differences see only rounding
    for n, d in [(3, 3), (5, 4), (8, 2)]:
        x = rng.standard_normal((n, d)) * rng.uniform(0.5, 3.0, d) + rng.standard_normal(d)
        cases.append(Case(batch_norm_forward, batch_norm_backward, [x], label=f"training,N={n},D={d}"))
        cases.append(Case(batch_norm_forward, batch_norm_backward,
                          [x, rng.standard_normal(d), rng.uniform(0.5, 2.0, d)], diff=[0], label=f"prediction,N={n},D={d}"))
    return cases
