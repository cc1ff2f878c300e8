"""EAUClassifier: a scikit-learn classifier for several views, with uncertainty out (issues 13, 18, 19)."""
import copy
import io
import pickle

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import strict_array as sa

from mini_eau import EAU, EAUClassifier, EAUConfig, make_classifier
from mini_eau.lab import estimator
from mini_eau.lab.data import MultimodalData
from mini_eau.lab.estimator import InvalidParameterError, NotFittedError
from mini_eau.lab.train import TrainConfig, fit

SMALL = dict(hidden=(8,), d_embed=4, d_bottleneck=4)
FAST = dict(SMALL, epochs=15, batch_size=32)


def two_views(n=96, seed=0):
    """Three classes, visible in both views (view b less clearly)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = rng.normal(size=(3, 7)) * 3
    return [centres[y, :3] + rng.normal(size=(n, 3)), centres[y, 3:] + 2 * rng.normal(size=(n, 4))], y


def one_x(n=96, seed=0):
    """The same problem as one (n, 7) matrix: columns 0-2 are view a, 3-6 view b."""
    xs, y = two_views(n, seed)
    return np.hstack(xs), y


@pytest.fixture(scope="module")
def fitted():
    xs, y = two_views()
    return EAUClassifier(**dict(FAST, epochs=100)).fit(xs, y), xs, y


# ------------------------------------------------------- the basic loop
def test_fit_predict_proba_score(fitted):
    clf, xs, y = fitted
    proba = clf.predict_proba(xs)
    assert type(proba) is np.ndarray and proba.shape == (len(y), 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    pred = clf.predict(xs)
    assert type(pred) is np.ndarray and set(pred) <= {0, 1, 2}
    assert clf.score(xs, y) == np.mean(pred == y) > 0.8  # an easy problem: it learns
    assert clf.input_dims_ == (3, 4) and list(clf.classes_) == [0, 1, 2] and len(clf.history_) == 100
    assert clf.views_ is None and clf.n_features_in_ == 7 and clf.n_iter_ == 100


def test_plain_lists_and_any_labels():
    xs, y = two_views(48)
    names = np.array(["cat", "dog", "eel"])[y]
    clf = EAUClassifier(**dict(FAST, epochs=2)).fit([x.tolist() for x in xs], list(names))
    assert list(clf.classes_) == ["cat", "dog", "eel"]
    pred = clf.predict([x.tolist() for x in xs])
    assert type(pred) is np.ndarray and set(pred) <= {"cat", "dog", "eel"}
    assert 0.0 <= clf.score(xs, names) <= 1.0


def test_integer_features_are_converted():
    xs, y = two_views(48)
    clf = EAUClassifier(**dict(FAST, epochs=1)).fit([np.round(x).astype(int) for x in xs], y)
    assert clf.predict_proba([np.round(x).astype(int) for x in xs]).dtype == np.float64


# ------------------------------------------------- one X and views=
@pytest.mark.parametrize("views, columns", [
    ([3, 4], [[0, 1, 2], [3, 4, 5, 6]]),                 # sizes of consecutive groups
    (2, [[0, 1, 2, 3], [4, 5, 6]]),                      # a number of near-equal groups
    ([[0, 1, 2], [3, 4, 5, 6]], [[0, 1, 2], [3, 4, 5, 6]]),  # column-index lists
    ([[6, 0], [2, 4]], [[6, 0], [2, 4]]),                # any columns, any order; the rest unused
])
def test_one_x_with_views(views, columns):
    X, y = one_x(48)
    clf = EAUClassifier(views=views, **dict(FAST, epochs=2)).fit(X, y)
    assert [c.tolist() for c in clf.views_] == columns and clf.n_features_in_ == 7
    assert clf.input_dims_ == tuple(len(c) for c in columns)
    # the same model as the list of those views gives the same predictions
    twin = EAUClassifier(**dict(FAST, epochs=2)).fit([X[:, c] for c in columns], y)
    assert np.array_equal(clf.predict_proba(X), twin.predict_proba([X[:, c] for c in columns]))


def test_dataframe_and_column_names():
    pd = pytest.importorskip("pandas")
    X, y = one_x(48)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(7)])
    clf = EAUClassifier(views=[["f0", "f1", "f2"], ["f3", "f4", "f5", "f6"]], **dict(FAST, epochs=2)).fit(df, y)
    assert list(clf.feature_names_in_) == list(df.columns) and [c.tolist() for c in clf.views_] == [[0, 1, 2], [3, 4, 5, 6]]
    with pytest.warns(UserWarning, match="does not have valid feature names"):  # scikit-learn's warning, as for its own
        assert np.array_equal(clf.predict_proba(df), clf.predict_proba(X))
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df[list(reversed(df.columns))])
    with pytest.raises(ValueError, match=r"views\[1\]: no column\(s\) \['g'\]"):
        EAUClassifier(views=[["f0"], ["g"]]).fit(df, y)


def test_scaling_inside_fit_makes_units_irrelevant():
    """With scale=True (the default) a user's units do not matter: the same data in other units, the same model."""
    X, y = one_x(48)
    units = np.array([1e-3, 1.0, 1e3, 5.0, 1e4, 2e-2, 7.0])
    a = EAUClassifier(views=[3, 4], **dict(FAST, epochs=3)).fit(X, y)
    b = EAUClassifier(views=[3, 4], **dict(FAST, epochs=3)).fit(X * units + 100.0, y)
    assert np.allclose(a.predict_proba(X), b.predict_proba(X * units + 100.0), atol=1e-8)
    assert a.scalers_ is not None and EAUClassifier(views=[3, 4], scale=False, **dict(FAST, epochs=1)).fit(X, y).scalers_ is None


def test_step_budget_gives_small_sets_enough_updates():
    X, y = one_x(48)
    # 48 rows at batch 32: one full batch per epoch, so 7 steps are 7 epochs
    clf = EAUClassifier(views=2, steps=7, batch_size=32, **SMALL).fit(X, y)
    assert clf.n_iter_ == len(clf.history_) == 7
    # at batch 16, three batches per epoch: ceil(7 / 3) = 3 epochs
    assert EAUClassifier(views=2, steps=7, batch_size=16, **SMALL).fit(X, y).n_iter_ == 3
    # epochs, when given, replaces the step budget
    assert EAUClassifier(views=2, steps=7, epochs=2, **SMALL).fit(X, y).n_iter_ == 2


# ------------------------------------------------ scikit-learn's own checks
@parametrize_with_checks([EAUClassifier(views=2, steps=60, **SMALL), make_classifier("tmc", views=2, steps=60, **SMALL)])
def test_scikit_learn_estimator_checks(estimator, check):
    # No expected failures: with views=2 every check's X splits into two views, and an X of
    # one column gets the "1 feature(s)" error the check asks for.  The list-of-views form
    # is outside these checks (they pass one 2-D X); the tests above cover it.
    check(estimator)


def test_is_a_classifier_with_scikit_learn_params():
    clf = EAUClassifier(views=[3, 4], temperature=0.5, steps=50)
    assert is_classifier(clf)
    p = clf.get_params()
    # every EAUConfig field is a keyword, with EAUConfig's default
    defaults = EAUConfig().__dict__
    assert [f for f in defaults if p[f] != defaults[f]] == ["temperature"]
    assert p["temperature"] == 0.5 and p["steps"] == 50 and p["method"] == "eau" and p["random_state"] == 0
    twin = clone(clf)
    assert twin.get_params() == p and twin is not clf
    assert repr(clf) == "EAUClassifier(steps=50, temperature=0.5, views=[3, 4])"
    with pytest.raises(ValueError, match="Invalid parameter 'epoch'"):
        clf.set_params(epoch=4)
    with pytest.raises(TypeError, match=r"unknown keyword\(s\) \['temprature'\]"):
        EAUClassifier(temprature=0.5)
    with pytest.raises(TypeError, match=r"\['seed'\] \(seed is now random_state\)"):
        EAUClassifier(seed=0)


def test_set_params_stores_and_fit_checks():
    """No logic in __init__ or set_params: a bad value is kept until fit names it, and clone still works."""
    X, y = one_x(48)
    clf = EAUClassifier(views=2, **dict(FAST, epochs=1))
    assert clf.set_params(lr="fast") is clf and clf.lr == "fast"
    assert clone(clf).lr == "fast"
    with pytest.raises(InvalidParameterError, match="^lr: expected a finite number > 0, got 'fast'$"):
        clf.fit(X, y)
    assert not hasattr(clf, "classes_")  # refused before any work
    clf.set_params(lr=1e-2).fit(X, y)
    assert clf.predict(X).shape == (48,)


def test_pipeline_cross_val_score_and_grid_search():
    X, y = one_x(60)
    pipe = make_pipeline(StandardScaler(), EAUClassifier(views=[3, 4], steps=150, **SMALL))
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3))
    assert scores.shape == (3,) and scores.min() > 0.5  # three classes, easy: it learns in every fold
    # any keyword, a model one (temperature) and a training one (lr) alike
    grid = GridSearchCV(pipe, {"eauclassifier__temperature": [0.1, 1.0], "eauclassifier__lr": [3e-3, 1e-2]}, cv=2)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4 and grid.best_estimator_[-1].temperature in (0.1, 1.0)
    assert grid.predict(X).shape == (60,)


@pytest.mark.parametrize("method", ["eau", "tmc"])
def test_pickle_deepcopy_joblib_round_trips(method):
    joblib = pytest.importorskip("joblib")
    X, y = one_x(48)
    clf = make_classifier(method, views=[3, 4], **dict(FAST, epochs=2)).fit(X, y)
    buffer = io.BytesIO()
    joblib.dump(clf, buffer)
    buffer.seek(0)
    for back in (pickle.loads(pickle.dumps(clf)), copy.deepcopy(clf), joblib.load(buffer)):
        assert np.array_equal(back.predict_proba(X), clf.predict_proba(X))
        assert np.array_equal(back.predict_with_uncertainty(X, 3).proba, clf.predict_with_uncertainty(X, 3).proba)
        assert back.get_params() == clf.get_params()


def test_random_state():
    X, y = one_x(48)
    runs = [EAUClassifier(views=2, random_state=s, **dict(FAST, epochs=2)).fit(X, y).predict_proba(X)
            for s in (3, 3, 4)]
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])
    # a Generator drives the fit and advances: two fits from it differ
    gen_clf = EAUClassifier(views=2, random_state=np.random.default_rng(3), **dict(FAST, epochs=2))
    assert not np.array_equal(gen_clf.fit(X, y).predict_proba(X), gen_clf.fit(X, y).predict_proba(X))
    assert EAUClassifier(views=2, random_state=None, **dict(FAST, epochs=1)).fit(X, y).__sklearn_tags__().non_deterministic


# --------------------------------------------------------- uncertainty
def test_uncertainty_shapes_and_weights(fitted):
    clf, xs, y = fitted
    u = clf.uncertainty(xs)
    assert u.u.shape == (2, len(y)) and u.sigma.shape == (2, len(y), 4) and u.weights.shape == (2, len(y))
    assert np.allclose(u.weights.sum(axis=0), 1.0) and (u.weights >= 0).all()
    assert np.allclose(u.u, u.sigma.mean(axis=2)) and (u.sigma > 0).all()


def test_mc_dropout_split(fitted):
    clf, xs, _ = fitted
    r = clf.predict_with_uncertainty(xs, n_samples=8)
    assert np.array_equal(r.total, r.aleatoric + r.epistemic)
    assert (r.epistemic >= 0).all() and r.epistemic.max() > 0  # dropout on (keep_prob 0.8): passes differ
    assert np.allclose(r.proba.sum(axis=1), 1.0)
    assert np.array_equal(r.prediction, clf.classes_[r.proba.argmax(axis=1)])
    again = clf.predict_with_uncertainty(xs, n_samples=8)
    assert np.array_equal(again.proba, r.proba) and np.array_equal(again.epistemic, r.epistemic)
    other = clf.predict_with_uncertainty(xs, n_samples=8, seed=1)
    assert not np.array_equal(other.proba, r.proba)


def test_no_dropout_means_no_epistemic():
    xs, y = two_views(48)
    clf = EAUClassifier(keep_prob=1.0, **dict(FAST, epochs=2)).fit(xs, y)
    r = clf.predict_with_uncertainty(xs, n_samples=4)
    assert np.all(r.epistemic == 0) and np.allclose(r.proba, clf.predict_proba(xs))


# ---------------------------------------------------------- baselines
@pytest.mark.parametrize("name", ["concat", "late", "tmc"])
def test_baselines_by_name(name):
    xs, y = two_views(48)
    clf = make_classifier(name, **dict(FAST, epochs=2)).fit(xs, y)
    assert clf.model_.name == name and clf.get_params()["method"] == name
    assert clf.predict_proba(xs).shape == (48, 3)
    r = clf.predict_with_uncertainty(xs, n_samples=3)
    assert np.array_equal(r.total, r.aleatoric + r.epistemic)
    with pytest.raises(NotImplementedError, match="predict_with_uncertainty"):
        clf.uncertainty(xs)


# ------------------------------------------------------- checkpoints
def test_save_load_round_trip(tmp_path, fitted):
    clf, xs, _ = fitted
    clf.save(tmp_path / "clf.npz")
    back = EAUClassifier.load(tmp_path / "clf.npz")
    assert np.array_equal(back.predict_proba(xs), clf.predict_proba(xs))
    assert np.array_equal(back.classes_, clf.classes_) and back.get_params() == clf.get_params()
    assert np.array_equal(back.predict_with_uncertainty(xs, 3).proba, clf.predict_with_uncertainty(xs, 3).proba)


def test_save_load_one_x_with_scaling_and_string_labels(tmp_path):
    X, y = one_x(48)
    labels = np.array(["cat", "dog", "eel"])[y]
    clf = EAUClassifier(views=[[0, 1, 2], [3, 4, 5, 6]], **dict(FAST, epochs=2)).fit(X * 100.0, labels)
    clf.save(tmp_path / "clf.npz")
    back = EAUClassifier.load(tmp_path / "clf.npz")
    assert np.array_equal(back.predict_proba(X * 100.0), clf.predict_proba(X * 100.0))
    assert list(back.predict(X * 100.0)) == list(clf.predict(X * 100.0))
    assert [c.tolist() for c in back.views_] == [c.tolist() for c in clf.views_]
    with pytest.raises(ValueError, match="X has 6 features, but EAUClassifier is expecting 7"):
        back.predict(X[:, :6])


def test_load_a_plain_trained_checkpoint(tmp_path):
    xs, y = two_views(48)
    tr = fit(EAU((3, 4), 3, EAUConfig(hidden=(8,))), MultimodalData(xs, y), TrainConfig(epochs=1, batch_size=16))
    tr.save(tmp_path / "tr.npz")
    clf = EAUClassifier.load(tmp_path / "tr.npz")
    assert np.array_equal(clf.predict_proba(xs), tr.predict_proba(xs)) and list(clf.classes_) == [0, 1, 2]


def test_load_a_file_from_before_the_scikit_learn_keywords(tmp_path):
    """Files written by the earlier estimator (seed=, config=, no scaling) still load and predict alike."""
    xs, y = two_views(48)
    config = EAUConfig(hidden=(8,), temperature=0.5)
    tr = fit(EAU((3, 4), 3, config), MultimodalData(xs, y), TrainConfig(epochs=1, batch_size=16))
    old = {"method": "eau", "config": config.to_dict(), "hidden": None, "temperature": None,
           "train_config": {"epochs": 1, "batch_size": 16, "lr": 3e-3, "weight_decay": 0.0, "augment": None},
           "epochs": None, "train_noise": "auto", "seed": 4, "backend": None, "verbose": False}
    tr.save(tmp_path / "old.npz", extra={"estimator": old, "classes": ["a", "b", "c"]})
    clf = EAUClassifier.load(tmp_path / "old.npz")
    assert np.array_equal(clf.predict_proba(xs), tr.predict_proba(xs)) and list(clf.classes_) == ["a", "b", "c"]
    assert clf.random_state == 4 and clf.temperature == 0.5 and clf.hidden == (8,) and clf.scale is False


def test_device_training_predicts_on_the_host(monkeypatch):
    # the strict stand-in for CuPy: any implicit host copy during training would raise
    monkeypatch.setattr(estimator, "array_module", lambda name: sa.xp)
    xs, y = two_views(48)
    clf = EAUClassifier(**dict(FAST, epochs=1)).fit(xs, y)
    assert all(type(v) is np.ndarray for v in clf.params_.values())
    assert type(clf.predict_proba(xs)) is np.ndarray


# ---------------------------------------------- the defaults, on real data
@pytest.mark.slow
def test_defaults_within_3_points_of_logistic_regression():
    """Default settings on raw features, 5-fold, against LogisticRegression on standardised features (issue 18).

    ``python -m benchmarks.estimator_defaults`` prints the same comparison as a table.
    """
    from benchmarks.estimator_defaults import SETS, compare

    for name in SETS:
        eau, logistic = compare(name)
        print(f"{name}: EAU {eau.mean():.3f}, LogisticRegression {logistic.mean():.3f}")
        assert eau.mean() >= logistic.mean() - 0.03, name


# ------------------------------------------------ wrong types, bad values
def test_wrong_containers_raise_type_error():
    xs, y = two_views(48)
    with pytest.raises(TypeError, match=r"X: got one ndarray of shape \(48, 7\) and views=None; say which columns"):
        EAUClassifier().fit(np.hstack(xs), y)
    with pytest.raises(TypeError, match="got a MultimodalData; pass data.xs"):
        EAUClassifier().fit(MultimodalData(xs, y), y)
    with pytest.raises(TypeError, match=r"X\[1\]: expected an \(N, D_1\) array, got dict"):
        EAUClassifier().fit([xs[0], {"a": 1}], y)
    with pytest.raises(TypeError, match="y: expected an array"):
        EAUClassifier().fit(xs, "abc")
    with pytest.raises(ValueError, match="X: got a list of 2 2-D arrays and views=2; pass one 2-D X"):
        EAUClassifier(views=2).fit(xs, y)


def test_fit_names_wrong_argument_types():
    xs, y = two_views(48)
    model, data = EAU((3, 4), 3), MultimodalData(xs, y)
    with pytest.raises(TypeError, match="data: expected a MultimodalData.*got list.*EAUClassifier"):
        fit(model, xs, TrainConfig(epochs=1))
    with pytest.raises(TypeError, match="config: expected a TrainConfig.*got dict"):
        fit(model, data, {"epochs": 2})
    with pytest.raises(TypeError, match="rng: expected a numpy.random.Generator"):
        fit(model, data, TrainConfig(epochs=1), rng=0)


def test_eau_config_type():
    with pytest.raises(TypeError, match="config.*EAUConfig"):
        EAU((3, 4), 3, {"temperature": 0.5})


@pytest.mark.parametrize("keywords, message", [
    # issue 19's rules: budgets >= 1, seeds >= 0, every other value in range
    (dict(steps=0), "steps: expected an integer >= 1, got 0"),
    (dict(epochs=-3), "epochs: expected an integer >= 1 or None, got -3"),
    (dict(steps=2.5), "steps: expected an integer >= 1, got 2.5"),
    (dict(batch_size=1), r"batch_size: expected an integer >= 2 \(the contrastive loss needs pairs\), got 1"),
    (dict(random_state=-1), "random_state: expected an integer >= 0, a numpy Generator or None, got -1"),
    (dict(random_state="0"), "random_state: expected an integer >= 0"),
    (dict(lr=0.0), r"lr: expected a finite number > 0, got 0.0"),
    (dict(weight_decay=-1e-3), "weight_decay: expected a finite number >= 0"),
    (dict(train_noise=-1.0), "train_noise: expected 'auto', a number > 0 or None, got -1.0"),
    (dict(scale="yes"), "scale: expected True or False, got 'yes'"),
    (dict(backend="torch"), "backend: expected 'numpy', 'cupy' or None, got 'torch'"),
    (dict(method="transformer"), r"method: expected one of 'eau', 'concat'.*'unimodal_<m>'.*got 'transformer'"),
    (dict(method=3), "method: expected one of"),
    (dict(temperature=-1.0), "temperature"),
    (dict(keep_prob=1.5), "keep_prob"),
    (dict(hidden="wide"), "hidden"),
    (dict(views="ab"), "views: expected column-group sizes"),
])
def test_bad_settings_fail_in_fit_in_one_line_naming_the_keyword(keywords, message):
    X, y = one_x(48)
    clf = EAUClassifier(**dict(dict(views=2, **FAST), **keywords))  # stored as given, no check yet
    with pytest.raises(InvalidParameterError, match=message) as err:
        clf.fit(X, y)
    assert isinstance(err.value, ValueError) and "\n" not in str(err.value)
    assert str(err.value).startswith(next(iter(keywords)))
    assert not hasattr(clf, "classes_")


@pytest.mark.parametrize("views, message", [
    ([6], r"views: expected M >= 2 views, got 1"),
    ([3, 3], r"views: expected group sizes >= 1 adding up to X's 7 columns, got \[3, 3\] \(sum 6\)"),
    (8, r"views: cannot split 7 feature\(s\) into 8 views"),
    ([[0, 1], [7]], r"views\[1\]: expected distinct column indices in 0..6, got \[7\]"),
    ([[0, 1], []], r"views\[1\]: expected at least one column"),
    ([["a"], ["b"]], r"views\[0\]: column names \['a'\] need a DataFrame X"),
])
def test_views_that_do_not_fit_x(views, message):
    X, y = one_x(48)
    with pytest.raises(ValueError, match=message):
        EAUClassifier(views=views, **FAST).fit(X, y)


def test_make_classifier_refuses_an_unknown_name_at_once():
    with pytest.raises(InvalidParameterError, match=r"name: expected one of 'eau', .*'qmf' or 'unimodal_<m>'.*got 'transformer'"):
        make_classifier("transformer")
    assert make_classifier("unimodal_1").method == "unimodal_1"


@pytest.mark.parametrize("bad, match", [
    (lambda xs, y: ([xs[0]], y), "M >= 2 views"),
    (lambda xs, y: ([xs[0], xs[1][:-1]], y), "batch sizes differ"),
    (lambda xs, y: ([xs[0], np.where(xs[1] > 1, np.nan, xs[1])], y), r"X\[1\]: contains NaN"),
    (lambda xs, y: ([xs[0], xs[1][:, 0]], y), r"X\[1\]: expected a 2-d \(N, D_1\) array, got shape \(48,\); "
                                              r"a view of one feature is x.reshape\(-1, 1\)"),
    (lambda xs, y: ([xs[0], [["a"] * 4] * 48], y), r"X\[1\]: expected an \(N, D_1\) array of numbers"),
    (lambda xs, y: (xs, y[:-1]), r"y: expected shape \(48,\)"),
    (lambda xs, y: (xs, np.zeros(48)), r"y: expected at least 2 classes, got 1 class"),
    (lambda xs, y: (xs, y + 0.5), "Unknown label type: continuous"),
    (lambda xs, y: (xs, np.where(y == 0, None, np.array(["a", "b", "c"])[y])),
     r"y: \d+ label\(s\) missing \(None or NaN\), the first at index \d+"),
    (lambda xs, y: (xs, np.array(["a", 1, 2.0] * 16, dtype=object)), r"y: expected labels of one kind.*\['number', 'str'\]"),
])
def test_bad_values_raise_value_error_naming_the_argument(bad, match):
    xs, y = bad(*two_views(48))
    with pytest.raises(ValueError, match=match):
        EAUClassifier(**dict(FAST, epochs=1)).fit(xs, y)


def test_one_x_reshape_hint_and_nan():
    X, y = one_x(48)
    with pytest.raises(ValueError, match=r"Reshape your data.*reshape\(-1, 1\)"):
        EAUClassifier(views=2, **FAST).fit(X[:, 0], y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        EAUClassifier(views=2, **FAST).fit(np.where(X > 1, np.nan, X), y)


def test_bad_values_at_prediction(fitted):
    clf, xs, _ = fitted
    with pytest.raises(ValueError, match=r"X\[1\]: expected 4 features as in fit"):
        clf.predict([xs[0], xs[1][:, :3]])
    with pytest.raises(ValueError, match="expected 2 views as in fit"):
        clf.predict(xs + [xs[0]])
    with pytest.raises(InvalidParameterError, match="^n_samples: expected an integer >= 1, got 2.5$"):
        clf.predict_with_uncertainty(xs, n_samples=2.5)
    with pytest.raises(InvalidParameterError, match="^n_samples: expected an integer >= 1, got 0$"):
        clf.predict_with_uncertainty(xs, n_samples=0)
    with pytest.raises(InvalidParameterError, match="^seed: expected an integer >= 0 or None, got -1$"):
        clf.predict_with_uncertainty(xs, seed=-1)
    with pytest.raises(NotFittedError, match="not fitted"):
        EAUClassifier().predict(xs)
    with pytest.raises(NotFittedError, match="not fitted"):
        EAUClassifier().save("never.npz")


def test_docstring_example_runs():
    import doctest

    assert doctest.testmod(estimator).failed == 0


def test_train_noise_auto_teaches_the_variance_heads_the_noise():
    """The estimator's default redraws training noise (3 x the data's RMS): u then follows test noise."""
    from mini_eau.lab.data import ToyProblem

    prob = ToyProblem(seed=0)
    rng = np.random.default_rng(0)
    train = prob.sample(1000, rng, noise_a=0.0, noise_b=0.0)
    clean, noisy = (prob.sample(300, np.random.default_rng(1), noise_a=s, noise_b=0.0) for s in (0.0, 4.0))
    clf = EAUClassifier(epochs=12, random_state=0).fit(train.xs, train.y)
    u_clean, u_noisy = clf.uncertainty(clean.xs), clf.uncertainty(noisy.xs)
    assert u_noisy.u[0].mean() > 1.5 * u_clean.u[0].mean()       # the noisy view's sigma rises
    assert u_noisy.weights[0].mean() < 0.5 * u_clean.weights[0].mean()  # and the fusion turns away from it


def test_noise_free_multimodal_data():
    xs, y = two_views(48)
    data = MultimodalData(xs, y)  # own data: no noise, K from the labels
    assert data.n_classes == 3 and data.noise.shape == (2, 48) and not data.noise.any()
    with pytest.raises(ValueError, match="at least 2 classes"):
        MultimodalData(xs, np.zeros(48, dtype=int))


def test_training_without_noise_warns_that_the_variance_heads_only_extrapolate():
    import warnings

    from mini_eau.lab.estimator import CleanTrainingWarning

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 6)), np.arange(60) % 3
    with pytest.warns(CleanTrainingWarning, match="train_noise=None: the variance heads are trained on clean data"):
        EAUClassifier(views=[3, 3], train_noise=None, steps=2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CleanTrainingWarning)
        EAUClassifier(views=[3, 3], steps=2).fit(X, y)                                # the default trains with noise
        EAUClassifier(views=[3, 3], method="concat", train_noise=None, steps=2).fit(X, y)   # no variance heads
