"""The main job: EAU against every baseline on data whose noise we control.

``python -m mini_eau demo [--data toy|digits] [--seed S] [--out DIR] [--fast]``

1. Draw training data with per-sample noise on both modalities (SPEC §11).
2. Train EAU and every baseline (SPEC §10) with the same encoders and budget.
3. Test on a sweep of noise levels on modality A (B held fixed), and on the
   mirror sweep (noise on B) for B's uncertainty.
4. Print accuracy per method per level, with the oracle (the cleaner
   modality's unimodal model) and EAU's mean fusion weight on the noisy
   modality; write ``results.json`` and four figures to ``DIR``.

Everything is driven by one generator seeded with ``--seed``.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace

import numpy as np

from . import metrics
from ..backend import to_numpy
from .baselines import METHODS, make_method
from .data import DIGITS_LEVELS, TOY_LEVELS, ToyProblem, add_noise, digits_sweep, load_digits_two_view
from ..model import EAU, EAUConfig
from .train import TrainConfig, fit

__all__ = ["DemoSettings", "DEFAULTS", "prepare_data", "run_demo", "run_ablations", "ABLATIONS"]


@dataclass
class DemoSettings:
    """Sizes and budget of one demo run (the same for every method)."""

    n_train: int
    n_test: int
    epochs: int
    batch_size: int = 128
    lr: float = 3e-3


DEFAULTS = {
    ("toy", False): DemoSettings(n_train=4000, n_test=2000, epochs=40),
    ("toy", True): DemoSettings(n_train=1500, n_test=500, epochs=12),
    ("digits", False): DemoSettings(n_train=0, n_test=0, epochs=60, batch_size=64),
    ("digits", True): DemoSettings(n_train=0, n_test=0, epochs=15, batch_size=64),
}

# EAU's defaults, chosen on the toy benchmark (README, "Choosing the defaults")
EAU_DEFAULTS = EAUConfig()

DIGITS_TRAIN_NOISE = 1.0  # training noise scale ~ U(0, 1) per sample and view (pixels in [0, 1])


def prepare_data(data="toy", seed=0, fast=False, rng=None):
    """Training set and the two test sweeps for ``data`` ("toy" or "digits").

    Returns ``(train, sweep_a, sweep_b, levels, names)``: ``sweep_a[k]`` has
    noise ``levels[k]`` on the first modality, the second fixed; ``sweep_b``
    is the mirror.
    """
    rng = np.random.default_rng(seed) if rng is None else rng
    s = DEFAULTS[(data, fast)]
    if data == "toy":
        prob = ToyProblem(seed=seed)
        train = prob.sample(s.n_train, rng)
        sweep_a = prob.sweep(TOY_LEVELS, noisy="a", other=1.0, n=s.n_test, rng=rng)
        sweep_b = prob.sweep(TOY_LEVELS, noisy="b", other=1.0, n=s.n_test, rng=rng)
        return train, sweep_a, sweep_b, list(TOY_LEVELS), ("a", "b")
    if data == "digits":
        train, test = load_digits_two_view(seed=seed)
        for view in ("left", "right"):
            train = add_noise(train, view, rng.uniform(0.0, DIGITS_TRAIN_NOISE, len(train)), rng)
        other = DIGITS_LEVELS[1]
        sweep_a = digits_sweep(test, rng, DIGITS_LEVELS, noisy="left", other=other)
        sweep_b = digits_sweep(test, rng, DIGITS_LEVELS, noisy="right", other=other)
        return train, sweep_a, sweep_b, list(DIGITS_LEVELS), ("left", "right")
    raise ValueError(f"data: expected 'toy' or 'digits', got {data!r}")


def _evaluate(trained, sweep):
    acc, ece, nll, probs = [], [], [], []
    for d in sweep:
        p = trained.predict_proba(d.xs)
        probs.append(p)
        acc.append(metrics.accuracy(p, d.y))
        ece.append(metrics.ece(p, d.y))
        nll.append(metrics.nll(p, d.y))
    return {"accuracy": acc, "ece": ece, "nll": nll}, probs


def _oracle(uni_probs, sweep, train_acc):
    """Per sample, the unimodal model of the less noisy modality (ties: the better unimodal model)."""
    out = {"accuracy": [], "ece": [], "nll": []}
    better = int(np.argmax(train_acc))
    for k, d in enumerate(sweep):
        pa, pb = uni_probs[0][k], uni_probs[1][k]
        use_b = (d.noise[1] < d.noise[0]) | ((d.noise[1] == d.noise[0]) & (better == 1))
        p = np.where(use_b[:, None], pb, pa)
        out["accuracy"].append(metrics.accuracy(p, d.y))
        out["ece"].append(metrics.ece(p, d.y))
        out["nll"].append(metrics.nll(p, d.y))
    return out


def run_demo(data="toy", seed=0, out="runs/demo", fast=False, config=None, methods=METHODS, verbose=False,
             figures=True, log=print, return_trained=False):
    """Train every method, evaluate the sweeps, write ``results.json`` and figures.

    Returns the results dict, or ``(results, trained)`` with ``return_trained``
    (``trained``: method name -> :class:`mini_eau.train.Trained`).
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    s = DEFAULTS[(data, fast)]
    train, sweep_a, sweep_b, levels, names = prepare_data(data, seed, fast, rng)
    config = EAU_DEFAULTS if config is None else config
    tcfg = TrainConfig(epochs=s.epochs, batch_size=s.batch_size, lr=s.lr)
    dims = [x.shape[1] for x in train.xs]
    results = {"data": data, "seed": seed, "fast": fast, "noise_levels": levels, "noisy_modality": names[0],
               "modalities": list(names),
               "methods": {}, "sweep_b": {"noise_levels": levels, "methods": {}}}
    trained = {}
    for name in methods:
        model = make_method(name, dims, train.n_classes, config)
        tm = time.perf_counter()
        trained[name] = fit(model, train, tcfg, rng=np.random.default_rng([seed, METHODS.index(name)]),
                            verbose=verbose, log=log)
        res, _ = _evaluate(trained[name], sweep_a)
        res_b, _ = _evaluate(trained[name], sweep_b)
        res["train_time_s"] = time.perf_counter() - tm
        results["methods"][name] = res
        results["sweep_b"]["methods"][name] = res_b
    if "unimodal_a" in trained and "unimodal_b" in trained:
        tr_acc = [trained[n].history[-1]["accuracy"] for n in ("unimodal_a", "unimodal_b")]
        for key, sweep in (("methods", sweep_a), ("sweep_b", sweep_b)):
            probs = [[trained[n].predict_proba(d.xs) for d in sweep] for n in ("unimodal_a", "unimodal_b")]
            target = results[key] if key == "methods" else results["sweep_b"]["methods"]
            target["oracle"] = _oracle(probs, sweep, tr_acc)
    if "eau" in trained:
        eau = _on_host(trained["eau"])
        results["fusion_weight_noisy"] = [float(eau.model.fusion_weights(eau.params, d.xs)[0].mean()) for d in sweep_a]
        results["fusion_weight_noisy_b"] = [float(eau.model.fusion_weights(eau.params, d.xs)[1].mean()) for d in sweep_b]
        u_a = np.concatenate([eau.model.uncertainty(eau.params, d.xs)[0] for d in sweep_a])
        n_a = np.concatenate([d.noise[0] for d in sweep_a])
        u_b = np.concatenate([eau.model.uncertainty(eau.params, d.xs)[1] for d in sweep_b])
        n_b = np.concatenate([d.noise[1] for d in sweep_b])
        results["spearman"] = {"a": metrics.spearman(n_a, u_a), "b": metrics.spearman(n_b, u_b)}
        results["uncertainty_by_level"] = {
            "a": [float(u_a[n_a == lv].mean()) for lv in levels], "b": [float(u_b[n_b == lv].mean()) for lv in levels]}
        results["robustness_auc"] = {n: metrics.robustness_auc(levels, r["accuracy"])
                                     for n, r in results["methods"].items()}
    results["config"] = config.to_dict()
    results["train_config"] = {"epochs": s.epochs, "batch_size": s.batch_size, "lr": s.lr, "n_train": len(train)}
    results["runtime_s"] = time.perf_counter() - t0
    if out:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        if figures:
            from .plots import demo_figures

            demo_figures(results, _on_host(trained.get("eau")), sweep_a, sweep_b, out)
    log(format_table(results))
    return (results, trained) if return_trained else results


def _on_host(trained):
    """A NumPy copy of a model trained on another backend (e.g. CuPy), for the analysis on host test data.

    The fusion weights, uncertainties and figures feed the model NumPy arrays;
    on a GPU backend those would meet device parameters, so the parameters are
    copied back once, after training.
    """
    if trained is None or trained.xp is None or trained.xp is np:
        return trained
    return replace(trained, params={k: to_numpy(v) for k, v in trained.params.items()}, xp=np)


def format_table(results):
    """The accuracy table: one row per method, one column per noise level."""
    levels = results["noise_levels"]
    head = f"accuracy vs noise on modality {results['noisy_modality']!r} ({results['data']}, seed {results['seed']})"
    lines = [head, f"{'method':12s}" + "".join(f"{lv:>8g}" for lv in levels) + "     AUC"]
    for name, r in results["methods"].items():
        auc = metrics.robustness_auc(levels, r["accuracy"])
        lines.append(f"{name:12s}" + "".join(f"{a:8.3f}" for a in r["accuracy"]) + f"{auc:8.3f}")
    if "fusion_weight_noisy" in results:
        lines.append(f"{'w_noisy(eau)':12s}" + "".join(f"{w:8.3f}" for w in results["fusion_weight_noisy"]))
        lines.append(f"{'ECE(eau)':12s}" + "".join(f"{e:8.3f}" for e in results["methods"]["eau"]["ece"]))
        sp = results["spearman"]
        lines.append(f"Spearman(injected noise, predicted uncertainty): a {sp['a']:.3f}, b {sp['b']:.3f}")
    lines.append(f"runtime {results['runtime_s']:.1f} s")
    return "\n".join(lines)


# ---------------------------------------------------------------- ablations
ABLATIONS = {
    "eau": {},
    "no L_UDR": {"lambda_udr": 0.0},
    "no L_URA": {"lambda_ura": 0.0},
    "no VIB": {"vib": False},
    "mean weights": {"fusion": "mean"},
}


def run_ablations(data="toy", seeds=(0, 1, 2), fast=False, config=None, log=print, variants=None):
    """EAU with one piece removed at a time, averaged over ``seeds``; returns {name: mean accuracies}.

    Each variant is trained exactly as :func:`run_demo` trains EAU (same data,
    budget and generator seed), so the ``eau`` row is the demo's model.
    """
    config = EAU_DEFAULTS if config is None else config
    s = DEFAULTS[(data, fast)]
    variants = list(ABLATIONS) if variants is None else list(variants)
    for v in variants:
        if v not in ABLATIONS:
            raise ValueError(f"variants: expected names from {tuple(ABLATIONS)}, got {v!r}")
    table = {name: [] for name in variants}
    levels = None
    for seed in seeds:
        rng = np.random.default_rng(seed)
        train, sweep_a, _, levels, _ = prepare_data(data, seed, fast, rng)
        dims = [x.shape[1] for x in train.xs]
        for name in variants:
            model = EAU(dims, train.n_classes, replace(config, **ABLATIONS[name]))
            tr = fit(model, train, TrainConfig(epochs=s.epochs, batch_size=s.batch_size, lr=s.lr),
                     rng=np.random.default_rng([seed, METHODS.index("eau")]))
            table[name].append([metrics.accuracy(tr.predict_proba(d.xs), d.y) for d in sweep_a])
    mean = {k: np.mean(v, axis=0).tolist() for k, v in table.items()}
    lines = [f"ablations ({data}, seeds {list(seeds)}): accuracy vs noise on the first modality",
             "| variant | " + " | ".join(f"{lv:g}" for lv in levels) + " |",
             "|---|" + "---|" * len(levels)]
    for k, v in mean.items():
        lines.append(f"| {k} | " + " | ".join(f"{a:.3f}" for a in v) + " |")
    log("\n".join(lines))
    return {"noise_levels": levels, "seeds": list(seeds), "accuracy": mean}
