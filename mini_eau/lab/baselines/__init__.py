r"""The fusion methods EAU is compared with (SPEC §10), one module per method.

Every baseline uses the same per-modality encoders as EAU (same hidden
sizes, activation and dropout; :mod:`.base`) and is trained by the same loop
with the same budget; only what happens after the encoders differs:

==============  ==================  =====================================================
``unimodal_m``  :mod:`.unimodal`    view m's encoder and a linear classifier
``concat``      :mod:`.concat`      early/intermediate fusion: :math:`[h^1, \dots, h^M] \to` linear classifier
``late``        :mod:`.late`        one classifier per modality, trained jointly (sum of CEs); predicts the
                                    average of the modalities' probabilities
``tmc``         :mod:`.tmc`         Trusted Multi-view Classification: per-modality Dirichlet evidence,
                                    Dempster–Shafer combination (:mod:`.dempster_shafer`), EDL loss
                                    (Han et al., ICLR 2021)
``qmf``         :mod:`.qmf`         Quality-aware Multimodal Fusion: energy-weighted late fusion
                                    (Zhang et al., ICML 2023)
==============  ==================  =====================================================

Each module holds its model, its loss forward/backward and its prediction.
The "mean" and "precision" fusion baselines are EAU with those weighting
variants (:func:`make_method`).  Each baseline's loss is a pure function of
``(params, batch, draws)`` and its hand-composed backward is registered in
``python -m mini_eau gradcheck`` as ``baseline[<name>]``.
"""
from __future__ import annotations

from dataclasses import replace

from ...model import EAU, EAUConfig
from ...validation import check_choice
from .concat import Concat
from .dempster_shafer import ds_combine_backward, ds_combine_forward
from .late import Late
from .qmf import QMF, qmf_loss_backward, qmf_loss_forward, qmf_predict, qmf_weights
from .tmc import TMC, edl_loss_backward, edl_loss_forward, tmc_loss_backward, tmc_loss_forward, tmc_predict
from .unimodal import Unimodal

__all__ = ["Unimodal", "Concat", "Late", "TMC", "QMF", "FUSION_METHODS", "METHODS", "method_names", "make_method",
           "ds_combine_forward", "ds_combine_backward", "edl_loss_forward", "edl_loss_backward",
           "tmc_loss_forward", "tmc_loss_backward", "tmc_predict",
           "qmf_weights", "qmf_loss_forward", "qmf_loss_backward", "qmf_predict"]

FUSION_METHODS = ("eau", "concat", "late", "mean", "precision", "tmc", "qmf")
"""Methods that use every view; ``unimodal_<m>`` (view m alone) comes on top, one per view."""


def method_names(n_views):
    """Every method for ``n_views`` views: the fusion methods, then ``unimodal_0 .. unimodal_{M-1}``."""
    return FUSION_METHODS + tuple(f"unimodal_{m}" for m in range(n_views))


METHODS = method_names(2)
"""The methods for two views (the toy's default)."""

_BASELINES = {"concat": Concat, "late": Late, "tmc": TMC, "qmf": QMF}


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
    if name in _BASELINES:
        return _BASELINES[name](input_dims, n_classes, config, name=name)
    return Unimodal(input_dims, n_classes, config, name=name, modality=int(name.split("_")[1]))
