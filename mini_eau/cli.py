"""``python -m mini_eau gradcheck | demo | ablations | bench``."""
from __future__ import annotations

import argparse
import sys


def _gradcheck(args):
    from .gradcheck import registered, run_component, GradCheckReport

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


def build_parser():
    p = argparse.ArgumentParser(prog="python -m mini_eau", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("gradcheck", help="check every registered backward against finite differences and autograd")
    g.add_argument("--only", nargs="+", metavar="NAME", help="check only these components")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("-v", "--verbose", action="store_true", help="one row per input and case")
    g.set_defaults(func=_gradcheck)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
