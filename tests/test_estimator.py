"""EAUClassifier: plain arrays in, NumPy out, uncertainty out, settings like scikit-learn (issue 13)."""
import numpy as np
import pytest

import strict_array as sa

from mini_eau import EAU, EAUClassifier, EAUConfig, make_classifier
from mini_eau.lab import estimator
from mini_eau.lab.data import MultimodalData
from mini_eau.lab.estimator import NotFittedError
from mini_eau.lab.train import TrainConfig, fit

FAST = dict(hidden=(8,), d_embed=4, d_bottleneck=4, epochs=15, batch_size=32)


def two_views(n=96, seed=0):
    """Three classes, visible in both views (view b less clearly)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = rng.normal(size=(3, 7)) * 3
    return [centres[y, :3] + rng.normal(size=(n, 3)), centres[y, 3:] + 2 * rng.normal(size=(n, 4))], y


@pytest.fixture(scope="module")
def fitted():
    xs, y = two_views()
    return EAUClassifier(**FAST).fit(xs, y), xs, y


# ------------------------------------------------------- the basic loop
def test_fit_predict_proba_score(fitted):
    clf, xs, y = fitted
    proba = clf.predict_proba(xs)
    assert type(proba) is np.ndarray and proba.shape == (len(y), 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    pred = clf.predict(xs)
    assert type(pred) is np.ndarray and set(pred) <= {0, 1, 2}
    assert clf.score(xs, y) == np.mean(pred == y) > 0.8  # an easy problem: it learns
    assert clf.input_dims_ == (3, 4) and list(clf.classes_) == [0, 1, 2] and len(clf.history_) == FAST["epochs"]


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


def test_load_a_plain_trained_checkpoint(tmp_path):
    xs, y = two_views(48)
    tr = fit(EAU((3, 4), 3, EAUConfig(hidden=(8,))), MultimodalData(xs, y), TrainConfig(epochs=1, batch_size=16))
    tr.save(tmp_path / "tr.npz")
    clf = EAUClassifier.load(tmp_path / "tr.npz")
    assert np.array_equal(clf.predict_proba(xs), tr.predict_proba(xs)) and list(clf.classes_) == [0, 1, 2]


# ------------------------------------------------- settings, sklearn-style
def test_params_like_scikit_learn():
    from sklearn.base import clone

    clf = EAUClassifier(temperature=0.5, config=EAUConfig(tau=0.3), train_config=TrainConfig(lr=1e-2), epochs=3)
    p = clf.get_params()
    assert p["temperature"] == 0.5 and p["epochs"] == 3 and p["method"] == "eau"
    model_config, train_config = clf._settings()
    assert model_config.temperature == 0.5 and model_config.tau == 0.3  # keyword over config, config over default
    assert train_config.epochs == 3 and train_config.lr == 1e-2
    twin = clone(clf)
    assert twin.get_params() == p and twin is not clf
    assert clf.set_params(epochs=4) is clf and clf.epochs == 4
    with pytest.raises(ValueError, match="unknown keyword"):
        clf.set_params(epoch=4)
    assert "temperature=0.5" in repr(clf)


def test_noise_free_multimodal_data():
    xs, y = two_views(48)
    data = MultimodalData(xs, y)  # own data: no noise, K from the labels
    assert data.n_classes == 3 and data.noise.shape == (2, 48) and not data.noise.any()
    with pytest.raises(ValueError, match="at least 2 classes"):
        MultimodalData(xs, np.zeros(48, dtype=int))


def test_device_training_predicts_on_the_host(monkeypatch):
    # the strict stand-in for CuPy: any implicit host copy during training would raise
    monkeypatch.setattr(estimator, "array_module", lambda name: sa.xp)
    xs, y = two_views(48)
    clf = EAUClassifier(**dict(FAST, epochs=1)).fit(xs, y)
    assert all(type(v) is np.ndarray for v in clf.params_.values())
    assert type(clf.predict_proba(xs)) is np.ndarray


# ------------------------------------------------ wrong types, bad values
def test_wrong_containers_raise_type_error():
    xs, y = two_views(48)
    with pytest.raises(TypeError, match="xs: expected a list"):
        EAUClassifier().fit(np.hstack(xs), y)
    with pytest.raises(TypeError, match="got a MultimodalData; pass data.xs"):
        EAUClassifier().fit(MultimodalData(xs, y), y)
    with pytest.raises(TypeError, match=r"xs\[1\]: expected an \(N, D_1\) array, got dict"):
        EAUClassifier().fit([xs[0], {"a": 1}], y)
    with pytest.raises(TypeError, match="config: expected a EAUConfig or None, got dict"):
        EAUClassifier(config={"temperature": 0.5})
    with pytest.raises(TypeError, match="train_config: expected a TrainConfig"):
        EAUClassifier(train_config={"epochs": 2})
    with pytest.raises(TypeError, match="method"):
        EAUClassifier(method=3)
    with pytest.raises(TypeError, match="seed"):
        EAUClassifier(seed="0")
    with pytest.raises(TypeError, match="y: expected an array"):
        EAUClassifier().fit(xs, "abc")


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


@pytest.mark.parametrize("bad, match", [
    (lambda xs, y: ([xs[0]], y), "M >= 2 views"),
    (lambda xs, y: ([xs[0], xs[1][:-1]], y), "batch sizes differ"),
    (lambda xs, y: ([xs[0], np.where(xs[1] > 1, np.nan, xs[1])], y), r"xs\[1\]: contains NaN"),
    (lambda xs, y: ([xs[0], xs[1][:, 0]], y), r"xs\[1\]: expected a 2-d array"),
    (lambda xs, y: ([xs[0], [["a"] * 4] * 48], y), r"xs\[1\]: expected an \(N, D_1\) array of numbers"),
    (lambda xs, y: (xs, y[:-1]), r"y: expected shape \(48,\)"),
    (lambda xs, y: (xs, np.zeros(48)), "at least 2 classes"),
    (lambda xs, y: (xs, y + 0.5), "non-integer"),
])
def test_bad_values_raise_value_error_naming_the_argument(bad, match):
    xs, y = bad(*two_views(48))
    with pytest.raises(ValueError, match=match):
        EAUClassifier(**dict(FAST, epochs=1)).fit(xs, y)


def test_bad_values_at_prediction(fitted):
    clf, xs, _ = fitted
    with pytest.raises(ValueError, match=r"xs\[1\]: expected 4 features as in fit"):
        clf.predict([xs[0], xs[1][:, :3]])
    with pytest.raises(ValueError, match="expected 2 views as in fit"):
        clf.predict(xs + [xs[0]])
    with pytest.raises(TypeError, match="n_samples"):
        clf.predict_with_uncertainty(xs, n_samples=2.5)
    with pytest.raises(ValueError, match="n_samples"):
        clf.predict_with_uncertainty(xs, n_samples=0)
    with pytest.raises(ValueError, match="temperature"):
        EAUClassifier(temperature=-1.0)
    with pytest.raises(ValueError, match="method"):
        EAUClassifier(method="nope", **dict(FAST, epochs=1)).fit(xs, np.arange(len(xs[0])) % 3)
    with pytest.raises(NotFittedError, match="not fitted"):
        EAUClassifier().predict(xs)


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
    clf = EAUClassifier(epochs=12, seed=0).fit(train.xs, train.y)
    u_clean, u_noisy = clf.uncertainty(clean.xs), clf.uncertainty(noisy.xs)
    assert u_noisy.u[0].mean() > 1.5 * u_clean.u[0].mean()       # the noisy view's sigma rises
    assert u_noisy.weights[0].mean() < 0.5 * u_clean.weights[0].mean()  # and the fusion turns away from it
    with pytest.raises(ValueError, match="train_noise"):
        EAUClassifier(train_noise=-1.0)
