r"""MLP encoders, one per modality, shared by EAU and every baseline (SPEC §1).

Dropout takes its keep-mask as an argument, so a forward pass is a pure
function of its inputs and can be gradient-checked; MC dropout draws fresh
masks (SPEC §9).
"""
from __future__ import annotations

import numpy as np

from .layers import dropout_backward, dropout_forward, linear_backward, linear_forward, relu_backward, relu_forward, tanh_backward, tanh_forward
from .validation import KEEP_PROB, Choice, accepts, checks_dout

__all__ = ["ACTIVATIONS", "init_encoder", "encoder_forward", "encoder_backward", "encode_modalities",
           "encode_modalities_backward", "draw_masks"]

ACTIVATIONS = {"relu": (relu_forward, relu_backward), "tanh": (tanh_forward, tanh_backward)}


def init_encoder(rng, d_in, hidden, prefix, dtype=np.float64):
    """He-initialised weights for an MLP encoder; names ``{prefix}.W{l}``, ``{prefix}.b{l}``."""
    params, d = {}, d_in
    for l, h in enumerate(hidden):
        params[f"{prefix}.W{l}"] = (rng.standard_normal((d, h)) * np.sqrt(2.0 / d)).astype(dtype)
        params[f"{prefix}.b{l}"] = np.zeros(h, dtype=dtype)
        d = h
    return params


@accepts(x="N D_in", keep_prob=KEEP_PROB, activation=Choice(tuple(ACTIVATIONS)))
def encoder_forward(x, weights, biases, masks=None, keep_prob=1.0, activation="relu"):
    r"""MLP encoder :math:`h = g(x)` (SPEC §1).

    Forward
    -------
    For each layer :math:`l`:

    .. math:: a_l = h_{l-1} W_l + b_l,\qquad h_l = \operatorname{drop}(\phi(a_l); m_l),\qquad h_0 = x

    with :math:`\phi` ReLU or tanh and inverted dropout with keep-mask
    :math:`m_l` (none when ``masks`` is None).

    Backward
    --------
    Chain rule through the layers in reverse: dropout multiplies by
    :math:`m_l/p`, the activation by :math:`\phi'(a_l)`, and the linear map
    gives :math:`(\partial h_{l-1}, \partial W_l, \partial b_l)` as in
    :func:`mini_eau.layers.linear_backward`.  Returns
    ``(dx, [dW_0, ...], [db_0, ...])``.
    """
    act_f = ACTIVATIONS[activation][0]
    caches, h = [], x
    for l, (W, b) in enumerate(zip(weights, biases)):
        a, c_lin = linear_forward(h, W, b)
        h, c_act = act_f(a)
        c_drop = None
        if masks is not None and masks[l] is not None:
            h, c_drop = dropout_forward(h, masks[l], keep_prob)
        caches.append((c_lin, c_act, c_drop))
    return h, (caches, activation)


@checks_dout
def encoder_backward(dh, cache):
    """Gradients ``(dx, dWs, dbs)`` of :func:`encoder_forward`."""
    caches, activation = cache
    act_b = ACTIVATIONS[activation][1]
    dWs, dbs = [], []
    for c_lin, c_act, c_drop in reversed(caches):
        if c_drop is not None:
            dh = dropout_backward(dh, c_drop)
        dh, dW, db = linear_backward(act_b(dh, c_act), c_lin)
        dWs.append(dW)
        dbs.append(db)
    return dh, dWs[::-1], dbs[::-1]


def encode_modalities(params, xs, config, masks=None, modalities=None):
    """Run the encoders ``enc{m}`` of ``params`` on ``xs[m]``: dicts m -> h^m and m -> cache.

    Shared by EAU and every baseline, so all use the very same encoders (SPEC §10).
    """
    hs, caches = {}, {}
    L = len(config.hidden)
    for m in range(len(xs)) if modalities is None else modalities:
        hs[m], caches[m] = encoder_forward(xs[m], [params[f"enc{m}.W{l}"] for l in range(L)],
                                           [params[f"enc{m}.b{l}"] for l in range(L)],
                                           None if masks is None else masks[m], config.keep_prob, config.activation)
    return hs, caches


def encode_modalities_backward(dhs, caches, grads):
    """Backward of :func:`encode_modalities`: writes ``enc{m}.W{l}``/``.b{l}`` gradients into ``grads``."""
    for m, dh in dhs.items():
        _, dWs, dbs = encoder_backward(dh, caches[m])
        for l, (dW, db) in enumerate(zip(dWs, dbs)):
            grads[f"enc{m}.W{l}"] = dW
            grads[f"enc{m}.b{l}"] = db


def draw_masks(rng, n, hidden, n_modalities, keep_prob, xp=np, dtype=np.float64):
    """Dropout keep-masks: per modality, one (n, h) 0/1 array per hidden layer."""
    return [[xp.asarray(rng.random((n, h)) < keep_prob).astype(dtype) for h in hidden] for _ in range(n_modalities)]
