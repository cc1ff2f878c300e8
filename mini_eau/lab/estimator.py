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

import math
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from ..backend import array_module
from ..encoders import draw_masks
from ..model import EAU
from ..uncertainty import mc_dropout_predict
from .baselines import make_method
from .data import MultimodalData, noise_unit
from .estimator_inputs import (CLEAN_TRAINING, MODEL_DEFAULTS, RENAMED, TRAIN_DEFAULTS, CleanTrainingWarning, InvalidParameterError,
                               as_labels, as_views, check_int, check_method, check_seed, encode_labels,
                               check_settings, column_names, generator, refuse_list_of_views, resolve_views,
                               with_model_keywords)
from .estimator_results import PredictiveUncertainty, ViewUncertainty, checkpoint_extra, restore
from .train import NoiseAugmentation, TrainConfig, fit

__all__ = ["EAUClassifier", "make_classifier", "ViewUncertainty", "PredictiveUncertainty", "NotFittedError",
           "InvalidParameterError", "CleanTrainingWarning", "DEFAULT_STEPS"]

DEFAULT_STEPS = 1500
"""The default training budget in Adam steps, as the demo's; chosen by ``python -m benchmarks.estimator_defaults --steps 800 1500 3000``."""


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

    @with_model_keywords
    def __init__(self, method="eau", *, views=None, scale=True, steps=DEFAULT_STEPS, epochs=None,
                 batch_size=TRAIN_DEFAULTS.batch_size, lr=TRAIN_DEFAULTS.lr,
                 weight_decay=TRAIN_DEFAULTS.weight_decay, train_noise="auto", random_state=0, backend=None,
                 verbose=False, **model_settings):
        # stored as given (scikit-learn's rule): fit checks them
        self.method, self.views, self.scale, self.steps, self.epochs = method, views, scale, steps, epochs
        self.batch_size, self.lr, self.weight_decay, self.train_noise = batch_size, lr, weight_decay, train_noise
        self.random_state, self.backend, self.verbose = random_state, backend, verbose
        unknown = sorted(set(model_settings) - set(MODEL_DEFAULTS))
        if unknown:  # what Python says for any unknown keyword, with the list to choose from
            hints = "".join(RENAMED[k] for k in unknown if k in RENAMED)
            raise TypeError(f"EAUClassifier: unknown keyword(s) {unknown}{hints}; "
                            f"the model's keywords are {list(MODEL_DEFAULTS)}")
        for name, default in MODEL_DEFAULTS.items():
            setattr(self, name, model_settings.get(name, default))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags

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
        model_config = check_settings(self)
        rng = generator(self.random_state)
        xs, y = self._views_for_fit(X, y)
        encoder = encode_labels(y)
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
            xs = as_views(X)
            y = as_labels(y, len(xs[0]))
            self.views_ = None
            self.n_features_in_ = sum(x.shape[1] for x in xs)
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return xs, y
        refuse_list_of_views(X, self.views)
        names = column_names(X)
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2)
        self.views_ = resolve_views(self.views, X.shape[1], names)
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
            xs = as_views(X, self.input_dims_)
        else:
            refuse_list_of_views(X, self.views)
            X = validate_data(self, X, reset=False, dtype=np.float64)
            xs = [X[:, cols] for cols in self.views_]
        return self._scaled(xs)

    # ----------------------------------------------------- prediction
    def predict_proba(self, X):
        """Class probabilities (N, K), columns in the order of ``classes_``; ``X`` as in :meth:`fit`."""
        xs = self._views_for_prediction(X)  # first: it says NotFittedError before fit
        return self.trained_.predict_proba(xs)

    def predict(self, X):
        """The most probable class of each sample (N,), a label from ``classes_``; ``X`` as in :meth:`fit`."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def uncertainty(self, X):
        """EAU's per-view aleatoric uncertainty and the fusion weights it gives (SPEC §6).

        ``X`` as in :meth:`fit`.  Returns a :class:`ViewUncertainty`: ``u`` (M, N),
        ``sigma`` (M, N, D), ``weights`` (M, N).

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
            One 2-D array split by ``views``, or the list of views, as in :meth:`fit`.
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
        check_int("n_samples", n_samples, 1)
        if seed is not None:
            check_seed("seed", seed, generators=False)
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
        return self.trained_.save(path, extra=checkpoint_extra(self))

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
        return restore(cls, path)


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
    check_method("name", name)
    return EAUClassifier(method=name, **keywords)
