"""``python -m mini_eau gradcheck | demo | ablations`` (the benchmark: ``python -m benchmarks.bench``)."""
from __future__ import annotations

import argparse
import sys


def _gradcheck(args):
    from ..gradcheck import registered, run_component, GradCheckReport

    names = list(registered())
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            raise SystemExit(f"gradcheck: unknown component(s) {unknown}; known: {names}")
        names = [n for n in names if n in args.only]
    report = GradCheckReport()
    for n in names:
        report.extend(run_component(n, seed=args.seed))
    print(report.table(by="input" if args.verbose else "component"))
    comps = report.components()
    n_ok = sum(1 for c in comps if c[-1])
    print()
    print(f"{len(comps)} components checked, {n_ok} passed, {len(comps) - n_ok} failed")
    return 0 if n_ok == len(comps) else 1


def _use_backend(command, name):
    """Switch the array backend (``name``, else $MINI_EAU_BACKEND); a clear message, not a traceback, if it cannot run."""
    from ..backend import BackendUnavailable, default_xp, set_default_backend

    try:
        if name is not None:
            set_default_backend(name)
        default_xp()  # the environment's choice is checked here too, not halfway through training
    except (BackendUnavailable, ValueError) as err:
        raise SystemExit(f"{command}: {err}") from None


def _demo(args):
    from .demo import run_demo

    _use_backend("demo", args.backend)
    run_demo(data=args.data, seed=args.seed, out=args.out, fast=args.fast, verbose=args.verbose)
    print(f"wrote {args.out}/results.json and figures")
    return 0


def _ablations(args):
    import json
    import os

    from .demo import run_ablations

    res = run_ablations(data=args.data, seeds=tuple(args.seeds), fast=args.fast)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "ablations.json"), "w") as f:
            json.dump(res, f, indent=1)
    return 0


def build_parser():
    p = argparse.ArgumentParser(prog="python -m mini_eau", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("gradcheck", help="check every registered backward against finite differences and autograd")
    g.add_argument("--only", nargs="+", metavar="NAME", help="check only these components")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("-v", "--verbose", action="store_true", help="one row per input and case")
    g.set_defaults(func=_gradcheck)

    d = sub.add_parser("demo", help="train EAU and every baseline on a noise sweep; write results.json and figures")
    d.add_argument("--data", choices=("toy", "digits"), default="toy")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    d.add_argument("--fast", action="store_true", help="small data and few epochs (seconds; for tests)")
    d.add_argument("-v", "--verbose", action="store_true", help="one progress line per epoch and method")
    d.add_argument("--backend", choices=("numpy", "cupy"), default=None,
                   help="array backend (default: $MINI_EAU_BACKEND, else numpy); cupy trains on the GPU")
    d.set_defaults(func=_demo)

    a = sub.add_parser("ablations", help="EAU with L_UDR, L_URA, the VIB or uncertainty weights removed")
    a.add_argument("--data", choices=("toy", "digits"), default="toy")
    a.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    a.add_argument("--out", default="runs/ablations")
    a.add_argument("--fast", action="store_true")
    a.set_defaults(func=_ablations)

    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
