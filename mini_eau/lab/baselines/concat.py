r"""Early (intermediate) fusion: concatenate the encoders' features, then one linear classifier (SPEC §10).

.. math:: p = \operatorname{softmax}\big([h^1, \dots, h^M]\, W + b\big),\qquad L = \mathrm{CE}(y, p)

Backward: the gradient of the concatenation is split back into the
modalities' column blocks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...backend import get_array_module
from ...encoders import encode_modalities_backward
from ...gradcheck import register
from ...layers import linear_backward, linear_forward, softmax, softmax_cross_entropy_backward, softmax_cross_entropy_forward
from ...validation import accepts
from .base import BATCH, PREDICT, Encoders, model_cases

__all__ = ["Concat"]


@dataclass
class Concat(Encoders):
    """Concatenate the encoders' features, then one linear classifier."""

    def init_params(self, rng, dtype=np.float64):
        p = self._init_encoders(rng, dtype)
        p.update(self._linear_init(rng, "cls", self.M * self.config.hidden[-1], dtype))
        return p

    def _logits(self, params, hs):
        xp = get_array_module(*hs.values())
        hcat = xp.concatenate([hs[m] for m in range(self.M)], axis=1)
        return linear_forward(hcat, params["cls.W"], params["cls.b"])

    @accepts(**BATCH)
    def loss_forward(self, params, xs, y, draws):
        hs, c_enc = self._encode(params, xs, draws.get("masks"))
        logits, c_lin = self._logits(params, hs)
        ce, c_ce = softmax_cross_entropy_forward(logits, y)
        return ce, {"enc": c_enc, "lin": c_lin, "ce": c_ce, "terms": {"ce": ce}}

    def loss_backward(self, dout, cache):
        grads = {}
        dcat, grads["cls.W"], grads["cls.b"] = linear_backward(softmax_cross_entropy_backward(dout, cache["ce"]), cache["lin"])
        H = self.config.hidden[-1]
        encode_modalities_backward({m: dcat[:, m * H:(m + 1) * H] for m in range(self.M)}, cache["enc"], grads)
        return grads

    @accepts(**PREDICT)
    def predict_proba(self, params, xs, masks=None, stats=None):
        hs, _ = self._encode(params, xs, masks)
        return softmax(self._logits(params, hs)[0], axis=1)


register("baseline[concat]")(model_cases(lambda dims, k, c: Concat(dims, k, c, name="concat"), "concat"))
