"""``python -m mini_eau gradcheck | demo | ablations`` (the benchmark: ``python -m benchmarks.bench``)."""
from __future__ import annotations

import argparse
import sys


def _gradcheck(args):
    from ..gradcheck import registered, run_registered

    names = list(registered())
    if args.only:
        # a prefix selects every variant: "fuse" is fuse[paper], fuse[per_dim], ...
        unknown = [p for p in args.only if not any(n.startswith(p) for n in names)]
        if unknown:
            raise SystemExit(f"gradcheck: unknown component(s) {unknown}: no component name starts with "
                             f"{'it' if len(unknown) == 1 else 'them'}; known: {', '.join(names)}")
        names = [n for n in names if n.startswith(tuple(args.only))]
    report = run_registered(names, seed=args.seed)
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


# ------------------------------------------------------------ output folders
# What the demo and the ablations write.  --force deletes these names and
# nothing else; any other file in the folder is left where it is.
def run_files():
    """The names the demo and the ablations write (shell patterns)."""
    from .plots import FIGURES

    return ("results.json", "results_seed*.json", "ablations.json", "*.partial",
            *(f"{stem}.{ext}" for stem in FIGURES for ext in ("png", "svg")))


def _is_run_file(name):
    import fnmatch

    return any(fnmatch.fnmatchcase(name, pattern) for pattern in run_files())


def _out_dir(command, args):
    """Choose, check and create the output folder before any training; returns ``(folder, created, note)``.

    An earlier run's results are never replaced without being asked:

    * ``--out DIR`` that is not empty is refused, unless ``--force``, which
      first deletes the files an earlier run wrote there (:func:`run_files`);
    * without ``--out``, when ``runs/<command>-<data>-<protocol>`` already holds
      files, the run goes to the first free ``...-2``, ``...-3``, ... and says so.
    """
    import os

    default = os.path.join("runs", f"{command}-{args.data}-{args.protocol}"
                           + ("" if args.corruption == "gaussian" else f"-{args.corruption}")
                           + ("" if args.variance_head == "raw" else f"-{args.variance_head}"))
    out, note = args.out or default, None

    def held(folder):
        try:
            return sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        except OSError as err:
            raise SystemExit(f"{command}: cannot read --out {folder!r}: {err.strerror or err}") from None

    if os.path.exists(out) and not os.path.isdir(out):
        raise SystemExit(f"{command}: --out {out!r} is a file; expected a folder")
    earlier = held(out)
    if earlier and args.force:
        ours = [f for f in earlier if _is_run_file(f) and os.path.isfile(os.path.join(out, f))]
        try:
            for f in ours:
                os.remove(os.path.join(out, f))
        except OSError as err:
            raise SystemExit(f"{command}: --force could not delete {f!r} in {out!r}: {err.strerror or err}") from None
        others = len(earlier) - len(ours)
        note = (f"--force: deleted the {len(ours)} file(s) an earlier run wrote in {out}"
                + (f" (left {others} other file(s) there untouched)" if others else ""))
    elif earlier and args.out is None:
        k = 2
        while held(f"{default}-{k}"):
            k += 1
        out = f"{default}-{k}"
        note = f"{default} holds an earlier run (kept); this run writes to {out}"
    elif earlier:
        shown = ", ".join(earlier[:3]) + (", ..." if len(earlier) > 3 else "")
        raise SystemExit(f"{command}: --out {out!r} is not empty ({len(earlier)} file(s): {shown}); choose another "
                         f"folder, or add --force to delete the earlier run's files first")
    created = not os.path.exists(out)
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, ".write-test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as err:
        raise SystemExit(f"{command}: cannot write to --out {out!r}: {err.strerror or err}") from None
    return out, created, note


def _report_folder(command, out, created, why):
    """After an interrupt: say exactly what ``out`` holds (and remove it if this run made it and left it empty)."""
    import os

    files = sorted(os.listdir(out)) if os.path.isdir(out) else []
    if not files and created:
        os.rmdir(out)
        print(f"{command}: {why}; nothing written (removed the empty folder {out} this run had made)", file=sys.stderr)
    elif not files:
        print(f"{command}: {why}; nothing written; {out} is empty", file=sys.stderr)
    else:
        print(f"{command}: {why}; {out} now holds {len(files)} file(s): {', '.join(files)}", file=sys.stderr)


def _write_json(path, obj):
    """:func:`mini_eau.lab.demo.write_json`: atomically, so an interrupt never leaves half a file."""
    from .demo import write_json

    write_json(path, obj)


def _settings(args):
    """The demo's budget, with the sizes the user gave on the command line."""
    from dataclasses import replace

    from .demo import FAST_SETTINGS, SETTINGS

    given = {k: getattr(args, k) for k in ("steps", "n_train", "n_test") if getattr(args, k) is not None}
    return replace(FAST_SETTINGS if args.fast else SETTINGS, **given)


def _load(command, args, settings):
    """The first seed's benchmark, loaded before any training; ``--n-train`` checked against a real set's size."""
    from dataclasses import replace

    from .data import load_benchmark

    bench = load_benchmark(args.data, args.seeds[0], settings.n_train, settings.n_test)
    if args.n_train is not None and len(bench.train) < args.n_train:
        raise SystemExit(f"{command}: argument --n-train: {args.data} has {len(bench.train)} training samples; "
                         f"expected an integer from 2 to {len(bench.train)}, got {args.n_train}")
    if getattr(args, "epochs", None) is not None:  # an explicit epoch count replaces the step budget
        settings = replace(settings, steps=args.epochs * max(1, len(bench.train) // settings.batch_size))
    return bench, settings


def _run_record(summary, args, seeds_done):
    """``results.json``: the run's results plus how it was asked for (the command, the seeds, whether it finished)."""
    return {**summary, "command": "python -m mini_eau " + " ".join(args.argv), "seeds_requested": list(args.seeds),
            "complete": list(seeds_done) == list(args.seeds)}


def _progress(total, desc):
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="model", leave=False, dynamic_ncols=True)

    def step(text):
        bar.set_postfix_str(text)
        bar.update(1)

    return bar, step


CLEAN_NOTE = ("note: --protocol clean trains without noise, as the paper does; the variance heads then only "
              "extrapolate to corrupted views. The paper's head (--variance-head raw, the default) runs the wrong way "
              "under additive noise; --variance-head deviation follows additive and salt-and-pepper noise but reads a "
              "masked view as certain. For uncertainty that follows a corruption, train with it (--protocol augment); "
              "see the docs' protocols page.")


def _config(args):
    """EAU's configuration: the defaults with the head the command line asked for."""
    from dataclasses import replace

    from .demo import EAU_DEFAULTS

    return replace(EAU_DEFAULTS, variance_head=args.variance_head)


def _demo(args):
    import os

    from .baselines import method_names
    from .demo import run_demo

    _use_backend("demo", args.backend)
    settings = _settings(args)
    bench, settings = _load("demo", args, settings)
    out, created, note = _out_dir("demo", args)
    if note:
        print(note)
    if args.protocol == "clean":
        print(CLEAN_NOTE)
    M = bench.train.n_modalities
    n_models = len(method_names(M)) + sum(M - len(s) >= 2 for s in bench.sweeps)  # + the oracles' concat models
    done = []
    bar, step = _progress(n_models * len(args.seeds), f"demo {args.data}")
    try:
        for seed in args.seeds:
            res = run_demo(data=args.data, seed=seed, out=None, protocol=args.protocol, corruption=args.corruption,
                           config=_config(args),
                           settings=settings, fast=args.fast, verbose=args.verbose, log=lambda s: None, progress=step)
            path = os.path.join(out, f"results_seed{seed}.json")
            _write_json(path, res)
            done.append(res)
            bar.write(f"wrote {path}")
    except KeyboardInterrupt:
        bar.close()
        if not done:
            _report_folder("demo", out, created, "interrupted before the first seed finished")
            return 130
        print(f"demo: interrupted after {len(done)} of {len(args.seeds)} seed(s); summarising the finished ones",
              file=sys.stderr)
    bar.close()
    try:
        _write_summary(args, out, done)
    except KeyboardInterrupt:
        _report_folder("demo", out, created, "interrupted while writing the summary")
        return 130
    if len(done) < len(args.seeds):
        _report_folder("demo", out, created, f"stopped after {len(done)} of {len(args.seeds)} seed(s)")
        return 130
    return 0


def _write_summary(args, out, done):
    """``results.json`` (the mean over the finished seeds) and the figures, each file named as it is written."""
    import os

    from .demo import format_tables
    from .seeds import aggregate
    from .plots import demo_figures

    summary = aggregate(done) if len(done) > 1 else done[0]
    print(format_tables(summary))
    path = os.path.join(out, "results.json")
    _write_json(path, _run_record(summary, args, [r["seed"] for r in done]))
    print(f"wrote {path}")
    if not args.no_figures:
        for p in demo_figures(summary, out):
            print(f"wrote {p}")


def _ablations(args):
    import os

    from .demo import ABLATIONS, format_ablations, run_ablations

    settings = _settings(args)
    _, settings = _load("ablations", args, settings)
    out, created, note = _out_dir("ablations", args)
    if note:
        print(note)
    bar, step = _progress(len(ABLATIONS) * len(args.seeds), f"ablations {args.data}")
    try:
        res = run_ablations(data=args.data, seeds=tuple(args.seeds), settings=settings, protocol=args.protocol,
                            config=_config(args),
                            corruption=args.corruption, fast=args.fast, log=lambda s: None, progress=step)
    except KeyboardInterrupt:
        bar.close()
        _report_folder("ablations", out, created, "interrupted (the table needs every seed)")
        return 130
    bar.close()
    print(format_ablations(res))
    path = os.path.join(out, "ablations.json")
    _write_json(path, _run_record(res, args, args.seeds))
    print(f"wrote {path}")
    return 0


DESCRIPTION = ("mini_eau, a readable NumPy implementation of EAU (CVPR 2024): check every gradient, "
               "run the demo or the ablations. The benchmark is python -m benchmarks.bench.")


class _Parser(argparse.ArgumentParser):
    """argparse, with an error as one line (what was wrong and where to look), not the usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _integer(low, why=""):
    """An argparse type: an integer >= ``low``; the message says what is accepted."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}{why}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _check_run_args(parser, args):
    """What argparse cannot see flag by flag: combinations, and sizes that mean nothing for the chosen data."""
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f"argument --seeds: expected distinct seeds, got {' '.join(map(str, args.seeds))}")
    if getattr(args, "epochs", None) is not None and args.steps is not None:
        parser.error("argument --epochs: replaces --steps; give one of them, not both")
    if args.n_test is not None and args.data not in ("toy", "toy3"):
        parser.error(f"argument --n-test: only the toy data sets are sampled; {args.data} has a fixed test set")


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default after its help, unless the help already says it or there is none to show."""

    def _get_help_string(self, action):
        if "default" in (action.help or "") or any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            return action.help
        return super()._get_help_string(action)


def build_parser():
    p = _Parser(prog="python -m mini_eau", description=DESCRIPTION, formatter_class=_Help)
    sub = p.add_subparsers(dest="command", required=True, metavar="{gradcheck,demo,ablations}")
    g = sub.add_parser("gradcheck", help="check every registered backward against finite differences and autograd",
                       description="Check every registered backward against finite differences and autograd "
                                   "(float64); exit code 1 if any fails.", formatter_class=_Help)
    g.add_argument("--only", nargs="+", metavar="NAME",
                   help="check only the components whose name starts with NAME, e.g. fuse or ura_loss (default: all)")
    g.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    g.add_argument("-v", "--verbose", action="store_true", help="one row per input and case")
    g.set_defaults(func=_gradcheck)

    from ..gaussian import VARIANCE_INPUTS
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
        q.add_argument("--variance-head", dest="variance_head", choices=VARIANCE_INPUTS, default="raw",
                       help="what EAU's variance heads read (SPEC §2): raw: the features h, as the paper; "
                            "standardised: h standardised per feature; deviation: the squared standardised "
                            "deviation, for training without noise (--protocol clean)")
        q.add_argument("--seeds", type=_integer(0), nargs="+", default=seeds, metavar="S",
                       help="seeds to run (distinct integers >= 0); several are aggregated (mean and standard "
                            "deviation)")
        q.add_argument("--out", default=None,
                       help="output folder; refused if it holds files, unless --force (default: "
                            "runs/<command>-<data>-<protocol>, or the first free ...-2, ...-3 when that holds "
                            "an earlier run)")
        q.add_argument("--force", action="store_true",
                       help="write into a folder that holds an earlier run, first deleting that run's files")
        q.add_argument("--fast", action="store_true", help="small budget (seconds; for tests)")
        q.add_argument("--steps", type=_integer(1), default=None,
                       help="optimisation steps per model (default: 1500, or 300 with --fast)")
        q.add_argument("--n-train", dest="n_train", type=_integer(2, " (the contrastive loss needs pairs)"),
                       default=None,
                       help="training samples (toy: default 4000, or 1500 with --fast; real data: a subset, "
                            "default all)")
        q.add_argument("--n-test", dest="n_test", type=_integer(1), default=None,
                       help="toy test samples per level (default 2000, or 500 with --fast)")

    d = sub.add_parser("demo", help="train EAU and every baseline, test on noise sweeps; write results and figures",
                       description="Train EAU and every baseline under one training protocol, test them on noise "
                                   "sweeps; write results.json and figures (PNG and SVG).", formatter_class=_Help)
    run_options(d, [0])
    d.add_argument("--epochs", type=_integer(1), default=None, help="epochs per model (replaces --steps)")
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
    if args.command in ("demo", "ablations"):
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
        _check_run_args(commands[args.command], args)
        args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:  # before a command's own handler was in place (loading the data, say)
        print(f"{args.command}: interrupted before any result was written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
