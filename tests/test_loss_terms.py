"""EAU's objective (SPEC §8), term by term, against a reference written out in plain NumPy.

The model composes the core's pieces; these tests pin the composition: every
logged term's value, every weight in its own place (distinct values for every
lambda, T != 1), and every combination of zero and non-zero weights (a zero
weight drops its term from the log and from the sum, and never breaks another).
The reference re-derives each formula from the SPEC, not from the library.
"""
import itertools
import math

import numpy as np
import pytest

from mini_eau.model import EAU, EAUConfig

BN_EPS = 1e-5          # layers.BN_EPS, SPEC §2
COSINE_EPS = 1e-8      # contrastive.COSINE_EPS, SPEC §5
S_BOUND = 10.0         # gaussian.S_MIN, S_MAX = -10, 10: centre 0, radius 10


def _bound(raw):
    return S_BOUND * np.tanh(raw / S_BOUND)


def _ce(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(y)), y].mean()


def _kl(mu_p, s_p, mu_q, s_q):
    """KL(N(mu_p, e^s_p) || N(mu_q, e^s_q)) per sample, summed over dimensions."""
    return 0.5 * np.sum(s_q - s_p + (np.exp(s_p) + (mu_p - mu_q) ** 2) / np.exp(s_q) - 1.0, axis=-1)


def _unit_rows(x):
    return x / np.sqrt((x * x).sum(axis=1, keepdims=True) + COSINE_EPS ** 2)


def _ura_one(anchor, positive, tau, variant):
    S = _unit_rows(anchor) @ _unit_rows(positive).T / tau
    n = S.shape[0]
    pos = np.diag(S)
    if variant == "paper":      # the positive counted N-1 times in the denominator
        den = (n - 1) * np.exp(pos) + np.exp(S).sum(axis=1) - np.exp(pos)
        return np.mean(np.log(den) - pos)
    if variant == "infonce":
        return np.mean(np.log(np.exp(S).sum(axis=1)) - pos)
    raise ValueError(variant)


def reference(model, params, xs, y, draws):
    """(total, terms) of EAU's loss, from the SPEC's formulas; ReLU encoders, no dropout."""
    c = model.config
    mus, ss = [], []
    for m, x in enumerate(xs):
        h = x
        for l in range(len(c.hidden)):
            h = np.maximum(h @ params[f"enc{m}.W{l}"] + params[f"enc{m}.b{l}"], 0.0)
        mus.append(h @ params[f"head{m}.W_mu"] + params[f"head{m}.b_mu"])
        h_hat = (h - h.mean(axis=0)) / np.sqrt(h.var(axis=0) + BN_EPS)
        q = {"raw": h, "standardised": h_hat, "deviation": h_hat ** 2 - 1.0}[c.variance_head]
        ss.append(_bound(q @ params[f"head{m}.W_s"] + params[f"head{m}.b_s"]))
    mus, ss = np.stack(mus), np.stack(ss)
    M, N = mus.shape[:2]
    anchors = mus + np.exp(ss / 2) * draws["eps1"]
    augs = mus + np.exp(ss / 2) * draws["eps2"]
    terms = {}
    if c.lambda_ura > 0:
        terms["ura"] = sum(_ura_one(anchors[m], augs[m], c.tau, c.ura_variant) for m in range(M))
    if c.lambda_udr > 0:
        align = sum(_kl(mus[a], ss[a], mus[b], ss[b]).sum() for a in range(M) for b in range(M) if a != b)
        prior = sum(_kl(mus[m], ss[m], 0.0, 0.0).sum() for m in range(M))
        terms["udr"] = (c.lambda_align * align + c.lambda_prior * prior) / N
    if c.lambda_uni > 0:
        terms["uni"] = sum(_ce(augs[m] @ params[f"aux{m}.W"] + params[f"aux{m}.b"], y) for m in range(M))
    # fusion, SPEC §6 "paper": alpha^m = softmax_m(1 / (T u^m)), u^m = mean_d sigma^m_d
    u = np.exp(ss / 2).mean(axis=2)
    logit = 1.0 / (c.temperature * u)
    alpha = np.exp(logit - logit.max(axis=0)) / np.exp(logit - logit.max(axis=0)).sum(axis=0)
    fused = np.sum(alpha[:, :, None] * mus, axis=0)
    # VIB, SPEC §7
    mu_f = fused @ params["vib.W_mu"] + params["vib.b_mu"]
    s_f = _bound(fused @ params["vib.W_s"] + params["vib.b_s"])
    z = mu_f + np.exp(s_f / 2) * draws["eps_f"]
    terms["vib"] = _ce(z @ params["vib.W_out"] + params["vib.b_out"], y) \
        + c.beta * _kl(mu_f, s_f, 0.0, 0.0).mean()
    weights = {"vib": 1.0, "udr": c.lambda_udr, "ura": c.lambda_ura, "uni": c.lambda_uni}
    return sum(weights[k] * v for k, v in terms.items()), terms


# distinct values everywhere, so a weight used in another's place shows
BASE = dict(hidden=(5,), d_embed=3, d_bottleneck=2, keep_prob=1.0, temperature=0.7, tau=0.3,
            lambda_udr=0.2, lambda_align=0.3, lambda_prior=1.7, lambda_ura=0.4, lambda_uni=0.6, beta=0.05,
            variance_head="deviation")   # the head with running statistics; "raw" is the default


def _setup(seed=0, n=6, **overrides):
    model = EAU([4, 3], 3, EAUConfig(**{**BASE, **overrides}))
    rng = np.random.default_rng(seed)
    params = model.init_params(rng)
    # biases and variance weights off zero, so every term and every head input matters
    for k in params:
        params[k] = params[k] + 0.3 * rng.standard_normal(params[k].shape)
    xs = [rng.standard_normal((n, 4)), rng.standard_normal((n, 3))]
    y = rng.integers(0, 3, n)
    return model, params, xs, y, model.draw(n, rng)


@pytest.mark.parametrize("variance_head", ["deviation", "standardised", "raw"])
def test_every_logged_term_and_the_total_match_the_reference(variance_head):
    model, params, xs, y, draws = _setup(variance_head=variance_head)
    loss, cache = model.loss_forward(params, xs, y, draws)
    want_total, want_terms = reference(model, params, xs, y, draws)
    assert set(cache["terms"]) == {"vib", "udr", "ura", "uni"}
    for name, value in want_terms.items():
        assert float(cache["terms"][name]) == pytest.approx(value, rel=1e-10), name
    assert float(loss) == pytest.approx(want_total, rel=1e-10)


def test_infonce_variant_and_temperature_reach_the_loss():
    model, params, xs, y, draws = _setup(ura_variant="infonce", temperature=2.5, tau=0.8)
    loss, cache = model.loss_forward(params, xs, y, draws)
    want_total, want_terms = reference(model, params, xs, y, draws)
    assert float(cache["terms"]["ura"]) == pytest.approx(want_terms["ura"], rel=1e-10)
    assert float(cache["terms"]["vib"]) == pytest.approx(want_terms["vib"], rel=1e-10)
    assert float(loss) == pytest.approx(want_total, rel=1e-10)


WEIGHTS = ("lambda_udr", "lambda_ura", "lambda_uni")


@pytest.mark.parametrize("zeros", [z for k in range(4) for z in itertools.combinations(WEIGHTS, k)],
                         ids=lambda z: "+".join(z) + "=0" if z else "none=0")
def test_every_combination_of_zero_and_nonzero_weights(zeros):
    model, params, xs, y, draws = _setup(**dict.fromkeys(zeros, 0.0))
    loss, cache = model.loss_forward(params, xs, y, draws)
    want_total, want_terms = reference(model, params, xs, y, draws)
    term_of = {"lambda_udr": "udr", "lambda_ura": "ura", "lambda_uni": "uni"}
    # a zero weight drops its term from the log; the others are there with their values
    assert set(cache["terms"]) == {"vib"} | {term_of[w] for w in WEIGHTS if w not in zeros}
    for name, value in want_terms.items():
        assert float(cache["terms"][name]) == pytest.approx(value, rel=1e-10), name
    assert float(loss) == pytest.approx(want_total, rel=1e-10)
    # and the backward runs for every combination, a gradient for every parameter
    grads = model.loss_backward(1.0, cache)
    assert set(grads) == set(params)


def test_align_and_prior_weights_each_scale_their_own_part():
    # L_UDR = (lambda_align * sum of pair KLs + lambda_prior * sum of prior KLs) / N:
    # linear in each weight, so three evaluations separate the two parts
    def udr(a, p):
        model, params, xs, y, draws = _setup(lambda_align=a, lambda_prior=p)
        return float(model.loss_forward(params, xs, y, draws)[1]["terms"]["udr"])

    align, prior = udr(1.0, 0.0), udr(0.0, 1.0)
    assert align > 0 and prior > 0 and align != pytest.approx(prior)
    assert udr(0.3, 1.7) == pytest.approx(0.3 * align + 1.7 * prior, rel=1e-12)


def test_batch_statistics_are_the_head_inputs_mean_and_population_variance():
    model, params, xs, y, draws = _setup()
    _, cache = model.loss_forward(params, xs, y, draws)
    for m, x in enumerate(xs):
        h = np.maximum(x @ params[f"enc{m}.W0"] + params[f"enc{m}.b0"], 0.0)
        np.testing.assert_allclose(cache["batch_stats"][f"head{m}.h_mean"], h.mean(axis=0), rtol=1e-13)
        np.testing.assert_allclose(cache["batch_stats"][f"head{m}.h_var"], h.var(axis=0), rtol=1e-12, atol=1e-15)
    raw, p_raw, xs_raw, y_raw, d_raw = _setup(variance_head="raw")
    assert raw.loss_forward(p_raw, xs_raw, y_raw, d_raw)[1]["batch_stats"] == {}
    assert raw.init_stats() == {}


def test_init_stats_start_at_mean_zero_variance_one():
    model, *_ = _setup()
    st = model.init_stats()
    assert set(st) == {"head0.h_mean", "head0.h_var", "head1.h_mean", "head1.h_var"}
    for k, v in st.items():
        assert v.shape == (5,)
        np.testing.assert_array_equal(v, 0.0 if k.endswith("mean") else 1.0)


@pytest.mark.parametrize("variance_head", ["deviation", "standardised"])
def test_prediction_standardises_with_the_running_statistics(variance_head):
    # predict_proba, uncertainty and fusion_weights with stats: the heads read
    # (h - h_mean) / sqrt(h_var + eps), the same map for every sample
    model, params, xs, y, draws = _setup(variance_head=variance_head)
    stats = _stats()
    mus, ss = [], []
    for m, x in enumerate(xs):
        h = np.maximum(x @ params[f"enc{m}.W0"] + params[f"enc{m}.b0"], 0.0)
        h_hat = (h - stats[f"head{m}.h_mean"]) / np.sqrt(stats[f"head{m}.h_var"] + BN_EPS)
        q = h_hat ** 2 - 1.0 if variance_head == "deviation" else h_hat
        mus.append(h @ params[f"head{m}.W_mu"] + params[f"head{m}.b_mu"])
        ss.append(_bound(q @ params[f"head{m}.W_s"] + params[f"head{m}.b_s"]))
    mus, ss = np.stack(mus), np.stack(ss)
    u = np.exp(ss / 2).mean(axis=2)
    np.testing.assert_allclose(model.uncertainty(params, xs, stats=stats), u, rtol=1e-12)
    logit = 1.0 / (model.config.temperature * u)
    alpha = np.exp(logit - logit.max(axis=0)) / np.exp(logit - logit.max(axis=0)).sum(axis=0)
    np.testing.assert_allclose(model.fusion_weights(params, xs, stats=stats), alpha, rtol=1e-12)
    fused = np.sum(alpha[:, :, None] * mus, axis=0)
    logits = (fused @ params["vib.W_mu"] + params["vib.b_mu"]) @ params["vib.W_out"] + params["vib.b_out"]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict_proba(params, xs, stats=stats), p / p.sum(axis=1, keepdims=True),
                               rtol=1e-12)
    # one sample predicted alone gets the same answer as in the batch
    alone = model.predict_proba(params, [x[2:3] for x in xs], stats=stats)
    np.testing.assert_allclose(alone[0], model.predict_proba(params, xs, stats=stats)[2], rtol=1e-12)
    mu_f, s_f = model.vib_code(params, xs, stats=stats)
    np.testing.assert_allclose(mu_f, fused @ params["vib.W_mu"] + params["vib.b_mu"], rtol=1e-12)
    np.testing.assert_allclose(s_f, _bound(fused @ params["vib.W_s"] + params["vib.b_s"]), rtol=1e-12)


def test_deterministic_classifier_without_vib():
    model, params, xs, y, draws = _setup(vib=False)
    loss, cache = model.loss_forward(params, xs, y, draws)
    terms = {k: float(v) for k, v in cache["terms"].items()}
    assert set(terms) == {"vib", "udr", "ura", "uni"}
    # without the VIB the task term is the cross-entropy of the fused means through cls.W, cls.b
    assert terms["vib"] == pytest.approx(_task_without_vib(model, params, xs, y), rel=1e-10)
    c = model.config
    assert float(loss) == pytest.approx(terms["vib"] + c.lambda_udr * terms["udr"] + c.lambda_ura * terms["ura"]
                                        + c.lambda_uni * terms["uni"], rel=1e-12)


def _task_without_vib(model, params, xs, y):
    mus, ss, _ = model._encode(params, xs, None)  # training mode: the batch statistics, as in the loss
    u = np.exp(ss / 2).mean(axis=2)
    logit = 1.0 / (model.config.temperature * u)
    alpha = np.exp(logit - logit.max(axis=0)) / np.exp(logit - logit.max(axis=0)).sum(axis=0)
    fused = np.sum(alpha[:, :, None] * mus, axis=0)
    return _ce(fused @ params["cls.W"] + params["cls.b"], y)


def _stats(seed=7):
    rng = np.random.default_rng(seed)
    stats = {f"head{m}.h_mean": rng.standard_normal(5) for m in range(2)}
    stats.update({f"head{m}.h_var": rng.uniform(0.5, 2.0, 5) for m in range(2)})
    return stats


def test_prediction_without_vib_is_the_softmax_of_the_fused_means():
    model, params, xs, *_ = _setup(vib=False)
    stats = _stats()
    fused = model.fuse(params, xs, stats=stats)
    logits = fused @ params["cls.W"] + params["cls.b"]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict_proba(params, xs, stats=stats), p / p.sum(axis=1, keepdims=True),
                               rtol=1e-12)


def test_fusion_weights_of_a_per_dimension_variant_are_averaged_over_dimensions():
    # per_dim: alpha^m_{i,d} = softmax_m(e^{-s/2} / T); reported per sample as the mean over d
    model, params, xs, *_ = _setup(fusion="per_dim")
    stats = _stats()
    _, ss = model.embed(params, xs, stats=stats)
    logit = np.exp(-ss / 2) / model.config.temperature
    alpha = np.exp(logit - logit.max(axis=0)) / np.exp(logit - logit.max(axis=0)).sum(axis=0)
    w = model.fusion_weights(params, xs, stats=stats)
    assert w.shape == (2, 6)
    np.testing.assert_allclose(w, alpha.mean(axis=2), rtol=1e-12)
