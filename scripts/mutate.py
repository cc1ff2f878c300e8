"""Mutation testing of the core's forward functions: would the tests notice a wrong formula?

    nice -n 10 python scripts/mutate.py                 # every target module (a few minutes on one core)
    python scripts/mutate.py --modules fusion kl        # some of them
    python scripts/mutate.py --list                     # print the mutants, run nothing

Why a tool of our own: mutmut skips every decorated function, and every
forward here carries ``@accepts``.  This one mutates the syntax tree of one
function at a time and swaps the mutated code object into the *live* function
(``function.__code__``, under any decorator), so nothing on disk changes and
every alias of the function (``from .gaussian import bound_forward``, the
gradcheck registry) runs the mutant.

What is mutated: in each target module (``--modules``), every function named
``*_forward`` or listed in ``__all__``, the EAU methods that predict or set up the variance heads,
plus every function of the same module that these call (transitively) —
backwards excluded (the gradient checks pin them), and gradcheck case
factories and input checks (``check_*``) excluded (they are not formulas).  Inside a
function body (docstring, decorators and default values left alone):

* arithmetic  ``+ -``, ``* /``, ``** -> *``, and the same in ``+=`` etc.;
* unary minus and ``not`` dropped;
* a number ``c -> c + 1`` (``0.5 -> 1.5``, ``0 -> 1``, ``-1 -> -2`` via its ``1``);
* comparisons ``< <=``, ``> >=``, ``== !=``, ``is / is not``, ``in / not in``; ``and / or``;
* an ``if`` (statement or expression) negated;
* two neighbouring positional arguments of a call swapped (not for calls whose
  arguments commute: ``get_array_module``, ``maximum``, ``minimum``);
* ``sum <-> mean`` and ``max <-> min`` of the array module.

Which tests: a first pass runs the test pool (``POOL``) once on the
unmutated code and records, per target function, the tests that call it.
Each mutant then runs only those tests (in a forked child, fastest first,
stopping at the first failure).  A mutant is *killed* when a test fails or
errors (or it runs past ``--timeout``), *survives* when they all pass.
Hypothesis runs derandomised and without its example database, so a run is
reproducible.  Equivalent mutants (same behaviour, so no test can fail) are
listed with their reason in NOTES.md ("Mutation testing").

Writes ``--out`` (default ``mutation-report.json``) and prints the survivors.
"""
from __future__ import annotations

import argparse
import ast
import copy
import importlib
import inspect
import json
import os
import signal
import sys
import time

import pytest

TARGETS = ("kl", "gaussian", "contrastive", "fusion", "vib", "uncertainty", "layers", "encoders", "model")
# methods of mini_eau.model.EAU that are roots besides the *_forward functions
MODEL_ROOTS = ("loss_forward", "init_stats", "embed", "fuse", "vib_code", "predict_proba", "uncertainty",
               "fusion_weights")
# the fast tests of the core; the coverage pass picks, per function, those that call it
POOL = ("tests/test_gaussian_kl.py", "tests/test_contrastive.py", "tests/test_fusion.py", "tests/test_vib.py",
        "tests/test_uncertainty.py", "tests/test_layers.py", "tests/test_model.py", "tests/test_loss_terms.py",
        "tests/test_gradients.py", "tests/test_properties.py", "tests/test_reliability.py")
PYTEST_ARGS = ["-q", "-x", "-p", "no:cacheprovider", "-p", "no:nbmake", "-o", "addopts=", "--no-header",
               "-W", "ignore"]


# ------------------------------------------------------------------ targets
def _is_backward_or_plumbing(node):
    name = node.name
    decorators = [ast.unparse(d) for d in node.decorator_list]
    return (name.endswith("_backward") or name.endswith("_cases") or any(d.startswith("register") for d in decorators)
            or name.startswith("check_"))


def _called_names(node):
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            if isinstance(n.func, ast.Name):
                out.add(f.id)
            elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "self":
                out.add(f.attr)
    return out


def target_functions(module_name, tree):
    """Qualified names (``f`` or ``EAU.f``) -> FunctionDef of the functions to mutate in one module."""
    defs = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            defs[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef):
                    defs[f"{node.name}.{sub.name}"] = sub
    public = set()
    for node in tree.body:  # __all__ = [...]: the module's public functions are formulas too
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            public = {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    roots = [q for q in defs if q.split(".")[-1].endswith("_forward") or q in public]
    if module_name == "model":
        roots += [f"EAU.{m}" for m in MODEL_ROOTS if f"EAU.{m}" in defs]
    by_short = {}
    for q in defs:
        by_short.setdefault(q.split(".")[-1], []).append(q)
    chosen, todo = set(), list(roots)
    while todo:
        q = todo.pop()
        if q in chosen or _is_backward_or_plumbing(defs[q]):
            continue
        chosen.add(q)
        for name in _called_names(defs[q]):
            todo.extend(by_short.get(name, []))
    return {q: defs[q] for q in defs if q in chosen}


# ---------------------------------------------------------------- mutations
_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
          ast.FloorDiv: ast.Div}
_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
        ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
# calls whose arguments commute: swapping them is an equivalent mutant by construction
_SYMMETRIC = {"get_array_module", "maximum", "minimum"}
_ATTR = {"sum": "mean", "mean": "sum", "max": "min", "min": "max"}
_SYM = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.FloorDiv: "//",
        ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is",
        ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in", ast.And: "and", ast.Or: "or"}


def _skip(node):
    """Statements whose mutants say nothing about a formula: docstrings, raises, asserts."""
    return isinstance(node, (ast.Raise, ast.Assert)) or (
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))


def _sites(fn):
    """Every (node, kind) of a function body that can be mutated, in a fixed order."""
    sites = []

    def visit(node):
        if _skip(node) or isinstance(node, ast.JoinedStr):
            return
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOP:
            sites.append((node, "binop"))
        elif isinstance(node, ast.AugAssign) and type(node.op) in _BINOP:
            sites.append((node, "augassign"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
            sites.append((node, "unary"))
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            sites.append((node, "number"))
        elif isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                if type(op) in _CMP:
                    sites.append(((node, k), "compare"))
        elif isinstance(node, ast.BoolOp):
            sites.append((node, "boolop"))
        elif isinstance(node, (ast.If, ast.IfExp)):
            sites.append((node, "negate_if"))
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in _ATTR:
                sites.append((node, "attr"))
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            for k in range(len(node.args) - 1 if callee not in _SYMMETRIC else 0):
                a, b = node.args[k], node.args[k + 1]
                if not isinstance(a, ast.Starred) and not isinstance(b, ast.Starred) and ast.dump(a) != ast.dump(b):
                    sites.append(((node, k), "swap_args"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    for stmt in fn.body:
        visit(stmt)
    return sites


def _apply(site, kind):
    """Mutate one site in place; returns a one-line description."""
    if kind == "binop" or kind == "augassign":
        old = type(site.op)
        site.op = _BINOP[old]()
        return f"{_SYM[old]} -> {_SYM[_BINOP[old]]}"
    if kind == "unary":
        return "drop " + ("unary -" if isinstance(site.op, ast.USub) else "not")
    if kind == "number":
        old = site.value
        site.value = old + 1
        return f"{old!r} -> {site.value!r}"
    if kind == "compare":
        node, k = site
        old = type(node.ops[k])
        node.ops[k] = _CMP[old]()
        return f"{_SYM[old]} -> {_SYM[_CMP[old]]}"
    if kind == "boolop":
        old = type(site.op)
        site.op = ast.Or() if old is ast.And else ast.And()
        return f"{_SYM[old]} -> {'or' if old is ast.And else 'and'}"
    if kind == "negate_if":
        site.test = ast.UnaryOp(op=ast.Not(), operand=site.test)
        return "negate the condition"
    if kind == "attr":
        old = site.func.attr
        site.func.attr = _ATTR[old]
        return f".{old} -> .{_ATTR[old]}"
    if kind == "swap_args":
        node, k = site
        node.args[k], node.args[k + 1] = node.args[k + 1], node.args[k]
        return f"swap arguments {k + 1} and {k + 2}"
    raise AssertionError(kind)


class _DropUnary(ast.NodeTransformer):
    """Replace the one marked UnaryOp by its operand (a mutation that changes the node's type)."""

    def __init__(self, target):
        self.target = target

    def visit_UnaryOp(self, node):
        if node is self.target:
            return self.generic_visit(node.operand) or node.operand
        return self.generic_visit(node)


def enumerate_mutants(root, modules):
    """A list of mutants: dict(module, function, index, line, kind, description, source)."""
    mutants = []
    for mod in modules:
        path = os.path.join(root, "mini_eau", f"{mod}.py")
        with open(path) as fh:
            src = fh.read()
        tree = ast.parse(src)
        lines = src.splitlines()
        for qual, fn in target_functions(mod, tree).items():
            for i, (site, kind) in enumerate(_sites(fn)):
                probe = copy.deepcopy(fn)
                psite, _ = _sites(probe)[i]
                desc = _apply(psite, kind)
                node = site[0] if isinstance(site, tuple) else site
                mutants.append(dict(module=mod, function=qual, index=i, line=node.lineno, kind=kind,
                                    description=desc, source=lines[node.lineno - 1].strip()))
    return mutants


def mutant_code(root, m):
    """The code object of the mutated function (compiled with the module's file name and line numbers)."""
    path = os.path.join(root, "mini_eau", f"{m['module']}.py")
    with open(path) as fh:
        tree = ast.parse(fh.read())
    fn = target_functions(m["module"], tree)[m["function"]]
    site, kind = _sites(fn)[m["index"]]
    if kind == "unary":
        _DropUnary(site).visit(fn)
    else:
        _apply(site, kind)
    ast.fix_missing_locations(tree)
    code = compile(tree, path, "exec")
    # a decorated function's code starts at its first decorator
    return _find_code(code, fn.name, min([fn.lineno] + [d.lineno for d in fn.decorator_list]))


def _find_code(code, name, lineno):
    for const in code.co_consts:
        if inspect.iscode(const):
            if const.co_name == name and const.co_firstlineno == lineno:
                return const
            found = _find_code(const, name, lineno)
            if found is not None:
                return found
    return None


def live_function(m):
    """The function object the program calls (under its decorators)."""
    module = importlib.import_module(f"mini_eau.{m['module']}")
    obj = module
    for part in m["function"].split("."):
        obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    return inspect.unwrap(obj)


# ------------------------------------------------------------------ running
class _Select:
    """pytest plugin: keep only the given node ids, in the given order."""

    def __init__(self, nodeids):
        self.order = {n: k for k, n in enumerate(nodeids)}

    def pytest_collection_modifyitems(self, session, config, items):
        keep = [it for it in items if it.nodeid in self.order]
        keep.sort(key=lambda it: self.order[it.nodeid])
        items[:] = keep


class _Coverage:
    """pytest plugin: which target code objects each test calls, and how long it takes."""

    def __init__(self, codes):
        self.codes = codes  # (filename, firstlineno, name) -> qualified key
        self.calls, self.durations = {}, {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        seen = set()

        def profile(frame, event, arg):
            if event == "call":
                c = frame.f_code
                key = self.codes.get((c.co_filename, c.co_firstlineno, c.co_name))
                if key is not None:
                    seen.add(key)

        t0 = time.perf_counter()
        sys.setprofile(profile)
        try:
            yield
        finally:
            sys.setprofile(None)
            self.durations[item.nodeid] = time.perf_counter() - t0
            for key in seen:
                self.calls.setdefault(key, set()).add(item.nodeid)


def _hypothesis_reproducible():
    from hypothesis import settings

    settings.register_profile("mutate", derandomize=True, database=None)
    settings.load_profile("mutate")


def coverage_pass(root, mutants, pool):
    codes = {}
    for m in mutants:
        fn = live_function(m)
        c = fn.__code__
        codes[(c.co_filename, c.co_firstlineno, c.co_name)] = f"{m['module']}:{m['function']}"
    plugin = _Coverage(codes)
    rc = pytest.main(list(pool) + PYTEST_ARGS[:1] + PYTEST_ARGS[2:], plugins=[plugin])
    if rc != 0:
        raise SystemExit(f"mutate: the unmutated code fails its tests (pytest exit {rc}); fix that first")
    return plugin.calls, plugin.durations


def run_mutant(root, m, tests, pool, timeout):
    """'killed', 'survived', 'timeout', 'no tests' or 'not compiled'."""
    if not tests:
        return "no tests"
    code = mutant_code(root, m)
    fn = live_function(m)
    if code is None or code.co_freevars != fn.__code__.co_freevars:
        return "not compiled"
    pid = os.fork()
    if pid == 0:  # child: swap in the mutant, run the tests, report by exit code
        try:
            fn.__code__ = code
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            rc = pytest.main(list(pool) + PYTEST_ARGS, plugins=[_Select(tests)])
            os._exit(0 if rc == 0 else 1)
        except BaseException:  # noqa: BLE001 - any failure to run counts as killed
            os._exit(1)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return "survived" if os.waitstatus_to_exitcode(status) == 0 else "killed"
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.02)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modules", nargs="+", choices=TARGETS, default=list(TARGETS))
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="repository to test (default: this one)")
    ap.add_argument("--out", default="mutation-report.json")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant before it counts as killed")
    ap.add_argument("--list", action="store_true", help="print the mutants and stop")
    args = ap.parse_args(argv)

    root = os.path.abspath(args.root)
    os.chdir(root)
    sys.path.insert(0, root)
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("MINI_EAU_FAST", "1")
    import mini_eau

    if not os.path.abspath(mini_eau.__file__).startswith(os.path.join(root, "mini_eau")):
        raise SystemExit(f"mutate: imported {mini_eau.__file__}, not the package under --root {root}")
    mutants = enumerate_mutants(root, args.modules)
    if args.list:
        for m in mutants:
            print(f"mini_eau/{m['module']}.py:{m['line']} {m['function']}: {m['description']}   | {m['source']}")
        print(f"{len(mutants)} mutants")
        return 0
    _hypothesis_reproducible()
    pool = [p for p in POOL if os.path.exists(os.path.join(root, p))]
    t0 = time.perf_counter()
    calls, durations = coverage_pass(root, mutants, pool)
    print(f"coverage pass: {len(durations)} tests in {time.perf_counter() - t0:.0f} s", flush=True)
    results = []
    for k, m in enumerate(mutants):
        tests = sorted(calls.get(f"{m['module']}:{m['function']}", ()), key=lambda n: durations.get(n, 0.0))
        t1 = time.perf_counter()
        m = dict(m, result=run_mutant(root, m, tests, pool, args.timeout), tests=len(tests),
                 seconds=round(time.perf_counter() - t1, 2))
        results.append(m)
        if m["result"] == "survived":
            print(f"[{k + 1}/{len(mutants)}] SURVIVED mini_eau/{m['module']}.py:{m['line']} {m['function']}: "
                  f"{m['description']}   | {m['source']}", flush=True)
        elif (k + 1) % 50 == 0:
            print(f"[{k + 1}/{len(mutants)}] ...", flush=True)
    counts = {r: sum(1 for m in results if m["result"] == r) for r in ("killed", "timeout", "survived", "no tests",
                                                                       "not compiled")}
    scored = counts["killed"] + counts["timeout"] + counts["survived"]
    score = (counts["killed"] + counts["timeout"]) / scored if scored else float("nan")
    summary = dict(modules=args.modules, mutants=len(results), **counts, score=score,
                   seconds=round(time.perf_counter() - t0))
    with open(args.out, "w") as fh:
        json.dump(dict(summary=summary, mutants=results), fh, indent=1)
    print()
    for m in results:
        if m["result"] in ("survived", "no tests", "not compiled"):
            print(f"{m['result'].upper():9s} mini_eau/{m['module']}.py:{m['line']} {m['function']}: "
                  f"{m['description']}   | {m['source']}")
    print(f"\n{len(results)} mutants: {counts['killed']} killed, {counts['timeout']} timed out, "
          f"{counts['survived']} survived, {counts['no tests']} without a covering test, "
          f"{counts['not compiled']} not compiled; score {100 * score:.1f} % ({summary['seconds']} s); "
          f"report in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
