"""How long does ``python -m mini_eau demo`` take on each data set?  (A benchmark, not a test.)

    python -m benchmarks.demo_time [--data toy digits ...] [--protocol augment]

Runs the demo once per data set (seed 0, default budget, no figures) and
prints the wall-clock seconds next to the target of 60 s on 2 cores.  Other
jobs on the machine slow it down: run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import os
import time

from mini_eau.lab.data import BENCHMARKS
from mini_eau.lab.demo import run_demo


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.demo_time", description=__doc__.splitlines()[0])
    p.add_argument("--data", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    p.add_argument("--protocol", default="augment")
    args = p.parse_args(argv)
    print(f"cores: {os.cpu_count()}; load average before: {os.getloadavg()[0]:.2f}")
    print("| data | seconds | target |")
    print("|---|---|---|")
    for data in args.data:
        t0 = time.perf_counter()
        run_demo(data, seed=0, protocol=args.protocol, figures=False, log=lambda s: None)
        print(f"| {data} | {time.perf_counter() - t0:.1f} | <= 60 |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
