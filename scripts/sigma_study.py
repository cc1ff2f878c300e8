"""Where does sigma learn from?  The study behind that section of the docs (docs/protocols.md).

    python scripts/sigma_study.py [--seed 0] [--fast] [--json FILE]

For every benchmark and training protocol it trains EAU with the demo's
settings and reports, at the end of training:

* each loss term's share of the gradient reaching the log-variance heads
  (:func:`mini_eau.lab.diagnostics.gradient_shares`, on training batches as
  the protocol presents them);
* Spearman(injected noise, u) on the first view's test sweep, and on the
  training set itself (for the "once" protocol: noise the model has seen);
* how close the log-variances sit to the bound (share of |s| > 0.9 s_max)
  and the mean u of a clean test view.

Then, on two sets and the augment protocol, what the fusion temperature and
the weight of L_UDR (the prior's pull) change.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

import numpy as np

from mini_eau.gaussian import S_MAX
from mini_eau.lab import metrics
from mini_eau.lab.corruptions import CORRUPTIONS, corrupt_sweep
from mini_eau.lab.data import BENCHMARKS, load_benchmark
from mini_eau.lab.demo import EAU_DEFAULTS, FAST_SETTINGS, SETTINGS, eau_diagnostics, evaluate, training_setup
from mini_eau.lab.diagnostics import TERMS, gradient_shares
from mini_eau.lab.train import fit
from mini_eau.model import EAU


def study(data, protocol, config, settings, seed):
    rng = np.random.default_rng(seed)
    bench = load_benchmark(data, seed, settings.n_train, settings.n_test)
    train, tcfg = training_setup(bench, protocol, settings, rng)
    gaussian = CORRUPTIONS["gaussian"]
    sweep = corrupt_sweep(bench.test, int(rng.integers(2 ** 63 - 1)), "gaussian", gaussian.levels, (0,), bench.other,
                          bench.unit)
    model = EAU([x.shape[1] for x in train.xs], train.n_classes, config)
    tr = fit(model, train, tcfg, rng=np.random.default_rng([seed, 0]))
    shares = gradient_shares(model, tr.params, train, np.random.default_rng(seed), n_batches=8,
                             batch_size=tcfg.batch_size, augment=tcfg.augment)
    diag = eau_diagnostics(tr, sweep, (0,))
    _, ss = tr.embed(bench.test.xs)
    row = {"data": data, "protocol": protocol,
           "share": {t: float(np.mean(shares["share"][t])) for t in TERMS},
           "spearman_test": diag["spearman"]["0"],
           "accuracy_high": evaluate(tr, sweep[-1:])["accuracy"][0],
           "weight_high": diag["weights"][0][-1],
           "near_bound": float(np.mean(np.abs(ss) > 0.9 * S_MAX)),
           "u_clean": float(np.mean(np.exp(0.5 * ss))),
           "train_accuracy": tr.history[-1]["accuracy"]}
    if protocol == "once":  # the training noise itself: does u follow the noise the model has memorised?
        u = tr.uncertainty(train.xs)[0]
        row["spearman_train"] = metrics.spearman(train.noise[0], u)
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fast", action="store_true")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    settings = FAST_SETTINGS if args.fast else SETTINGS
    rows = []
    print("| data | protocol | task | L_URA | L_UDR prior | L_UDR align | Spearman test (train) | acc / weight at 6 | |s| near bound | train acc |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for data in BENCHMARKS:
        for protocol in ("augment", "once", "clean"):
            r = study(data, protocol, EAU_DEFAULTS, settings, args.seed)
            rows.append(r)
            sp = f"{r['spearman_test']:.2f}" + (f" ({r['spearman_train']:.2f})" if "spearman_train" in r else "")
            print(f"| {data} | {protocol} | " + " | ".join(f"{r['share'][t]:.2f}" for t in TERMS) +
                  f" | {sp} | {r['accuracy_high']:.3f} / {r['weight_high']:.3f} | {r['near_bound']:.3f} | "
                  f"{r['train_accuracy']:.3f} |", flush=True)
    print()
    print("| data | change (augment protocol) | Spearman | acc at 6 | weight at 6 | L_UDR prior share |")
    print("|---|---|---|---|---|---|")
    for data in ("toy3", "digits4"):
        for label, change in (("default (T = 0.1, lambda_udr = 1e-3)", {}), ("T = 1", {"temperature": 1.0}),
                              ("lambda_udr = 1", {"lambda_udr": 1.0}), ("lambda_udr = 0", {"lambda_udr": 0.0})):
            r = study(data, "augment", replace(EAU_DEFAULTS, **change), settings, args.seed)
            r["change"] = label
            rows.append(r)
            print(f"| {data} | {label} | {r['spearman_test']:.2f} | {r['accuracy_high']:.3f} | {r['weight_high']:.3f} | "
                  f"{r['share']['udr_prior']:.2f} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
