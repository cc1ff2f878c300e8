"""``python -m mini_eau gradcheck | demo | ablations`` (the benchmark: ``python -m benchmarks.bench``)."""
from __future__ import annotations

import argparse
import sys


def _gradcheck(args):
    from ..gradcheck import registered, run_component, GradCheckReport

    names = list(registered())
    if args.only:
        # a prefix selects every variant: "fuse" is fuse[paper], fuse[per_dim], ...
        unknown = [p for p in args.only if not any(n.startswith(p) for n in names)]
        if unknown:
            raise SystemExit(f"gradcheck: unknown component(s) {unknown}: no component name starts with "
                             f"{'it' if len(unknown) == 1 else 'them'}; known: {', '.join(names)}")
        names = [n for n in names if n.startswith(tuple(args.only))]
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


DESCRIPTION = ("mini_eau, a readable NumPy implementation of EAU (CVPR 2024): check every gradient, "
               "run the demo or the ablations. The benchmark is python -m benchmarks.bench.")


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default after its help, unless the help already says it or there is none to show."""

    def _get_help_string(self, action):
        if "default" in (action.help or "") or any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            return action.help
        return super()._get_help_string(action)


def build_parser():
    p = argparse.ArgumentParser(prog="python -m mini_eau", description=DESCRIPTION, formatter_class=_Help)
    sub = p.add_subparsers(dest="command", required=True, metavar="{gradcheck,demo,ablations}")
    g = sub.add_parser("gradcheck", help="check every registered backward against finite differences and autograd",
                       description="Check every registered backward against finite differences and autograd "
                                   "(float64); exit code 1 if any fails.", formatter_class=_Help)
    g.add_argument("--only", nargs="+", metavar="NAME",
                   help="check only the components whose name starts with NAME, e.g. fuse or ura_loss (default: all)")
    g.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    g.add_argument("-v", "--verbose", action="store_true", help="one row per input and case")
    g.set_defaults(func=_gradcheck)

    d = sub.add_parser("demo", help="train EAU and every baseline on a noise sweep; write results.json and figures",
                       description="Train EAU and every baseline on a noise sweep; write results.json and figures.",
                       formatter_class=_Help)
    d.add_argument("--data", choices=("toy", "digits"), default="toy", help="the toy problem or the digits in two views")
    d.add_argument("--seed", type=int, default=0, help="seed of the data, the initialisation and the noise")
    d.add_argument("--out", default="runs/demo", help="output folder")
    d.add_argument("--fast", action="store_true", help="small data and few epochs (seconds; for tests)")
    d.add_argument("-v", "--verbose", action="store_true", help="one progress line per epoch and method")
    d.add_argument("--backend", choices=("numpy", "cupy"), default=None,
                   help="array backend (default: $MINI_EAU_BACKEND, else numpy); cupy trains on the GPU")
    d.set_defaults(func=_demo)

    a = sub.add_parser("ablations", help="EAU with L_UDR, L_URA, the VIB or uncertainty weights removed",
                       description="EAU with L_UDR, L_URA, the VIB or the uncertainty weights removed, over seeds.",
                       formatter_class=_Help)
    a.add_argument("--data", choices=("toy", "digits"), default="toy", help="the toy problem or the digits in two views")
    a.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one run per seed")
    a.add_argument("--out", default="runs/ablations", help="output folder for ablations.json")
    a.add_argument("--fast", action="store_true", help="small data and few epochs (seconds; for tests)")
    a.set_defaults(func=_ablations)

    return p


def main(argv=None):
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # the subcommand's usage, not the top level's, says what it accepts
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
        commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
