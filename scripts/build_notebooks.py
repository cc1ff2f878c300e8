"""Build the teaching notebooks from their text sources: solution and student versions.

    python scripts/build_notebooks.py              # every notebook whose source changed
    python scripts/build_notebooks.py 03 05        # only these (by number prefix)
    python scripts/build_notebooks.py --execute    # re-execute even if unchanged (after a library change)
    MINI_EAU_FAST=1 python scripts/build_notebooks.py --execute   # fast mode (what the tests run)

Run it with the Python of the environment where ``pip install -r requirements.txt`` was done:
the notebooks execute in a ``python3`` kernel on that same interpreter, which imports the
installed ``mini_eau``. After a change to the library, ``--execute`` re-runs every notebook (full mode,
as committed; each notebook's time is printed).

Sources are ``notebooks/src/NN_name.py`` in jupytext's "percent" format (valid
Python: cells start with ``# %%``, magics are commented as ``# %config``).
Each exercise's solution sits in a cell marked for nbgrader
(``# %% nbgrader={... "solution": true ...}``) between ``### BEGIN SOLUTION`` and
``### END SOLUTION``, so a lecturer can also hand the sources to nbgrader. The cell whose
grade_id is ``grading_tools`` receives ``notebooks/src/grading_tools.py`` (one copy of the
checks' tools for every notebook). From one source this script writes

* ``notebooks/NN_name.ipynb`` -- the solution notebook, executed, with its
  outputs and figures (what CI runs and what the repository shows);
* ``notebooks/student/NN_name.ipynb`` -- the student notebook, not executed:
  each solution region replaced by a stub in nbgrader's form (``# YOUR CODE HERE`` and a
  ``raise NotImplementedError(...)`` whose message names the exercise, its ``grade_id``), and each
  markdown answer cell (nbgrader ``"solution": true``, graded by hand) by ``YOUR ANSWER HERE``.

Output is deterministic: cell ids are derived from the cell's position and
source, no execution timestamps are kept, and a notebook is re-executed only
when its source changed since it was last built (the source's hash is stored
in the notebook's metadata) or with ``--execute``. Rebuilding an unchanged
notebook therefore leaves ``git status`` clean.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import os
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "notebooks" / "src"
OUT = ROOT / "notebooks"
STUDENT = OUT / "student"
MAX_BYTES = 1_000_000
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

# nbgrader's markers and the stub its ClearSolutions step writes for Python
SOLUTION_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[ \t]*\n.*?^[ \t]*### END SOLUTION[ \t]*$", re.M | re.S)
STUB = ('{indent}# YOUR CODE HERE\n'
        '{indent}raise NotImplementedError("exercise {exercise}: replace this line with your code")')


ANSWER = "YOUR ANSWER HERE"


def student_source(source, exercise="?"):
    """The cell source with every solution region replaced by the stub naming ``exercise``."""
    return SOLUTION_REGION.sub(lambda m: STUB.format(indent=m.group(1), exercise=exercise), source)


def source_hash(src: Path) -> str:
    """The hash of the source and of the grading tools it receives."""
    return hashlib.sha256(src.read_bytes() + (SRC / "grading_tools.py").read_bytes()).hexdigest()


def grading_tools() -> str:
    """The code of notebooks/src/grading_tools.py, after its docstring."""
    text = (SRC / "grading_tools.py").read_text()
    return text.split('"""', 2)[2].strip("\n")


def read_source(src: Path):
    """The notebook jupytext reads from ``src``, with fixed cell ids and kernel, and the grading
    tools written into the cell whose grade_id is "grading_tools" (one copy of them for all)."""
    nb = jupytext.read(src)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "grading_tools":
            cell.source = grading_tools()
    nb.metadata = {"kernelspec": dict(KERNELSPEC),
                   "jupytext": {"formats": "ipynb,src//py:percent",
                                "notebook_metadata_filter": "-all",
                                "cell_metadata_filter": "nbgrader,-all"}}
    return nb


def fix_ids(nb, stem):
    """Cell ids from the position and the source: a rebuild writes the same ids."""
    for i, cell in enumerate(nb.cells):
        digest = hashlib.sha1(f"{stem}:{i}:{cell.source}".encode()).hexdigest()[:8]
        cell["id"] = f"c{i:02d}-{digest}"
    return nb


def make_student(nb):
    """Solutions out, no outputs, nothing executed."""
    st = copy.deepcopy(nb)
    st.metadata.pop("jupytext", None)          # the student copy is not paired with the source
    st.metadata.pop("mini_eau", None)
    for cell in st.cells:
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = ANSWER                # a written answer, graded by hand (nbgrader's convention)
        if cell.cell_type == "code":
            cell.source = student_source(cell.source, cell.metadata.get("nbgrader", {}).get("grade_id", "?"))
            cell.outputs, cell.execution_count = [], None
    return st


def execute(nb, timeout=900):
    # record_timing=False: no per-cell timestamps in the committed notebook
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(OUT)}}).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return nb


def build(src: Path, force_execute: bool = False):
    stem = src.stem
    nb = fix_ids(read_source(src), stem)
    fast = os.environ.get("MINI_EAU_FAST") == "1"
    stamp = {"source_sha256": source_hash(src), "fast_mode": fast}

    student = fix_ids(make_student(nb), stem)
    STUDENT.mkdir(exist_ok=True)
    nbformat.write(student, STUDENT / f"{stem}.ipynb")

    out = OUT / f"{stem}.ipynb"
    if out.exists() and not force_execute:
        old = nbformat.read(out, as_version=4)
        if old.metadata.get("mini_eau", {}).get("source_sha256") == stamp["source_sha256"]:
            print(f"{out.relative_to(ROOT)}: source unchanged, kept (use --execute to re-run)")
            return
    t = time.perf_counter()
    execute(nb)
    nb.metadata["mini_eau"] = stamp
    nbformat.write(nb, out)
    size = out.stat().st_size
    print(f"{out.relative_to(ROOT)}: executed ({'fast' if fast else 'full'} mode) in "
          f"{time.perf_counter() - t:.0f} s, {size / 1e3:.0f} kB; student version in notebooks/student/")
    if size > MAX_BYTES:
        raise SystemExit(f"{out.name} is {size} bytes; keep notebooks under {MAX_BYTES} (fewer/smaller figures)")


def main(argv):
    # the kernels inherit this environment: MPLBACKEND=Agg (set by the test suite) would replace
    # the inline backend and leave the committed notebooks without figures
    os.environ.pop("MPLBACKEND", None)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="number prefixes of the notebooks to build (default: all)")
    parser.add_argument("--execute", action="store_true", help="re-execute even if the source is unchanged")
    args = parser.parse_args(argv)
    sources = sorted(SRC.glob("[0-9][0-9]_*.py"))
    if args.only:
        sources = [s for s in sources if any(s.name.startswith(a) for a in args.only)]
    if not sources:
        raise SystemExit("no notebook sources matched")
    for s in sources:
        build(s, force_execute=args.execute)


if __name__ == "__main__":
    main(sys.argv[1:])
