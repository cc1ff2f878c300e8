r"""Your own data in a few lines: EAU and every baseline as one estimator (SPEC §8–§10).

:class:`EAUClassifier` wraps the kit for plain arrays: a list of M views in,
NumPy out.  It follows scikit-learn's conventions — settings are constructor
keywords (``get_params`` / ``set_params``), ``fit(xs, y)`` returns the
estimator, fitted state ends in ``_`` — so it reads like any classifier::

    clf = EAUClassifier(epochs=20).fit([x_a, x_b], y)
    clf.predict([x_a, x_b])                     # labels, as given to fit
    clf.uncertainty([x_a, x_b]).weights         # EAU's fusion weights (M, N)
    clf.predict_with_uncertainty([x_a, x_b])    # MC dropout: aleatoric + epistemic

Underneath, ``fit`` builds the model from the arrays' shapes
(:func:`mini_eau.lab.baselines.make_method`), trains it with
:func:`mini_eau.lab.train.fit` and keeps the trained parameters on the host,
so a model trained on the GPU (``backend="cupy"``) predicts and saves like
any other.

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
import numbers
from dataclasses import asdict, dataclass, replace

import numpy as np

from ..backend import array_module, to_numpy
from ..encoders import draw_masks
from ..model import EAU, EAUConfig
from ..uncertainty import mc_dropout_predict
from ..validation import check_array, check_choice, check_same_batch
from . import checkpoint
from .baselines import make_method
from .data import MultimodalData, noise_unit
from .train import NoiseAugmentation, TrainConfig, fit

__all__ = ["EAUClassifier", "make_classifier", "ViewUncertainty", "PredictiveUncertainty", "NotFittedError"]

# the constructor keywords that go into EAUConfig and TrainConfig
_MODEL_KEYWORDS = ("hidden", "d_embed", "d_bottleneck", "activation", "keep_prob", "fusion", "temperature",
                   "lambda_udr", "lambda_ura", "lambda_uni", "beta")
_TRAIN_KEYWORDS = ("epochs", "batch_size", "lr", "weight_decay")


class NotFittedError(ValueError, AttributeError):
    """The estimator was used before :meth:`EAUClassifier.fit` (as scikit-learn's, a ValueError and an AttributeError)."""


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


class EAUClassifier:
    """EAU, or any baseline by name, for M >= 2 views given as plain arrays.

    Every keyword left at ``None`` takes its value from ``config`` /
    ``train_config`` if given, else the library default (shown in brackets).

    Parameters
    ----------
    method : str
        ``"eau"`` (default) or a baseline of :data:`mini_eau.lab.baselines.METHODS`
        (``"concat"``, ``"late"``, ``"tmc"``, ...), built by
        :func:`~mini_eau.lab.baselines.make_method` with the same encoders.
    config : EAUConfig, optional
        The model settings as one object; the keywords below override its fields.
    hidden : tuple of int, optional
        Encoder hidden sizes [(64,)].
    d_embed, d_bottleneck : int, optional
        Gaussian embedding size D [8] and VIB code size [8].
    activation : str, optional
        "relu" or "tanh" ["relu"].
    keep_prob : float, optional
        Encoder dropout keep probability [0.8]; 1 switches dropout off (then
        the MC-dropout epistemic part is 0).
    fusion : str, optional
        Fusion weighting variant ["paper"] (SPEC §6).
    temperature : float, optional
        Fusion softmax temperature T [0.1].
    lambda_udr, lambda_ura, lambda_uni, beta : float, optional
        Loss weights [1e-3, 0.1, 0, 1e-3] (see :class:`~mini_eau.model.EAUConfig`).
    train_config : TrainConfig, optional
        The training settings as one object (any field it has, e.g. noise
        augmentation, reaches :func:`~mini_eau.lab.train.fit`); the keywords
        below override its fields.
    epochs, batch_size : int, optional
        [30], [128].
    lr, weight_decay : float, optional
        Adam step size [3e-3] and L2 weight decay [0].
    train_noise : "auto", float or None
        Training noise redrawn every epoch, per sample and view
        (:class:`~mini_eau.lab.train.NoiseAugmentation`): its scale is drawn
        from U(0, train_noise).  ``"auto"`` [default] uses the demo's rule,
        3 times the RMS of the training features
        (:func:`~mini_eau.lab.data.noise_unit`).  A variance head can only
        learn noise it has seen: without it EAU's uncertainty does not follow
        the noise of new inputs (README, "Where does sigma learn from?").
        None trains on the data as given; ``train_config.augment``, if set,
        takes precedence.
    seed : int
        Seeds initialisation, shuffling, noise and the MC-dropout masks [0].
    backend : {"numpy", "cupy"}, optional
        Where training runs [``$MINI_EAU_BACKEND``, else numpy].  Prediction
        always runs on the host, with NumPy.
    verbose : bool
        One progress line per epoch [False].

    Attributes
    ----------
    classes_ : ndarray (K,)
        The labels seen in ``fit``, sorted; predictions are drawn from them.
    input_dims_ : tuple of int
        D_m of each view.
    model_ : EAU or a baseline
    params_ : dict of ndarray
        The trained parameters (NumPy).
    history_ : list of dict
        One record per epoch (loss, its terms, training accuracy).

    Examples
    --------
    >>> import numpy as np
    >>> from mini_eau import EAUClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 64)
    >>> xs = [y[:, None] + rng.normal(size=(64, 3)), y[:, None] + rng.normal(size=(64, 5))]
    >>> clf = EAUClassifier(epochs=2, hidden=(8,)).fit(xs, y)
    >>> clf.predict_proba(xs).shape, clf.uncertainty(xs).weights.shape
    ((64, 2), (2, 64))
    """

    def __init__(self, method="eau", *, config=None, hidden=None, d_embed=None, d_bottleneck=None, activation=None,
                 keep_prob=None, fusion=None, temperature=None, lambda_udr=None, lambda_ura=None, lambda_uni=None,
                 beta=None, train_config=None, epochs=None, batch_size=None, lr=None, weight_decay=None,
                 train_noise="auto", seed=0, backend=None, verbose=False):
        self.method = method
        self.config = config
        self.hidden = hidden
        self.d_embed = d_embed
        self.d_bottleneck = d_bottleneck
        self.activation = activation
        self.keep_prob = keep_prob
        self.fusion = fusion
        self.temperature = temperature
        self.lambda_udr = lambda_udr
        self.lambda_ura = lambda_ura
        self.lambda_uni = lambda_uni
        self.beta = beta
        self.train_config = train_config
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.train_noise = train_noise
        self.seed = seed
        self.backend = backend
        self.verbose = verbose
        self._settings()  # wrong types and values fail here, where they were typed

    # ------------------------------------------------------- settings
    @classmethod
    def _param_names(cls):
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep=True):
        """The constructor keywords and their values (scikit-learn's convention).

        Returns
        -------
        dict
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Change constructor keywords; refit to apply them.

        Returns
        -------
        self
        """
        unknown = sorted(set(params) - set(self._param_names()))
        if unknown:
            raise ValueError(f"set_params: unknown keyword(s) {unknown}; expected some of {self._param_names()}")
        for name, value in params.items():
            setattr(self, name, value)
        self._settings()
        return self

    def __repr__(self):
        given = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()
                          if v is not None and not (k, v) in (("method", "eau"), ("seed", 0), ("verbose", False)))
        return f"{type(self).__name__}({given})"

    def _settings(self):
        """``(EAUConfig, TrainConfig)`` from the keywords; TypeError/ValueError naming a bad one."""
        if not isinstance(self.method, str):
            raise TypeError(f"method: expected a method name (str) such as 'eau' or 'concat', got {type(self.method).__name__}")
        for name, cls, hint in (("config", EAUConfig, "EAUClassifier(temperature=0.5)"),
                                ("train_config", TrainConfig, "EAUClassifier(epochs=5)")):
            value = getattr(self, name)
            if value is not None and not isinstance(value, cls):
                raise TypeError(f"{name}: expected a {cls.__name__} or None, got {type(value).__name__}; "
                                f"settings can also be given as keywords, e.g. {hint}")
        if not (self.train_noise is None or self.train_noise == "auto"
                or (isinstance(self.train_noise, numbers.Real) and not isinstance(self.train_noise, bool)
                    and np.isfinite(self.train_noise) and self.train_noise > 0)):
            raise ValueError(f"train_noise: expected 'auto', a number > 0 or None, got {self.train_noise!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral):
            raise TypeError(f"seed: expected an integer, got {type(self.seed).__name__}")
        if self.backend is not None:
            check_choice("backend", self.backend, ("numpy", "cupy"))
        model = {k: getattr(self, k) for k in _MODEL_KEYWORDS if getattr(self, k) is not None}
        train = {k: getattr(self, k) for k in _TRAIN_KEYWORDS if getattr(self, k) is not None}
        # replace() re-runs each config's checks on the merged values
        return (replace(self.config or EAUConfig(), **model),
                replace(self.train_config or TrainConfig(), **train))

    # ------------------------------------------------------- training
    def fit(self, xs, y):
        """Build the model from the shapes of ``xs`` and train it.

        Parameters
        ----------
        xs : list of array-like
            M >= 2 views, ``xs[m]`` of shape (N, D_m), numbers (NumPy, CuPy,
            nested lists); converted to float64.
        y : array-like (N,)
            Class labels of any sortable kind (integers, strings); at least 2 classes.

        Returns
        -------
        self
        """
        model_config, train_config = self._settings()
        xs = _as_views(xs)
        classes, y_index = _encode_labels(y, len(xs[0]))
        data = MultimodalData(xs, y_index, n_classes=len(classes))
        model = make_method(self.method, [x.shape[1] for x in xs], len(classes), model_config)
        if train_config.augment is None and self.train_noise is not None:
            high = 3.0 * noise_unit(data) if self.train_noise == "auto" else float(self.train_noise)
            train_config = replace(train_config, augment=NoiseAugmentation(high=high))
        trained = fit(model, data, train_config, seed=self.seed, verbose=self.verbose, xp=array_module(self.backend))
        self.classes_ = classes
        self._set_trained(trained)
        return self

    def _set_trained(self, trained):
        self.trained_ = trained.to_host()  # one copy back from the GPU, if it trained there
        self.model_ = self.trained_.model
        self.params_ = self.trained_.params
        self.history_ = self.trained_.history
        self.input_dims_ = tuple(self.model_.input_dims)

    def _fitted_views(self, xs):
        if not hasattr(self, "trained_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(xs, y) first")
        return _as_views(xs, self.input_dims_)

    # ----------------------------------------------------- prediction
    def predict_proba(self, xs):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        xs : list of array-like
            M views, ``xs[m]`` of shape (N, D_m) as in ``fit``.

        Returns
        -------
        ndarray (N, K)
        """
        xs = self._fitted_views(xs)
        return self.trained_.predict_proba(xs)

    def predict(self, xs):
        """The most probable class of each sample.

        Parameters
        ----------
        xs : list of array-like
            M views, ``xs[m]`` of shape (N, D_m).

        Returns
        -------
        ndarray (N,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(xs)
        return self.classes_[proba.argmax(axis=1)]

    def score(self, xs, y):
        """Accuracy of :meth:`predict` on ``(xs, y)``.

        Parameters
        ----------
        xs : list of array-like
        y : array-like (N,)

        Returns
        -------
        float
        """
        pred = self.predict(xs)
        y = _as_label_array(y, len(pred))
        return float(np.mean(pred == y))

    def uncertainty(self, xs):
        """EAU's per-view aleatoric uncertainty and the fusion weights it gives (SPEC §6).

        Parameters
        ----------
        xs : list of array-like
            M views, ``xs[m]`` of shape (N, D_m).

        Returns
        -------
        ViewUncertainty
            ``u`` (M, N), ``sigma`` (M, N, D), ``weights`` (M, N).

        Raises
        ------
        NotImplementedError
            For a baseline without Gaussian heads (concat, late, tmc, qmf, unimodal).
        """
        xs = self._fitted_views(xs)
        model, params = self.model_, self.params_
        if not isinstance(model, EAU):
            raise NotImplementedError(
                f"uncertainty: method {self.method!r} has no per-view aleatoric uncertainty (only 'eau', 'mean' and "
                "'precision' have Gaussian heads); predict_with_uncertainty(xs) gives the MC-dropout split for every method")
        trained = self.trained_
        return ViewUncertainty(u=trained.uncertainty(xs), sigma=np.exp(0.5 * trained.embed(xs)[1]),
                               weights=trained.fusion_weights(xs))

    def predict_with_uncertainty(self, xs, n_samples=30, seed=None):
        r"""MC-dropout prediction with the aleatoric / epistemic split of its entropy (SPEC §9).

        ``n_samples`` passes, each with fresh dropout masks in every encoder,
        give probabilities :math:`p_t` (N, K);
        :func:`mini_eau.uncertainty.mc_dropout_predict` stacks them and
        :func:`mini_eau.uncertainty.decompose_entropy` splits
        :math:`H[\bar p]` = aleatoric + epistemic.

        Parameters
        ----------
        xs : list of array-like
            M views, ``xs[m]`` of shape (N, D_m).
        n_samples : int
            Number of passes T >= 1 [30].
        seed : int, optional
            Seeds the masks [the estimator's ``seed``]: the same seed gives the same result.

        Returns
        -------
        PredictiveUncertainty
            ``proba`` (N, K), ``prediction``, ``total``, ``aleatoric``, ``epistemic`` (N,).
        """
        xs = self._fitted_views(xs)
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral):
            raise TypeError(f"n_samples: expected an integer, got {type(n_samples).__name__}")
        if n_samples < 1:
            raise ValueError(f"n_samples: expected an integer >= 1, got {n_samples}")
        seed = self.seed if seed is None else seed
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed: expected an integer or None, got {type(seed).__name__}")
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
        """Write the fitted model, its settings and ``classes_`` to one ``.npz`` file (no pickle).

        Parameters
        ----------
        path : str or os.PathLike
            The file; its folder must exist.

        Returns
        -------
        path
        """
        if not hasattr(self, "trained_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(xs, y) first")
        settings = {k: _to_json(v) for k, v in self.get_params().items()}
        return checkpoint.save(path, self.trained_, extra={"estimator": settings, "classes": self.classes_.tolist()})

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
        trained = checkpoint.load(path)
        extra = meta.get("extra") or {}
        if "estimator" in extra:
            settings = dict(extra["estimator"])
            if settings.get("config") is not None:
                settings["config"] = EAUConfig(**settings["config"])
            if settings.get("train_config") is not None:
                settings["train_config"] = TrainConfig(**settings["train_config"])
            if settings.get("hidden") is not None:
                settings["hidden"] = tuple(settings["hidden"])
            est = cls(**settings)
            est.classes_ = np.asarray(extra["classes"])
        else:  # a plain Trained checkpoint
            est = cls(method=trained.model.name, config=trained.model.config)
            est.classes_ = np.arange(trained.model.n_classes)
        est._set_trained(trained)
        return est


def make_classifier(name, **keywords):
    """The estimator for method ``name`` (``"eau"``, ``"concat"``, ``"late"``, ``"tmc"``, ...).

    Parameters
    ----------
    name : str
        A name of :data:`mini_eau.lab.baselines.METHODS`.
    **keywords
        Any keyword of :class:`EAUClassifier`.

    Returns
    -------
    EAUClassifier
    """
    return EAUClassifier(method=name, **keywords)


# ------------------------------------------------------------ helpers
def _as_views(xs, input_dims=None):
    """``xs`` as a list of float64 NumPy arrays (N, D_m); TypeError / ValueError naming what is wrong."""
    if isinstance(xs, MultimodalData):
        raise TypeError("xs: expected a list of M >= 2 arrays, got a MultimodalData; pass data.xs (and data.y)")
    if not isinstance(xs, (list, tuple)):
        raise TypeError(f"xs: expected a list of M >= 2 arrays, one (N, D_m) array per view, got {type(xs).__name__}")
    if len(xs) < 2:
        raise ValueError(f"xs: expected M >= 2 views (one array per view), got {len(xs)}")
    if input_dims is not None and len(xs) != len(input_dims):
        raise ValueError(f"xs: expected {len(input_dims)} views as in fit, got {len(xs)}")
    views = []
    for m, x in enumerate(xs):
        if not (hasattr(x, "shape") or hasattr(x, "__array__") or isinstance(x, (list, tuple))):
            raise TypeError(f"xs[{m}]: expected an (N, D_{m}) array, got {type(x).__name__}")
        try:
            v = np.asarray(to_numpy(x), dtype=np.float64)  # to_numpy: CuPy arrays come back to the host
        except (TypeError, ValueError) as err:
            raise ValueError(f"xs[{m}]: expected an (N, D_{m}) array of numbers ({err})") from None
        check_array(f"xs[{m}]", v, ndim=2)
        if input_dims is not None and v.shape[1] != input_dims[m]:
            raise ValueError(f"xs[{m}]: expected {input_dims[m]} features as in fit, got shape {v.shape}")
        views.append(v)
    check_same_batch(**{f"xs[{m}]": v for m, v in enumerate(views)})
    return views


def _as_label_array(y, n):
    if isinstance(y, (str, bytes, dict, set)) or not (hasattr(y, "__array__") or isinstance(y, (list, tuple))):
        raise TypeError(f"y: expected an array of N class labels, got {type(y).__name__}")
    y = np.asarray(to_numpy(y))
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y: expected shape ({n},), one label per sample, got {y.shape}")
    return y


def _encode_labels(y, n):
    """``(classes, index)``: the sorted distinct labels and each sample's position among them."""
    y = _as_label_array(y, n)
    if y.dtype.kind == "f" and not (np.isfinite(y).all() and np.array_equal(y, np.round(y))):
        raise ValueError("y: expected class labels, got non-integer or non-finite floats")
    classes, index = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"y: expected at least 2 classes, got only {classes.tolist()}")
    return classes, index.reshape(-1).astype(np.int64)


def _to_json(value):
    if isinstance(value, EAUConfig):
        return value.to_dict()
    if isinstance(value, TrainConfig):
        return asdict(value)
    if isinstance(value, tuple):
        return list(value)
    return value
