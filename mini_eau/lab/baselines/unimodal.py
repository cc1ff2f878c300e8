"""One modality alone: view m's encoder, a linear classifier, softmax cross-entropy (SPEC §10).

Every multimodal set has one such baseline per view (``unimodal_<m>``): the
number a fusion method has to beat.  The model is given every view and
ignores all but ``modality``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...encoders import encode_modalities_backward
from ...gradcheck import register
from ...layers import linear_backward, linear_forward, softmax, softmax_cross_entropy_backward, softmax_cross_entropy_forward
from ...validation import accepts
from .base import BATCH, PREDICT, Encoders, model_cases

__all__ = ["Unimodal"]


@dataclass
class Unimodal(Encoders):
    """One modality alone: encoder -> linear -> softmax CE."""

    modality: int = 0

    def _used(self):
        return [self.modality]

    def init_params(self, rng, dtype=np.float64):
        p = self._init_encoders(rng, dtype)
        p.update(self._linear_init(rng, "cls", self.config.hidden[-1], dtype))
        return p

    @accepts(**BATCH)
    def loss_forward(self, params, xs, y, draws):
        hs, c_enc = self._encode(params, xs, draws.get("masks"))
        logits, c_lin = linear_forward(hs[self.modality], params["cls.W"], params["cls.b"])
        ce, c_ce = softmax_cross_entropy_forward(logits, y)
        return ce, {"enc": c_enc, "lin": c_lin, "ce": c_ce, "terms": {"ce": ce}}

    def loss_backward(self, dout, cache):
        grads = {}
        dh, grads["cls.W"], grads["cls.b"] = linear_backward(softmax_cross_entropy_backward(dout, cache["ce"]), cache["lin"])
        encode_modalities_backward({self.modality: dh}, cache["enc"], grads)
        return grads

    @accepts(**PREDICT)
    def predict_proba(self, params, xs, masks=None, stats=None):
        hs, _ = self._encode(params, xs, masks)
        return softmax(hs[self.modality] @ params["cls.W"] + params["cls.b"], axis=1)


register("baseline[unimodal_1]")(model_cases(lambda dims, k, c: Unimodal(dims, k, c, name="unimodal_1", modality=1),
                                             "unimodal_1"))
