r"""Where does sigma learn from?  The share of each loss term in the gradient on the log-variances.

EAU's loss (SPEC §8) is :math:`L = L_{VIB} + \lambda_{udr} L_{UDR} + \lambda_{ura} L_{URA}`,
and each term reaches the log-variance heads :math:`s^m = \text{bound}(h^m W_s^m + b_s^m)`
by its own road:

* the **task** term :math:`L_{VIB}` only through the fusion weights
  :math:`\alpha^m(s)` (SPEC §6): a view whose mean hurts the prediction is
  pushed towards a larger :math:`s`;
* the **prior** part of :math:`L_{UDR}`, :math:`\mathrm{KL}(p^m \| \mathcal N(0, I))`,
  pulls every :math:`s` towards 0 (:math:`\partial/\partial s = \tfrac12(e^s - 1)`);
* the **alignment** part, :math:`\sum_{m_1 \ne m_2} \mathrm{KL}(p^{m_1} \| p^{m_2})`,
  makes a view whose mean disagrees with the others wider;
* :math:`L_{URA}` through the reparameterised samples
  :math:`z = \mu + e^{s/2}\varepsilon` (SPEC §3): noise in the samples
  blurs the contrast, so it pushes :math:`s` down.

Because the backward is linear in the term weights, the gradient of one
term is the difference of two backward passes on the same batch and the same
noise draws: one with the term's weight on, one with it off.  The functions
here use only the model's public ``loss_forward``/``loss_backward``.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..backend import to_numpy
from ..model import EAU

__all__ = ["TERMS", "variance_gradients", "gradient_shares"]

TERMS = ("task", "ura", "udr_prior", "udr_align")
"""The loss terms whose pull on the log-variances is measured."""

# the configuration that switches on exactly one term on top of the task loss
_ONLY = {
    "task": {"lambda_ura": 0.0, "lambda_udr": 0.0},
    "ura": {"lambda_udr": 0.0},
    "udr_prior": {"lambda_ura": 0.0, "lambda_align": 0.0},
    "udr_align": {"lambda_ura": 0.0, "lambda_prior": 0.0},
}


def _head_grads(model, config, params, xs, y, draws):
    """Per view, the gradient on ``(W_s, b_s)`` of the loss of ``model`` under ``config``, flattened."""
    m = EAU(model.input_dims, model.n_classes, config)
    loss, cache = m.loss_forward(params, xs, y, draws)
    g = m.loss_backward(1.0, cache)
    return [np.concatenate([to_numpy(g[f"head{v}.W_s"]).ravel(), to_numpy(g[f"head{v}.b_s"]).ravel()])
            for v in range(model.M)]


def variance_gradients(model, params, xs, y, draws):
    """The gradient of each term of :data:`TERMS` on each view's log-variance head ``(W_s, b_s)``.

    Returns ``{term: [vector per view]}``: the term's own contribution,
    weighted as in the loss (a term switched off in ``model.config`` gives 0).
    """
    if not isinstance(model, EAU):
        raise TypeError(f"model: expected an EAU model, got {type(model).__name__}")
    c = model.config
    base = _head_grads(model, replace(c, **_ONLY["task"]), params, xs, y, draws)
    out = {"task": base}
    for term in TERMS[1:]:
        on = {"ura": c.lambda_ura, "udr_prior": c.lambda_udr * c.lambda_prior,
              "udr_align": c.lambda_udr * c.lambda_align}[term] > 0
        if on:
            both = _head_grads(model, replace(c, **_ONLY[term]), params, xs, y, draws)
            out[term] = [b - a for a, b in zip(base, both)]
        else:
            out[term] = [np.zeros_like(a) for a in base]
    return out


def gradient_shares(model, params, data, rng, n_batches=10, batch_size=128, augment=None):
    """Mean gradient norm of each term on each view's log-variance head, and its share, over ``n_batches`` batches.

    ``augment`` (a :class:`~mini_eau.lab.train.NoiseAugmentation`) adds
    training noise to each batch, as ``fit`` does.  Returns
    ``{"norm": {term: [per view]}, "share": {term: [per view]}}`` with the
    shares of one view summing to 1.
    """
    norms = {t: np.zeros(model.M) for t in TERMS}
    n = len(data)
    bs = min(batch_size, n)
    for _ in range(n_batches):
        idx = rng.choice(n, bs, replace=False)
        xs = [x[idx] for x in data.xs]
        if augment is not None:
            xs = augment.apply(xs, rng, np)
        draws = model.draw(bs, rng)
        g = variance_gradients(model, params, xs, data.y[idx], draws)
        for t in TERMS:
            norms[t] += np.array([np.linalg.norm(v) for v in g[t]]) / n_batches
    total = sum(norms.values())
    total = np.where(total > 0, total, 1.0)
    return {"norm": {t: v.tolist() for t, v in norms.items()},
            "share": {t: (v / total).tolist() for t, v in norms.items()}}
