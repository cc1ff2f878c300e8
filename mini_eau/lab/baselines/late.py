r"""Late fusion: one classifier per modality, trained jointly; the prediction averages their probabilities (SPEC §10).

.. math:: L = \sum_m \mathrm{CE}(y, f^m),\qquad p = \frac1M \sum_m \operatorname{softmax}(f^m)
"""
from __future__ import annotations

from dataclasses import dataclass

from ...backend import get_array_module
from ...gradcheck import register
from ...layers import softmax, softmax_cross_entropy_backward, softmax_cross_entropy_forward
from .base import PerModalityLogits, model_cases

__all__ = ["Late"]


@dataclass
class Late(PerModalityLogits):
    r"""Late fusion: :math:`L = \sum_m \mathrm{CE}(y, f^m)`, prediction :math:`\frac1M \sum_m \operatorname{softmax}(f^m)`."""

    term = "ce"

    def stack_loss_forward(self, logits, y, draws):
        total, c_ce = 0.0, []
        for m in range(self.M):
            ce, cc = softmax_cross_entropy_forward(logits[m], y)
            total = total + ce
            c_ce.append(cc)
        return total, c_ce

    def stack_loss_backward(self, dout, cache):
        xp = get_array_module(cache[0][0])
        return xp.stack([softmax_cross_entropy_backward(dout, cc) for cc in cache])

    def stack_predict(self, logits):
        return softmax(logits, axis=2).mean(axis=0)


register("baseline[late]")(model_cases(lambda dims, k, c: Late(dims, k, c, name="late"), "late"))
