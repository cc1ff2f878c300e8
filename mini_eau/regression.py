r"""A heteroscedastic MLP regressor with MC dropout: the 1-D teaching example of SPEC §9.

The network predicts :math:`\mathcal N(\mu(x), e^{s(x)})` for every input:
the tanh encoder of SPEC §1 (with dropout) and the Gaussian head of SPEC §2,
trained with the Gaussian NLL, so :math:`e^{s(x)}` learns the noise in the
data (*aleatoric*).  Fresh dropout masks at prediction time (MC dropout, Gal
& Ghahramani 2016) sample sub-networks that disagree where the data left the
function unconstrained (*epistemic*); :func:`predict_regressor` returns both,
split by :func:`~mini_eau.uncertainty.decompose_variance`.  Why tanh: NOTES.md.

Parameters: ``W1, b1`` (first hidden layer), optionally ``W2, b2``, and the
head ``W_mu, b_mu, W_s, b_s`` with one output column each.
"""
from __future__ import annotations

import math

import numpy

from .backend import asarray, get_array_module, noise_generator
from .encoders import draw_masks, encoder_backward, encoder_forward
from .gaussian import gaussian_head_backward, gaussian_head_forward
from .gradcheck import Case, register
from .layers import gaussian_nll_backward, gaussian_nll_forward
from .optim import Adam
from .uncertainty import mc_dropout_predict
from .validation import KEEP_PROB, Array, Choice, Instance, Integer, Optional, Real, accepts, checks_dout, unbox

__all__ = [
    "init_regressor",
    "regressor_loss_forward",
    "regressor_loss_backward",
    "fit_regressor",
    "predict_regressor",
]

_HEAD = ("W_mu", "b_mu", "W_s", "b_s")
_RNG = Instance(numpy.random.Generator, "a numpy.random.Generator")


def _n_hidden(params):
    return 2 if "W2" in params else 1


def _layers(params):
    """The hidden layers' weights and biases as the lists :func:`encoder_forward` takes."""
    L = range(1, _n_hidden(params) + 1)
    return [params[f"W{l}"] for l in L], [params[f"b{l}"] for l in L]


def _as_column(x):
    """1-D inputs (N,) are N samples of one feature."""
    return x[:, None] if x.ndim == 1 else x


# ---------------------------------------------------------------- specs
def _params(name, params, call):
    """The dict of :func:`init_regressor`: its keys, and every shape from the hidden width H."""
    Instance(dict, "a dict of name -> array")(name, params, call)
    want = [f"{p}{l}" for l in range(1, _n_hidden(params) + 1) for p in ("W", "b")] + list(_HEAD)
    if set(params) != set(want):
        raise ValueError(f"{name}: expected the keys {want} (one or two hidden layers), got {sorted(params)}")
    shapes = {"W1": "F H", "b1": "H", "W2": "H H", "b2": "H", "W_mu": "H 1", "b_mu": "1", "W_s": "H 1", "b_s": "1"}
    for k in want:
        Array(shapes[k])(f"{name}[{k!r}]", params[k], call)


def _inputs(name, x, call):
    """(N,) or (N, F), F the input size of ``params['W1']``."""
    Array("N" if unbox(x).ndim == 1 else "N F")(name, x, call)


def _masks(name, masks, call):
    """One (N, H) keep-mask per hidden layer."""
    n_hidden = _n_hidden(call.args["params"])
    if not isinstance(masks, (list, tuple)) or len(masks) != n_hidden:
        got = f"a list of {len(masks)}" if isinstance(masks, (list, tuple)) else type(masks).__name__
        raise ValueError(f"{name}: expected a list of {n_hidden} keep-masks (one per hidden layer), got {got}")
    for l, mask in enumerate(masks):
        Array("N H")(f"{name}[{l}]", mask, call)


@accepts(rng=_RNG, n_in=Integer(1), hidden=Integer(1), n_layers=Choice((1, 2)))
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
    p = {"W1": rng.standard_normal((n_in, hidden)) / math.sqrt(n_in),
         "b1": rng.uniform(-3.0, 3.0, hidden)}
    if n_layers == 2:
        p["W2"] = rng.standard_normal((hidden, hidden)) / math.sqrt(hidden)
        p["b2"] = numpy.zeros(hidden)
    p["W_mu"], p["b_mu"] = numpy.zeros((hidden, 1)), numpy.zeros(1)
    p["W_s"], p["b_s"] = numpy.zeros((hidden, 1)), numpy.full(1, float(s_init))
    return p


def _network_forward(params, x, masks, keep_prob):
    """The tanh encoder and the Gaussian head: ((mu, s), cache), mu and s of shape (N, 1)."""
    h, c_enc = encoder_forward(_as_column(x), *_layers(params), masks, keep_prob, activation="tanh")
    (mu, s), c_head = gaussian_head_forward(h, *(params[k] for k in _HEAD))
    return (mu, s), (c_enc, c_head)


def _network_backward(dout, cache):
    """Gradient dict for the parameters of :func:`_network_forward`; ``dout = (dmu, ds)``."""
    c_enc, c_head = cache
    dh, *g_head = gaussian_head_backward(dout, c_head)
    _, dWs, dbs = encoder_backward(dh, c_enc)
    grads = dict(zip(_HEAD, g_head))
    for l, (dW, db) in enumerate(zip(dWs, dbs), start=1):
        grads[f"W{l}"], grads[f"b{l}"] = dW, db
    return grads


@accepts(params=_params, x=_inputs, y=Array("N", kind="fiu"), masks=_masks, keep_prob=KEEP_PROB)
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
    :math:`s` is bounded (SPEC §2): :math:`e^{-s} \le e^{10}`, finite even for a wildly wrong mean.
    """
    (mu, s), c_net = _network_forward(params, x, masks, keep_prob)
    xp = get_array_module(mu)
    loss, c_nll = gaussian_nll_forward(mu, s, xp.reshape(xp.asarray(y, dtype=mu.dtype), (-1, 1)))
    return loss, (c_net, c_nll)


@checks_dout
def regressor_loss_backward(dout, cache):
    """Gradients of :func:`regressor_loss_forward`: a dict with the same keys as ``params``."""
    c_net, c_nll = cache
    return _network_backward(gaussian_nll_backward(dout, c_nll), c_net)


@accepts(x=_inputs, y=Array("N", kind="fiu"), rng=_RNG, hidden=Integer(1), keep_prob=KEEP_PROB, epochs=Integer(1),
         lr=Real(), batch_size=Integer(1), n_layers=Choice((1, 2)))
def fit_regressor(x, y, rng, hidden=64, keep_prob=0.9, epochs=375, lr=1e-2, batch_size=256, n_layers=2):
    r"""Train the heteroscedastic regressor with Adam and dropout; return its parameters.

    Every minibatch draws fresh keep-masks from ``rng`` (dropout *training*,
    the same masks the MC-dropout prediction later samples from); shuffling
    comes from ``rng`` too, so one seed reproduces the run.

    The defaults are the settings of the 1-D teaching example (SPEC §11;
    why these, NOTES.md): 2000 points with a gap, batch 256, 3000 Adam steps.

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
    xc = _as_column(x)
    n, xp = xc.shape[0], get_array_module(xc)
    params = {k: asarray(v, xp=xp) for k, v in
              init_regressor(rng, n_in=xc.shape[1], hidden=hidden, n_layers=n_layers).items()}
    opt = Adam(params, lr=lr)
    y = asarray(y, xp=xp)
    noise_rng = noise_generator(rng, xp)  # masks drawn on the backend: no copy inside a step
    for _ in range(epochs):
        order = asarray(rng.permutation(n), xp=xp)  # one small copy per epoch
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            masks = draw_masks(noise_rng, idx.shape[0], [hidden] * n_layers, 1, keep_prob, xp)[0]
            _, cache = regressor_loss_forward(params, xc[idx], y[idx], masks, keep_prob)
            opt.step(regressor_loss_backward(1.0, cache))
    return params


@accepts(params=_params, x=_inputs, rng=Optional(_RNG), n_passes=Integer(1), keep_prob=KEEP_PROB)
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
    xp = get_array_module(x, *params.values())
    hidden = [params["W1"].shape[1]] * _n_hidden(params)
    if rng is None:  # inverted dropout: no masks, no rescaling
        keep = [xp.ones((x.shape[0], h)) for h in hidden]
        (mu, s), _ = _network_forward(params, x, keep, 1.0)
        return mu[:, 0], xp.exp(s[:, 0])

    def one_pass(xb, g):
        masks = draw_masks(g, xb.shape[0], hidden, 1, keep_prob, xp)[0]
        (mu, s), _ = _network_forward(params, xb, masks, keep_prob)
        return mu[:, 0], xp.exp(s[:, 0])

    return mc_dropout_predict(one_pass, x, n_passes, rng)


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
        masks = draw_masks(rng, n, [hidden] * n_layers, 1, keep)[0]
        x, y = rng.uniform(-3, 3, (n, n_in)), rng.standard_normal(n)
        names = ["W1", "b1"] + (["W2", "b2"] if n_layers == 2 else []) + list(_HEAD)
        args = [x, y] + [p[k] for k in names] + masks + [keep]
        fwd = _loss_two_hidden if n_layers == 2 else _loss_one_hidden
        cases.append(Case(fwd, _loss_positional_backward, args, diff=list(range(2, 2 + len(names))),
                          label=f"N={n},n_in={n_in},H={hidden},layers={n_layers},p={keep}"))
    return cases
