"""Training: minibatch Adam, one seeded generator per run (SPEC §8).

Every model (EAU and the baselines) exposes the same four methods —
``init_params(rng)``, ``draw(n, rng, xp)``, ``loss_forward(params, xs, y,
draws)`` and ``loss_backward(dout, cache)`` — so one loop trains them all.

Reproducibility: a single ``numpy.random.Generator`` seeded once drives the
initialisation, the shuffling and every noise draw, in a fixed order; the
same seed gives bit-identical parameters.

NaN guard: on NumPy every step's loss terms are checked right away, and a
non-finite one stops training *before* its gradient is applied, naming the
step and the term.  On a GPU that check would copy to the host every step,
so there the loss terms stay on the device and are copied back together at
the end of the epoch, where the same check names the first bad step.

GPU: the data are moved to the backend once; inside an epoch nothing is
copied back to the host.

Running statistics: a model whose variance heads standardise h
(``EAUConfig.variance_head`` other than "raw", SPEC §2) reports each step's batch
statistics in ``cache["batch_stats"]``; the loop keeps an exponential moving
average of them, ``stats <- (1 - STATS_MOMENTUM) stats + STATS_MOMENTUM batch``,
and hands it to every prediction (``Trained.stats``).
"""
from __future__ import annotations

import importlib
import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from ..backend import default_xp, noise_generator, to_numpy
from ..model import EAUConfig
from ..optim import Adam
from ..validation import Integer, check_inputs, check_positive
from . import checkpoint
from .baselines import make_method
from .data import MultimodalData

__all__ = ["NoiseAugmentation", "TrainConfig", "TrainingDiverged", "Trained", "fit", "noise_generator", "STATS_MOMENTUM"]

STATS_MOMENTUM = 0.1
"""Weight of each step's batch statistics in the running ones (about the last 10-20 steps count)."""


class TrainingDiverged(FloatingPointError):
    """A loss term became NaN or inf; the message names the step and the term."""


@dataclass
class NoiseAugmentation:
    r"""Training noise redrawn every epoch, per sample and view (SPEC §11).

    Each time a sample is used, every view :math:`m` in ``views`` gets fresh
    Gaussian noise of its own scale:

    .. math:: \tilde x^m_i = x^m_i + s^m_i\,\xi^m_i,\qquad s^m_i \sim \mathcal U(\text{low}, \text{high}),\quad
              \xi^m_i \sim \mathcal N(0, I).

    A variance head can only learn noise it has seen; noise drawn once per
    data set is memorised (every model reaches training accuracy 1 on a
    small set), so its scale stops being informative.  Redrawn noise cannot
    be memorised.  Drawing once stays available: add it to the data with
    :func:`mini_eau.lab.data.add_noise` and train with ``augment=None``.

    Attributes
    ----------
    high, low : float
        Range of the uniform scale distribution (``low`` defaults to 0).
    views : tuple of int, optional
        Which views get noise (default: all).
    """

    high: float
    low: float = 0.0
    views: tuple = None

    def __post_init__(self):
        check_positive("high", self.high)
        check_positive("low", self.low, allow_zero=True)
        if self.low > self.high:
            raise ValueError(f"low: expected low <= high ({self.high!r}), got {self.low!r}")
        if self.views is not None:
            self.views = tuple(int(v) for v in self.views)

    def apply(self, xs, rng, xp):
        """Noisy copies of the batch ``xs`` (a list of (n, D_m) arrays), drawn with ``rng`` on the backend."""
        out = list(xs)
        for m in range(len(xs)) if self.views is None else self.views:
            n, d = xs[m].shape
            s = xp.asarray(rng.uniform(self.low, self.high, (n, 1)), dtype=xs[m].dtype)
            out[m] = xs[m] + s * xp.asarray(rng.standard_normal((n, d)), dtype=xs[m].dtype)
        return out


@dataclass
class TrainConfig:
    """Optimisation settings shared by every method (same budget for all, SPEC §10).

    ``augment`` (a :class:`NoiseAugmentation`, or None) redraws training
    noise every epoch.
    """

    epochs: int = 30
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.0
    augment: NoiseAugmentation = None

    def __post_init__(self):
        self.check()

    def check(self):
        """Raise ``ValueError``/``TypeError`` naming the first setting out of range.

        Run on construction and again by :func:`fit`: the dataclass is
        mutable, and a budget set to 0 after construction must not train
        nothing and report success.
        """
        if self.augment is not None and not isinstance(self.augment, NoiseAugmentation):
            raise TypeError(f"augment: expected a NoiseAugmentation or None, got {type(self.augment).__name__}")
        Integer(1)("epochs", self.epochs, None)
        if isinstance(self.batch_size, numbers.Integral) and not isinstance(self.batch_size, bool) and self.batch_size < 2:
            raise ValueError(f"batch_size: expected an integer >= 2 (the contrastive loss needs pairs), got {self.batch_size!r}")
        Integer(2)("batch_size", self.batch_size, None)
        check_positive("lr", self.lr)
        check_positive("weight_decay", self.weight_decay, allow_zero=True)


@dataclass
class Trained:
    """A model with its trained parameters, its running statistics and the per-epoch history.

    ``stats`` are the running statistics of what the variance heads
    standardise (``model.init_stats()``, averaged by :func:`fit`; empty for
    a model without them).  The methods below pass them on, so that
    ``trained.uncertainty(xs)`` is ``model.uncertainty(params, xs, stats=stats)``.
    """

    model: object
    params: dict
    history: list = field(default_factory=list)
    runtime_s: float = 0.0
    xp: object = None
    stats: dict = field(default_factory=dict)

    def _on_backend(self, xs):
        xp = default_xp() if self.xp is None else self.xp
        return [xp.asarray(x, dtype=np.float64) for x in xs]

    def predict_proba(self, xs, masks=None):
        """Class probabilities (N, K) as a NumPy array, computed on the training backend (``masks``: one MC-dropout pass)."""
        return to_numpy(self.model.predict_proba(self.params, self._on_backend(xs), masks=masks, stats=self.stats))

    def embed(self, xs):
        """EAU's means and log-variances ``(mus, ss)``, stacks (M, N, D), as NumPy arrays."""
        mus, ss = self.model.embed(self.params, self._on_backend(xs), stats=self.stats)
        return to_numpy(mus), to_numpy(ss)

    def uncertainty(self, xs):
        """EAU's per-sample, per-modality uncertainty u (M, N) as a NumPy array (see :meth:`mini_eau.model.EAU.uncertainty`)."""
        return to_numpy(self.model.uncertainty(self.params, self._on_backend(xs), stats=self.stats))

    def fusion_weights(self, xs):
        """EAU's fusion weights (M, N) as a NumPy array (see :meth:`mini_eau.model.EAU.fusion_weights`)."""
        return to_numpy(self.model.fusion_weights(self.params, self._on_backend(xs), stats=self.stats))

    def predict(self, xs):
        """Predicted class indices (N,) as a NumPy array: the argmax of :meth:`predict_proba`.

        Parameters
        ----------
        xs : list of array
            M arrays, ``xs[m]`` of shape (N, D_m), as in training.
        """
        return self.predict_proba(xs).argmax(axis=1)

    def to_host(self):
        """The same model with its parameters copied to NumPy once (from CuPy after GPU training).

        Returns
        -------
        Trained
            A new ``Trained`` whose ``params`` are NumPy arrays and whose
            ``xp`` is NumPy; ``self`` is unchanged.
        """
        return Trained(self.model, {k: to_numpy(v) for k, v in self.params.items()}, self.history,
                       self.runtime_s, np, {k: to_numpy(v) for k, v in self.stats.items()})

    def __getstate__(self):
        # pickle, deepcopy and joblib: a module cannot be pickled, so keep the backend's name
        state = dict(self.__dict__)
        state["xp"] = None if self.xp is None else self.xp.__name__
        return state

    def __setstate__(self, state):
        xp = state["xp"]
        self.__dict__.update(state, xp=None if xp is None else importlib.import_module(xp))

    def save(self, path, extra=None):
        """Write a checkpoint (:func:`mini_eau.lab.checkpoint.save`): the model's header, the history, the arrays.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write; its folder must exist.
        extra : dict, optional
            JSON-serialisable notes stored with the model (the estimator keeps
            its settings and class labels there); read back by
            :func:`mini_eau.lab.checkpoint.read_meta`.

        Returns
        -------
        path
        """
        meta = dict(checkpoint.describe(self.model), history=self.history)
        if extra is not None:
            meta["extra"] = extra
        return checkpoint.save(path, meta, self.params, self.stats)

    @staticmethod
    def load(path, expect=None):
        """Read a checkpoint written by :meth:`save`: the model rebuilt from its header, with NumPy parameters.

        Parameters
        ----------
        path : str or os.PathLike
        expect : model, optional
            If given, the checkpoint must be for this method, sizes and
            configuration; otherwise ``ValueError`` says what differs.

        Raises
        ------
        FileNotFoundError
            ``path`` does not exist.
        ValueError
            The file is truncated, not a mini_eau checkpoint, for another
            configuration, or lacks a parameter array.
        """
        meta, params, stats = checkpoint.load(path)
        model = make_method(meta["method"], meta["input_dims"], meta["n_classes"], EAUConfig(**meta["config"]))
        checkpoint.check_model(path, meta, params, stats, model, expect)
        return Trained(model, params, meta.get("history", []), stats=stats)


def _to_backend(data, xp):
    return [xp.asarray(x, dtype=np.float64) for x in data.xs], xp.asarray(data.y)


def fit(model, data, config=None, rng=None, seed=0, verbose=False, log=print, params=None, xp=None):
    """Train ``model`` on ``data`` (a :class:`mini_eau.lab.data.MultimodalData`).

    Parameters
    ----------
    model : EAU or a baseline
    data : MultimodalData
    config : TrainConfig
    rng : numpy.random.Generator, optional
        The run's only source of randomness (default: ``default_rng(seed)``).
    seed : int
        Seeds the generator when ``rng`` is not given (an integer >= 0).
    verbose : bool
        Print one progress line per epoch (loss, its terms, accuracy).
    params : dict, optional
        Start from these parameters instead of a fresh initialisation
        (they are copied, never changed).
    xp : module, optional
        Array backend (default: :func:`mini_eau.backend.default_xp`, i.e.
        NumPy unless ``MINI_EAU_BACKEND=cupy`` or ``set_default_backend("cupy")``).

    Returns
    -------
    Trained
        The model, its trained parameters (on the backend ``xp``; see
        :meth:`Trained.to_host`), one history record per epoch and the
        runtime.

    Raises
    ------
    TypeError
        When ``data``, ``config``, ``rng`` or ``seed`` is of the wrong type.
    ValueError
        When the budget in ``config`` (epochs >= 1, batch_size >= 2, lr > 0)
        or ``seed`` (>= 0) is out of range, naming it.
    TrainingDiverged
        When a loss term becomes NaN or inf, naming the step and the term.
    """
    _check_fit_arguments(data, config, rng, seed)
    config = TrainConfig() if config is None else config
    config.check()  # the budget as it is now, not as it was when the config was made
    rng = np.random.default_rng(seed) if rng is None else rng
    check_inputs(data.xs, data.y, getattr(model, "input_dims", None), getattr(model, "n_classes", None))
    xp = default_xp() if xp is None else xp
    n = len(data.y)
    if n < 2:
        raise ValueError(f"data: expected at least 2 samples, got {n}")
    views = config.augment.views if config.augment is not None else None
    if views is not None and not all(0 <= v < len(data.xs) for v in views):
        raise ValueError(f"augment.views: expected view indices in [0, {len(data.xs) - 1}], got {views}")
    if params is None:
        params = model.init_params(rng)
    # the only host-to-device copies: parameters and data, once. xp.array copies,
    # so the caller's ``params`` are never updated in place by Adam.
    params = {k: xp.array(v) for k, v in params.items()}
    xs, y = _to_backend(data, xp)
    noise_rng = noise_generator(rng, xp)
    opt = Adam(params, lr=config.lr)
    stats = model.init_stats(xp)
    history, step, t0 = [], 0, time.perf_counter()
    bs = min(config.batch_size, n)
    for epoch in range(1, config.epochs + 1):
        perm = xp.asarray(rng.permutation(n))  # one small copy per epoch, not per step
        step_terms = []
        if hasattr(model, "start_epoch"):
            model.start_epoch(epoch, config.epochs)
        for start in range(0, n - bs + 1, bs):  # drop the ragged last batch: the contrastive loss wants full batches
            idx = perm[start:start + bs]
            xb, yb = [x[idx] for x in xs], y[idx]
            if config.augment is not None:
                xb = config.augment.apply(xb, noise_rng, xp)
            draws = model.draw(bs, noise_rng, xp=xp)
            loss, cache = model.loss_forward(params, xb, yb, draws)
            if xp is np:  # free on the host: stop before a bad step is applied
                _check_step(epoch, step + 1, float(loss), {k: float(v) for k, v in cache["terms"].items()})
            grads = model.loss_backward(1.0, cache)
            if config.weight_decay:
                for k in grads:
                    grads[k] = grads[k] + config.weight_decay * params[k]
            opt.step(grads)
            for k, batch in cache.get("batch_stats", {}).items():
                stats[k] = (1.0 - STATS_MOMENTUM) * stats[k] + STATS_MOMENTUM * batch
            step += 1
            step_terms.append((step, loss, dict(cache["terms"])))
        # one host copy per epoch: every step's loss terms at once
        rec = _epoch_record(epoch, step_terms, xp)
        proba = model.predict_proba(params, xs, stats=stats)
        rec["accuracy"] = float(to_numpy(xp.mean(proba.argmax(axis=1) == y)))
        history.append(rec)
        if verbose:
            # each term as it enters the loss (weight x value), so the parts add up to the total
            weights = _term_weights(model)
            terms = ", ".join(f"{k} {weights.get(k, 1.0) * v:.4f}" + (f" (= {weights[k]:g} x {v:.4g})"
                                                                       if weights.get(k, 1.0) != 1.0 else "")
                              for k, v in rec["terms"].items())
            log(f"[{getattr(model, 'name', 'model')}] epoch {epoch:3d}/{config.epochs}  loss {rec['loss']:.4f} "
                f"({terms})  train acc {rec['accuracy']:.3f}")
    return Trained(model, params, history, time.perf_counter() - t0, xp, stats)


def _term_weights(model):
    """The weight of each logged loss term in the total (EAU's lambdas; 1 for every baseline term)."""
    c = getattr(model, "config", None)
    if c is None or not hasattr(c, "lambda_udr"):
        return {}
    return {"udr": c.lambda_udr, "ura": c.lambda_ura, "uni": c.lambda_uni}


def _check_step(epoch, step, loss, terms):
    bad = [k for k, v in terms.items() if not math.isfinite(v)]
    if bad or not math.isfinite(loss):
        raise TrainingDiverged(
            f"epoch {epoch}, step {step}: loss term {', '.join(bad) or 'total'} became non-finite "
            f"(total loss {loss!r}); lower the learning rate or check the data for extreme values")


def _epoch_record(epoch, step_terms, xp):
    names = sorted({k for _, _, t in step_terms for k in t})
    # one (steps, 1 + terms) array built on the device, then a single copy to the host
    rows = [xp.stack([xp.asarray(l, dtype=float)] + [xp.asarray(t[k], dtype=float) for k in names])
            for _, l, t in step_terms]
    block = to_numpy(xp.stack(rows))
    losses = block[:, 0]
    table = {k: block[:, 1 + j] for j, k in enumerate(names)}
    for i, (step, _, _) in enumerate(step_terms):
        _check_step(epoch, step, float(losses[i]), {k: float(table[k][i]) for k in names})
    return {"epoch": epoch, "loss": float(losses.mean()), "terms": {k: float(v.mean()) for k, v in table.items()}}


def _check_fit_arguments(data, config, rng, seed):
    """The containers :func:`fit` accepts (a TypeError naming the argument otherwise) and the seed's range."""
    if not isinstance(data, MultimodalData):
        raise TypeError(f"data: expected a MultimodalData (mini_eau.lab.data.MultimodalData), got {type(data).__name__}; "
                        "for plain arrays use EAUClassifier().fit(xs, y)")
    if config is not None and not isinstance(config, TrainConfig):
        raise TypeError(f"config: expected a TrainConfig (mini_eau.lab.train.TrainConfig) or None, got {type(config).__name__}; "
                        "e.g. TrainConfig(epochs=2)")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator (np.random.default_rng(seed)) or None, got {type(rng).__name__}")
    if rng is None:  # the seed is used only without a generator
        Integer(0)("seed", seed, None)
