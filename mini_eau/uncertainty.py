r"""Aleatoric / epistemic decomposition from T stochastic passes (SPEC §9).

T passes with fresh randomness in the *weights* (MC dropout masks, or T
ensemble members) give T predictive distributions.  Their equal-weight
mixture is the prediction; its spread splits into **aleatoric** uncertainty
(the noise each pass attributes to the data) and **epistemic** uncertainty
(how much the passes disagree).  Analysis functions: no backward.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy

from .backend import get_array_module
from .validation import Array, Instance, Integer, SameShape, accepts, call_user, unbox

__all__ = ["decompose_variance", "decompose_entropy", "mc_dropout_predict"]

_SUM_TOL = 1e-4  # loose enough for float32 softmax outputs, tight enough to catch logits


def _variances(name, v, call):
    """sigma^2 of the shape of mus, >= 0 (a log-variance would be negative somewhere)."""
    SameShape("mus")(name, v, call)
    v = unbox(v)
    if isinstance(v, numpy.ndarray) and v.size and v.min() < 0:  # host data only, like the finiteness scan
        raise ValueError(f"{name}: expected non-negative variances (sigma^2, not log-variances), got a minimum of {v.min()!r}")


def _probabilities(name, p, call):
    """(T, N, K) rows of probabilities: in [0, 1], summing to 1."""
    Array("T>=1 N K>=1")(name, p, call)
    v = unbox(p)
    if isinstance(v, numpy.ndarray) and v.size:
        if v.min() < 0 or v.max() > 1:
            raise ValueError(f"{name}: expected probabilities in [0, 1] (not logits), got values in [{v.min()!r}, {v.max()!r}]")
        worst = numpy.abs(v.sum(axis=-1) - 1.0).max()
        if worst > _SUM_TOL:
            raise ValueError(f"{name}: expected each row to sum to 1 over the K classes, found a row off by {worst:.3g}")


@accepts(mus="T>=1 ...", variances=_variances)
def decompose_variance(mus, variances):
    r"""Split the variance of a mixture of T Gaussians into aleatoric and epistemic parts (SPEC §9).

    Forward
    -------
    Pass :math:`t` predicts :math:`\mathcal N(\mu_t, \sigma_t^2)`; their mixture has (law of total variance)

    .. math::
        \mu_* = \frac1T \sum_t \mu_t,\qquad
        \sigma_*^2 = \underbrace{\frac1T \sum_t \sigma_t^2}_{\text{aleatoric}}
                   + \underbrace{\frac1T \sum_t (\mu_t - \mu_*)^2}_{\text{epistemic}} .

    (The seed's :math:`\mu_*^2 = \frac1N\sum \mu_i^2` is a typo, SPEC §9.)

    Shapes
    ------
    mus, variances (:math:`\sigma_t^2`, not log-variances) (T, ...) -> mean, aleatoric, epistemic (...).

    Numerics
    --------
    The centred sum, not :math:`\frac1T\sum_t\mu_t^2 - \mu_*^2`, which cancels to noise (or below 0) when passes agree.
    """
    xp = get_array_module(mus, variances)
    mean = xp.mean(mus, axis=0)
    centred = mus - mean
    return mean, xp.mean(variances, axis=0), xp.mean(centred * centred, axis=0)


def _neg_xlogx_sum(p, xp):
    # -sum_k p log p with the limit 0 log 0 = 0; log only ever sees positive numbers
    safe = xp.where(p > 0, p, 1.0)
    return -xp.sum(xp.where(p > 0, p * xp.log(safe), 0.0), axis=-1)


@accepts(probs=_probabilities)
def decompose_entropy(probs):
    r"""Split predictive entropy into expected entropy and mutual information (SPEC §9).

    Forward
    -------
    With :math:`\bar p = \frac1T \sum_t p_t` and :math:`H[p] = -\sum_k p_k \log p_k`:

    .. math::
        \underbrace{H[\bar p]}_{\text{total}}
        = \underbrace{\frac1T \sum_t H[p_t]}_{\text{aleatoric}}
        + \underbrace{H[\bar p] - \frac1T \sum_t H[p_t]}_{\text{epistemic} \,=\, I(y;\,t) \,\ge\, 0}

    Shapes
    ------
    probs (T, N, K), rows summing to 1 -> total, aleatoric, epistemic (N,), in nats.

    Numerics
    --------
    :math:`0 \log 0 = 0`; the difference is clipped at 0 (Jensen) against rounding.
    """
    xp = get_array_module(probs)
    total = _neg_xlogx_sum(xp.mean(probs, axis=0), xp)
    aleatoric = xp.mean(_neg_xlogx_sum(probs, xp), axis=0)
    return total, aleatoric, xp.maximum(total - aleatoric, 0.0)


@accepts(predict_fn=Instance(Callable, "a callable predict_fn(x, rng)"), n_passes=Integer(1),
         rng=Instance(numpy.random.Generator, "a numpy.random.Generator (fresh masks for every pass)"))
def mc_dropout_predict(predict_fn, x, n_passes, rng):
    r"""Monte Carlo dropout: T stochastic passes, stacked and decomposed (SPEC §9).

    ``predict_fn(x, rng)`` runs the model once with fresh dropout masks drawn
    from ``rng`` and returns either a pair ``(mu, variance)`` (then the result
    is :func:`decompose_variance` of the T passes) or class probabilities (N, K)
    (then ``(p_bar, aleatoric, epistemic)``, the last two from
    :func:`decompose_entropy`).  With T = 1 the epistemic part is exactly 0.
    """
    outs = [call_user(predict_fn, x, rng) for _ in range(n_passes)]
    gaussian = isinstance(outs[0], (tuple, list))
    for t, o in enumerate(outs):
        if isinstance(o, (tuple, list)) != gaussian or (gaussian and len(o) != 2):
            raise ValueError(f"predict_fn: pass {t} returned {type(o).__name__}; expected every pass to return "
                             "a pair (mu, variance) or every pass an array of probabilities")
    parts = [[o[0] for o in outs], [o[1] for o in outs]] if gaussian else [outs]
    for name, part in zip(("mu", "variance") if gaussian else ("probabilities",), parts):
        shapes = {tuple(p.shape) for p in part}
        if len(shapes) > 1:
            raise ValueError(f"predict_fn: {name} changed shape between passes: {sorted(shapes)}")
    xp = get_array_module(*parts[0])
    stacks = [xp.stack(part) for part in parts]
    if gaussian:  # the passes' outputs are user data: checked as the arguments of decompose_*
        return call_user(decompose_variance, *stacks)
    _, aleatoric, epistemic = call_user(decompose_entropy, stacks[0])
    return xp.mean(stacks[0], axis=0), aleatoric, epistemic
