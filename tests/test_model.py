"""The EAU model, the baselines and the trainer (SPEC §1–§8, §10)."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from mini_eau.lab.baselines import METHODS, make_method
from mini_eau.lab.data import ToyProblem
from mini_eau.model import EAU, EAUConfig
from mini_eau.lab.train import TrainConfig, TrainingDiverged, fit


@pytest.fixture(scope="module")
def toy():
    prob = ToyProblem(seed=0)
    rng = np.random.default_rng(0)
    return prob, prob.sample(600, rng), prob.sweep(levels=(0.0, 6.0), n=300, rng=rng)


def test_loss_terms_and_shapes(toy):
    _, train, _ = toy
    model = EAU([16, 16], 4, EAUConfig(lambda_uni=0.5, variance_head="deviation"))
    rng = np.random.default_rng(0)
    params = model.init_params(rng)
    xs = [x[:8] for x in train.xs]
    loss, cache = model.loss_forward(params, xs, train.y[:8], model.draw(8, rng))
    assert set(cache["terms"]) == {"vib", "udr", "ura", "uni"}
    c = model.config
    expect = cache["terms"]["vib"] + c.lambda_udr * cache["terms"]["udr"] + c.lambda_ura * cache["terms"]["ura"] \
        + c.lambda_uni * cache["terms"]["uni"]
    assert loss == pytest.approx(expect)
    grads = model.loss_backward(1.0, cache)
    assert set(grads) == set(params)
    assert all(grads[k].shape == params[k].shape for k in params)
    st = model.init_stats()
    assert set(cache["batch_stats"]) == set(st) == {"head0.h_mean", "head0.h_var", "head1.h_mean", "head1.h_var"}
    p = model.predict_proba(params, xs, stats=st)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert model.uncertainty(params, xs, stats=st).shape == (2, 8)
    np.testing.assert_allclose(model.fusion_weights(params, xs, stats=st).sum(axis=0), 1.0)


@pytest.mark.parametrize("name", METHODS)
def test_every_method_trains_and_predicts(toy, name):
    _, train, sweep = toy
    model = make_method(name, [16, 16], 4, EAUConfig(hidden=(16,)))
    tr = fit(model, train, TrainConfig(epochs=2, batch_size=64), seed=1)
    assert len(tr.history) == 2 and math.isfinite(tr.history[-1]["loss"])
    p = tr.predict_proba(sweep[0].xs)
    assert p.shape == (300, 4) and np.allclose(p.sum(axis=1), 1.0)


def test_training_reduces_the_loss_and_learns(toy):
    _, train, sweep = toy
    tr = fit(EAU([16, 16], 4), train, TrainConfig(epochs=8, batch_size=64), seed=0)
    assert tr.history[-1]["loss"] < tr.history[0]["loss"]
    assert np.mean(tr.predict(sweep[0].xs) == sweep[0].y) > 0.7


def test_same_seed_gives_bit_identical_parameters(toy):
    _, train, _ = toy
    a = fit(EAU([16, 16], 4), train, TrainConfig(epochs=2, batch_size=100), seed=7)
    b = fit(EAU([16, 16], 4), train, TrainConfig(epochs=2, batch_size=100), seed=7)
    c = fit(EAU([16, 16], 4), train, TrainConfig(epochs=2, batch_size=100), seed=8)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert a.history == b.history
    assert not all(np.array_equal(a.params[k], c.params[k]) for k in a.params)


def test_progress_line_per_epoch(toy):
    _, train, _ = toy
    lines = []
    fit(EAU([16, 16], 4), train, TrainConfig(epochs=2, batch_size=100), seed=0, verbose=True, log=lines.append)
    assert len(lines) == 2
    assert "epoch   1/2" in lines[0] and "loss" in lines[0] and "train acc" in lines[0] and "ura" in lines[0]


def test_nan_stops_training_naming_the_step_and_term(toy):
    _, train, _ = toy

    class Exploding(EAU):
        calls = 0

        def loss_forward(self, params, xs, y, draws):
            loss, cache = super().loss_forward(params, xs, y, draws)
            Exploding.calls += 1
            if Exploding.calls == 3:
                cache["terms"]["ura"] = np.float64(np.nan)
            return loss, cache

    with pytest.raises(TrainingDiverged, match=r"step 3: loss term ura became non-finite"):
        fit(Exploding([16, 16], 4), train, TrainConfig(epochs=1, batch_size=100), seed=0)


def test_config_and_input_errors(toy):
    _, train, _ = toy
    with pytest.raises(ValueError, match="fusion: expected one of"):
        EAUConfig(fusion="attention")
    with pytest.raises(ValueError, match="ura_variant"):
        EAUConfig(ura_variant="simclr")
    with pytest.raises(ValueError, match=r"variance_head: expected one of \('deviation', 'standardised', 'raw'\), got 'layer'"):
        EAUConfig(variance_head="layer")
    with pytest.raises(ValueError, match="temperature"):
        EAUConfig(temperature=-1.0)
    with pytest.raises(ValueError, match="beta"):
        EAUConfig(beta=-0.1)
    with pytest.raises(ValueError, match="method: expected one of"):
        make_method("transformer", [16, 16], 4)
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=1)
    model = EAU([16, 16], 4)
    from mini_eau.validation import check_inputs

    with pytest.raises(ValueError, match="batch sizes differ"):
        check_inputs([train.xs[0], train.xs[1][:-1]])
    with pytest.raises(ValueError, match=r"xs\[1\]: expected shape \(\*, 16\)"):
        check_inputs([train.xs[0], train.xs[1][:, :3]], input_dims=model.input_dims)
    with pytest.raises(ValueError, match=r"y: labels must lie in \[0, 3\]"):
        check_inputs(train.xs, train.y + 4, n_classes=4)
    with pytest.raises(ValueError, match="xs: expected a list of M >= 2"):
        check_inputs([train.xs[0]])
    nan_x = train.xs[0].copy()
    nan_x[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"xs\[0\]: contains NaN"):
        check_inputs([nan_x, train.xs[1]])


def test_vib_code_is_the_bottleneck_of_predict_proba(toy):
    _, train, _ = toy
    model = EAU([16, 16], 4)
    params = model.init_params(np.random.default_rng(0))
    st = model.init_stats()
    mu_f, s_f = model.vib_code(params, [x[:5] for x in train.xs], stats=st)
    assert mu_f.shape == s_f.shape == (5, model.config.d_bottleneck)
    logits = mu_f @ params["vib.W_out"] + params["vib.b_out"]
    p = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(p / p.sum(1, keepdims=True), model.predict_proba(params, [x[:5] for x in train.xs], stats=st))
    with pytest.raises(ValueError, match="vib=False"):
        EAU([16, 16], 4, EAUConfig(vib=False)).vib_code(params, train.xs)


def test_fit_does_not_change_the_callers_parameters(toy):
    _, train, _ = toy
    model = EAU([16, 16], 4, EAUConfig(hidden=(8,)))
    start = model.init_params(np.random.default_rng(0))
    before = {k: v.copy() for k, v in start.items()}
    tr = fit(model, train, TrainConfig(epochs=1, batch_size=100), params=start)
    assert all(np.array_equal(start[k], before[k]) for k in start)
    assert not all(np.array_equal(tr.params[k], before[k]) for k in start)


def test_precision_baseline_is_the_product_of_experts():
    model = make_method("precision", [16, 16], 4, EAUConfig(temperature=0.1))
    assert model.config.fusion == "precision" and model.config.temperature == 1.0
    assert make_method("mean", [16, 16], 4).config.fusion == "mean"


def test_wrong_types_for_config_and_input_dims_name_the_argument():
    with pytest.raises(TypeError, match=r"config: expected an EAUConfig"):
        EAU([16, 16], 4, {"hidden": (8,)})
    with pytest.raises(TypeError, match="input_dims: expected a list of integers"):
        EAU(16, 4)
    with pytest.raises(TypeError, match="input_dims: expected a list of integers"):
        EAU([16.0, 16], 4)
    with pytest.raises(ValueError, match="input_dims"):
        EAU([16], 4)


def test_components_inside_the_model_are_not_rechecked(monkeypatch):
    """Checks at the edge: loss_forward checks its parameters and batch once, never the arrays it passes inward."""
    from mini_eau import model as model_module, validation

    calls = []
    real = validation.check_array
    spy = lambda name, *a, **k: calls.append(name) or real(name, *a, **k)  # noqa: E731
    monkeypatch.setattr(validation, "check_array", spy)
    monkeypatch.setattr(model_module, "check_array", spy)
    model = EAU([5, 4], 3, EAUConfig(hidden=(6,), d_embed=3))
    rng = np.random.default_rng(0)
    params = model.init_params(rng)
    xs = [rng.standard_normal((4, 5)), rng.standard_normal((4, 4))]
    model.loss_forward(params, xs, rng.integers(0, 3, 4), model.draw(4, rng))
    assert sorted(calls) == ["xs[0]", "xs[1]"]  # the parameters' shapes are compared in one go


@pytest.mark.parametrize("config", [EAUConfig(), EAUConfig(hidden=(6, 5, 4), d_embed=3, d_bottleneck=2, lambda_uni=0.5),
                                    EAUConfig(hidden=(7,), vib=False, lambda_uni=1.0)])
def test_param_shapes_are_those_of_init_params(config):
    """param_shapes is computed from the sizes alone; it must name, order and shape what init_params draws."""
    model = EAU([5, 4, 3], 3, config)
    params = model.init_params(np.random.default_rng(0))
    assert list(model.param_shapes().items()) == [(k, v.shape) for k, v in params.items()]


def test_bad_parameters_are_named_at_the_model_edge():
    model = EAU([5, 4], 3, EAUConfig(hidden=(6,), d_embed=3))
    rng = np.random.default_rng(0)
    params = model.init_params(rng)
    xs = [rng.standard_normal((4, 5)), rng.standard_normal((4, 4))]
    with pytest.raises(ValueError, match=r"params\['head0.W_mu'\]: expected shape \(6, 3\), got \(6, 2\)"):
        model.loss_forward({**params, "head0.W_mu": np.zeros((6, 2))}, xs, rng.integers(0, 3, 4), model.draw(4, rng))
    with pytest.raises(ValueError, match="params: expected the parameters of model.init_params"):
        model.predict_proba({k: v for k, v in params.items() if k != "vib.b_out"}, xs)


def test_fit_keeps_running_statistics_of_what_the_variance_heads_standardise(toy):
    """trained.stats: an average of the batches' statistics of h, used by every prediction."""
    from mini_eau.encoders import encode_modalities
    from mini_eau.lab.train import STATS_MOMENTUM

    _, train, _ = toy
    model = EAU([16, 16], 4, EAUConfig(hidden=(12,), keep_prob=1.0, variance_head="deviation"))
    tr = fit(model, train, TrainConfig(epochs=3, batch_size=64), seed=0)
    hs, _ = encode_modalities(tr.params, train.xs, model.config)
    for m, h in hs.items():  # after many steps the running mean is close to the full set's (parameters move slowly)
        np.testing.assert_allclose(tr.stats[f"head{m}.h_mean"], h.mean(axis=0), rtol=0.2, atol=0.05)
        np.testing.assert_allclose(tr.stats[f"head{m}.h_var"], h.var(axis=0), rtol=0.4, atol=0.05)
    assert tr.uncertainty(train.xs).shape == (2, len(train))
    np.testing.assert_array_equal(tr.uncertainty(train.xs), model.uncertainty(tr.params, train.xs, stats=tr.stats))
    # one step from (0, 1): the running statistics move by STATS_MOMENTUM towards the batch's own
    p0, batch = model.init_params(np.random.default_rng(1)), train.subset(np.arange(64))
    one = fit(model, batch, TrainConfig(epochs=1, batch_size=64), seed=5, params=p0)
    hb, _ = encode_modalities(p0, batch.xs, model.config)
    for m, h in hb.items():
        np.testing.assert_allclose(one.stats[f"head{m}.h_mean"], STATS_MOMENTUM * h.mean(axis=0))
        np.testing.assert_allclose(one.stats[f"head{m}.h_var"], (1 - STATS_MOMENTUM) + STATS_MOMENTUM * h.var(axis=0))


def test_predict_proba_with_masks_is_one_mc_dropout_pass():
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((7, 5)), rng.standard_normal((7, 3))]
    for name in ("eau", "concat", "late", "tmc", "qmf", "unimodal_1"):
        model = make_method(name, [5, 3], 3, EAUConfig(hidden=(6,), keep_prob=0.5))
        params, st = model.init_params(rng), model.init_stats() or None
        masks = model.draw(7, np.random.default_rng(1))["masks"]
        p = model.predict_proba(params, xs, masks=masks, stats=st)
        np.testing.assert_array_equal(p, model.predict_proba(params, xs, masks=masks, stats=st))  # the masks fix the pass
        assert np.allclose(p.sum(axis=1), 1.0) and not np.allclose(p, model.predict_proba(params, xs, stats=st))
        # keep-masks of ones with keep_prob 1: the pass is the deterministic prediction
        plain = make_method(name, [5, 3], 3, EAUConfig(hidden=(6,), keep_prob=1.0))
        ones = [[np.ones_like(m) for m in view] for view in masks]
        np.testing.assert_allclose(plain.predict_proba(params, xs, masks=ones, stats=st),
                                   plain.predict_proba(params, xs, stats=st))


def test_prediction_needs_the_running_statistics_of_a_normalised_head():
    """A standardising variance head: prediction uses the statistics it is given, never the test batch's own."""
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((6, 5)), rng.standard_normal((6, 3))]
    model = EAU([5, 3], 3, EAUConfig(hidden=(4,), keep_prob=1.0, variance_head="standardised"))
    params = model.init_params(rng)
    for k in params:  # a visible variance head
        if k.endswith("W_s"):
            params[k] = rng.standard_normal(params[k].shape)
    with pytest.raises(ValueError, match=r"stats: this model standardises h .*trained.stats"):
        model.uncertainty(params, xs)
    with pytest.raises(ValueError, match=r"stats: expected the statistics of model.init_stats\(\)"):
        model.uncertainty(params, xs, stats={"head0.h_mean": np.zeros(4)})
    with pytest.raises(ValueError, match=r"stats\['head1.h_var'\]: expected shape \(4,\)"):
        model.uncertainty(params, xs, stats={**model.init_stats(), "head1.h_var": np.ones(3)})
    with pytest.raises(ValueError, match="stats: this model keeps no statistics"):
        EAU([5, 3], 3, EAUConfig(hidden=(4,), variance_head="raw")).uncertainty(params, xs, stats=model.init_stats())
    # per-sample: one sample's u does not depend on the others in its batch
    st = {k: v + rng.uniform(0.1, 1.0, v.shape) for k, v in model.init_stats().items()}
    u_all = model.uncertainty(params, xs, stats=st)
    np.testing.assert_allclose(model.uncertainty(params, [x[:1] for x in xs], stats=st), u_all[:, :1])
    # with the statistics of the batch itself, prediction is the training-mode head
    hs = [np.maximum(x @ params[f"enc{m}.W0"] + params[f"enc{m}.b0"], 0) for m, x in enumerate(xs)]
    own = {}
    for m, h in enumerate(hs):
        own.update({f"head{m}.h_mean": h.mean(0), f"head{m}.h_var": h.var(0)})
    _, cache = model.loss_forward(params, xs, rng.integers(0, 3, 6), model.draw(6, rng))
    for k, v in cache["batch_stats"].items():
        np.testing.assert_allclose(v, own[k])
