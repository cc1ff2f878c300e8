"""What every baseline shares: EAU's per-modality encoders, their dropout masks, the checks at the edge.

:class:`Encoders` holds M encoders with EAU's sizes (SPEC §10: the same
hidden sizes, activation and dropout for every method); :class:`PerModalityLogits`
adds one linear head per modality (late fusion, TMC, QMF).  A method
subclasses one of them and writes ``loss_forward`` / ``loss_backward`` /
``predict_proba``; :func:`model_cases` gives its gradient-check cases.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...backend import get_array_module
from ...encoders import draw_masks, encode_modalities, encode_modalities_backward, init_encoder
from ...gradcheck import Case
from ...layers import linear_backward, linear_forward
from ...gradcheck import positional_loss
from ...model import EAUConfig
from ...validation import check_inputs
from ...validation import accepts, check_labels

__all__ = ["Encoders", "PerModalityLogits", "BATCH", "PREDICT", "model_cases"]


# ------------------------------------------------------ checks at the edge
def _batch(name, xs, call):
    """A list of M (N, D_m) float arrays, D_m the model's ``input_dims``."""
    check_inputs(xs, input_dims=call.args["self"].input_dims)
    call.dims["N"] = xs[0].shape[0]


def _labels(name, y, call):
    check_labels(name, y, call.dims["N"], call.args["self"].n_classes)


def _masks(name, masks, call):
    """``None``, or one list of dropout masks per modality (as :meth:`Encoders.draw` gives)."""
    model = call.args["self"]
    if model.config.keep_prob < 1.0 and masks is not None and len(masks) != model.M:
        raise ValueError(f"{name}: expected dropout masks for {model.M} modalities, got {len(masks)}")


def _draws(name, draws, call):
    if not isinstance(draws, dict):
        raise TypeError(f"{name}: expected the dict returned by model.draw(n, rng), got {type(draws).__name__}")
    _masks(f"{name}['masks']", draws.get("masks"), call)


BATCH = dict(xs=_batch, y=_labels, draws=_draws)
"""What ``loss_forward(self, params, xs, y, draws)`` accepts: ``@accepts(**BATCH)``."""
PREDICT = dict(xs=_batch, masks=_masks)
"""What ``predict_proba(self, params, xs, masks=None, stats=None)`` accepts: ``@accepts(**PREDICT)``."""


# ------------------------------------------------------------ the encoders
@dataclass
class Encoders:
    """M encoders with EAU's sizes, and their dropout masks."""

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

    def _linear_init(self, rng, name, d_in, dtype):
        K = self.n_classes
        return {f"{name}.W": (rng.standard_normal((d_in, K)) / np.sqrt(d_in)).astype(dtype),
                f"{name}.b": np.zeros(K, dtype=dtype)}

    def draw(self, n, rng, xp=np, dtype=np.float64):
        """Dropout masks, when the encoders use dropout (see :meth:`mini_eau.model.EAU.draw`)."""
        c = self.config
        if c.keep_prob >= 1.0:
            return {}
        return {"masks": draw_masks(rng, n, c.hidden, self.M, c.keep_prob, xp, dtype)}

    def init_stats(self, xp=np, dtype=np.float64):
        """No running statistics: the baselines have no variance head (``stats`` of ``predict_proba`` is ignored)."""
        return {}

    def _encode(self, params, xs, masks):
        return encode_modalities(params, xs, self.config, masks, modalities=self._used())


@dataclass
class PerModalityLogits(Encoders):
    """M encoders, each with its own linear head: logits stack (M, N, K).

    A method on top writes what it does with the stack: ``stack_loss_forward(logits, y, draws)``
    returning ``(loss, cache)``, ``stack_loss_backward(dout, cache)`` returning
    d(logits), ``stack_predict(logits)`` returning probabilities (N, K), and
    ``term``, the name its loss is logged under.
    """

    term = "loss"

    @accepts(**BATCH)
    def loss_forward(self, params, xs, y, draws):
        logits, c_logits = self._logits(params, xs, draws.get("masks"))
        loss, c_stack = self.stack_loss_forward(logits, y, draws)
        return loss, {"logits": c_logits, "stack": c_stack, "terms": {self.term: loss}}

    def loss_backward(self, dout, cache):
        return self._logits_backward(self.stack_loss_backward(dout, cache["stack"]), cache["logits"])

    @accepts(**PREDICT)
    def predict_proba(self, params, xs, masks=None, stats=None):
        return self.stack_predict(self._logits(params, xs, masks)[0])

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

    def _logits_backward(self, dlogits, cache):
        """Gradients of every parameter from d(logits) (M, N, K)."""
        c_enc, c_lin = cache
        grads, dhs = {}, {}
        for m in range(self.M):
            dhs[m], grads[f"cls{m}.W"], grads[f"cls{m}.b"] = linear_backward(dlogits[m], c_lin[m])
        encode_modalities_backward(dhs, c_enc, grads)
        return grads


# ----------------------------------------------------------- gradient checks
def model_cases(build, name, hold=None):
    """Gradient-check cases of a baseline's whole loss, for ``@register``.

    ``build(input_dims, n_classes, config)`` makes the model; two settings:
    one modality pair without dropout (N = 1), three modalities with two
    tanh layers and dropout.  ``hold(model, params, xs, draws)``, if given,
    adds to ``draws`` what the finite differences must see as constants.
    """

    def cases(rng):
        out = []
        for dims, k, n, cfg in [((4, 3), 3, 1, EAUConfig(hidden=(5,))),
                                ((3, 4, 2), 2, 4, EAUConfig(hidden=(4, 3), activation="tanh", keep_prob=0.7))]:
            model = build(dims, k, cfg)
            params = model.init_params(rng)
            xs = [rng.standard_normal((n, d)) for d in dims]
            y = rng.integers(0, k, n)
            draws = model.draw(n, rng)
            if hold is not None:
                hold(model, params, xs, draws)
            names = sorted(params)
            fwd, bwd = positional_loss(model, names, xs, y, draws)
            fwd.__name__ = f"{name}_loss_forward"
            out.append(Case(fwd, bwd, [params[p] for p in names], names=names, fd_entries=8,
                            label=f"M={len(dims)},N={n}"))
        return out

    return cases
