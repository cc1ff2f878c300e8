"""The teaching notebooks: built from their sources, student versions without solutions (stubs
that name their exercise), at least two exercises per notebook of several kinds, each reached
within 30 s from the top; every exercise's check passes the solution and fails on the stub, on
near misses and on a call to the library's own answer; final checks that fail when the idea is
broken; and a run in a plain Jupyter set-up (no PYTHONPATH, outside the checkout).

The solution notebooks themselves are executed by nbmake (``--nbmake`` in pyproject.toml).
"""
from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

pytestmark = pytest.mark.notebooks

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
SOURCES = sorted((NB_DIR / "src").glob("[0-9][0-9]_*.py"))
NAMES = [s.stem for s in SOURCES]


def build_script():
    spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "scripts" / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def code_of(cell):
    """A cell's code as plain Python: IPython magics (``%config ...``) dropped."""
    return "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%"))


def grading(cell):
    return cell.metadata.get("nbgrader", {})


def test_eight_notebooks_each_with_a_source_a_solution_and_a_student_version():
    assert len(NAMES) == 8
    for name in NAMES:
        assert (NB_DIR / f"{name}.ipynb").exists() and (NB_DIR / "student" / f"{name}.ipynb").exists(), name


@pytest.mark.parametrize("src", SOURCES, ids=NAMES)
def test_source_is_python_and_round_trips_through_jupytext(src):
    jupytext = pytest.importorskip("jupytext")
    text = src.read_text()
    ast.parse(text)                                   # magics are commented out, jupytext-style
    assert jupytext.writes(jupytext.read(src), fmt="py:percent") == text


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebooks_are_built_from_their_sources(name):
    """The solution notebook has the source's cells; the student notebook is exactly what the build writes."""
    pytest.importorskip("jupytext")
    build = build_script()
    src = NB_DIR / "src" / f"{name}.py"
    expected = build.fix_ids(build.read_source(src), name)
    solution = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
    assert [(c.cell_type, c.source) for c in solution.cells] == [(c.cell_type, c.source) for c in expected.cells]
    assert solution.metadata["mini_eau"]["source_sha256"] == build.source_hash(src), "rebuild: scripts/build_notebooks.py"
    student = nbformat.read(NB_DIR / "student" / f"{name}.ipynb", as_version=4)
    assert student == build.fix_ids(build.make_student(expected), name)


@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_holds_no_solution_code(name):
    solution = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
    student = nbformat.read(NB_DIR / "student" / f"{name}.ipynb", as_version=4)
    student_text = "\n".join(c.source for c in student.cells)
    regions = [m.group(0) for c in solution.cells
               for m in re.finditer(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", c.source, re.S)]
    assert regions, "every notebook has an exercise"
    assert "BEGIN SOLUTION" not in student_text and "END SOLUTION" not in student_text
    given = "\n".join(c.source for c in solution.cells if c.cell_type == "code" and not grading(c).get("solution"))
    for region in regions:
        for line in region.splitlines()[1:-1]:
            code = line.split("#")[0].strip()
            # skip one-word lines such as "return dmu, ds", and lines of the code handed out
            # (a planted-bug exercise's fix keeps most lines of the buggy function)
            if len(code) > 12 and code not in given:
                assert code not in student_text, f"solution line in the student notebook: {code!r}"
    stubs = [c for c in student.cells if grading(c).get("solution")]
    assert stubs
    for cell in stubs:                               # the stub names its exercise
        if cell.cell_type == "markdown":             # a written answer, graded by hand
            assert cell.source == "YOUR ANSWER HERE" and grading(cell)["grade"], cell.source
        else:
            assert f'raise NotImplementedError("exercise {grading(cell)["grade_id"]}:' in cell.source, cell.source
    assert all(c.get("outputs") == [] for c in student.cells if c.cell_type == "code")


# ---------------------------------------------------------------- the exercises and their checks
# Every exercise of every notebook: its kind, near misses (a tamper of the solution's function, or
# values/code a student might write) and a bypass -- student code, run in the notebook's namespace,
# that calls the library's own answer (None where the library holds no answer to call, with why).
# Each check must fail on the stub, on every near miss and on the bypass, and pass with the solution.
BACKWARD, FORWARD, PREDICT, BUG, REMOVE, FIGURE = ("backward", "derive a forward", "predict then check",
                                                   "find a planted bug", "remove a term", "read a figure")


def factor(k):
    """Every output of the student's function multiplied by k (k = -1: a sign error)."""
    def scale(x):
        if isinstance(x, dict):
            return {key: scale(v) for key, v in x.items()}
        if isinstance(x, tuple):
            return tuple(scale(v) for v in x)
        return k * np.asarray(x) if np.ndim(x) else k * x
    return lambda fn: (lambda *a, **kw: scale(fn(*a, **kw)))


NEAR = [factor(1.01), factor(-1.0)]                 # off by a factor, a wrong sign
EXERCISES = {
    "01_aleatoric_vs_epistemic": {
        "my_best_log_variance": (REMOVE, NEAR + [
            # the log of the standard deviation instead of the variance
            "def my_best_log_variance(r, with_log_term=True):\n"
            "    return np.log(np.sqrt(r)) if with_log_term else np.full_like(np.asarray(r, float), S_MAX)",
            # the term removed, but no bound: 'infinitely noisy'
            "def my_best_log_variance(r, with_log_term=True):\n"
            "    return np.log(r) if with_log_term else np.full_like(np.asarray(r, float), np.inf)"],
            "from mini_eau.layers import gaussian_nll_forward as nll\n"
            "def my_best_log_variance(r, with_log_term=True):\n"
            "    grid = np.linspace(S_MIN, S_MAX, 2001)\n"
            "    f = lambda s, r: nll(np.zeros((1, 1)), np.full((1, 1), s), np.full((1, 1), np.sqrt(r)))[0] - (0 if with_log_term else s / 2)\n"
            "    return np.array([grid[np.argmin([f(s, x) for s in grid])] for x in np.atleast_1d(r)])"),
        "my_bounded_nll_backward": (BACKWARD, NEAR,
            "from mini_eau.layers import gaussian_nll_backward as nll_bw\n"
            "from mini_eau.gaussian import bound_backward as b_bw\n"
            "def my_bounded_nll_backward(dout, cache):\n"
            "    mu, raw_s, y = cache\n"
            "    s, cb = bound_forward(raw_s)\n"
            "    dmu, ds = nll_bw(dout, gaussian_nll_forward(mu, s, y)[1])\n"
            "    return dmu, b_bw(ds, cb)"),
        "my_decompose_variance": (FORWARD, NEAR + [
            # a sample variance (1/(T-1)) for the epistemic part
            "def my_decompose_variance(mus, variances):\n"
            "    return mus.mean(0), variances.mean(0), mus.var(0, ddof=1)",
            # the reading note's typo: mu* as the root mean square
            "def my_decompose_variance(mus, variances):\n"
            "    return np.sqrt(np.mean(mus ** 2, 0)), variances.mean(0), np.mean(mus ** 2, 0) - np.mean(mus ** 2, 0)"],
            "import mini_eau.uncertainty as U\n"
            "def my_decompose_variance(mus, variances):\n"
            "    return U.decompose_variance(mus, variances)"),
    },
    "02_gaussian_heads_and_kl": {
        "my_kl": (FORWARD, NEAR + [
            # the 1/2 forgotten
            "def my_kl(mu_p, s_p, mu_q, s_q):\n"
            "    return np.sum(s_q - s_p + np.exp(s_p - s_q) + (mu_p - mu_q) ** 2 * np.exp(-s_q) - 1, axis=1)"],
            "from mini_eau.kl import kl_gaussians_forward as K\n"
            "def my_kl(mu_p, s_p, mu_q, s_q):\n"
            "    return K(mu_p, s_p, mu_q, s_q)[0]"),
        "my_kl_backward": (BACKWARD, NEAR,
            "from mini_eau.kl import kl_gaussians_backward as Kb, kl_gaussians_forward as K\n"
            "def my_kl_backward(dout, cache):\n"
            "    return Kb(dout, K(*cache)[1])"),
    },
    "03_contrastive_augmentation": {
        "my_paper_rows": (FORWARD, NEAR + [
            # InfoNCE's denominator: the positive once
            "def my_paper_rows(anchor, positive, tau=0.5):\n"
            "    S = cosine_similarity_forward(anchor, positive)[0] / tau\n"
            "    m = S.max(1, keepdims=True)\n"
            "    return m[:, 0] + np.log(np.exp(S - m).sum(1)) - np.diag(S)",
            # no log-sum-exp: overflows at tau = 1e-3
            "def my_paper_rows(anchor, positive, tau=0.5):\n"
            "    n = len(anchor)\n"
            "    S = cosine_similarity_forward(anchor, positive)[0] / tau\n"
            "    E = np.exp(S)\n"
            "    return np.log((n - 1) * np.diag(E) + E.sum(1) - np.diag(E)) - np.diag(S)"],
            "from mini_eau.contrastive import ura_loss_forward as ura\n"
            "def my_paper_rows(anchor, positive, tau=0.5):\n"
            "    return ura(anchor, positive, tau=tau)[1][1][0][0]"),
        "my_zero_cosine_losses": (PREDICT, NEAR + [
            # the paper's floor log(N-1) mistaken for its value
            "def my_zero_cosine_losses(N):\n"
            "    return {'paper': np.log(N - 1), 'infonce': np.log(N), 'official': np.log(2 * N - 1)}"],
            "import mini_eau.contrastive as C\n"
            "def my_zero_cosine_losses(N):\n"
            "    e = np.eye(2 * N)\n"
            "    return {v: C.ura_loss_forward(e[:N], e[N:], variant=v)[0] for v in VARIANTS}"),
        "my_infonce_backward": (BACKWARD, NEAR,
            "from mini_eau.contrastive import ura_loss_backward as ub, ura_loss_forward as uf\n"
            "def my_infonce_backward(dout, cache):\n"
            "    a, b, tau = cache\n"
            "    return ub(dout, uf(a, b, tau=tau, variant='infonce')[1])"),
    },
    "04_uncertainty_weighted_fusion": {
        "my_paper_weights": (FORWARD, NEAR + [
            # the variance instead of the standard deviation
            "def my_paper_weights(ss, temperature=1.0):\n"
            "    a = 1 / (temperature * np.mean(np.exp(ss), axis=2))\n"
            "    e = np.exp(a - a.max(0))\n"
            "    return e / e.sum(0)",
            # the softmax over the samples instead of the modalities
            "def my_paper_weights(ss, temperature=1.0):\n"
            "    a = 1 / (temperature * np.mean(np.exp(ss / 2), axis=2))\n"
            "    e = np.exp(a - a.max(1, keepdims=True))\n"
            "    return e / e.sum(1, keepdims=True)"],
            "from mini_eau.fusion import uncertainty_weights as w\n"
            "def my_paper_weights(ss, temperature=1.0):\n"
            "    return w(ss, temperature)"),
        "read_the_figure": (FIGURE, [
            "paper_weight_at_8 = 0.0",                # read the precision curve
            "paper_weight_at_8 = 0.5",                # read the mean curve
            "official_cut_at = 3.0"],                 # read the wrong crossing
            None),                                    # a number read off a figure: no library call to make
        "my_fuse_backward": (BACKWARD, NEAR,
            "from mini_eau.fusion import fuse_backward as fb\n"
            "def my_fuse_backward(dfused, cache):\n"
            "    mus, ss, T = cache\n"
            "    return fb(dfused, fuse_forward(mus, ss, T)[1])"),
    },
    "05_information_bottleneck": {
        "my_code_kl": (BUG, NEAR + ["my_code_kl = buggy_code_kl"],
            "from mini_eau.kl import kl_standard_normal_forward as prior_kl\n"
            "def my_code_kl(mu_f, s_f):\n"
            "    return float(prior_kl(mu_f, s_f)[0].mean())"),
        "my_vib_backward": (BACKWARD, NEAR,
            "from mini_eau.vib import vib_loss_backward as vb\n"
            "def my_vib_backward(dout, cache):\n"
            "    *args, beta = cache\n"
            "    return vb(dout, vib_loss_forward(*args, beta=beta)[1])"),
    },
    "06_eau_end_to_end": {
        "my_two_view_weight": (PREDICT, NEAR + [
            # the difference of inverse uncertainties with the wrong sign
            "def my_two_view_weight(u_a, u_b, temperature):\n"
            "    return 1 / (1 + np.exp((1 / u_a - 1 / u_b) / temperature))"],
            "from mini_eau.fusion import uncertainty_weights as w\n"
            "def my_two_view_weight(u_a, u_b, temperature):\n"
            "    ss = np.stack([2 * np.log(u_a), 2 * np.log(u_b)])[:, :, None]\n"
            "    return w(ss, temperature)[0]"),
        "my_concat_head_backward": (BACKWARD, NEAR,
            "from mini_eau.layers import linear_backward as lb, softmax_cross_entropy_backward as cb\n"
            "def my_concat_head_backward(dout, cache):\n"
            "    dc, dW, db = lb(cb(dout, (cache['logp'], cache['onehot'])), (cache['c'], cache['W']))\n"
            "    return dc[:, :cache['H']], dc[:, cache['H']:], dW, db"),
    },
    "07_real_data_and_gpu": {
        "my_soft_clip": (BUG, NEAR + ["my_soft_clip = buggy_soft_clip"],
            "from mini_eau.gaussian import bound_forward as bf\n"
            "def my_soft_clip(x, r=1.0):\n"
            "    return r / 10 * bf(10 * x / r)[0]"),
        "my_clipped_fuse_backward": (BACKWARD, NEAR, None),   # a new component: the library has no answer to call
    },
    "08_what_sigma_measures": {
        "my_deviation_input": (FORWARD, NEAR + [
            # the standardised feature, not its squared deviation; the square without the -1; no epsilon
            "def my_deviation_input(h, h_mean, h_var, eps=1e-5):\n"
            "    return (h - h_mean) / np.sqrt(h_var + eps)",
            "def my_deviation_input(h, h_mean, h_var, eps=1e-5):\n"
            "    return ((h - h_mean) / np.sqrt(h_var + eps)) ** 2",
            "def my_deviation_input(h, h_mean, h_var, eps=1e-5):\n"
            "    return ((h - h_mean) / np.sqrt(h_var)) ** 2 - 1"],
            "from mini_eau.layers import batch_norm_forward as bn\n"
            "def my_deviation_input(h, h_mean, h_var, eps=1e-5):\n"
            "    return bn(h, h_mean, h_var)[0] ** 2 - 1"),
        # both signs flipped, one flipped, a number that is not a sign
        "my_raw_head_signs": (PREDICT, ["my_raw_head_signs = {'gaussian': +1, 'mask': -1}",
                                        "my_raw_head_signs = {'gaussian': -1, 'mask': -1}",
                                        "my_raw_head_signs = {'gaussian': -0.7, 'mask': 0.7}"],
                              None),   # a prediction: the library holds no answer to call
    },
}
CASES = [(name, ex) for name in NAMES for ex in EXERCISES.get(name, {})]


def solution_cells(nb):
    """The exercises graded automatically: code cells to fill in (markdown answers are graded by hand)."""
    return [grading(c)["grade_id"] for c in nb.cells if grading(c).get("solution") and c.cell_type == "code"]


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_has_a_check_and_a_registered_kind(name):
    nb = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
    ids = solution_cells(nb)
    assert len(ids) >= 2, f"{name}: at least two exercises"
    assert sorted(ids) == sorted(EXERCISES[name]), "every exercise is registered above (kind, near misses, bypass)"
    checks = [grading(c)["grade_id"] for c in nb.cells if grading(c).get("grade") and c.cell_type == "code"]
    assert sorted(checks) == sorted(f"check_{i}" for i in ids), checks
    for cell in nb.cells:                            # written answers: each explains one exercise
        if cell.cell_type == "markdown" and grading(cell):
            assert grading(cell)["grade_id"][len("explain_"):] in ids, grading(cell)
    order = [grading(c).get("grade_id") for c in nb.cells]
    assert all(order.index(i) < order.index(f"check_{i}") for i in ids), "each check follows its exercise"


def test_exercise_kinds_across_the_notebooks():
    kinds = [kind for exercises in EXERCISES.values() for kind, _, _ in exercises.values()]
    assert sum(k != BACKWARD for k in kinds) >= 7, kinds
    assert {FORWARD, PREDICT, BUG, REMOVE, FIGURE} <= set(kinds), kinds


def run_to_check(name, exercise, stub=False, after=None):
    """Run the solution notebook's code cells, from the top, up to and including the check of
    ``exercise`` (as a student runs them); ``stub``: that exercise's cell as the student gets it;
    ``after``: a tamper of the solution's function, or student code run in the notebook's namespace
    right after the exercise cell."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nb = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    ids = [grading(c).get("grade_id") for c in cells]
    ns = {"__name__": "__notebook__"}
    try:
        for k, cell in enumerate(cells[:ids.index(f"check_{exercise}") + 1]):
            source = build_script().student_source(cell.source, exercise) if stub and ids[k] == exercise else cell.source
            exec(compile(code_of(nbformat.v4.new_code_cell(source)), f"{name}[{ids[k] or k}]", "exec"), ns)
            if ids[k] == exercise and isinstance(after, str):
                exec(compile(after, "student's code", "exec"), ns)
            elif ids[k] == exercise and after is not None:
                ns[exercise] = after(ns[exercise])
    finally:
        plt.close("all")
    return ns


@pytest.mark.parametrize("name,exercise", CASES, ids=[f"{n[:2]}-{e}" for n, e in CASES])
def test_check_passes_the_solution_and_fails_the_stub_near_misses_and_the_library_bypass(name, exercise, monkeypatch):
    monkeypatch.setenv("MINI_EAU_FAST", "1")
    _, near_misses, bypass = EXERCISES[name][exercise]
    run_to_check(name, exercise)                                    # the solution passes its check
    with pytest.raises(NotImplementedError, match=f"exercise {exercise}:"):
        run_to_check(name, exercise, stub=True)                     # the stub as handed out
    for k, near in enumerate(near_misses):
        with pytest.raises(AssertionError, match="not yet"):
            run_to_check(name, exercise, after=near)
            pytest.fail(f"near miss {k} passed the check")
    if bypass is not None:
        with pytest.raises(AssertionError, match="not yet: this calls the library's"):
            run_to_check(name, exercise, after=bypass)


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_is_reached_within_30_seconds_of_running_from_the_top(name, monkeypatch):
    """As a student runs it in plain Jupyter, no environment variables (full mode): every cell up to
    the last check. CPU time of this process, so that a busy shared machine does not fail it."""
    import time
    monkeypatch.delenv("MINI_EAU_FAST", raising=False)
    nb = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
    last = [grading(c)["grade_id"] for c in nb.cells if grading(c).get("grade") and c.cell_type == "code"][-1][len("check_"):]
    start = time.process_time()
    run_to_check(name, last)
    assert time.process_time() - start < 30


# ---------------------------------------------------------------- break the idea
def _frozen_variance_head(module):
    """Patch ``module.gaussian_head_forward`` so that the log-variance no longer sees the input:
    the prior's s = 0 plus a fixed +-0.01 ripple over rows and columns (so ranks stay defined)."""
    original = module.gaussian_head_forward

    def frozen(*args, **kwargs):
        (mu, s), cache = original(*args, **kwargs)
        n, d = s.shape
        ripple = 0.01 * np.cos(1.7 * np.arange(n)[:, None] + np.arange(d)[None, :])
        return (mu, s * 0.0 + ripple), cache
    return "gaussian_head_forward", frozen


def _uniform_fusion(module):
    """Patch the model's fusion so that every variant uses uniform weights 1/M."""
    fuse, weights = module.fuse_forward, module.uncertainty_weights
    return [("fuse_forward", lambda mus, ss, temperature=1.0, variant="paper": fuse(mus, ss, temperature, "mean")),
            ("uncertainty_weights", lambda ss, temperature=1.0, variant="paper": weights(ss, temperature, "mean"))]


def _udr_without_pull(module):
    """L_UDR is reported but sends no gradient: nothing pulls the modalities together."""
    backward = module.udr_loss_backward

    def no_pull(dout, cache):
        return tuple(g * 0.0 for g in backward(dout, cache))
    return "udr_loss_backward", no_pull


def _paper_ura_is_infonce(module):
    """The paper's L_URA silently replaced by InfoNCE (the denominator keeps the positive)."""
    forward = module.ura_loss_forward

    def infonce(a, b, tau=0.5, variant="paper", **kwargs):
        return forward(a, b, tau=tau, variant="infonce" if variant == "paper" else variant, **kwargs)
    return "ura_loss_forward", infonce


def _raw_head_everywhere(module):
    """Every variance head reads h itself, whatever the configuration asks: the paper's head only."""
    forward = module.gaussian_head_forward

    def raw(*args, variance_input="raw", h_mean=None, h_var=None, **kwargs):
        return forward(*args, **kwargs)
    return "gaussian_head_forward", raw


def _beta_ignored(module):
    """The VIB's KL weight ignored (beta = 0 whatever the config says): no compression."""
    forward = module.vib_loss_forward

    def no_beta(*args, beta=1e-3, **kwargs):
        return forward(*args, beta=0.0, **kwargs)
    return "vib_loss_forward", no_beta


BREAKS = {
    # notebook: (module to patch, what breaks the idea)
    "01_aleatoric_vs_epistemic": ("mini_eau.regression", _frozen_variance_head),
    "02_gaussian_heads_and_kl": ("mini_eau.model", _udr_without_pull),
    "03_contrastive_augmentation": ("mini_eau.contrastive", _paper_ura_is_infonce),
    "04_uncertainty_weighted_fusion": ("mini_eau.model", _uniform_fusion),
    "05_information_bottleneck": ("mini_eau.model", _beta_ignored),
    "06_eau_end_to_end": ("mini_eau.model", _frozen_variance_head),
    "07_real_data_and_gpu": ("mini_eau.model", _uniform_fusion),
    "08_what_sigma_measures": ("mini_eau.model", _raw_head_everywhere),
}


@pytest.mark.parametrize("name", NAMES)
def test_final_check_fails_when_the_idea_is_broken(name, monkeypatch):
    """Run the solution notebook in this process with one piece of the idea broken: every cell
    but the last runs as usual (the exercises' checks, which compare with the library, skipped),
    and the final check (the last cell) fails where it should."""
    import importlib

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("MINI_EAU_FAST", "1")
    module_name, breaker = BREAKS[name]
    module = importlib.import_module(module_name)
    patches = breaker(module)
    for attr, fn in patches if isinstance(patches, list) else [patches]:
        monkeypatch.setattr(module, attr, fn)

    nb = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    ns = {"__name__": "__notebook__"}
    try:
        for k, cell in enumerate(cells[:-1]):
            if grading(cell).get("grade"):
                continue                             # an exercise's check grades the student, against the library
            exec(compile(code_of(cell), f"{name}[{k}]", "exec"), ns)
            plt.close("all")
    finally:
        plt.close("all")
    failed = failing_asserts(code_of(cells[-1]), ns)
    assert failed, "the final check passed with the idea broken"
    for pattern in EXPECTED_FAILURES[name]:
        assert any(re.search(pattern, line) for line in failed), (pattern, failed)


def failing_asserts(code, ns):
    """Run ``code`` one top-level statement at a time; return the source of each failing one
    (an ``assert``, or a loop of them): an AssertionError, or a ValueError from a statistic the
    check needs that is undefined (e.g. a rank correlation of constant values). Anything else
    propagates."""
    failed = []
    for stmt in ast.parse(code).body:
        if isinstance(stmt, ast.Expr) and "print(" in ast.get_source_segment(code, stmt):
            continue                                 # not the "all checks passed" line
        try:
            exec(compile(ast.Module([stmt], type_ignores=[]), "final check", "exec"), ns)
        except (AssertionError, ValueError):
            failed.append(ast.get_source_segment(code, stmt))
    return failed


# which of the final assertions must fail for each broken idea
EXPECTED_FAILURES = {
    "01_aleatoric_vs_epistemic": [r"ale_corr > CORR_MIN"],
    "02_gaussian_heads_and_kl": [r"kl_with < kl_without / FACTOR_WITHOUT"],
    "03_contrastive_augmentation": [r'values\["paper"\] >= np\.log\(N - 1\)'],
    "04_uncertainty_weighted_fusion": [r'weight_a\["paper"\]\[0\] >', r'accuracy\["paper"\]\[-1\] > accuracy\["mean"\]'],
    "05_information_bottleneck": [r"kl_mean\[i_small\] > KL_FACTOR \* kl_mean\[i_big\]"],
    "06_eau_end_to_end": [r'rho\["a"\] > RHO_MIN', r"w\[0\] - w\[top\] > WEIGHT_FALL", r'acc\["eau"\]\[top\] > acc\["concat"\]'],
    "07_real_data_and_gpu": [r"WEIGHT_FALL", r'acc\["eau"\]\[top\] > acc\["concat"\]', r'share\["task"\] > 0\.5'],
    "08_what_sigma_measures": [r"GAIN_MIN"],
}


# ---------------------------------------------------------------- plain Jupyter
def _installed_mini_eau(env):
    """Where a fresh interpreter outside the repository imports mini_eau from (None: it cannot)."""
    out = subprocess.run([sys.executable, "-c", "import mini_eau, os; print(os.path.dirname(mini_eau.__file__))"],
                         cwd=NB_DIR / "src", env=env, capture_output=True, text=True)
    return Path(out.stdout.strip()).resolve() if out.returncode == 0 else None


def test_notebook_runs_in_plain_jupyter_without_pythonpath(tmp_path):
    """``jupyter nbconvert --execute`` outside the checkout, PYTHONPATH unset: the kernel imports the install.

    A one-cell notebook: the course notebooks themselves are executed once, by nbmake.
    """
    pytest.importorskip("nbconvert")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(MINI_EAU_FAST="1", MPLBACKEND="Agg")
    where = _installed_mini_eau(env)
    if where != ROOT / "mini_eau":
        pytest.skip(f"mini_eau is not installed from this checkout (found: {where}); "
                    "run `pip install -r requirements.txt` first")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os, mini_eau\nfrom mini_eau.model import EAU\n"
                                          "print(os.path.dirname(os.path.realpath(mini_eau.__file__)))")]
    nbformat.write(nb, tmp_path / "probe.ipynb")
    # as `jupyter nbconvert` in the activated environment of this interpreter
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    out = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute",
                          "--output", "probe.out.ipynb", "probe.ipynb"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    executed = nbformat.read(tmp_path / "probe.out.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for o in executed.cells[0].outputs).strip()
    assert Path(printed).resolve() == ROOT / "mini_eau"
