r"""Aleatoric / epistemic decomposition from T stochastic passes (SPEC §9).

Run a model T times with fresh randomness in its *weights* — MC dropout with
fresh masks, or T members of an ensemble.  Pass :math:`t` gives a predictive
distribution for the target; the equal-weight mixture of the T distributions
is the model's overall prediction, and its spread splits into

* **aleatoric** uncertainty: the noise each pass attributes to the data
  (what more data cannot remove), and
* **epistemic** uncertainty: how much the passes disagree (what more data
  would remove — it is large where the training set was thin).

These are analysis functions, not loss components: nothing is differentiated
through them, so there is no backward.
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
    Pass :math:`t` predicts :math:`\mathcal N(\mu_t(x), \sigma_t^2(x))`.  Their
    equal-weight mixture has mean and variance

    .. math::
        \mu_*(x) &= \frac1T \sum_t \mu_t(x), \\
        \sigma_*^2(x) &= \frac1T \sum_t \sigma_t^2(x) + \frac1T \sum_t \mu_t^2(x) - \mu_*^2(x)
                     = \underbrace{\mathbb E_t[\sigma_t^2(x)]}_{\text{aleatoric}}
                     + \underbrace{\operatorname{Var}_t[\mu_t(x)]}_{\text{epistemic}}.

    Why: draw :math:`t` uniformly, then :math:`y \sim \mathcal N(\mu_t, \sigma_t^2)`;
    the law of total variance gives
    :math:`\operatorname{Var}[y] = \mathbb E_t[\operatorname{Var}[y\mid t]] + \operatorname{Var}_t[\mathbb E[y \mid t]]`.

    The reading note in ``seed/`` writes the first line as
    :math:`\mu_*^2 = \frac1N\sum_i \mu_i^2` — a typo: with :math:`\mu_*^2` the
    mean of the squares, the last two terms of the second line would cancel and
    the epistemic part would always be zero.  The identity needs :math:`\mu_*`
    to be the **mean** of the :math:`\mu_t`, not their root mean square
    (SPEC §9, §13).

    Numerics
    --------
    The epistemic term is computed as :math:`\frac1T\sum_t(\mu_t - \mu_*)^2`,
    not as :math:`\frac1T\sum_t \mu_t^2 - \mu_*^2`.  The two are equal in exact
    arithmetic, but the second subtracts two nearly equal large numbers when
    the passes agree closely on a mean far from zero (e.g. :math:`\mu_t \approx 10^3`
    with spread :math:`10^{-3}`): the cancellation loses all significant
    digits and can even return a negative "variance".  The centred form sums
    non-negative terms, so it is :math:`\ge 0` and accurate.

    Parameters
    ----------
    mus : array (T, ...)
        The T passes' predicted means, stacked along the leading axis.
    variances : array (T, ...)
        Their predicted variances :math:`\sigma_t^2` (not log-variances: pass
        ``exp(s)``), same shape, non-negative.

    Returns
    -------
    mean, aleatoric, epistemic : arrays of shape ``mus.shape[1:]``
        :math:`\mu_*`, :math:`\mathbb E_t[\sigma_t^2]` and :math:`\operatorname{Var}_t[\mu_t]`;
        the total predictive variance is ``aleatoric + epistemic``.

    Shapes
    ------
    mus, variances (T, ...) with T >= 1 -> three arrays of shape (...)
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
        + \underbrace{H[\bar p] - \frac1T \sum_t H[p_t]}_{\text{epistemic}}

    The epistemic part is the mutual information :math:`I(y; t)` between the
    label and the pass (Depeweg et al., 2018): zero when all passes agree,
    :math:`\log 2` when two confident passes name different classes.  It is
    :math:`\ge 0` because entropy is concave (Jensen).

    Numerics
    --------
    :math:`0 \log 0 = 0` (its limit): zero probabilities contribute nothing
    instead of NaN.  The difference can come out a few ulps below zero by
    rounding when the passes agree; it is clipped at 0, the value Jensen
    guarantees.

    Parameters
    ----------
    probs : array (T, N, K)
        Class probabilities of T passes for N samples; each row sums to 1.

    Returns
    -------
    total, aleatoric, epistemic : arrays of shape (N,), in nats.
    """
    xp = get_array_module(probs)
    total = _neg_xlogx_sum(xp.mean(probs, axis=0), xp)
    aleatoric = xp.mean(_neg_xlogx_sum(probs, xp), axis=0)
    return total, aleatoric, xp.maximum(total - aleatoric, 0.0)


@accepts(predict_fn=Instance(Callable, "a callable predict_fn(x, rng)"), n_passes=Integer(1),
         rng=Instance(numpy.random.Generator, "a numpy.random.Generator (fresh masks for every pass)"))
def mc_dropout_predict(predict_fn, x, n_passes, rng):
    r"""Monte Carlo dropout: T stochastic passes, stacked and decomposed (SPEC §9).

    Forward
    -------
    Call ``predict_fn(x, rng)`` ``n_passes`` times, stack the T results along
    a new leading axis and hand them to :func:`decompose_variance` (Gaussian
    outputs) or :func:`decompose_entropy` (probabilities).

    Parameters
    ----------
    predict_fn : callable
        ``predict_fn(x, rng)`` runs the model once on ``x`` with **fresh
        dropout masks drawn from** ``rng`` — so successive calls see different
        sub-networks, and the whole run is reproducible from the generator's
        seed.  It returns either

        * a pair ``(mu, variance)``: a Gaussian prediction per sample, any two
          matching shapes, ``variance`` being :math:`\sigma^2` (not a
          log-variance); or
        * one array of class probabilities of shape (N, K).

        Every call must return the same kind and the same shapes.
    x : array
        Passed through to ``predict_fn`` untouched.
    n_passes : int
        T >= 1.  With T = 1 the epistemic part is exactly 0.
    rng : numpy.random.Generator
        The one source of the masks.

    Returns
    -------
    Gaussian outputs: ``(mean, aleatoric, epistemic)`` exactly as
    :func:`decompose_variance` — :math:`\mu_*`, :math:`\mathbb E_t[\sigma_t^2]`,
    :math:`\operatorname{Var}_t[\mu_t]`.

    Probabilities: ``(p_bar, aleatoric, epistemic)`` — the mean probabilities
    :math:`\bar p` (N, K), the expected entropy and the mutual information (N,).
    In both cases the first entry is the prediction and the total uncertainty
    is ``aleatoric + epistemic`` (the predictive variance, or :math:`H[\bar p]`).
    """
    outs = [call_user(predict_fn, x, rng) for _ in range(n_passes)]
    gaussian = isinstance(outs[0], (tuple, list))
    for t, o in enumerate(outs):
        if isinstance(o, (tuple, list)) != gaussian or (gaussian and len(o) != 2):
            raise ValueError(f"predict_fn: pass {t} returned {type(o).__name__}; expected every pass to return "
                             "a pair (mu, variance) or every pass an array of probabilities")
    parts = [[o[0] for o in outs], [o[1] for o in outs]] if gaussian else [outs]
    for name, part in zip(("mu", "variance") if gaussian else ("probabilities",), parts):
        shapes = {tuple(unbox(p).shape) for p in part}
        if len(shapes) > 1:
            raise ValueError(f"predict_fn: {name} changed shape between passes: {sorted(shapes)}")
    xp = get_array_module(*parts[0])
    stacks = [xp.stack(part) for part in parts]
    if gaussian:  # the passes' outputs are user data: checked as the arguments of decompose_*
        return call_user(decompose_variance, *stacks)
    _, aleatoric, epistemic = call_user(decompose_entropy, stacks[0])
    return xp.mean(stacks[0], axis=0), aleatoric, epistemic
