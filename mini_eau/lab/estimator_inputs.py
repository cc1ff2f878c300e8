"""What :class:`~mini_eau.lab.estimator.EAUClassifier` accepts: its keywords, and X and y.

* the keywords: one per :class:`~mini_eau.model.EAUConfig` field on top of the
  estimator's own (:func:`with_model_keywords`), checked by ``fit``
  (:func:`check_settings`), an :class:`InvalidParameterError` naming the one out of range;
* X: one 2-D array (or DataFrame) split by ``views=`` (:func:`resolve_views`),
  or a list of per-view arrays (:func:`as_views`); y: labels of one kind (:func:`as_labels`).
"""
from __future__ import annotations

import inspect
import numbers
import re
from dataclasses import MISSING, fields

import numpy as np
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets

from ..backend import to_numpy
from ..model import EAUConfig
from ..validation import check_array, check_same_batch
from .baselines import FUSION_METHODS
from .data import MultimodalData
from .train import TrainConfig

__all__ = ["MODEL_DEFAULTS", "TRAIN_DEFAULTS", "RENAMED", "InvalidParameterError", "CleanTrainingWarning", "CLEAN_TRAINING",
           "with_model_keywords", "check_settings", "check_method", "check_int", "check_seed", "generator",
           "column_names", "refuse_list_of_views", "resolve_views", "as_views", "as_labels", "check_label_kinds", "encode_labels"]

# Every field of EAUConfig is a keyword of the estimator, with EAUConfig's default, read
# from the dataclass itself: a field added to the model is at once a keyword that
# get_params, clone and GridSearchCV see.
MODEL_DEFAULTS = {f.name: (f.default if f.default is not MISSING else f.default_factory()) for f in fields(EAUConfig)}
TRAIN_DEFAULTS = TrainConfig()
# keywords of the estimator before it followed scikit-learn, and what replaced them
RENAMED = {"seed": " (seed is now random_state)",
            "config": " (give EAUConfig's fields as keywords: EAUClassifier(**dataclasses.asdict(config)))",
            "train_config": " (give its fields as keywords: epochs=, batch_size=, lr=, weight_decay=, train_noise=)"}


class CleanTrainingWarning(UserWarning):
    """``train_noise=None``: the variance heads never see noise, so their uncertainty only extrapolates."""


CLEAN_TRAINING = ("train_noise=None: the variance heads are trained on clean data only, so their uncertainty "
                  "extrapolates to corrupted inputs: the paper's head (variance_head='raw', the default) runs the "
                  "wrong way under additive noise, variance_head='deviation' follows it but reads a masked view as "
                  "certain. Train with the corruption you expect (train_noise='auto' adds Gaussian noise); see the "
                  "docs' protocols page.")


class InvalidParameterError(ValueError, TypeError):
    """A constructor keyword of the wrong type or out of range, found by ``fit`` (as scikit-learn's:
    a ValueError, and a TypeError for code that catches that)."""


def with_model_keywords(init):
    """Give ``__init__`` the signature scikit-learn reads: its own keywords, then one per EAUConfig field.

    ``get_params``, ``clone``, ``repr`` and ``help`` all read the parameters
    from ``inspect.signature(__init__)``; the model's keywords reach
    ``__init__`` through ``**model_settings``.
    """
    own = [p for p in inspect.signature(init).parameters.values() if p.kind is not p.VAR_KEYWORD]
    clash = {p.name for p in own} & set(MODEL_DEFAULTS)
    assert not clash, f"EAUConfig fields {clash} clash with the estimator's own keywords"
    model = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
             for name, default in MODEL_DEFAULTS.items()]
    init.__signature__ = inspect.signature(init).replace(parameters=own + model)
    return init


def check_settings(est):
    """The EAUConfig of ``est``'s model keywords, after checking every keyword of the estimator."""
    check_method("method", est.method)
    check_views_setting(est.views)
    check_bool("scale", est.scale)
    check_int("steps", est.steps, 1)
    if est.epochs is not None:
        check_int("epochs", est.epochs, 1, or_none=True)
    check_int("batch_size", est.batch_size, 2, why=" (the contrastive loss needs pairs)")
    check_real("lr", est.lr, positive=True)
    check_real("weight_decay", est.weight_decay, positive=False)
    if not (est.train_noise is None or (isinstance(est.train_noise, str) and est.train_noise == "auto")
            or (is_real(est.train_noise) and np.isfinite(est.train_noise) and est.train_noise > 0)):
        raise InvalidParameterError(f"train_noise: expected 'auto', a number > 0 or None, got {est.train_noise!r}")
    check_seed("random_state", est.random_state, generators=True)
    if est.backend is not None and est.backend not in ("numpy", "cupy"):
        raise InvalidParameterError(f"backend: expected 'numpy', 'cupy' or None, got {est.backend!r}")
    check_bool("verbose", est.verbose)
    try:  # EAUConfig checks its own fields; its message names the field
        return EAUConfig(**{name: getattr(est, name) for name in MODEL_DEFAULTS})
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(str(err).splitlines()[0]) from None


# ------------------------------------------------------------ checks of the settings
def is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_method(label, name):
    if not (isinstance(name, str) and (name in FUSION_METHODS or re.fullmatch(r"unimodal_\d+", name))):
        raise InvalidParameterError(f"{label}: expected one of {', '.join(map(repr, FUSION_METHODS))} or "
                                    f"'unimodal_<m>' (view m alone), got {name!r}")


def check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name}: expected True or False, got {value!r}")


def check_int(name, value, low, why="", or_none=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < low:
        raise InvalidParameterError(f"{name}: expected an integer >= {low}{' or None' if or_none else ''}{why}, "
                                    f"got {value!r}")


def check_real(name, value, positive):
    if not (is_real(value) and np.isfinite(value) and (value > 0 if positive else value >= 0)):
        raise InvalidParameterError(f"{name}: expected a finite number {'> 0' if positive else '>= 0'}, got {value!r}")


def check_seed(name, value, generators):
    if generators and (value is None or isinstance(value, (np.random.Generator, np.random.RandomState))):
        return
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0:
        kinds = "an integer >= 0, a numpy Generator or None" if generators else "an integer >= 0 or None"
        raise InvalidParameterError(f"{name}: expected {kinds}, got {value!r}")


def check_views_setting(views):
    """The shape of ``views=`` alone (the columns it names are checked against X in fit)."""
    if views is None or (isinstance(views, numbers.Integral) and not isinstance(views, bool)):
        return
    if isinstance(views, (list, tuple)) and all(
            (isinstance(v, numbers.Integral) and not isinstance(v, bool)) or isinstance(v, (list, tuple, np.ndarray))
            for v in views):
        return
    raise InvalidParameterError(f"views: expected column-group sizes ([6, 7]), a number of groups (2), column lists "
                                f"([[0, 1], [2, 3]]) or None (X is a list of views), got {views!r}")


def generator(random_state):
    """The one Generator that drives a fit (SPEC §8), from ``random_state``."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):  # scikit-learn's older kind: seed ours from it
        return np.random.default_rng(random_state.randint(2 ** 31))
    return np.random.default_rng(random_state)  # an int, or None for fresh entropy


# ------------------------------------------------------------ the views of X
def column_names(X):
    """A DataFrame's column names (as scikit-learn reads them), else None."""
    columns = getattr(X, "columns", None)
    return None if columns is None else [str(c) for c in columns]


def refuse_list_of_views(X, views):
    if isinstance(X, (list, tuple)) and len(X) and getattr(X[0], "ndim", 1) == 2:
        raise ValueError(f"X: got a list of {len(X)} 2-D arrays and views={views!r}; pass one 2-D X with views=, "
                         "or the list of views with views=None")


def resolve_views(views, n_features, names):
    """The column indices of each view: ``views`` checked against the n_features columns of X."""
    if isinstance(views, numbers.Integral):
        if views < 2 or views > n_features:
            raise ValueError(f"views: cannot split {n_features} feature(s) into {views} views; "
                             f"expected an integer in 2..{n_features}")
        return np.array_split(np.arange(n_features), views)
    if len(views) < 2:
        raise ValueError(f"views: expected M >= 2 views, got {len(views)}: {views!r}")
    if all(isinstance(v, numbers.Integral) for v in views):  # sizes of consecutive groups
        if min(views) < 1 or sum(views) != n_features:
            raise ValueError(f"views: expected group sizes >= 1 adding up to X's {n_features} columns, got {list(views)} "
                             f"(sum {sum(views)})")
        edges = np.cumsum([0, *views])
        return [np.arange(a, b) for a, b in zip(edges[:-1], edges[1:])]
    groups = []
    for m, group in enumerate(views):
        group = list(group) if isinstance(group, (list, tuple, np.ndarray)) else [group]
        if not group:
            raise ValueError(f"views[{m}]: expected at least one column, got an empty list")
        if all(isinstance(c, str) for c in group):
            if names is None:
                raise ValueError(f"views[{m}]: column names {group} need a DataFrame X; for an array give column indices")
            unknown = [c for c in group if c not in names]
            if unknown:
                raise ValueError(f"views[{m}]: no column(s) {unknown} in X; its columns are {names}")
            group = [names.index(c) for c in group]
        elif not all(isinstance(c, numbers.Integral) and not isinstance(c, bool) for c in group):
            raise ValueError(f"views[{m}]: expected column indices or column names, got {group!r}")
        if not all(0 <= c < n_features for c in group) or len(set(group)) != len(group):
            raise ValueError(f"views[{m}]: expected distinct column indices in 0..{n_features - 1}, got {group}")
        groups.append(np.asarray(group, dtype=np.int64))
    return groups


def as_views(xs, input_dims=None):
    """``xs`` as a list of float64 NumPy arrays (N, D_m); TypeError / ValueError naming what is wrong."""
    if isinstance(xs, MultimodalData):
        raise TypeError("X: expected a list of M >= 2 arrays, got a MultimodalData; pass data.xs (and data.y)")
    if not isinstance(xs, (list, tuple)):
        shape = getattr(xs, "shape", None)
        raise TypeError(f"X: got one {type(xs).__name__}{'' if shape is None else f' of shape {shape}'} and views=None; "
                        "say which columns form each view (views=[6, 7] group sizes, views=2 equal groups, or column "
                        "lists), or pass a list of M >= 2 arrays, one (N, D_m) array per view")
    if len(xs) < 2:
        raise ValueError(f"X: expected M >= 2 views (one array per view), got {len(xs)}")
    if input_dims is not None and len(xs) != len(input_dims):
        raise ValueError(f"X: expected {len(input_dims)} views as in fit, got {len(xs)}")
    views = []
    for m, x in enumerate(xs):
        if not (hasattr(x, "shape") or hasattr(x, "__array__") or isinstance(x, (list, tuple))):
            raise TypeError(f"X[{m}]: expected an (N, D_{m}) array, got {type(x).__name__}")
        try:
            v = np.asarray(to_numpy(x), dtype=np.float64)  # to_numpy: CuPy arrays come back to the host
        except (TypeError, ValueError) as err:
            raise ValueError(f"X[{m}]: expected an (N, D_{m}) array of numbers ({err})") from None
        if v.ndim == 1:
            raise ValueError(f"X[{m}]: expected a 2-d (N, D_{m}) array, got shape {v.shape}; a view of one feature "
                             f"is x.reshape(-1, 1)")
        check_array(f"X[{m}]", v, ndim=2)
        if input_dims is not None and v.shape[1] != input_dims[m]:
            raise ValueError(f"X[{m}]: expected {input_dims[m]} features as in fit, got shape {v.shape}")
        views.append(v)
    check_same_batch(**{f"X[{m}]": v for m, v in enumerate(views)})
    return views


def as_labels(y, n):
    if isinstance(y, (str, bytes, dict, set)) or not (hasattr(y, "__array__") or isinstance(y, (list, tuple))):
        raise TypeError(f"y: expected an array of N class labels, got {type(y).__name__}")
    y = np.asarray(to_numpy(y))
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y: expected shape ({n},), one label per sample, got {y.shape}")
    return y


def check_label_kinds(y):
    """Labels of one kind and none missing: what LabelEncoder needs to sort them (named here, not as a TypeError)."""
    if y.dtype != object:
        return
    missing = [i for i, v in enumerate(y) if v is None or (isinstance(v, float) and v != v)]
    if missing:
        raise ValueError(f"y: {len(missing)} label(s) missing (None or NaN), the first at index {missing[0]}; "
                         "expected a class label for every sample: drop those rows or give them a class name")
    kinds = sorted({"str" if isinstance(v, str) else "number" if isinstance(v, numbers.Number) else type(v).__name__
                    for v in y})
    if len(kinds) > 1:
        raise ValueError(f"y: expected labels of one kind (all numbers or all strings), got a mix of {kinds}")


def encode_labels(y):
    """A ``LabelEncoder`` fitted on ``y``: labels of one kind, at least 2 classes (a ValueError naming y otherwise)."""
    check_label_kinds(y)
    check_classification_targets(y)
    try:
        encoder = LabelEncoder().fit(y)
    except TypeError as err:  # e.g. None among strings: sorting the labels fails
        raise ValueError(f"y: expected labels of one kind, all numbers or all strings ({err})") from None
    if len(encoder.classes_) < 2:
        raise ValueError(f"y: expected at least 2 classes, got 1 class ({encoder.classes_[0]!r})")
    return encoder
