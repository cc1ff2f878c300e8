"""The main job: EAU against every baseline on multi-view data whose noise we control.

``python -m mini_eau demo [--data NAME] [--protocol augment|clean|once] [--seeds S ...]``

1. Load a benchmark (:func:`mini_eau.lab.data.load_benchmark`): a clean
   training set, a test set, the sweeps (which views get noise) and the
   noise levels, all in the data's own noise unit.
2. Train EAU and every baseline (SPEC §10) with the same encoders and budget,
   under one of three training protocols (:data:`PROTOCOLS`).
3. Test every method on every sweep: the chosen views at each noise level,
   the other views left alone.  The reference line, the **oracle**, is the
   best model trained on the views a sweep leaves clean (:func:`oracle`).
4. Record EAU's fusion weights, its predicted uncertainty against the
   injected noise (Spearman) and its calibration per level.

Everything is driven by one generator per seed; :func:`mini_eau.lab.seeds.run_seeds`
repeats a run over several seeds and gives the mean and the spread.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, replace

import numpy as np

from ..model import EAU, EAUConfig
from . import metrics
from .baselines import make_method, method_names
from .corruptions import CORRUPTIONS, corrupt_sweep, corruption as get_corruption
from .data import add_noise, load_benchmark
from .train import NoiseAugmentation, TrainConfig, fit

__all__ = ["PROTOCOLS", "DemoSettings", "SETTINGS", "FAST_SETTINGS", "EAU_DEFAULTS", "check_settings", "describe_run",
           "budget_text", "training_setup", "evaluate",
           "oracle", "eau_diagnostics", "write_json", "draw_sweep_seeds", "corrupted_sweeps", "run_demo", "run_corruptions", "format_tables", "ABLATIONS",
           "run_ablations"]

PROTOCOLS = {
    "augment": "training noise redrawn every epoch, scale U(0, 3 unit) per sample and view",
    "clean": "no training noise (the paper's protocol): noise at test time only",
    "once": "training noise of scale U(0, 3 unit) per sample and view, drawn once and kept",
}
"""The training protocols; every one is tested on the same noisy sweeps."""


@dataclass
class DemoSettings:
    """Budget of one run, the same for every method and every data set.

    ``steps`` optimisation steps of ``batch_size`` samples whatever the data
    set's size (a small set gets more epochs); ``n_train``/``n_test`` size the
    toy (the real sets have fixed sizes).
    """

    steps: int = 1500
    batch_size: int = 128
    lr: float = 3e-3
    n_train: int = 4000
    n_test: int = 2000

    def epochs(self, n):
        """Epochs that give about ``steps`` steps on ``n`` training samples (full batches only)."""
        return max(1, round(self.steps / max(1, n // self.batch_size)))


SETTINGS = DemoSettings()
FAST_SETTINGS = DemoSettings(steps=300, n_train=1500, n_test=500)

EAU_DEFAULTS = EAUConfig()
"""EAU's one configuration for every data set: nothing is tuned per set."""


def check_settings(settings):
    """A ``ValueError`` naming the first budget out of range (steps, sizes >= 1; batches of at least 2)."""
    from ..validation import Integer, check_positive

    for name, low in (("steps", 1), ("batch_size", 2), ("n_train", 2), ("n_test", 1)):
        Integer(low)(name, getattr(settings, name), None)
    check_positive("lr", settings.lr)
    return settings


def describe_run(data, seed, protocol, settings, fast=False, corruption=None):
    """What a run was made with: the head of every ``results.json``, and what figure titles quote.

    ``budget`` holds the settings and ``default_budget`` says whether they
    are the demo's full budget (:data:`SETTINGS`); ``fast`` whether the run
    asked for the small one.  A new option of the demo (say, the kind of test
    corruption) belongs here, so that results and figures name it.
    """
    budget = {k: getattr(settings, k) for k in ("steps", "batch_size", "lr", "n_train", "n_test")}
    family = get_corruption("gaussian" if corruption is None else getattr(corruption, "name", corruption))
    return {"data": data, "seed": seed, "protocol": protocol, "protocol_text": PROTOCOLS[protocol],
            "fast": bool(fast), "budget": budget, "default_budget": settings == SETTINGS,
            "corruption": family.name, "corruption_text": family.description, "level_label": family.unit_label,
            "level_axis": family.axis_label}


def budget_text(results):
    """``""`` for the demo's full budget, else a note for titles and tables: ``"--fast budget: 300 steps, ..."``."""
    if results.get("default_budget", True):
        return ""
    b = results["budget"]
    n = results.get("train_config", {}).get("n_train", b["n_train"])
    return (f"{'--fast budget' if results.get('fast') else 'budget'}: {b['steps']} steps, {n} training samples "
            f"(full: {SETTINGS.steps} steps)")


def training_setup(bench, protocol, settings, rng):
    """The training set and :class:`TrainConfig` of ``protocol`` for ``bench``."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol: expected one of {tuple(PROTOCOLS)}, got {protocol!r}")
    train, augment = bench.train, None
    if protocol == "augment":
        augment = NoiseAugmentation(high=bench.train_noise)
    elif protocol == "once":
        for m in range(train.n_modalities):
            train = add_noise(train, m, rng.uniform(0.0, bench.train_noise, len(train)), rng)
    tcfg = TrainConfig(epochs=settings.epochs(len(train)), batch_size=min(settings.batch_size, len(train)),
                       lr=settings.lr, augment=augment)
    return train, tcfg


def evaluate(trained, sweep, views=None):
    """Accuracy, ECE and NLL of ``trained`` at each level of ``sweep`` (a list of MultimodalData).

    ``views``: feed only these views (for a model trained on a subset of them).
    """
    out = {"accuracy": [], "ece": [], "nll": []}
    for d in sweep:
        p = trained.predict_proba(d.xs if views is None else d.select(views).xs)
        out["accuracy"].append(metrics.accuracy(p, d.y))
        out["ece"].append(metrics.ece(p, d.y))
        out["nll"].append(metrics.nll(p, d.y))
    return out


def oracle(candidates):
    """The reference line: at each level the best of ``candidates`` ({name: evaluate() result}).

    The candidates are models that never see a swept view (the unimodal
    models of the clean views, and a concatenation model trained on all the
    clean views together), so their accuracy is what ignoring the noisy
    views achieves.  Returns ``evaluate``'s dict plus ``"source"``: the
    winning candidate per level.
    """
    names = list(candidates)
    acc = np.array([candidates[n]["accuracy"] for n in names])
    best = acc.argmax(axis=0)
    out = {k: [candidates[names[b]][k][i] for i, b in enumerate(best)] for k in ("accuracy", "ece", "nll")}
    out["source"] = [names[b] for b in best]
    return out


def eau_diagnostics(trained, sweep, noisy):
    """EAU on one sweep: fusion weight per view and level, uncertainty per noisy view, Spearman(noise, u),
    and a reliability curve (10 bins) per level."""
    weights = np.array([trained.fusion_weights(d.xs).mean(axis=1) for d in sweep])  # (levels, M)
    us = [trained.uncertainty(d.xs) for d in sweep]                                   # (M, N) each
    out = {"weights": weights.T.tolist(), "spearman": {}, "uncertainty": {}, "reliability": []}
    for d in sweep:  # calibration per level: pooling levels hides under- and over-confidence cancelling
        conf, acc, count = metrics.reliability_curve(trained.predict_proba(d.xs), d.y, n_bins=10)
        out["reliability"].append({"confidence": conf.tolist(), "accuracy": acc.tolist(), "count": count.tolist()})
    for m in noisy:
        u = np.concatenate([u_l[m] for u_l in us])
        n = np.concatenate([d.noise[m] for d in sweep])
        out["spearman"][str(m)] = metrics.spearman(n, u)
        out["uncertainty"][str(m)] = [float(u_l[m].mean()) for u_l in us]
    return out


def write_json(path, obj):
    """Write ``obj`` to ``path`` atomically (a ``.partial`` file, then renamed): an interrupt never leaves half a file."""
    tmp = f"{path}.partial"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def draw_sweep_seeds(bench, rng):
    """One seed per sweep of ``bench`` for every corruption family, drawn from ``rng`` in
    :data:`~mini_eau.lab.corruptions.CORRUPTIONS` order whichever families a run tests, so that a
    family's sweeps do not depend on the others (and the Gaussian ones are drawn first)."""
    return {f: [int(rng.integers(2 ** 63 - 1)) for _ in bench.sweeps] for f in CORRUPTIONS}


def corrupted_sweeps(bench, family, seeds):
    """The test set of ``bench`` under ``family`` at each of its levels, one list per sweep (``seeds``: its seeds)."""
    return [corrupt_sweep(bench.test, k, family.name, family.levels, noisy, bench.other, bench.unit, bench.train)
            for noisy, k in zip(bench.sweeps, seeds[family.name])]


def run_demo(data="toy", seed=0, out=None, fast=False, protocol="augment", config=None, methods=None,
             settings=None, verbose=False, figures=True, log=print, return_trained=False, progress=None,
             corruption="gaussian"):
    """Train every method on ``data`` under ``protocol``, evaluate every sweep; return the results dict.

    Parameters
    ----------
    data : str
        A name from :data:`mini_eau.lab.data.BENCHMARKS`.
    out : str, optional
        Folder for ``results.json`` and (with ``figures``) the figures; nothing is written if None.
        A folder that already holds a ``results.json`` is refused before any training (``FileExistsError``):
        an earlier result is never replaced.
    fast : bool
        Small budget (:data:`FAST_SETTINGS`), for tests and notebooks.
    methods : sequence of str, optional
        Default: every method for the data's number of views.
    corruption : str
        The test-time corruption of the swept views, a name from
        :data:`mini_eau.lab.corruptions.CORRUPTIONS` (its own levels and units).
    progress : callable, optional
        Called with a short text before each model is trained.

    Returns
    -------
    dict, or ``(dict, trained)`` with ``return_trained`` (method name -> :class:`~mini_eau.lab.train.Trained`).
    """
    settings = (FAST_SETTINGS if fast else SETTINGS) if settings is None else settings
    if out and os.path.exists(os.path.join(out, "results.json")):
        raise FileExistsError(f"out: {out!r} already holds the results.json of an earlier run; choose another folder")
    (results,), trained = run_corruptions(data, seed, protocol, (corruption,), fast=fast, config=config,
                                          methods=methods, settings=settings, verbose=verbose, log=log,
                                          progress=progress)
    if out:
        os.makedirs(out, exist_ok=True)
        write_json(os.path.join(out, "results.json"), results)
        if figures:
            from .plots import demo_figures

            demo_figures(results, out)
    log(format_tables(results))
    return (results, trained) if return_trained else results


def run_corruptions(data="toy", seed=0, protocol="augment", corruptions=tuple(CORRUPTIONS), fast=False, config=None,
                    methods=None, settings=None, verbose=False, log=print, progress=None):
    """:func:`run_demo`'s models, trained once and tested under each of ``corruptions``.

    Returns ``(results, trained)``: one results dict per corruption (each the
    same as ``run_demo(corruption=...)`` gives) and the trained models.
    The test sweeps' seeds are drawn from the run's generator for every
    family in :data:`~mini_eau.lab.corruptions.CORRUPTIONS` order, whichever
    are asked for, so a family's sweeps do not depend on the others.
    """
    t0 = time.perf_counter()
    families = [get_corruption(c) for c in corruptions]  # a bad name fails here, before any training
    settings = check_settings((FAST_SETTINGS if fast else SETTINGS) if settings is None else settings)
    config = EAU_DEFAULTS if config is None else config
    rng = np.random.default_rng(seed)
    bench = load_benchmark(data, seed, n_train=settings.n_train, n_test=settings.n_test)
    train, tcfg = training_setup(bench, protocol, settings, rng)
    M, names = bench.train.n_modalities, bench.train.names
    sweep_seeds = draw_sweep_seeds(bench, rng)
    all_methods = method_names(M)
    methods = all_methods if methods is None else tuple(methods)
    for m in methods:
        if m not in all_methods:
            raise ValueError(f"methods: expected names from {all_methods}, got {m!r}")

    def train_one(name, d, label):
        if progress is not None:
            progress(label)
        model = make_method(name, [x.shape[1] for x in d.xs], d.n_classes, config)
        return fit(model, d, tcfg, rng=np.random.default_rng([seed, all_methods.index(name)]), verbose=verbose,
                   log=log).to_host()

    trained = {name: train_one(name, train, name) for name in methods}
    oracles = {}  # per sweep: concatenation trained on the views it leaves clean
    for noisy in bench.sweeps:
        clean = [m for m in range(M) if m not in noisy]
        if len(clean) >= 2 and "concat" in methods:
            oracles[noisy] = train_one("concat", train.select(clean), f"oracle: concat on {'+'.join(names[m] for m in clean)}")
    runtime_train = time.perf_counter() - t0
    out = []
    for family in families:
        t1 = time.perf_counter()
        results = {**describe_run(data, seed, protocol, settings, fast, family), "views": list(names), "unit": bench.unit,
                   "levels": list(family.levels), "other": round(bench.other / bench.unit, 12),
                   "train_noise": bench.train_noise / bench.unit, "sweeps": []}
        for noisy, sweep in zip(bench.sweeps, corrupted_sweeps(bench, family, sweep_seeds)):
            res = {"noisy": list(noisy), "noisy_names": [names[m] for m in noisy],
                   "methods": {name: evaluate(tr, sweep) for name, tr in trained.items()}}
            clean = [m for m in range(M) if m not in noisy]
            cands = {f"unimodal_{m}": res["methods"][f"unimodal_{m}"] for m in clean if f"unimodal_{m}" in trained}
            if cands:
                res["best_clean_view"] = oracle(cands)
            if noisy in oracles:
                cands["concat_clean"] = evaluate(oracles[noisy], sweep, views=clean)
            if cands:
                res["oracle"] = oracle(cands)
            if "eau" in trained:
                res["eau"] = eau_diagnostics(trained["eau"], sweep, noisy)
            results["sweeps"].append(res)
        results["config"] = config.to_dict()
        results["train_config"] = {"steps": settings.steps, "epochs": tcfg.epochs, "batch_size": tcfg.batch_size,
                                   "lr": tcfg.lr, "n_train": len(train)}
        results["runtime_s"] = runtime_train + time.perf_counter() - t1
        out.append(results)
    return out, trained


# ------------------------------------------------------------------ printing
def _seed_text(results):
    s = results["seed"]
    return f"mean over seeds {', '.join(map(str, s))}" if isinstance(s, list) else f"one seed ({s})"


def format_tables(results):
    """One accuracy table per sweep (methods x noise level, in the data's noise unit), with EAU's diagnostics."""
    levels = results["levels"]
    head = (f"{results['data']} ({len(results['views'])} views: {', '.join(results['views'])}), "
            f"protocol '{results['protocol']}' ({results['protocol_text']}); {_seed_text(results)}")
    lines = [head, f"noise unit {results['unit']:.3g} (RMS of the clean training features); "
             f"views not swept carry noise {results['other']:g} unit; training noise up to "
             f"{results['train_noise']:g} unit" + (" (not used by this protocol)" if results["protocol"] == "clean" else "")]
    lines.append(f"test corruption: {results['corruption']} ({results['corruption_text']})")
    if budget_text(results):
        lines.append(budget_text(results))
    for sw in results["sweeps"]:
        lines.append("")
        lines.append(f"{results['corruption']} on {' + '.join(sw['noisy_names'])}: accuracy at level "
                     f"({results['level_label']})")
        lines.append(f"{'method':16s}" + "".join(f"{lv:>8g}" for lv in levels))
        rows = dict(sw["methods"])
        for key in ("oracle", "best_clean_view"):
            if key in sw:
                rows[key] = sw[key]
        for name, r in rows.items():
            lines.append(f"{name:16s}" + "".join(f"{a:8.3f}" for a in r["accuracy"]))
        if "eau" in sw:
            e = sw["eau"]
            w = np.array(e["weights"])[sw["noisy"]].mean(axis=0)
            lines.append(f"{'w(noisy), eau':16s}" + "".join(f"{x:8.3f}" for x in w))
            lines.append(f"{'ECE, eau':16s}" + "".join(f"{x:8.3f}" for x in sw["methods"]["eau"]["ece"]))
            sp = ", ".join(f"{results['views'][int(m)]} {v:.3f}" for m, v in e["spearman"].items())
            lines.append(f"Spearman(corruption level, EAU's u): {sp}")
    lines.append("")
    lines.append("oracle: at each level the best model trained only on the views this sweep leaves clean; "
                 "best_clean_view: the best single clean view's model; w(noisy): EAU's mean fusion weight on "
                 "the swept view(s) (1/M when uniform)")
    lines.append(f"runtime {results['runtime_s']:.1f} s")
    return "\n".join(lines)


# ---------------------------------------------------------------- ablations
ABLATIONS = {
    "eau": {},
    "no L_UDR": {"lambda_udr": 0.0},
    "no L_URA": {"lambda_ura": 0.0},
    "no VIB": {"vib": False},
    "mean weights": {"fusion": "mean"},
    "standardised head": {"variance_head": "standardised"},
    "deviation head": {"variance_head": "deviation"},
}


def run_ablations(data="toy", seeds=(0, 1, 2), fast=False, protocol="augment", config=None, settings=None,
                  variants=None, log=print, progress=None, corruption="gaussian"):
    """EAU with one piece removed at a time, on every sweep of ``data``, averaged over ``seeds``.

    Each variant is trained exactly as :func:`run_demo` trains EAU (same data,
    budget and generator seed), so the ``eau`` row is the demo's model.
    Returns ``{"levels", "sweeps": [{"noisy_names", "accuracy": {variant: mean per level},
    "spearman": {variant: mean}}], "shares": {variant: {term: share}}, ...}``; ``shares`` is each
    loss term's share of the gradient on the log-variance heads at the end of training
    (:func:`~mini_eau.lab.diagnostics.gradient_shares`, on training batches as the protocol
    presents them), averaged over views and seeds.
    """
    from .diagnostics import TERMS, gradient_shares

    family = get_corruption(corruption)
    settings = check_settings((FAST_SETTINGS if fast else SETTINGS) if settings is None else settings)
    config = EAU_DEFAULTS if config is None else config
    variants = list(ABLATIONS) if variants is None else list(variants)
    for v in variants:
        if v not in ABLATIONS:
            raise ValueError(f"variants: expected names from {tuple(ABLATIONS)}, got {v!r}")
    table, shares = None, {v: {t: [] for t in TERMS} for v in variants}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        bench = load_benchmark(data, seed, n_train=settings.n_train, n_test=settings.n_test)
        train, tcfg = training_setup(bench, protocol, settings, rng)
        sweeps = corrupted_sweeps(bench, family, draw_sweep_seeds(bench, rng))  # as run_corruptions draws them
        if table is None:
            table = [{"noisy_names": [bench.train.names[m] for m in s], "accuracy": {v: [] for v in variants},
                      "spearman": {v: [] for v in variants}} for s in bench.sweeps]
        dims = [x.shape[1] for x in train.xs]
        eau_index = method_names(train.n_modalities).index("eau")
        for name in variants:
            if progress is not None:
                progress(f"{name}, seed {seed}")
            model = EAU(dims, train.n_classes, replace(config, **ABLATIONS[name]))
            tr = fit(model, train, tcfg, rng=np.random.default_rng([seed, eau_index])).to_host()
            sh = gradient_shares(model, tr.params, train, np.random.default_rng([seed, 99]), n_batches=8,
                                 batch_size=tcfg.batch_size, augment=tcfg.augment)["share"]
            for t in TERMS:
                shares[name][t].append(float(np.mean(sh[t])))
            for row, noisy, sweep in zip(table, bench.sweeps, sweeps):
                row["accuracy"][name].append(evaluate(tr, sweep)["accuracy"])
                sp = eau_diagnostics(tr, sweep, noisy)["spearman"]
                row["spearman"][name].append(float(np.mean(list(sp.values()))))
    for row in table:
        row["accuracy"] = {k: np.mean(v, axis=0).tolist() for k, v in row["accuracy"].items()}
        row["spearman"] = {k: float(np.mean(v)) for k, v in row["spearman"].items()}
    res = {**describe_run(data, list(seeds), protocol, settings, fast, family), "seeds": list(seeds),
           "levels": list(family.levels), "sweeps": table,
           "shares": {v: {t: float(np.mean(x)) for t, x in per.items()} for v, per in shares.items()}}
    log(format_ablations(res))
    return res


def format_ablations(res):
    """Markdown tables: accuracy at noise 0 and at the highest level, and Spearman, per sweep and variant."""
    budget = f", {budget_text(res)}" if budget_text(res) else ""
    lines = [f"ablations ({res['data']}, protocol '{res['protocol']}', mean over seeds {res['seeds']}{budget})",
             "| variant | " + " | ".join(f"{'+'.join(r['noisy_names'])}: acc 0 / {res['levels'][-1]:g} / Spearman"
                                       for r in res["sweeps"]) + " |",
             "|---|" + "---|" * len(res["sweeps"])]
    for v in res["sweeps"][0]["accuracy"]:
        cells = []
        for r in res["sweeps"]:
            a = r["accuracy"][v]
            sp = r["spearman"][v]
            cells.append(f"{a[0]:.3f} / {a[-1]:.3f} / " + ("—" if math.isnan(sp) else f"{sp:.2f}"))
        lines.append(f"| {v} | " + " | ".join(cells) + " |")
    if "shares" in res:
        terms = list(next(iter(res["shares"].values())))
        lines += ["", "share of the gradient on the log-variance heads at the end of training, per loss term",
                  "| variant | " + " | ".join(terms) + " |", "|---|" + "---|" * len(terms)]
        lines += [f"| {v} | " + " | ".join(f"{sh[t]:.2f}" for t in terms) + " |" for v, sh in res["shares"].items()]
    return "\n".join(lines)
