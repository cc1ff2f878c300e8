r"""The fusion methods EAU is compared with (SPEC §10).

Every baseline uses the same per-modality encoders as EAU (same hidden
sizes, activation and dropout) and is trained by the same loop with the same
budget; only what happens after the encoders differs:

==============  =======================================================================
``unimodal_m``  view m's encoder and a linear classifier
``concat``      early/intermediate fusion: :math:`[h^1, \dots, h^M] \to` linear classifier
``late``        one classifier per modality, trained jointly (sum of CEs); predicts the
                average of the modalities' probabilities
``tmc``         Trusted Multi-view Classification: per-modality Dirichlet evidence,
                Dempster–Shafer combination, EDL loss (Han et al., ICLR 2021)
``qmf``         Quality-aware Multimodal Fusion: energy-weighted late fusion
                (Zhang et al., ICML 2023)
==============  =======================================================================

The "mean" and "precision" fusion baselines are EAU with those weighting
variants (:func:`make_method`).  Each baseline's loss is a pure function of
``(params, batch, draws)`` and its hand-composed backward is registered in
``python -m mini_eau gradcheck``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..backend import get_array_module
from .baselines_losses import qmf_loss_backward, qmf_loss_forward, qmf_predict, qmf_weights, tmc_loss_backward, tmc_loss_forward, tmc_predict
from ..gradcheck import Case, register
from ..layers import linear_backward, linear_forward, softmax, softmax_cross_entropy_backward, softmax_cross_entropy_forward
from ..model import (EAU, EAUConfig, check_inputs, draw_masks, encode_modalities, encode_modalities_backward, init_encoder,
                    positional_loss)
from ..validation import check_choice

__all__ = ["Unimodal", "Concat", "Late", "TMC", "QMF", "FUSION_METHODS", "METHODS", "method_names", "make_method"]


@dataclass
class _Encoders:
    """Shared plumbing: M encoders with EAU's sizes, and their dropout masks."""

    input_dims: tuple
    n_classes: int
    config: EAUConfig = None
    name: str = "baseline"

    def __post_init__(self):
        self.input_dims = tuple(int(d) for d in self.input_dims)
        self.config = EAUConfig() if self.config is None else self.config
        if len(self.input_dims) < 2:
            raise ValueError(f"input_dims: expected one size per modality for M >= 2 modalities, got {self.input_dims}")

    @property
    def M(self):
        return len(self.input_dims)

    def _used(self):
        return range(self.M)

    def _init_encoders(self, rng, dtype):
        p = {}
        for m in self._used():
            p.update(init_encoder(rng, self.input_dims[m], self.config.hidden, f"enc{m}", dtype))
        return p

    def draw(self, n, rng, xp=np, dtype=np.float64):
        """Dropout masks, when the encoders use dropout (see :meth:`EAU.draw`)."""
        c = self.config
        if c.keep_prob >= 1.0:
            return {}
        return {"masks": draw_masks(rng, n, c.hidden, self.M, c.keep_prob, xp, dtype)}

    def init_stats(self, xp=np, dtype=np.float64):
        """No running statistics: the baselines have no variance head (``stats`` of ``predict_proba`` is ignored)."""
        return {}

    def _encode(self, params, xs, masks):
        check_inputs(xs, input_dims=self.input_dims)
        if self.config.keep_prob < 1.0 and masks is not None and len(masks) != self.M:
            raise ValueError(f"draws: expected dropout masks for {self.M} modalities, got {len(masks)}")
        return encode_modalities(params, xs, self.config, masks, modalities=self._used())

    def _encoders_backward(self, dhs, caches, grads):
        encode_modalities_backward(dhs, caches, grads)

    def _linear_init(self, rng, name, d_in, dtype):
        K = self.n_classes
        return {f"{name}.W": (rng.standard_normal((d_in, K)) / np.sqrt(d_in)).astype(dtype),
                f"{name}.b": np.zeros(K, dtype=dtype)}


# ------------------------------------------------------------------ unimodal
@dataclass
class Unimodal(_Encoders):
    """One modality alone: encoder -> linear -> softmax CE."""

    modality: int = 0

    def _used(self):
        return [self.modality]

    def init_params(self, rng, dtype=np.float64):
        p = self._init_encoders(rng, dtype)
        p.update(self._linear_init(rng, "cls", self.config.hidden[-1], dtype))
        return p

    def loss_forward(self, params, xs, y, draws):
        hs, c_enc = self._encode(params, xs, draws.get("masks"))
        logits, c_lin = linear_forward(hs[self.modality], params["cls.W"], params["cls.b"])
        ce, c_ce = softmax_cross_entropy_forward(logits, y)
        return ce, {"enc": c_enc, "lin": c_lin, "ce": c_ce, "terms": {"ce": ce}}

    def loss_backward(self, dout, cache):
        grads = {}
        dh, grads["cls.W"], grads["cls.b"] = linear_backward(softmax_cross_entropy_backward(dout, cache["ce"]), cache["lin"])
        self._encoders_backward({self.modality: dh}, cache["enc"], grads)
        return grads

    def predict_proba(self, params, xs, masks=None, stats=None):
        hs, _ = self._encode(params, xs, masks)
        return softmax(hs[self.modality] @ params["cls.W"] + params["cls.b"], axis=1)


# -------------------------------------------------------------------- concat
@dataclass
class Concat(_Encoders):
    r"""Concatenate the encoders' features, then one linear classifier.

    Backward: the gradient of the concatenation is split back into the
    modalities' column blocks.
    """

    def init_params(self, rng, dtype=np.float64):
        p = self._init_encoders(rng, dtype)
        p.update(self._linear_init(rng, "cls", self.M * self.config.hidden[-1], dtype))
        return p

    def _logits(self, params, hs):
        xp = get_array_module(*hs.values())
        hcat = xp.concatenate([hs[m] for m in range(self.M)], axis=1)
        return linear_forward(hcat, params["cls.W"], params["cls.b"])

    def loss_forward(self, params, xs, y, draws):
        hs, c_enc = self._encode(params, xs, draws.get("masks"))
        logits, c_lin = self._logits(params, hs)
        ce, c_ce = softmax_cross_entropy_forward(logits, y)
        return ce, {"enc": c_enc, "lin": c_lin, "ce": c_ce, "terms": {"ce": ce}}

    def loss_backward(self, dout, cache):
        grads = {}
        dcat, grads["cls.W"], grads["cls.b"] = linear_backward(softmax_cross_entropy_backward(dout, cache["ce"]), cache["lin"])
        H = self.config.hidden[-1]
        self._encoders_backward({m: dcat[:, m * H:(m + 1) * H] for m in range(self.M)}, cache["enc"], grads)
        return grads

    def predict_proba(self, params, xs, masks=None, stats=None):
        hs, _ = self._encode(params, xs, masks)
        return softmax(self._logits(params, hs)[0], axis=1)


# --------------------------------------------------------- per-modality heads
@dataclass
class _PerModalityLogits(_Encoders):
    """M encoders, each with its own linear head: logits stack (M, N, K)."""

    def init_params(self, rng, dtype=np.float64):
        p = self._init_encoders(rng, dtype)
        for m in range(self.M):
            p.update(self._linear_init(rng, f"cls{m}", self.config.hidden[-1], dtype))
        return p

    def _logits(self, params, xs, masks):
        hs, c_enc = self._encode(params, xs, masks)
        outs, c_lin = [], []
        for m in range(self.M):
            z, c = linear_forward(hs[m], params[f"cls{m}.W"], params[f"cls{m}.b"])
            outs.append(z)
            c_lin.append(c)
        xp = get_array_module(*outs)
        return xp.stack(outs), (c_enc, c_lin)

    def _logits_backward(self, dlogits, caches, grads):
        c_enc, c_lin = caches
        dhs = {}
        for m in range(self.M):
            dhs[m], grads[f"cls{m}.W"], grads[f"cls{m}.b"] = linear_backward(dlogits[m], c_lin[m])
        self._encoders_backward(dhs, c_enc, grads)
        return grads


@dataclass
class Late(_PerModalityLogits):
    r"""Late fusion: :math:`L = \sum_m \mathrm{CE}(y, f^m)`, prediction :math:`\frac1M \sum_m \operatorname{softmax}(f^m)`."""

    def loss_forward(self, params, xs, y, draws):
        logits, c = self._logits(params, xs, draws.get("masks"))
        total, c_ce = 0.0, []
        for m in range(self.M):
            ce, cc = softmax_cross_entropy_forward(logits[m], y)
            total = total + ce
            c_ce.append(cc)
        return total, {"logits": c, "ce": c_ce, "terms": {"ce": total}}

    def loss_backward(self, dout, cache):
        xp = get_array_module(cache["ce"][0][0])
        dlogits = xp.stack([softmax_cross_entropy_backward(dout, cc) for cc in cache["ce"]])
        return self._logits_backward(dlogits, cache["logits"], {})

    def predict_proba(self, params, xs, masks=None, stats=None):
        logits, _ = self._logits(params, xs, masks)
        return softmax(logits, axis=2).mean(axis=0)


@dataclass
class TMC(_PerModalityLogits):
    """Trusted Multi-view Classification (SPEC §10).

    The KL term of the EDL loss is annealed as in the original:
    ``annealing_coef = min(1, epoch / annealing_epochs)``, set by the
    trainer at the start of each epoch (:meth:`start_epoch`).
    """

    annealing_epochs: int = 10
    annealing_coef: float = 1.0

    def start_epoch(self, epoch, total_epochs):
        self.annealing_coef = min(1.0, epoch / self.annealing_epochs)

    def loss_forward(self, params, xs, y, draws):
        logits, c = self._logits(params, xs, draws.get("masks"))
        loss, c_tmc = tmc_loss_forward(logits, y, self.annealing_coef)
        return loss, {"logits": c, "tmc": c_tmc, "terms": {"edl": loss}}

    def loss_backward(self, dout, cache):
        return self._logits_backward(tmc_loss_backward(dout, cache["tmc"]), cache["logits"], {})

    def predict_proba(self, params, xs, masks=None, stats=None):
        logits, _ = self._logits(params, xs, masks)
        return tmc_predict(logits)[0]

    def uncertainty(self, params, xs):
        """The combined opinion's uncertainty mass u = K / S (N,)."""
        logits, _ = self._logits(params, xs, None)
        return tmc_predict(logits)[1]


@dataclass
class QMF(_PerModalityLogits):
    """Quality-aware Multimodal Fusion, energy-weighted late fusion (SPEC §10).

    The energy weights are detached (constants in the backward).  A gradient
    check holds them fixed by passing ``draws["qmf_weights"]``: finite
    differences would otherwise differentiate through them.
    """

    def loss_forward(self, params, xs, y, draws):
        logits, c = self._logits(params, xs, draws.get("masks"))
        loss, c_q = qmf_loss_forward(logits, y, weights=draws.get("qmf_weights"))
        return loss, {"logits": c, "qmf": c_q, "terms": {"qmf": loss}}

    def loss_backward(self, dout, cache):
        return self._logits_backward(qmf_loss_backward(dout, cache["qmf"]), cache["logits"], {})

    def predict_proba(self, params, xs, masks=None, stats=None):
        logits, _ = self._logits(params, xs, masks)
        return qmf_predict(logits)


# ---------------------------------------------------------------- factory
FUSION_METHODS = ("eau", "concat", "late", "mean", "precision", "tmc", "qmf")
"""Methods that use every view; ``unimodal_<m>`` (view m alone) comes on top, one per view."""


def method_names(n_views):
    """Every method for ``n_views`` views: the fusion methods, then ``unimodal_0 .. unimodal_{M-1}``."""
    return FUSION_METHODS + tuple(f"unimodal_{m}" for m in range(n_views))


METHODS = method_names(2)
"""The methods for two views (the toy's default)."""


def make_method(name, input_dims, n_classes, config=None):
    """Build a method by name with EAU's encoder configuration ``config``.

    ``name`` is one of :func:`method_names` ``(len(input_dims))``.  ``"mean"``
    and ``"precision"`` are EAU with that fusion variant (SPEC §6);
    "precision" at temperature 1, where its weights are exactly the product
    of Gaussian experts (sigma^-2 normalised) — EAU's sharpening temperature
    would turn them into sigma^-2/T.  ``"unimodal_<m>"`` uses view m alone
    (it is still given every view, and ignores the others).
    """
    check_choice("method", name, method_names(len(input_dims)))
    config = EAUConfig() if config is None else config
    if name == "eau":
        return EAU(input_dims, n_classes, config)
    if name == "mean":
        return EAU(input_dims, n_classes, replace(config, fusion="mean"), name=name)
    if name == "precision":
        return EAU(input_dims, n_classes, replace(config, fusion="precision", temperature=1.0), name=name)
    cls = {"concat": Concat, "late": Late, "tmc": TMC, "qmf": QMF}
    if name in cls:
        return cls[name](input_dims, n_classes, config, name=name)
    return Unimodal(input_dims, n_classes, config, name=name, modality=int(name.split("_")[1]))


# ----------------------------------------------------------- gradient checks
def _baseline_cases(name):
    def cases(rng):
        out = []
        for dims, k, n, cfg in [((4, 3), 3, 1, EAUConfig(hidden=(5,))),
                                ((3, 4, 2), 2, 4, EAUConfig(hidden=(4, 3), activation="tanh", keep_prob=0.7))]:
            model = make_method(name, dims, k, cfg)
            params = model.init_params(rng)
            xs = [rng.standard_normal((n, d)) for d in dims]
            y = rng.integers(0, k, n)
            draws = model.draw(n, rng)
            if name == "qmf":  # hold the detached energy weights fixed for the finite differences
                draws["qmf_weights"] = qmf_weights(model._logits(params, xs, draws.get("masks"))[0])
            names = sorted(params)
            fwd, bwd = positional_loss(model, names, xs, y, draws)
            fwd.__name__ = f"{name}_loss_forward"
            out.append(Case(fwd, bwd, [params[p] for p in names], names=names, fd_entries=8,
                            label=f"M={len(dims)},N={n}"))
        return out

    return cases


for _name in ("unimodal_1", "concat", "late", "tmc", "qmf"):
    register(f"baseline[{_name}]")(_baseline_cases(_name))
