"""The README's result tables, from demo runs (``results.json`` of ``python -m mini_eau demo --seeds 0 1 2``).

    python scripts/summarise.py runs/demo-toy-augment runs/demo-toy3-augment ...
    python scripts/summarise.py --ablations runs/ablations-toy-augment ...

For each folder: one row per sweep with EAU and the baselines at noise 0
and at the highest level, the oracle, EAU's fusion weight on the swept views
and Spearman(noise, u), each a mean over the run's seeds; then the issue's
targets checked per sweep (a failed target is listed, not hidden).
With ``--levels`` it also prints the full accuracy-by-level table.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

BASELINES = ("concat", "late", "mean", "precision", "tmc", "qmf")


def load(folder):
    path = Path(folder) / "results.json"
    if not path.is_file():
        raise SystemExit(f"summarise: {folder}: no results.json (run python -m mini_eau demo --out {folder} first)")
    return json.loads(path.read_text())


def targets(r, sw):
    """The issue's targets for one sweep (augment protocol): a list of the missed ones."""
    m, e = sw["methods"], sw["methods"]["eau"]["accuracy"]
    missed = []
    if min(sw["eau"]["spearman"].values()) < 0.7:
        missed.append("Spearman < 0.7")
    if e[-1] < m["concat"]["accuracy"][-1] + 0.03:
        missed.append("EAU < concat + 0.03")
    if e[-1] < m["late"]["accuracy"][-1]:
        missed.append("EAU < late")
    if e[-1] < sw["oracle"]["accuracy"][-1] - 0.02:
        missed.append("EAU > 2 points below the oracle")
    best0 = max(v["accuracy"][0] for k, v in m.items() if k != "eau")
    if e[0] < best0 - 0.01:
        missed.append("noise 0: EAU > 1 point below the best baseline")
    if len(r["views"]) >= 3 and max(np.array(sw["eau"]["weights"])[sw["noisy"], -1]) > 0.05:
        missed.append("drowned view's weight > 0.05")
    return missed


def summary_table(runs):
    hi = runs[0]["levels"][-1]
    head = ["data", "noise on", f"EAU at 0 (best other)", f"EAU at {hi:g}"] + [f"{b} at {hi:g}" for b in BASELINES] + \
           [f"oracle at {hi:g}", f"best clean view", f"EAU weight on noisy at {hi:g}", "Spearman(noise, u)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        sd = r.get("std", {}).get("sweeps")
        for k, sw in enumerate(r["sweeps"]):
            m = sw["methods"]
            e = m["eau"]["accuracy"]
            e_sd = f" ± {sd[k]['methods']['eau']['accuracy'][-1]:.3f}" if sd else ""
            best0 = max(v["accuracy"][0] for n, v in m.items() if n != "eau")
            w = np.array(sw["eau"]["weights"])[sw["noisy"], -1]
            cells = [r["data"], " + ".join(sw["noisy_names"]), f"{e[0]:.3f} ({best0:.3f})", f"**{e[-1]:.3f}**{e_sd}"]
            cells += [f"{m[b]['accuracy'][-1]:.3f}" for b in BASELINES]
            cells += [f"{sw['oracle']['accuracy'][-1]:.3f}", f"{sw['best_clean_view']['accuracy'][-1]:.3f}",
                      " / ".join(f"{x:.3f}" for x in w),
                      " / ".join(f"{v:.2f}" for v in sw["eau"]["spearman"].values())]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def levels_table(r, k=0):
    sw = r["sweeps"][k]
    lines = [f"| method | " + " | ".join(f"{lv:g}" for lv in r["levels"]) + " |", "|---|" + "---|" * len(r["levels"])]
    rows = dict(sw["methods"])
    rows["oracle"] = sw["oracle"]
    for name, v in rows.items():
        bold = name == "eau"
        cells = [f"**{a:.3f}**" if bold else f"{a:.3f}" for a in v["accuracy"]]
        label = f"{r['views'][int(name.split('_')[1])]} alone" if name.startswith("unimodal_") else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    w = np.array(sw["eau"]["weights"])[sw["noisy"]].mean(axis=0)
    lines.append("| EAU's weight on the noisy view | " + " | ".join(f"{x:.3f}" for x in w) + " |")
    lines.append("| EAU's ECE | " + " | ".join(f"{x:.3f}" for x in sw["methods"]["eau"]["ece"]) + " |")
    return "\n".join(lines)


def ablations_table(folders):
    """One row per ablation variant, one column per data set: accuracy at the highest level and Spearman, mean over sweeps."""
    runs = []
    for f in folders:
        path = Path(f) / "ablations.json"
        if not path.is_file():
            raise SystemExit(f"summarise: {f}: no ablations.json (run python -m mini_eau ablations --out {f} first)")
        runs.append(json.loads(path.read_text()))
    hi = runs[0]["levels"][-1]
    lines = ["| variant | " + " | ".join(r["data"] for r in runs) + " |", "|---|" + "---|" * len(runs)]
    for v in runs[0]["sweeps"][0]["accuracy"]:
        cells = []
        for r in runs:
            acc = np.mean([sw["accuracy"][v][-1] for sw in r["sweeps"]])
            acc0 = np.mean([sw["accuracy"][v][0] for sw in r["sweeps"]])
            sp = np.mean([sw["spearman"][v] for sw in r["sweeps"]])
            cells.append(f"{acc0:.3f} / {acc:.3f} / {sp:.2f}")
        lines.append(f"| {v} | " + " | ".join(cells) + " |")
    return (f"protocol '{runs[0]['protocol']}', seeds {runs[0]['seeds']}; each cell: accuracy at noise 0 / at "
            f"{hi:g} / Spearman(noise, u), each the mean over the set's sweeps\n\n" + "\n".join(lines))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python scripts/summarise.py", description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", help="demo output folders, each with a results.json")
    p.add_argument("--levels", action="store_true", help="also print the accuracy-by-level table of each first sweep")
    p.add_argument("--per-seed", action="store_true", help="also check the targets on each results_seed*.json")
    p.add_argument("--ablations", action="store_true", help="the folders hold ablations.json: print their table")
    args = p.parse_args(argv)
    if args.ablations:
        print(ablations_table(args.folders))
        return 0
    runs = [load(f) for f in args.folders]
    seeds = runs[0]["seed"]
    print(f"protocol '{runs[0]['protocol']}', " + (f"mean over seeds {seeds}" if isinstance(seeds, list) else f"seed {seeds}"))
    print()
    print(summary_table(runs))
    print()
    for f, r in zip(args.folders, runs):
        for sw in r["sweeps"]:
            missed = targets(r, sw)
            print(f"- {r['data']}, noise on {' + '.join(sw['noisy_names'])}: " + ("every target met" if not missed
                                                                                   else "missed: " + "; ".join(missed)))
        if args.per_seed:
            for path in sorted(Path(f).glob("results_seed*.json")):
                one = json.loads(path.read_text())
                missed = [(" + ".join(sw["noisy_names"]), t) for sw in one["sweeps"] for t in targets(one, sw)]
                print(f"  - seed {one['seed']}: " + ("every target met" if not missed else
                                                     "; ".join(f"{n}: {t}" for n, t in missed)))
        if args.levels:
            print()
            print(f"{r['data']}, noise on {' + '.join(r['sweeps'][0]['noisy_names'])}:")
            print(levels_table(r))
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
