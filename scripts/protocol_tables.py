"""The docs' tables of both protocols under every corruption, from a study folder.

    python scripts/protocol_study.py --out runs/study-raw --variance-head raw               # about 30 demo runs
    python scripts/protocol_tables.py runs/study-raw > docs/generated/protocols_raw.md
    python scripts/protocol_tables.py --copy docs/results/study/raw runs/study-raw          # keep the summaries

Reads ``<study>/<data>-<protocol>-<corruption>/results.json`` (the mean over
seeds that ``protocol_study.py`` writes) and prints one Markdown table per
protocol and corruption: per data set and sweep, Spearman(level, u), EAU at
level 0 and at the top level, concatenation, late fusion and the oracle at
the top level, and EAU's fusion weight on the corrupted view(s) at level 0
and at the top level.  Each row ends with the targets it misses (the rules
are in :func:`targets`): a miss is listed, never hidden.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from mini_eau.lab.corruptions import CORRUPTIONS
from mini_eau.lab.data import BENCHMARKS

TOYS = ("toy", "toy3")


def targets(r, sw):
    """The targets one sweep misses (an empty list when it meets them all).

    Clean protocol, Gaussian corruption: Spearman >= 0.5 on the toys (0.3 on
    real data); EAU at the top level >= max(concat, late) + 0.05 on the toys,
    >= late on real data; EAU's weight on the corrupted view(s) lower at the
    top level than at level 0; on real data EAU at most 2 points below
    concatenation.  Clean protocol, mask corruption, toy: Spearman >= 0.5.
    Augment protocol, Gaussian corruption: Spearman >= 0.7, EAU >= late and
    within 2 points of the oracle at the top level.  Other cases: the weight
    rule only.
    """
    m, e = sw["methods"], sw["methods"]["eau"]["accuracy"]
    sp = min(sw["eau"]["spearman"].values())
    w = np.array(sw["eau"]["weights"])[sw["noisy"]].sum(axis=0)
    toy, missed = r["data"] in TOYS, []
    if r["protocol"] == "clean" and r["corruption"] == "gaussian":
        if sp < (0.5 if toy else 0.3):
            missed.append(f"Spearman < {0.5 if toy else 0.3}")
        if toy and e[-1] < max(m["concat"]["accuracy"][-1], m["late"]["accuracy"][-1]) + 0.05:
            missed.append("EAU < max(concat, late) + 0.05")
        if not toy and e[-1] < m["late"]["accuracy"][-1]:
            missed.append("EAU < late")
    if r["protocol"] == "clean" and r["corruption"] == "mask" and toy and sp < 0.5:
        missed.append("Spearman < 0.5")
    if r["protocol"] == "clean" and not toy and e[-1] < m["concat"]["accuracy"][-1] - 0.02:
        missed.append("EAU > 2 points below concat")
    if r["protocol"] == "augment" and r["corruption"] == "gaussian":
        if sp < 0.7:
            missed.append("Spearman < 0.7")
        if e[-1] < m["late"]["accuracy"][-1]:
            missed.append("EAU < late")
        if e[-1] < sw["oracle"]["accuracy"][-1] - 0.02:
            missed.append("EAU > 2 points below the oracle")
    if w[-1] >= w[0]:
        missed.append("weight on the corrupted view(s) does not fall")
    return missed


def table(runs):
    """One Markdown table: a row per data set and sweep."""
    hi = runs[0]["levels"][-1]
    head = ["data", "corrupted", "Spearman(level, u)", "EAU at 0", f"EAU at {hi:g}", f"concat at {hi:g}",
            f"late at {hi:g}", f"oracle at {hi:g}", f"EAU weight on corrupted, 0 → {hi:g}", "targets missed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        for sw in r["sweeps"]:
            m = sw["methods"]
            w = np.array(sw["eau"]["weights"])[sw["noisy"]].sum(axis=0)
            sp = " / ".join(f"{v:+.2f}" for v in sw["eau"]["spearman"].values())
            cells = [r["data"], " + ".join(sw["noisy_names"]), sp, f"{m['eau']['accuracy'][0]:.3f}",
                     f"**{m['eau']['accuracy'][-1]:.3f}**", f"{m['concat']['accuracy'][-1]:.3f}",
                     f"{m['late']['accuracy'][-1]:.3f}", f"{sw['oracle']['accuracy'][-1]:.3f}",
                     f"{w[0]:.2f} → {w[-1]:.2f}", "; ".join(targets(r, sw)) or "—"]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def copy_summaries(dest, study):
    """Copy each ``<study>/*/results.json`` to ``<dest>/*/results.json`` without the reliability curves
    (the tables do not use them; the copies are what the docs keep)."""
    for path in sorted(Path(study).glob("*/results.json")):
        r = json.loads(path.read_text())
        for tree in (r.get("sweeps", []), r.get("std", {}).get("sweeps", [])):
            for sw in tree:
                if isinstance(sw.get("eau"), dict):
                    sw["eau"].pop("reliability", None)
        out = Path(dest) / path.parent.name / "results.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(r, indent=1))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python scripts/protocol_tables.py", description=__doc__.splitlines()[0])
    p.add_argument("study", help="the --out folder of scripts/protocol_study.py")
    p.add_argument("--copy", metavar="STUDY", help="instead: copy STUDY's summaries into the folder given first")
    args = p.parse_args(argv)
    if args.copy:
        copy_summaries(args.study, args.copy)
        return 0
    root = Path(args.study)
    found = False
    for protocol in ("clean", "augment"):
        for corruption in CORRUPTIONS:
            runs = []
            for data in BENCHMARKS:
                path = root / f"{data}-{protocol}-{corruption}" / "results.json"
                if path.is_file():
                    runs.append(json.loads(path.read_text()))
            if not runs:
                continue
            found = True
            seeds = runs[0]["seed"]
            c = CORRUPTIONS[corruption]
            print(f"#### Head `{runs[0]['config']['variance_head']}`: protocol `{protocol}`, corruption `{corruption}`\n")
            print(f"Trained: {runs[0]['protocol_text']}. Tested: {c.description}; levels "
                  f"{', '.join(f'{lv:g}' for lv in c.levels)} ({c.unit_label}). "
                  + (f"Mean over seeds {', '.join(map(str, seeds))}." if isinstance(seeds, list) else f"Seed {seeds}.")
                  + f" Variance head: `{runs[0]['config']['variance_head']}`.\n")
            print(table(runs))
            print()
    if not found:
        raise SystemExit(f"protocol_tables: {root}: no <data>-<protocol>-<corruption>/results.json "
                         "(run scripts/protocol_study.py --out {root} first)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
