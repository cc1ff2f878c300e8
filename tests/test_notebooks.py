"""The teaching notebooks: built from their sources, student versions without solutions,
exercise checks that grade the student's function, final checks that fail when the idea
is broken, and a run in a plain Jupyter set-up (no PYTHONPATH, outside the checkout).

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


def test_seven_notebooks_each_with_a_source_a_solution_and_a_student_version():
    assert len(NAMES) == 7
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
    for region in regions:
        for line in region.splitlines()[1:-1]:
            code = line.split("#")[0].strip()
            if len(code) > 12:                       # skip one-word lines such as "return dmu, ds"
                assert code not in student_text, f"solution line in the student notebook: {code!r}"
    stubs = [c for c in student.cells if grading(c).get("solution")]
    assert stubs and all("raise NotImplementedError()" in c.source for c in stubs)
    assert all(c.get("outputs") == [] for c in student.cells if c.cell_type == "code")


def run_exercise(nb, tamper=None):
    """Run the set-up cell and the exercise cells (nbgrader-marked) in order; return the namespace."""
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    ns = {"__name__": "__notebook__"}
    exec(compile(code_of(code_cells[0]), "setup", "exec"), ns)
    for cell in code_cells[1:]:
        info = grading(cell)
        if not info:
            continue
        exec(compile(code_of(cell), info["grade_id"], "exec"), ns)
        if info.get("solution") and tamper:
            name = info["grade_id"]
            ns[name] = tamper(ns[name])
    return ns


def scaled_by(factor):
    def tamper(fn):
        return lambda *a, **k: tuple(factor * g for g in fn(*a, **k))
    return tamper


@pytest.mark.parametrize("name", NAMES)
def test_student_check_fails_on_the_stub_and_passes_with_the_solution(name):
    import matplotlib
    matplotlib.use("Agg")
    student = nbformat.read(NB_DIR / "student" / f"{name}.ipynb", as_version=4)
    solution = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
    assert sum(1 for c in solution.cells if grading(c).get("grade")) == 1
    with pytest.raises(NotImplementedError):
        run_exercise(student)                        # the stub as handed out
    ns = run_exercise(solution)                      # the solution inserted: the check passes
    assert ns["report"].passed
    with pytest.raises(AssertionError, match="not yet"):
        run_exercise(solution, tamper=scaled_by(1.01))   # a backward 1% off fails the same check


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
}


@pytest.mark.parametrize("name", NAMES)
def test_final_check_fails_when_the_idea_is_broken(name, monkeypatch):
    """Run the solution notebook in this process with one piece of the idea broken: every cell
    but the last runs as usual, and the final check (the last cell) fails where it should."""
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
    "01_aleatoric_vs_epistemic": [r"ale_corr > 0\.8"],
    "02_gaussian_heads_and_kl": [r"kl_with < kl_without / 10"],
    "03_contrastive_augmentation": [r'values\["paper"\] >= np\.log\(N - 1\)'],
    "04_uncertainty_weighted_fusion": [r'weight_a\["paper"\]\[0\] >', r'accuracy\["paper"\]\[-1\] > accuracy\["mean"\]'],
    "05_information_bottleneck": [r"kl_mean\[i_small\] > 200 \* kl_mean\[i_big\]"],
    "06_eau_end_to_end": [r'rho\["a"\] > RHO_MIN', r"w\[0\] - w\[top\] > WEIGHT_FALL", r'acc\["eau"\]\[top\] > acc\["concat"\]'],
    "07_real_data_and_gpu": [r"WEIGHT_FALL", r'acc\["eau"\]\[top\] > acc\["concat"\]', r'share\["task"\] > 0\.5'],
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
