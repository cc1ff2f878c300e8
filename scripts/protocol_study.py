"""Both training protocols on every data set, tested under every corruption family.

    python scripts/protocol_study.py --out runs/study [--data toy ...] [--protocols clean augment]
                                     [--seeds 0 1 2] [--variance-head deviation]

For each data set, protocol and seed the demo's models are trained once
(:func:`mini_eau.lab.demo.run_corruptions`) and tested under every family of
:data:`mini_eau.lab.corruptions.CORRUPTIONS`.  Each (data, protocol,
corruption) gets a folder ``<out>/<data>-<protocol>-<corruption>`` holding
``results_seed<S>.json`` and the mean over seeds, ``results.json``, in the
format of ``python -m mini_eau demo``; ``scripts/summarise.py`` turns the
folders into the tables of the docs.  A finished seed is not run again, so
an interrupted study resumes where it stopped.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace

from mini_eau.gaussian import VARIANCE_INPUTS
from mini_eau.lab.corruptions import CORRUPTIONS
from mini_eau.lab.data import BENCHMARKS
from mini_eau.lab.demo import EAU_DEFAULTS, run_corruptions, write_json
from mini_eau.lab.seeds import aggregate


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="study folder (one sub-folder per data set, protocol and corruption)")
    p.add_argument("--data", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    p.add_argument("--protocols", nargs="+", choices=("clean", "augment", "once"), default=["clean", "augment"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--variance-head", dest="variance_head", choices=VARIANCE_INPUTS, default=EAU_DEFAULTS.variance_head)
    args = p.parse_args(argv)
    if min(args.seeds) < 0:
        p.error("--seeds: expected integers >= 0")
    config = replace(EAU_DEFAULTS, variance_head=args.variance_head)
    for data in args.data:
        for protocol in args.protocols:
            folders = {c: os.path.join(args.out, f"{data}-{protocol}-{c}") for c in CORRUPTIONS}
            for folder in folders.values():
                os.makedirs(folder, exist_ok=True)
            for seed in args.seeds:
                paths = {c: os.path.join(f, f"results_seed{seed}.json") for c, f in folders.items()}
                if all(os.path.exists(x) for x in paths.values()):
                    continue
                results, _ = run_corruptions(data, seed, protocol, tuple(CORRUPTIONS), config=config, log=lambda s: None)
                for r in results:
                    write_json(paths[r["corruption"]], r)
                print(f"{data} {protocol} seed {seed}: {results[0]['runtime_s']:.0f} s", flush=True)
            for c, folder in folders.items():
                per_seed = [json.load(open(os.path.join(folder, f"results_seed{s}.json"))) for s in args.seeds]
                summary = aggregate(per_seed) if len(per_seed) > 1 else per_seed[0]
                # the demo command that gives the same numbers (run_corruptions = run_demo per corruption)
                summary["command"] = (f"python -m mini_eau demo --data {data} --protocol {protocol} --corruption {c} "
                                      f"--seeds {' '.join(map(str, args.seeds))}"
                                      + ("" if args.variance_head == EAU_DEFAULTS.variance_head
                                         else f" --variance-head {args.variance_head}"))
                write_json(os.path.join(folder, "results.json"), summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
