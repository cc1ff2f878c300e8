r"""A heteroscedastic MLP regressor with MC dropout: the 1-D teaching example of SPEC §9.

The network predicts, for every input, a Gaussian
:math:`\mathcal N(\mu(x), e^{s(x)})`:

.. code-block:: text

    x -> Linear -> tanh -> dropout -> [Linear -> tanh -> dropout] -> Gaussian head (mu, s)

and is trained with the Gaussian negative log-likelihood, so :math:`e^{s(x)}`
learns the noise in the data — *aleatoric* uncertainty.  Running it again with
fresh dropout masks (MC dropout, Gal & Ghahramani 2016) samples sub-networks;
where the training data left the function unconstrained the samples disagree —
*epistemic* uncertainty.  :func:`predict_regressor` returns both, split by
:func:`~mini_eau.uncertainty.decompose_variance`.

Why tanh (SPEC §1 allows ReLU or tanh), on evidence from the gap data of the
tests (inputs in [-3, -1] and [1, 3]).  Ratio of the epistemic variance in
the middle of the gap to that on the training inputs, same network and
training otherwise (200 points, 4 seeds, 100-600 epochs, keep_prob 0.5-0.9):
tanh 1.2-3.0x, ReLU 0.3-2.0x and mostly about 1x, i.e. no signal.  With the
settings of :func:`fit_regressor` (2000 points, 3000 steps) tanh reaches
3.1-4.7x over 12 seeds.  Tanh units also make every finite-difference
gradient check valid without steering inputs off a kink.  (MC dropout is
known to be weak at *in-between* uncertainty — Foong et al., 2019 — and it
needs enough data and training to show it at all.)

The parameters live in a dict of arrays (what :class:`~mini_eau.optim.Adam`
updates): ``W1, b1`` (first hidden layer), optionally ``W2, b2`` (second),
and the head ``W_mu, b_mu, W_s, b_s`` with one output column each.
"""
from __future__ import annotations

import math
import numbers

import numpy

from .backend import asarray, get_array_module, noise_generator
from .gaussian import gaussian_head_backward, gaussian_head_forward
from .gradcheck import Case, register
from .layers import (
    dropout_backward,
    dropout_forward,
    gaussian_nll_backward,
    gaussian_nll_forward,
    linear_backward,
    linear_forward,
    tanh_backward,
    tanh_forward,
)
from .optim import Adam
from .uncertainty import mc_dropout_predict
from .validation import check_array, check_keep_prob, check_positive, unbox

__all__ = [
    "init_regressor",
    "regressor_loss_forward",
    "regressor_loss_backward",
    "fit_regressor",
    "predict_regressor",
]

_HEAD = ("W_mu", "b_mu", "W_s", "b_s")


def _n_hidden(params):
    """Number of hidden layers, read from the keys (W1, b1[, W2, b2]); every shape checked by name."""
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of name -> array, got {type(params).__name__}")
    n = 2 if "W2" in params else 1
    want = [f"{p}{l}" for l in range(1, n + 1) for p in ("W", "b")] + list(_HEAD)
    if set(params) != set(want):
        raise ValueError(f"params: expected the keys {want} (one or two hidden layers), got {sorted(params)}")
    check_array("params['W1']", params["W1"], ndim=2)
    hidden = unbox(params["W1"]).shape[1]
    shapes = {"b1": (hidden,), "W2": (hidden, hidden), "b2": (hidden,),
              "W_mu": (hidden, 1), "b_mu": (1,), "W_s": (hidden, 1), "b_s": (1,)}
    for k in want[1:]:
        check_array(f"params[{k!r}]", params[k], shape=shapes[k])
    return n




def _as_column(name, x):
    """1-D inputs (N,) are read as N samples of one feature."""
    check_array(name, x, ndim=(1, 2))
    return x[:, None] if unbox(x).ndim == 1 else x


def init_regressor(rng, n_in=1, hidden=64, n_layers=2, s_init=0.0):
    r"""Fresh parameters for :func:`regressor_loss_forward`.

    Hidden weights are drawn :math:`\mathcal N(0, 1/\text{fan\_in})` (LeCun/Xavier
    scaling, which keeps tanh units out of saturation at the start); the head
    starts at zero weights, so the first prediction is :math:`\mu = 0`,
    :math:`s = s_{\text{init}}` everywhere and the early gradients shape the
    hidden features rather than fight a random head.  Input-layer biases are
    spread over :math:`\pm 3` so tanh units bend at different places along a
    1-D input.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_in, hidden : int
        Input size and hidden width.
    n_layers : {1, 2}
        Number of hidden layers.
    s_init : float
        Initial log-variance (0: unit variance).
    """
    if not isinstance(rng, numpy.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    for name, v in (("n_in", n_in), ("hidden", hidden)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name}: expected a positive integer, got {v!r}")
    if n_layers not in (1, 2):
        raise ValueError(f"n_layers: expected 1 or 2 hidden layers, got {n_layers!r}")
    p = {"W1": rng.standard_normal((n_in, hidden)) / math.sqrt(n_in),
         "b1": rng.uniform(-3.0, 3.0, hidden)}
    if n_layers == 2:
        p["W2"] = rng.standard_normal((hidden, hidden)) / math.sqrt(hidden)
        p["b2"] = numpy.zeros(hidden)
    p["W_mu"], p["b_mu"] = numpy.zeros((hidden, 1)), numpy.zeros(1)
    p["W_s"], p["b_s"] = numpy.zeros((hidden, 1)), numpy.full(1, float(s_init))
    return p


def _network_forward(params, x, masks, keep_prob):
    """Hidden layers and the Gaussian head: ((mu, s), cache), mu and s of shape (N, 1)."""
    n_hidden = _n_hidden(params)
    x = _as_column("x", x)
    n_in = unbox(params["W1"]).shape[0]
    if unbox(x).shape[1] != n_in:
        raise ValueError(f"x: expected {n_in} feature column(s) to match params['W1'] of shape "
                         f"{tuple(unbox(params['W1']).shape)}, got shape {tuple(unbox(x).shape)}")
    check_keep_prob(keep_prob)
    if not isinstance(masks, (list, tuple)) or len(masks) != n_hidden:
        got = f"a list of {len(masks)}" if isinstance(masks, (list, tuple)) else type(masks).__name__
        raise ValueError(f"masks: expected a list of {n_hidden} keep-masks (one per hidden layer), got {got}")
    h, caches = x, []
    for l in range(1, n_hidden + 1):
        a, c_lin = linear_forward(h, params[f"W{l}"], params[f"b{l}"])
        t, c_act = tanh_forward(a)
        check_array(f"masks[{l - 1}]", masks[l - 1], shape=tuple(unbox(t).shape))
        h, c_drop = dropout_forward(t, masks[l - 1], keep_prob)
        caches.append((c_lin, c_act, c_drop))
    (mu, s), c_head = gaussian_head_forward(h, *(params[k] for k in _HEAD))
    return (mu, s), (caches, c_head)


def _network_backward(dout, cache):
    """Gradient dict for the parameters of :func:`_network_forward`; ``dout = (dmu, ds)``."""
    caches, c_head = cache
    dh, dW_mu, db_mu, dW_s, db_s = gaussian_head_backward(dout, c_head)
    grads = {"W_mu": dW_mu, "b_mu": db_mu, "W_s": dW_s, "b_s": db_s}
    for l in range(len(caches), 0, -1):
        c_lin, c_act, c_drop = caches[l - 1]
        da = tanh_backward(dropout_backward(dh, c_drop), c_act)
        dh, grads[f"W{l}"], grads[f"b{l}"] = linear_backward(da, c_lin)
    return grads


def regressor_loss_forward(params, x, y, masks, keep_prob):
    r"""Gaussian NLL of the heteroscedastic MLP, with explicit dropout keep-masks (SPEC §1, §9).

    Forward
    -------
    For hidden layers :math:`\ell = 1, \dots, L` (:math:`L \in \{1, 2\}`), with :math:`h^{(0)} = x`:

    .. math::
        a^{(\ell)} = h^{(\ell-1)} W_\ell + b_\ell,\qquad
        t^{(\ell)} = \tanh a^{(\ell)},\qquad
        h^{(\ell)} = t^{(\ell)} \odot m^{(\ell)} / p,

    then the Gaussian head of SPEC §2 with :math:`D = 1` and the NLL of SPEC §9:

    .. math::
        \mu = h^{(L)} W_\mu + b_\mu,\quad s = \operatorname{bound}(h^{(L)} W_s + b_s),\quad
        L = \frac1N \sum_i \tfrac12\left[s_i + (y_i - \mu_i)^2 e^{-s_i} + \log 2\pi\right].

    Backward
    --------
    .. math::
        \frac{\partial L}{\partial \mu_i} = -\frac{\bar L}{N}(y_i - \mu_i)e^{-s_i},\qquad
        \frac{\partial L}{\partial s_i} = \frac{\bar L}{2N}\left(1 - (y_i - \mu_i)^2 e^{-s_i}\right)

    go through the head (:func:`~mini_eau.gaussian.gaussian_head_backward`,
    giving :math:`\partial L/\partial h^{(L)}` and the head's four gradients),
    then, layer by layer from :math:`L` down to 1,

    .. math::
        \frac{\partial L}{\partial a^{(\ell)}} = \frac{\partial L}{\partial h^{(\ell)}} \odot \frac{m^{(\ell)}}{p}
                                             \odot \left(1 - (t^{(\ell)})^2\right),\quad
        \frac{\partial L}{\partial W_\ell} = h^{(\ell-1)\top} \frac{\partial L}{\partial a^{(\ell)}},\quad
        \frac{\partial L}{\partial b_\ell} = \textstyle\sum_i \frac{\partial L}{\partial a^{(\ell)}_{i}},\quad
        \frac{\partial L}{\partial h^{(\ell-1)}} = \frac{\partial L}{\partial a^{(\ell)}} W_\ell^\top.

    Shapes
    ------
    x (N,) or (N, n_in); y (N,); masks: list of L arrays (N, hidden) of 0/1;
    keep_prob p in (0, 1] -> scalar.

    Numerics
    --------
    :math:`s` is a bounded log-variance (SPEC §2), so :math:`e^{-s} \le e^{10}`:
    the NLL and its gradients stay finite even for a wildly wrong mean.
    """
    n_hidden = _n_hidden(params)
    xc = _as_column("x", x)
    check_array("y", y, shape=(unbox(xc).shape[0],), dtype_kind="fiu")
    (mu, s), c_net = _network_forward(params, xc, masks, keep_prob)
    xp = get_array_module(mu)
    loss, c_nll = gaussian_nll_forward(mu, s, xp.reshape(xp.asarray(y, dtype=unbox(mu).dtype), (-1, 1)))
    return loss, (c_net, c_nll, n_hidden)


def regressor_loss_backward(dout, cache):
    """Gradients of :func:`regressor_loss_forward`: a dict with the same keys as ``params``."""
    c_net, c_nll, _ = cache
    return _network_backward(gaussian_nll_backward(dout, c_nll), c_net)


def _draw_masks(rng, n, hidden, n_hidden, keep_prob):
    # astype (not numpy.asarray): a device generator's masks stay on the device
    return [(rng.random((n, hidden)) < keep_prob).astype(numpy.float64) for _ in range(n_hidden)]


def fit_regressor(x, y, rng, hidden=64, keep_prob=0.9, epochs=375, lr=1e-2, batch_size=256, n_layers=2):
    r"""Train the heteroscedastic regressor with Adam and dropout; return its parameters.

    Every minibatch draws fresh keep-masks from ``rng`` (dropout *training*,
    the same masks the MC-dropout prediction later samples from); shuffling
    comes from ``rng`` too, so one seed reproduces the run.

    The defaults are the settings of the 1-D teaching example (SPEC §11):
    2000 points with a gap, batch 256, 375 epochs = 3000 Adam steps at
    ``lr=1e-2``.  Fewer points or steps leave the dropout noise on the
    training inputs high and the gap/training contrast of the epistemic
    variance small (about 1.5-2x after 400-600 steps on 200 points); see
    ``tests/test_regression.py``.

    Parameters
    ----------
    x : array (N,) or (N, n_in)
    y : array (N,)
    rng : numpy.random.Generator
    hidden, n_layers : int
        Width and number (1 or 2) of hidden layers.
    keep_prob : float
        Probability of keeping a hidden unit; pass the same value to
        :func:`predict_regressor`.
    epochs, lr, batch_size
        Passes over the data, Adam's step size, minibatch size.

    Returns
    -------
    dict of arrays (see :func:`init_regressor`), on the backend of ``x``.
    """
    if not isinstance(rng, numpy.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    xc = _as_column("x", x)
    n = unbox(xc).shape[0]
    check_array("y", y, shape=(n,), dtype_kind="fiu")
    check_keep_prob(keep_prob)
    check_positive("lr", lr)
    for name, v in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name}: expected a positive integer, got {v!r}")
    xp = get_array_module(xc)
    params = {k: asarray(v, xp=xp) for k, v in
              init_regressor(rng, n_in=unbox(xc).shape[1], hidden=hidden, n_layers=n_layers).items()}
    opt = Adam(params, lr=lr)
    y = asarray(y, xp=xp)
    noise_rng = noise_generator(rng, xp)  # masks drawn on the backend: no copy inside a step
    for _ in range(epochs):
        order = asarray(rng.permutation(n), xp=xp)  # one small copy per epoch
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            masks = _draw_masks(noise_rng, idx.shape[0], hidden, n_layers, keep_prob)
            _, cache = regressor_loss_forward(params, xc[idx], y[idx], masks, keep_prob)
            opt.step(regressor_loss_backward(1.0, cache))
    return params


def predict_regressor(params, x, rng=None, n_passes=100, keep_prob=0.9):
    r"""Predict with the trained regressor (SPEC §9).

    * ``rng=None``: one deterministic pass with dropout off (inverted dropout
      needs no rescaling) -> ``(mu, variance)``, each (N,), variance
      :math:`e^{s(x)}`: the aleatoric part alone.
    * ``rng`` given: MC dropout — ``n_passes`` passes, each with fresh masks
      from ``rng`` kept with probability ``keep_prob`` (use the training value),
      decomposed by :func:`~mini_eau.uncertainty.mc_dropout_predict` ->
      ``(mean, aleatoric, epistemic)``, each (N,): :math:`\mu_*`,
      :math:`\mathbb E_t[e^{s_t}]`, :math:`\operatorname{Var}_t[\mu_t]`.
    """
    n_hidden = _n_hidden(params)
    xc = _as_column("x", x)
    hidden = unbox(params["W1"]).shape[1]
    xp = get_array_module(xc, *params.values())
    if rng is None:
        masks = [xp.ones((unbox(xc).shape[0], hidden)) for _ in range(n_hidden)]
        (mu, s), _ = _network_forward(params, xc, masks, 1.0)
        return mu[:, 0], xp.exp(s[:, 0])
    check_keep_prob(keep_prob)

    def one_pass(xb, g):
        masks = [asarray(m, xp=xp) for m in _draw_masks(g, unbox(xb).shape[0], hidden, n_hidden, keep_prob)]
        (mu, s), _ = _network_forward(params, xb, masks, keep_prob)
        return mu[:, 0], xp.exp(s[:, 0])

    return mc_dropout_predict(one_pass, xc, n_passes, rng)


# ------------------------------------------------------------ gradient checks
def _loss_one_hidden(x, y, W1, b1, W_mu, b_mu, W_s, b_s, mask1, keep_prob):
    """Positional face of :func:`regressor_loss_forward` (one hidden layer) for the gradient checker."""
    params = {"W1": W1, "b1": b1, "W_mu": W_mu, "b_mu": b_mu, "W_s": W_s, "b_s": b_s}
    loss, cache = regressor_loss_forward(params, x, y, [mask1], keep_prob)
    return loss, (cache, ("W1", "b1", "W_mu", "b_mu", "W_s", "b_s"))


def _loss_two_hidden(x, y, W1, b1, W2, b2, W_mu, b_mu, W_s, b_s, mask1, mask2, keep_prob):
    """Positional face of :func:`regressor_loss_forward` (two hidden layers) for the gradient checker."""
    params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "W_mu": W_mu, "b_mu": b_mu, "W_s": W_s, "b_s": b_s}
    loss, cache = regressor_loss_forward(params, x, y, [mask1, mask2], keep_prob)
    return loss, (cache, ("W1", "b1", "W2", "b2", "W_mu", "b_mu", "W_s", "b_s"))


def _loss_positional_backward(dout, cache):
    inner, names = cache
    grads = regressor_loss_backward(dout, inner)
    return tuple(grads[k] for k in names)


@register("heteroscedastic_regressor")
def _regressor_cases(rng):
    cases = []
    for n, n_in, hidden, n_layers, keep in [(1, 1, 4, 1, 0.8), (2, 1, 5, 2, 0.7), (2, 2, 3, 1, 1.0), (6, 1, 5, 2, 0.9)]:
        p = init_regressor(rng, n_in=n_in, hidden=hidden, n_layers=n_layers)
        # a trained-looking head, not the zero start, so every path carries gradient
        for k in _HEAD:
            p[k] = 0.5 * rng.standard_normal(p[k].shape)
        masks = _draw_masks(rng, n, hidden, n_layers, keep)
        x, y = rng.uniform(-3, 3, (n, n_in)), rng.standard_normal(n)
        names = ["W1", "b1"] + (["W2", "b2"] if n_layers == 2 else []) + list(_HEAD)
        args = [x, y] + [p[k] for k in names] + masks + [keep]
        fwd = _loss_two_hidden if n_layers == 2 else _loss_one_hidden
        cases.append(Case(fwd, _loss_positional_backward, args, diff=list(range(2, 2 + len(names))),
                          label=f"N={n},n_in={n_in},H={hidden},layers={n_layers},p={keep}"))
    return cases
