r"""Your own data in a few lines: EAU and every baseline as a scikit-learn classifier (SPEC §8–§10).

:class:`EAUClassifier` is a scikit-learn estimator: settings are constructor
keywords, ``fit`` checks them and returns the estimator, fitted state ends in
``_``, and ``Pipeline``, ``cross_val_score``, ``GridSearchCV``, ``clone``,
pickle and joblib work.  The views come in one of two forms.

**One 2-D X and** ``views=``, the form every scikit-learn tool passes on::

    from sklearn.pipeline import make_pipeline
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import cross_val_score

    clf = EAUClassifier(views=[6, 7])           # columns 0-5 are view a, 6-12 view b
    cross_val_score(make_pipeline(SimpleImputer(), clf), X, y, cv=5)
    clf.fit(X, y).uncertainty(X).weights        # EAU's fusion weights (M, N)

``views`` is the size of each group of consecutive columns (``[6, 7]``), a
number of near-equal groups (``2``), a list of column-index lists
(``[[0, 2], [1, 3]]``) or, for a pandas DataFrame, a list of column-name
lists (``[["age", "bmi"], ["bp", "s1", "s2"]]``).

**A list of arrays**, one (N, D_m) array per view, for views kept apart::

    clf = EAUClassifier().fit([x_a, x_b], y)
    clf.predict([x_a, x_b])                     # labels, as given to fit
    clf.predict_with_uncertainty([x_a, x_b])    # MC dropout: aleatoric + epistemic

Defaults that work on a user's data: every view is standardised inside
``fit`` (``scale=True``; scikit-learn's ``StandardScaler``, one per view),
and the budget is a number of Adam steps (``steps=1500``, the demo's), so a
150-row set gets as many updates as a 15 000-row one.

Underneath, ``fit`` builds the model from the views' sizes
(:func:`mini_eau.lab.baselines.make_method`), trains it with
:func:`mini_eau.lab.train.fit` and keeps the trained parameters on the host,
so a model trained on the GPU (``backend="cupy"``) predicts, pickles and
saves like any other.

Two kinds of uncertainty
------------------------
:meth:`EAUClassifier.uncertainty` reads EAU's **per-view aleatoric**
uncertainty straight from its Gaussian heads: :math:`\sigma^m` (N, D), its
mean :math:`u^m` and the fusion weights :math:`\alpha^m` they give (SPEC §6).

:meth:`EAUClassifier.predict_with_uncertainty` splits the **predictive**
uncertainty by MC dropout (SPEC §9): T passes with fresh dropout masks give
probabilities :math:`p_t`, and :func:`mini_eau.uncertainty.decompose_entropy`
splits :math:`H[\bar p]` into the expected entropy (aleatoric) and the mutual
information (epistemic).  It works for every method, since all share EAU's
encoders and their dropout.
"""
from __future__ import annotations

import inspect
import math
import numbers
import re
import warnings
from dataclasses import MISSING, dataclass, fields

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..backend import array_module, to_numpy
from ..encoders import draw_masks
from ..model import EAU, EAUConfig
from ..uncertainty import mc_dropout_predict
from ..validation import check_array, check_same_batch
from . import checkpoint
from .baselines import FUSION_METHODS, make_method
from .data import MultimodalData, noise_unit
from .train import NoiseAugmentation, TrainConfig, Trained, fit

__all__ = ["EAUClassifier", "make_classifier", "ViewUncertainty", "PredictiveUncertainty", "NotFittedError",
           "InvalidParameterError", "CleanTrainingWarning", "DEFAULT_STEPS"]

DEFAULT_STEPS = 1500
"""The default training budget in Adam steps, as the demo's; chosen by ``python -m benchmarks.estimator_defaults --steps 800 1500 3000``."""

# Every field of EAUConfig is a keyword of the estimator, with EAUConfig's default, read
# from the dataclass itself: a field added to the model is at once a keyword that
# get_params, clone and GridSearchCV see.
_MODEL_DEFAULTS = {f.name: (f.default if f.default is not MISSING else f.default_factory()) for f in fields(EAUConfig)}
_TRAIN_DEFAULTS = TrainConfig()
# keywords of the estimator before it followed scikit-learn, and what replaced them
_RENAMED = {"seed": " (seed is now random_state)",
            "config": " (give EAUConfig's fields as keywords: EAUClassifier(**dataclasses.asdict(config)))",
            "train_config": " (give its fields as keywords: epochs=, batch_size=, lr=, weight_decay=, train_noise=)"}



class CleanTrainingWarning(UserWarning):
    """``train_noise=None``: the variance heads never see noise, so their uncertainty only extrapolates."""


CLEAN_TRAINING = ("train_noise=None: the variance heads are trained on clean data only, so their uncertainty "
                  "extrapolates to corrupted inputs and can run the wrong way (a masked view reads as certain); "
                  "train with the corruption you expect (train_noise='auto' adds Gaussian noise). "
                  "See the docs' protocols page.")

class InvalidParameterError(ValueError, TypeError):
    """A constructor keyword of the wrong type or out of range, found by ``fit`` (as scikit-learn's:
    a ValueError, and a TypeError for code that catches that)."""


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


def _with_model_keywords(init):
    """Give ``__init__`` the signature scikit-learn reads: its own keywords, then one per EAUConfig field.

    ``get_params``, ``clone``, ``repr`` and ``help`` all read the parameters
    from ``inspect.signature(__init__)``; the model's keywords reach
    ``__init__`` through ``**model_settings``.
    """
    own = [p for p in inspect.signature(init).parameters.values() if p.kind is not p.VAR_KEYWORD]
    clash = {p.name for p in own} & set(_MODEL_DEFAULTS)
    assert not clash, f"EAUConfig fields {clash} clash with the estimator's own keywords"
    model = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
             for name, default in _MODEL_DEFAULTS.items()]
    init.__signature__ = inspect.signature(init).replace(parameters=own + model)
    return init


class EAUClassifier(ClassifierMixin, BaseEstimator):
    """EAU, or any baseline by name, as a scikit-learn classifier for M >= 2 views.

    The constructor only stores its keywords; ``fit`` checks them (an
    :class:`InvalidParameterError` naming the keyword) and trains.

    Parameters
    ----------
    method : str
        ``"eau"`` (default) or a baseline of :data:`mini_eau.lab.baselines.FUSION_METHODS`
        (``"concat"``, ``"late"``, ``"tmc"``, ...) or ``"unimodal_<m>"`` (view m
        alone), built by :func:`~mini_eau.lab.baselines.make_method` with the
        same encoders.
    views : int, list or None
        How one 2-D ``X`` splits into views: sizes of consecutive column
        groups (``[6, 7]``), a number of near-equal consecutive groups
        (``2``), a list of column-index lists (``[[0, 2], [1, 3]]``) or, for a
        DataFrame, a list of column-name lists.  None [default]: ``X`` is a
        list of M >= 2 arrays, one (N, D_m) array per view.
    scale : bool
        Standardise each view's columns with the training mean and standard
        deviation inside ``fit`` (scikit-learn's ``StandardScaler``, one per
        view) [True].  The Gaussian heads, the noise augmentation and the
        learning rate all assume features of order 1.
    steps : int
        Training budget in Adam steps [1500]: ``fit`` trains
        ``ceil(steps / batches per epoch)`` epochs, so a small set gets as
        many updates as a large one (and every set at least one epoch).
    epochs : int or None
        Train exactly this many epochs instead of the step budget [None].
    batch_size : int
        Samples per step, >= 2 (the contrastive loss needs pairs) [128];
        a smaller set is one batch.
    lr, weight_decay : float
        Adam step size [3e-3] and L2 weight decay [0].
    train_noise : "auto", float or None
        Training noise redrawn every epoch, per sample and view
        (:class:`~mini_eau.lab.train.NoiseAugmentation`): its scale is drawn
        from U(0, train_noise).  ``"auto"`` [default] uses the demo's rule,
        3 times the RMS of the (scaled) training features
        (:func:`~mini_eau.lab.data.noise_unit`).  A variance head can only
        learn noise it has seen: without it EAU's uncertainty only
        extrapolates to corrupted inputs, and may run the wrong way (the docs'
        protocols page). None trains on the data as given, with a
        :class:`CleanTrainingWarning` for the methods with variance heads.
    random_state : int, numpy.random.Generator or None
        Seeds initialisation, shuffling, the training noise and the default
        MC-dropout masks [0]: an integer >= 0 gives the same model every
        fit; a Generator is drawn from (and advanced); None draws fresh
        entropy each fit.
    backend : {"numpy", "cupy"} or None
        Where training runs [``$MINI_EAU_BACKEND``, else numpy].  Prediction
        always runs on the host, with NumPy.
    verbose : bool
        One progress line per epoch [False].
    hidden, d_embed, d_bottleneck, activation, keep_prob, fusion, temperature, tau, ura_variant, lambda_udr, lambda_align, lambda_prior, lambda_ura, lambda_uni, beta, vib
        Every field of :class:`~mini_eau.model.EAUConfig` is a keyword, with
        its default (encoder sizes, dropout, fusion variant and temperature,
        loss weights; see there).

    Attributes
    ----------
    classes_ : ndarray (K,)
        The labels seen in ``fit``, sorted; predictions are drawn from them.
    n_features_in_ : int
        Columns of ``X`` (for a list of views: the sum of the D_m).
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
    views_ : list of ndarray or None
        The column indices of each view in ``X``; None when fitted on a list of views.
    input_dims_ : tuple of int
        D_m of each view.
    scalers_ : list of StandardScaler or None
        One per view when ``scale`` is True.
    n_iter_ : int
        Epochs trained.
    model_ : EAU or a baseline
    params_ : dict of ndarray
        The trained parameters (NumPy).
    history_ : list of dict
        One record per epoch (loss, its terms, training accuracy).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import cross_val_score
    >>> from mini_eau import EAUClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 64)
    >>> X = y[:, None] + rng.normal(size=(64, 8))
    >>> clf = EAUClassifier(views=[3, 5], steps=20, hidden=(8,)).fit(X, y)
    >>> clf.predict_proba(X).shape, clf.uncertainty(X).weights.shape
    ((64, 2), (2, 64))
    >>> cross_val_score(EAUClassifier(views=2, steps=20, hidden=(8,)), X, y, cv=3).shape
    (3,)
    """

    @_with_model_keywords
    def __init__(self, method="eau", *, views=None, scale=True, steps=DEFAULT_STEPS, epochs=None,
                 batch_size=_TRAIN_DEFAULTS.batch_size, lr=_TRAIN_DEFAULTS.lr,
                 weight_decay=_TRAIN_DEFAULTS.weight_decay, train_noise="auto", random_state=0, backend=None,
                 verbose=False, **model_settings):
        self.method = method
        self.views = views
        self.scale = scale
        self.steps = steps
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.train_noise = train_noise
        self.random_state = random_state
        self.backend = backend
        self.verbose = verbose
        unknown = sorted(set(model_settings) - set(_MODEL_DEFAULTS))
        if unknown:  # what Python says for any unknown keyword, with the list to choose from
            hints = "".join(_RENAMED[k] for k in unknown if k in _RENAMED)
            raise TypeError(f"EAUClassifier: unknown keyword(s) {unknown}{hints}; "
                            f"the model's keywords are {list(_MODEL_DEFAULTS)}")
        for name, default in _MODEL_DEFAULTS.items():
            setattr(self, name, model_settings.get(name, default))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags

    # ------------------------------------------------------- settings
    def _model_config(self):
        """The EAUConfig of the model keywords, after checking every keyword of the estimator."""
        _check_method("method", self.method)
        _check_views_setting(self.views)
        _check_bool("scale", self.scale)
        _check_int("steps", self.steps, 1)
        if self.epochs is not None:
            _check_int("epochs", self.epochs, 1, or_none=True)
        _check_int("batch_size", self.batch_size, 2, why=" (the contrastive loss needs pairs)")
        _check_real("lr", self.lr, positive=True)
        _check_real("weight_decay", self.weight_decay, positive=False)
        if not (self.train_noise is None or (isinstance(self.train_noise, str) and self.train_noise == "auto")
                or (_is_real(self.train_noise) and np.isfinite(self.train_noise) and self.train_noise > 0)):
            raise InvalidParameterError(f"train_noise: expected 'auto', a number > 0 or None, got {self.train_noise!r}")
        _check_seed("random_state", self.random_state, generators=True)
        if self.backend is not None and self.backend not in ("numpy", "cupy"):
            raise InvalidParameterError(f"backend: expected 'numpy', 'cupy' or None, got {self.backend!r}")
        _check_bool("verbose", self.verbose)
        try:  # EAUConfig checks its own fields; its message names the field
            return EAUConfig(**{name: getattr(self, name) for name in _MODEL_DEFAULTS})
        except (TypeError, ValueError) as err:
            raise InvalidParameterError(str(err).splitlines()[0]) from None

    # ------------------------------------------------------- training
    def fit(self, X, y):
        """Check the keywords, build the model from the views' sizes and train it.

        Parameters
        ----------
        X : array-like (N, D) or list of array-like
            One 2-D array or DataFrame split by ``views``; or, with
            ``views=None``, M >= 2 arrays, ``X[m]`` of shape (N, D_m).
            Numbers; converted to float64.
        y : array-like (N,)
            Class labels of one kind (integers or strings); at least 2 classes.

        Returns
        -------
        self
        """
        model_config = self._model_config()
        rng = _generator(self.random_state)
        xs, y = self._views_for_fit(X, y)
        _check_label_kinds(y)
        check_classification_targets(y)
        try:
            encoder = LabelEncoder().fit(y)
        except TypeError as err:  # e.g. None among strings: sorting the labels fails
            raise ValueError(f"y: expected labels of one kind, all numbers or all strings ({err})") from None
        if len(encoder.classes_) < 2:
            raise ValueError(f"y: expected at least 2 classes, got 1 class ({encoder.classes_[0]!r})")
        self.scalers_ = [StandardScaler().fit(x) for x in xs] if self.scale else None
        xs = self._scaled(xs)
        data = MultimodalData(xs, encoder.transform(y).astype(np.int64), n_classes=len(encoder.classes_))
        model = make_method(self.method, [x.shape[1] for x in xs], len(encoder.classes_), model_config)
        n = len(data.y)
        batches = n // min(self.batch_size, n)  # full batches per epoch (train.fit drops the ragged one)
        epochs = self.epochs if self.epochs is not None else math.ceil(self.steps / batches)
        augment = None
        if self.train_noise is None and self.method in ("eau", "mean", "precision"):
            warnings.warn(CLEAN_TRAINING, CleanTrainingWarning, stacklevel=2)
        if self.train_noise is not None:
            high = 3.0 * noise_unit(data) if self.train_noise == "auto" else float(self.train_noise)
            augment = NoiseAugmentation(high=high) if high > 0 else None  # all-zero features: nothing to scale by
        config = TrainConfig(epochs=epochs, batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                             augment=augment)
        trained = fit(model, data, config, rng=rng, verbose=self.verbose, xp=array_module(self.backend))
        self.classes_ = encoder.classes_
        self.n_iter_ = epochs
        # drawn after training, so it leaves the training stream alone: the default MC-dropout seed
        self.mask_seed_ = int(rng.integers(2 ** 32))
        self._set_trained(trained)
        return self

    def _views_for_fit(self, X, y):
        """``(views, y)``: X split into float64 views, the fitted attributes that describe the split set."""
        if self.views is None:
            xs = _as_views(X)
            y = _as_labels(y, len(xs[0]))
            self.views_ = None
            self.n_features_in_ = sum(x.shape[1] for x in xs)
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return xs, y
        _refuse_list_of_views(X, self.views)
        names = _column_names(X)
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2)
        self.views_ = _resolve_views(self.views, X.shape[1], names)
        return [X[:, cols] for cols in self.views_], y

    def _set_trained(self, trained):
        self.trained_ = trained.to_host()  # one copy back from the GPU, if it trained there
        self.model_ = self.trained_.model
        self.params_ = self.trained_.params
        self.history_ = self.trained_.history
        self.input_dims_ = tuple(self.model_.input_dims)

    def _scaled(self, xs):
        if self.scalers_ is None:
            return xs
        return [s.transform(x) for s, x in zip(self.scalers_, xs)]

    def _views_for_prediction(self, X):
        """X as the fitted model's input: checked like the training X, split into views and scaled."""
        check_is_fitted(self)
        if self.views_ is None:
            xs = _as_views(X, self.input_dims_)
        else:
            _refuse_list_of_views(X, self.views)
            X = validate_data(self, X, reset=False, dtype=np.float64)
            xs = [X[:, cols] for cols in self.views_]
        return self._scaled(xs)

    # ----------------------------------------------------- prediction
    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like (N, D) or list of array-like
            As in ``fit``.

        Returns
        -------
        ndarray (N, K)
        """
        xs = self._views_for_prediction(X)  # first: it says NotFittedError before fit
        return self.trained_.predict_proba(xs)

    def predict(self, X):
        """The most probable class of each sample.

        Parameters
        ----------
        X : array-like (N, D) or list of array-like
            As in ``fit``.

        Returns
        -------
        ndarray (N,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def uncertainty(self, X):
        """EAU's per-view aleatoric uncertainty and the fusion weights it gives (SPEC §6).

        Parameters
        ----------
        X : array-like (N, D) or list of array-like
            As in ``fit``.

        Returns
        -------
        ViewUncertainty
            ``u`` (M, N), ``sigma`` (M, N, D), ``weights`` (M, N).

        Raises
        ------
        NotImplementedError
            For a baseline without Gaussian heads (concat, late, tmc, qmf, unimodal).
        """
        xs = self._views_for_prediction(X)
        model = self.model_
        if not isinstance(model, EAU):
            raise NotImplementedError(
                f"uncertainty: method {self.method!r} has no per-view aleatoric uncertainty (only 'eau', 'mean' and "
                "'precision' have Gaussian heads); predict_with_uncertainty(X) gives the MC-dropout split for every method")
        trained = self.trained_
        return ViewUncertainty(u=trained.uncertainty(xs), sigma=np.exp(0.5 * trained.embed(xs)[1]),
                               weights=trained.fusion_weights(xs))

    def predict_with_uncertainty(self, X, n_samples=30, seed=None):
        r"""MC-dropout prediction with the aleatoric / epistemic split of its entropy (SPEC §9).

        ``n_samples`` passes, each with fresh dropout masks in every encoder,
        give probabilities :math:`p_t` (N, K);
        :func:`mini_eau.uncertainty.mc_dropout_predict` stacks them and
        :func:`mini_eau.uncertainty.decompose_entropy` splits
        :math:`H[\bar p]` = aleatoric + epistemic.

        Parameters
        ----------
        X : array-like (N, D) or list of array-like
            As in ``fit``.
        n_samples : int
            Number of passes T >= 1 [30].
        seed : int, optional
            Seeds the masks, >= 0 [``mask_seed_``, drawn in ``fit`` from ``random_state``]:
            the same seed gives the same result.

        Returns
        -------
        PredictiveUncertainty
            ``proba`` (N, K), ``prediction``, ``total``, ``aleatoric``, ``epistemic`` (N,).
        """
        _check_int("n_samples", n_samples, 1)
        if seed is not None:
            _check_seed("seed", seed, generators=False)
        xs = self._views_for_prediction(X)
        seed = self.mask_seed_ if seed is None else seed
        trained, c = self.trained_, self.model_.config

        def one_pass(views, rng):
            if c.keep_prob >= 1.0:
                return trained.predict_proba(views)
            return trained.predict_proba(views, masks=draw_masks(rng, len(views[0]), c.hidden, len(views), c.keep_prob))

        p_bar, aleatoric, epistemic = mc_dropout_predict(one_pass, xs, int(n_samples), np.random.default_rng(seed))
        return PredictiveUncertainty(proba=p_bar, prediction=self.classes_[p_bar.argmax(axis=1)],
                                     total=aleatoric + epistemic, aleatoric=aleatoric, epistemic=epistemic)

    # ----------------------------------------------------- checkpoints
    def save(self, path):
        """Write the fitted model, its settings, ``classes_`` and the scaling to one ``.npz`` file (no pickle).

        For sharing: :meth:`load` runs no code from the file.  (Pickle and
        joblib work too, for your own use.)

        Parameters
        ----------
        path : str or os.PathLike
            The file; its folder must exist.

        Returns
        -------
        path
        """
        check_is_fitted(self)
        settings = {k: _to_json(v) for k, v in self.get_params().items()}
        if not (settings["random_state"] is None or isinstance(settings["random_state"], int)):
            settings["random_state"] = None  # a Generator's state is not kept: a refit of the loaded model differs
        extra = {"estimator": settings, "classes": self.classes_.tolist(), "mask_seed": self.mask_seed_,
                 "n_features_in": int(self.n_features_in_),
                 "views": None if self.views_ is None else [c.tolist() for c in self.views_],
                 "feature_names": getattr(self, "feature_names_in_", np.array([])).tolist() or None,
                 # floats through JSON come back bit-identical (repr round-trips)
                 "scaling": None if self.scalers_ is None else [[s.mean_.tolist(), s.scale_.tolist(), int(s.n_samples_seen_)]
                                                                for s in self.scalers_]}
        return self.trained_.save(path, extra=extra)

    @classmethod
    def load(cls, path):
        """Read a file written by :meth:`save` (or by ``Trained.save``: then ``classes_`` is 0..K-1).

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        EAUClassifier
            Fitted; predicts exactly as the saved one.
        """
        meta = checkpoint.read_meta(path)
        trained = Trained.load(path)
        extra = meta.get("extra") or {}
        if "estimator" in extra:
            settings = _settings_from_json(extra["estimator"])
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


def make_classifier(name, **keywords):
    """The estimator for method ``name`` (``"eau"``, ``"concat"``, ``"late"``, ``"tmc"``, ...).

    Parameters
    ----------
    name : str
        A name of :data:`mini_eau.lab.baselines.FUSION_METHODS` or ``"unimodal_<m>"``;
        an unknown one is refused here, before any data is seen.
    **keywords
        Any keyword of :class:`EAUClassifier`.

    Returns
    -------
    EAUClassifier
    """
    _check_method("name", name)
    return EAUClassifier(method=name, **keywords)


# ------------------------------------------------------------ checks of the settings
def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_method(label, name):
    if not (isinstance(name, str) and (name in FUSION_METHODS or re.fullmatch(r"unimodal_\d+", name))):
        raise InvalidParameterError(f"{label}: expected one of {', '.join(map(repr, FUSION_METHODS))} or "
                                    f"'unimodal_<m>' (view m alone), got {name!r}")


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name}: expected True or False, got {value!r}")


def _check_int(name, value, low, why="", or_none=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < low:
        raise InvalidParameterError(f"{name}: expected an integer >= {low}{' or None' if or_none else ''}{why}, "
                                    f"got {value!r}")


def _check_real(name, value, positive):
    if not (_is_real(value) and np.isfinite(value) and (value > 0 if positive else value >= 0)):
        raise InvalidParameterError(f"{name}: expected a finite number {'> 0' if positive else '>= 0'}, got {value!r}")


def _check_seed(name, value, generators):
    if generators and (value is None or isinstance(value, (np.random.Generator, np.random.RandomState))):
        return
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0:
        kinds = "an integer >= 0, a numpy Generator or None" if generators else "an integer >= 0 or None"
        raise InvalidParameterError(f"{name}: expected {kinds}, got {value!r}")


def _check_views_setting(views):
    """The shape of ``views=`` alone (the columns it names are checked against X in fit)."""
    if views is None or (isinstance(views, numbers.Integral) and not isinstance(views, bool)):
        return
    if isinstance(views, (list, tuple)) and all(
            (isinstance(v, numbers.Integral) and not isinstance(v, bool)) or isinstance(v, (list, tuple, np.ndarray))
            for v in views):
        return
    raise InvalidParameterError(f"views: expected column-group sizes ([6, 7]), a number of groups (2), column lists "
                                f"([[0, 1], [2, 3]]) or None (X is a list of views), got {views!r}")


def _generator(random_state):
    """The one Generator that drives a fit (SPEC §8), from ``random_state``."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):  # scikit-learn's older kind: seed ours from it
        return np.random.default_rng(random_state.randint(2 ** 31))
    return np.random.default_rng(random_state)  # an int, or None for fresh entropy


# ------------------------------------------------------------ the views of X
def _column_names(X):
    """A DataFrame's column names (as scikit-learn reads them), else None."""
    columns = getattr(X, "columns", None)
    return None if columns is None else [str(c) for c in columns]


def _refuse_list_of_views(X, views):
    if isinstance(X, (list, tuple)) and len(X) and getattr(X[0], "ndim", 1) == 2:
        raise ValueError(f"X: got a list of {len(X)} 2-D arrays and views={views!r}; pass one 2-D X with views=, "
                         "or the list of views with views=None")


def _resolve_views(views, n_features, names):
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


def _as_views(xs, input_dims=None):
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


def _as_labels(y, n):
    if isinstance(y, (str, bytes, dict, set)) or not (hasattr(y, "__array__") or isinstance(y, (list, tuple))):
        raise TypeError(f"y: expected an array of N class labels, got {type(y).__name__}")
    y = np.asarray(to_numpy(y))
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y: expected shape ({n},), one label per sample, got {y.shape}")
    return y


def _check_label_kinds(y):
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


# ------------------------------------------------------------ checkpoints
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


def _settings_from_json(saved):
    """Constructor keywords from a saved file, including those written before the estimator followed scikit-learn."""
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
    known = set(EAUClassifier._get_param_names())
    return {k: v for k, v in settings.items() if k in known}
