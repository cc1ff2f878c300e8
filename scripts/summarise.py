"""Average several demo runs (one per seed) into the README's tables and check the targets.

    for s in 0 1 2; do python -m mini_eau demo --seed $s --out runs/toy_s$s; done
    python scripts/summarise.py runs/toy_s0 runs/toy_s1 runs/toy_s2
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main(folders):
    runs = [json.loads((Path(f) / "results.json").read_text()) for f in folders]
    levels = runs[0]["noise_levels"]
    seeds = [r["seed"] for r in runs]
    methods = list(runs[0]["methods"])
    acc = {m: np.mean([r["methods"][m]["accuracy"] for r in runs], axis=0) for m in methods}
    ece = {m: np.mean([r["methods"][m]["ece"] for r in runs], axis=0) for m in methods}
    w = np.mean([r["fusion_weight_noisy"] for r in runs], axis=0)
    print(f"{runs[0]['data']}, seeds {seeds}: accuracy vs noise on modality {runs[0]['noisy_modality']!r} (mean over seeds)\n")
    print("| method | " + " | ".join(f"{lv:g}" for lv in levels) + " |")
    print("|---|" + "---|" * len(levels))
    for m in methods:
        print(f"| {m} | " + " | ".join(f"{a:.3f}" for a in acc[m]) + " |")
    print("| EAU weight of the noisy modality | " + " | ".join(f"{a:.3f}" for a in w) + " |")
    print("| EAU ECE | " + " | ".join(f"{a:.3f}" for a in ece["eau"]) + " |")
    sp = {k: float(np.mean([r["spearman"][k] for r in runs])) for k in ("a", "b")}
    rt = [r["runtime_s"] for r in runs]
    print(f"\nSpearman(injected noise, predicted uncertainty): a {sp['a']:.3f}, b {sp['b']:.3f}; "
          f"runtime per run {min(rt):.1f}-{max(rt):.1f} s")
    e, hi = acc["eau"], len(levels) - 1
    print("\ntargets (means over the seeds):")
    print(f"- EAU - concat at the highest noise: {e[hi] - acc['concat'][hi]:+.3f}")
    print(f"- EAU - late at the highest noise:   {e[hi] - acc['late'][hi]:+.3f}")
    if "mean" in acc:
        print("- EAU - mean weights per level:    " + " ".join(f"{d:+.3f}" for d in e - acc["mean"]))
    if "oracle" in acc:
        print("- EAU - oracle per level:          " + " ".join(f"{d:+.3f}" for d in e - acc["oracle"]))
    worst = max(max(r["methods"]["eau"]["ece"]) for r in runs)
    print(f"- EAU ECE: max of the mean {ece['eau'].max():.3f}, max over seeds and levels {worst:.3f}")


def parse_args(argv):
    """The run folders; with none, argparse prints the usage line and exits with code 2."""
    p = argparse.ArgumentParser(prog="python scripts/summarise.py",
                                description="Average several demo runs (one per seed) into the README's tables.")
    p.add_argument("folders", nargs="+", metavar="FOLDER", help="a folder written by python -m mini_eau demo --out FOLDER")
    args = p.parse_args(argv)
    missing = [f for f in args.folders if not (Path(f) / "results.json").is_file()]
    if missing:
        p.error(f"no results.json in {', '.join(missing)}; run python -m mini_eau demo --out FOLDER first")
    return args.folders


if __name__ == "__main__":
    main(parse_args(sys.argv[1:]))
