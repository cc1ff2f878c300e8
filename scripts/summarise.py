"""Result tables for the docs, from demo runs (``results.json`` of ``python -m mini_eau demo --seeds 0 1 2``).

    python scripts/summarise.py runs/demo-toy-augment runs/demo-toy3-augment ...
    python scripts/summarise.py --ablations runs/ablations-toy-augment ...
    python scripts/summarise.py runs/demo-*-augment --per-seed --markdown docs/results/augment.md

For each folder: one row per sweep with EAU and the baselines at noise 0
and at the highest level, the oracle, EAU's fusion weight on the swept views
and Spearman(noise, u), each a mean over the run's seeds; then the
robustness checks per sweep (:func:`targets`; a failed check is listed, not
hidden).  With ``--levels`` it also prints the full accuracy-by-level table.
With ``--markdown FILE`` the same text goes into FILE, headed by the command
that wrote it and how the runs were made: the docs pages include these files,
so every number on the site comes from here.
"""
from __future__ import annotations

import argparse
import json
import re
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
    """The robustness checks for one sweep, a list of the missed ones.

    At the highest level: Spearman(noise, u) >= 0.7; EAU >= concat + 0.03 and
    >= late fusion; EAU within 2 points of the oracle.  At level 0: EAU at most
    1 point below the best baseline.  With three or more views: a drowned
    view's weight <= 0.05.
    """
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
    text = (f"protocol '{runs[0]['protocol']}', seeds {runs[0]['seeds']}; each cell: accuracy at noise 0 / at "
            f"{hi:g} / Spearman(noise, u), each the mean over the set's sweeps\n\n" + "\n".join(lines))
    if all("shares" in r for r in runs):
        terms = list(next(iter(runs[0]["shares"].values())))
        share_lines = ["| variant | " + " | ".join(r["data"] for r in runs) + " |", "|---|" + "---|" * len(runs)]
        for v in runs[0]["shares"]:
            share_lines.append(f"| {v} | " + " | ".join(" / ".join(f"{r['shares'][v][t]:.2f}" for t in terms)
                                                        for r in runs) + " |")
        text += (f"\n\nshare of the gradient on the log-variance heads at the end of training, each cell "
                 f"{' / '.join(terms)}\n\n" + "\n".join(share_lines))
    return text


def provenance(runs):
    """One line per run: the command that made it and its budget, from its ``results.json``."""
    lines = []
    for r in runs:
        cmd = r.get("command") or f"python -m mini_eau demo --data {r['data']} --protocol {r['protocol']}"
        cmd = re.sub(r" --out \S+| --force", "", cmd)  # where the files went does not change the numbers
        b = r.get("budget") or r.get("train_config", {})
        size = f", {b['steps']} steps per model" if "steps" in b else ""
        done = "" if r.get("complete", True) else " (interrupted: not every seed finished)"
        lines.append(f"- `{cmd}`{size}{done}")
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(prog="python scripts/summarise.py", description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", help="demo output folders, each with a results.json")
    p.add_argument("--levels", action="store_true", help="also print the accuracy-by-level table of each first sweep")
    p.add_argument("--only-levels", action="store_true", help="print only the accuracy-by-level table of each "
                                                              "first sweep (the README's small table)")
    p.add_argument("--per-seed", action="store_true", help="also check the targets on each results_seed*.json")
    p.add_argument("--ablations", action="store_true", help="the folders hold ablations.json: print their table")
    p.add_argument("--markdown", metavar="FILE", help="also write the output to FILE, headed by this command and "
                                                       "how the runs were made (for the docs)")
    p.add_argument("--block", metavar="NAME", help="with --markdown: replace only the text between the lines "
                                                   "'<!-- summarise NAME -->' and '<!-- /summarise NAME -->' of FILE")
    args = p.parse_args(argv)
    out = []
    if args.ablations:
        runs = [json.loads((Path(f) / "ablations.json").read_text()) for f in args.folders
                if (Path(f) / "ablations.json").is_file()]
        out.append(ablations_table(args.folders))
    else:
        runs = [load(f) for f in args.folders]
        out += report(args, runs)
    text = "\n".join(out)
    print(text)
    if args.markdown:
        command = "python scripts/summarise.py " + " ".join(sys.argv[1:] if argv is None else argv)
        block = "\n".join(["Made by these runs, then `" + command + "`:", ""] + provenance(runs) + ["", text])
        write_markdown(Path(args.markdown), block, args.block)
    return 0


def write_markdown(path, text, block=None):
    """Write ``text`` to ``path``, or, with ``block``, between that block's marker lines in ``path``."""
    if block is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
        return
    begin, end = f"<!-- summarise {block} -->", f"<!-- /summarise {block} -->"
    page = path.read_text() if path.is_file() else ""
    if begin not in page or end not in page:
        raise SystemExit(f"summarise: --block {block}: {path} has no lines {begin!r} and {end!r}")
    before, rest = page.split(begin, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{begin}\n{text}\n{end}{after}")


def report(args, runs):
    seeds = runs[0]["seed"]
    if args.only_levels:
        return [f"{r['data']}, protocol '{r['protocol']}', " + (f"mean over seeds {r['seed']}" if isinstance(
            r["seed"], list) else f"seed {r['seed']}") + f"; noise on {' + '.join(r['sweeps'][0]['noisy_names'])}:"
                + "\n\n" + levels_table(r) for r in runs]
    out = [f"protocol '{runs[0]['protocol']}', " + (f"mean over seeds {seeds}" if isinstance(seeds, list)
                                                     else f"seed {seeds}"), "", summary_table(runs), ""]
    for f, r in zip(args.folders, runs):
        for sw in r["sweeps"]:
            missed = targets(r, sw)
            out.append(f"- {r['data']}, noise on {' + '.join(sw['noisy_names'])}: " + ("every check passed" if not missed
                                                                                     else "missed: " + "; ".join(missed)))
        if args.per_seed:
            for path in sorted(Path(f).glob("results_seed*.json")):
                one = json.loads(path.read_text())
                missed = [(" + ".join(sw["noisy_names"]), t) for sw in one["sweeps"] for t in targets(one, sw)]
                out.append(f"  - seed {one['seed']}: " + ("every check passed" if not missed else
                                                          "; ".join(f"{n}: {t}" for n, t in missed)))
        if args.levels:
            out += ["", f"{r['data']}, noise on {' + '.join(r['sweeps'][0]['noisy_names'])}:", "", levels_table(r), ""]
    return out


if __name__ == "__main__":
    sys.exit(main())
