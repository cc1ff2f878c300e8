"""What :class:`~mini_eau.lab.estimator.EAUClassifier` hands back and keeps.

* :class:`ViewUncertainty` and :class:`PredictiveUncertainty`, the results of
  ``uncertainty(X)`` and ``predict_with_uncertainty(X)``;
* the contents of its checkpoint (:func:`checkpoint_extra`, :func:`restore`):
  the settings, ``classes_``, the views and the scaling, stored as JSON next
  to the model's arrays (:mod:`mini_eau.lab.checkpoint`), so loading runs no code.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.preprocessing import StandardScaler

from . import checkpoint
from .train import Trained

__all__ = ["ViewUncertainty", "PredictiveUncertainty", "checkpoint_extra", "restore", "settings_from_json"]


@dataclass
class ViewUncertainty:
    """EAU's per-view aleatoric uncertainty for N samples (SPEC §2, §6).

    Attributes
    ----------
    u : ndarray (M, N)
        :math:`u_i^m = \\text{mean}_d\\, \\sigma_{i,d}^m`, one number per sample and view.
    sigma : ndarray (M, N, D)
        The standard deviations :math:`\\sigma^m = e^{s^m/2}` of each view's Gaussian embedding.
    weights : ndarray (M, N)
        The fusion weights :math:`\\alpha^m`; each column sums to 1.
    """

    u: np.ndarray
    sigma: np.ndarray
    weights: np.ndarray


@dataclass
class PredictiveUncertainty:
    """MC-dropout prediction and its entropy split, per sample (SPEC §9).

    Attributes
    ----------
    proba : ndarray (N, K)
        Mean class probabilities :math:`\\bar p` over the passes.
    prediction : ndarray (N,)
        The class label of :math:`\\bar p`'s argmax (labels as given to ``fit``).
    total : ndarray (N,)
        :math:`H[\\bar p]` in nats, ``= aleatoric + epistemic``.
    aleatoric : ndarray (N,)
        Expected entropy :math:`\\frac1T \\sum_t H[p_t]`.
    epistemic : ndarray (N,)
        Mutual information between label and pass, :math:`\\ge 0`; 0 without dropout.
    """

    proba: np.ndarray
    prediction: np.ndarray
    total: np.ndarray
    aleatoric: np.ndarray
    epistemic: np.ndarray


# ------------------------------------------------------------ checkpoints
def checkpoint_extra(est):
    """What a fitted estimator keeps in its checkpoint besides the model: settings, ``classes_``, views, scaling."""
    settings = {k: _to_json(v) for k, v in est.get_params().items()}
    if not (settings["random_state"] is None or isinstance(settings["random_state"], int)):
        settings["random_state"] = None  # a Generator's state is not kept: a refit of the loaded model differs
    return {"estimator": settings, "classes": est.classes_.tolist(), "mask_seed": est.mask_seed_,
            "n_features_in": int(est.n_features_in_),
            "views": None if est.views_ is None else [c.tolist() for c in est.views_],
            "feature_names": getattr(est, "feature_names_in_", np.array([])).tolist() or None,
            # floats through JSON come back bit-identical (repr round-trips)
            "scaling": None if est.scalers_ is None else [[s.mean_.tolist(), s.scale_.tolist(), int(s.n_samples_seen_)]
                                                           for s in est.scalers_]}


def restore(cls, path):
    """An estimator of class ``cls``, fitted, from a file written by its ``save`` (or by ``Trained.save``)."""
    meta = checkpoint.read_meta(path)
    trained = Trained.load(path)
    extra = meta.get("extra") or {}
    if "estimator" in extra:
        settings = settings_from_json(extra["estimator"], cls._get_param_names())
        est = cls(**settings)
        est.classes_ = np.asarray(extra["classes"])
    else:  # a plain Trained checkpoint: its model, on a list of views as given
        config = trained.model.config.to_dict()
        config["hidden"] = tuple(config["hidden"])
        est = cls(method=trained.model.name, scale=False, **config)
        est.classes_ = np.arange(trained.model.n_classes)
    views = extra.get("views")
    est.views_ = None if views is None else [np.asarray(c, dtype=np.int64) for c in views]
    est.n_features_in_ = extra.get("n_features_in", sum(trained.model.input_dims))
    if extra.get("feature_names"):
        est.feature_names_in_ = np.asarray(extra["feature_names"], dtype=object)
    est.scalers_ = None if extra.get("scaling") is None else [_scaler(*s) for s in extra["scaling"]]
    est.mask_seed_ = extra.get("mask_seed", 0)
    est.n_iter_ = len(trained.history)
    est._set_trained(trained)
    return est


def _scaler(mean, scale, n_samples):
    """A fitted StandardScaler rebuilt from its statistics (what :meth:`EAUClassifier.save` keeps)."""
    s = StandardScaler()
    s.mean_, s.scale_ = np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64)
    s.var_, s.n_features_in_, s.n_samples_seen_ = s.scale_ ** 2, len(s.mean_), n_samples
    return s


def _to_json(value):
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    return value


def settings_from_json(saved, known):
    """Constructor keywords (of the names ``known``) from a saved file, including those written before the estimator followed scikit-learn."""
    settings = dict(saved)
    if "seed" in settings:  # the older files: seed, config / train_config objects, keywords at None = default
        settings["random_state"] = settings.pop("seed")
        settings.update(settings.pop("config", None) or {})
        train = settings.pop("train_config", None) or {}
        settings.update({k: train[k] for k in ("epochs", "batch_size", "lr", "weight_decay") if k in train})
        settings = {k: v for k, v in settings.items() if v is not None or k == "train_noise"}
        settings["scale"] = False  # they trained on the arrays as given
    if settings.get("hidden") is not None:
        settings["hidden"] = tuple(settings["hidden"])
    return {k: v for k, v in settings.items() if k in set(known)}
