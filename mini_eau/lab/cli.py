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


def _out_dir(command, out, data, protocol, corruption="gaussian"):
    """The output folder (default ``runs/<command>-<data>-<protocol>[-<corruption>]``), created and checked before any training."""
    import os

    out = out or os.path.join("runs", f"{command}-{data}-{protocol}" + ("" if corruption == "gaussian" else f"-{corruption}"))
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, ".write-test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as err:
        raise SystemExit(f"{command}: cannot write to --out {out!r}: {err.strerror or err}") from None
    return out


def _write_json(path, obj):
    """Write ``obj`` to ``path`` atomically (temporary file, then rename): an interrupt never leaves half a file."""
    import json
    import os

    tmp = f"{path}.partial"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def _settings(args):
    """The demo's budget, with the sizes the user gave on the command line."""
    from dataclasses import replace

    from .demo import FAST_SETTINGS, SETTINGS

    given = {k: getattr(args, k) for k in ("steps", "n_train", "n_test") if getattr(args, k) is not None}
    return replace(FAST_SETTINGS if args.fast else SETTINGS, **given)


def _progress(total, desc):
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="model", leave=False, dynamic_ncols=True)

    def step(text):
        bar.set_postfix_str(text)
        bar.update(1)

    return bar, step


def _demo(args):
    import os
    from dataclasses import replace

    from .baselines import method_names
    from .data import load_benchmark
    from .demo import aggregate, format_tables, run_demo
    from .plots import demo_figures

    _use_backend("demo", args.backend)
    out = _out_dir("demo", args.out, args.data, args.protocol, args.corruption)
    settings = _settings(args)
    bench = load_benchmark(args.data, args.seeds[0], settings.n_train, settings.n_test)
    if args.epochs is not None:  # an explicit epoch count replaces the step budget
        settings = replace(settings, steps=args.epochs * max(1, len(bench.train) // settings.batch_size))
    M = bench.train.n_modalities
    n_models = len(method_names(M)) + sum(M - len(s) >= 2 for s in bench.sweeps)  # + the oracles' concat models
    done = []
    bar, step = _progress(n_models * len(args.seeds), f"demo {args.data}")
    try:
        for seed in args.seeds:
            res = run_demo(data=args.data, seed=seed, out=None, protocol=args.protocol, corruption=args.corruption,
                           settings=settings,
                           verbose=args.verbose, log=lambda s: None, progress=step)
            path = os.path.join(out, f"results_seed{seed}.json")
            _write_json(path, res)
            done.append(res)
            bar.write(f"wrote {path}")
    except KeyboardInterrupt:
        bar.close()
        print(f"demo: interrupted; kept {len(done)} finished seed(s) in {out}", file=sys.stderr)
        if not done:
            return 130
    bar.close()
    summary = aggregate(done) if len(done) > 1 else done[0]
    print(format_tables(summary))
    path = os.path.join(out, "results.json")
    _write_json(path, summary)
    print(f"wrote {path}")
    if not args.no_figures:
        for p in demo_figures(summary, out):
            print(f"wrote {p}")
    return 0 if len(done) == len(args.seeds) else 130


def _ablations(args):
    import os

    from .demo import ABLATIONS, run_ablations

    out = _out_dir("ablations", args.out, args.data, args.protocol, args.corruption)
    bar, step = _progress(len(ABLATIONS) * len(args.seeds), f"ablations {args.data}")
    try:
        res = run_ablations(data=args.data, seeds=tuple(args.seeds), settings=_settings(args), protocol=args.protocol,
                            corruption=args.corruption,
                            log=lambda s: None, progress=step)
    except KeyboardInterrupt:
        bar.close()
        print("ablations: interrupted; nothing written (the table needs every seed)", file=sys.stderr)
        return 130
    bar.close()
    from .demo import format_ablations

    print(format_ablations(res))
    path = os.path.join(out, "ablations.json")
    _write_json(path, res)
    print(f"wrote {path}")
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

    from .corruptions import CORRUPTIONS
    from .data import BENCHMARKS
    from .demo import PROTOCOLS

    def run_options(q, seeds):
        q.add_argument("--data", choices=BENCHMARKS, default="toy",
                       help="data set: toy (2 views), toy3 (3 views), digits (image halves), digits4 (quadrants), "
                            "cancer (breast-cancer feature groups)")
        q.add_argument("--protocol", choices=tuple(PROTOCOLS), default="augment",
                       help="training noise: " + "; ".join(f"{k}: {v}" for k, v in PROTOCOLS.items()))
        q.add_argument("--corruption", choices=tuple(CORRUPTIONS), default="gaussian",
                       help="test-time corruption of the swept views: " + "; ".join(
                           f"{k}: {c.description}" for k, c in CORRUPTIONS.items()))
        q.add_argument("--seeds", type=int, nargs="+", default=seeds, metavar="S",
                       help="seeds to run; several are aggregated (mean and standard deviation)")
        q.add_argument("--out", default=None,
                       help="output folder (default: runs/<command>-<data>-<protocol>)")
        q.add_argument("--fast", action="store_true", help="small budget (seconds; for tests)")
        q.add_argument("--steps", type=int, default=None,
                       help="optimisation steps per model (default: 1500, or 300 with --fast)")
        q.add_argument("--n-train", dest="n_train", type=int, default=None,
                       help="training samples (toy: default 4000, or 1500 with --fast; real data: a subset)")
        q.add_argument("--n-test", dest="n_test", type=int, default=None,
                       help="toy test samples per level (default 2000, or 500 with --fast)")

    d = sub.add_parser("demo", help="train EAU and every baseline, test on noise sweeps; write results and figures",
                       description="Train EAU and every baseline under one training protocol, test them on noise "
                                   "sweeps; write results.json and figures (PNG and SVG).", formatter_class=_Help)
    run_options(d, [0])
    d.add_argument("--epochs", type=int, default=None, help="epochs per model (replaces --steps)")
    d.add_argument("--no-figures", action="store_true", help="write results.json only")
    d.add_argument("-v", "--verbose", action="store_true", help="one progress line per epoch and model")
    d.add_argument("--backend", choices=("numpy", "cupy"), default=None,
                   help="array backend (default: $MINI_EAU_BACKEND, else numpy); cupy trains on the GPU")
    d.set_defaults(func=_demo)

    a = sub.add_parser("ablations", help="EAU with L_UDR, L_URA, the VIB or uncertainty weights removed",
                       description="EAU with L_UDR, L_URA, the VIB or the uncertainty weights removed, over seeds.",
                       formatter_class=_Help)
    run_options(a, [0, 1, 2])
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
