"""Build the teaching notebooks from their text sources and execute them.

    python scripts/build_notebooks.py            # all notebooks, full mode
    python scripts/build_notebooks.py 03 05      # only these (by number prefix)
    MINI_EAU_FAST=1 python scripts/build_notebooks.py   # fast mode (what the tests run)

Sources are ``notebooks/src/NN_name.py`` in the "percent" format (cells start
with ``# %%``, markdown cells with ``# %% [markdown]`` and every line
commented with ``# ``), so diffs stay readable; the executed notebooks, with
their outputs and figures, are written to ``notebooks/NN_name.ipynb``.
Run this after every library change and commit the results.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "notebooks" / "src"
OUT = ROOT / "notebooks"
MAX_BYTES = 1_000_000


def parse_percent(text):
    """Split a percent-format script into nbformat cells."""
    cells, kind, lines = [], None, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in body.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(body))
        elif body.strip():
            cells.append(nbformat.v4.new_code_cell(body))

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def build(src, timeout=600):
    nb = nbformat.v4.new_notebook()
    nb.cells = parse_percent(src.read_text())
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    env_root = str(ROOT)
    os.environ["PYTHONPATH"] = env_root + os.pathsep + os.environ.get("PYTHONPATH", "")
    t = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(OUT)}}).execute()
    out = OUT / (src.stem + ".ipynb")
    nbformat.write(nb, out)
    size = out.stat().st_size
    print(f"{out.relative_to(ROOT)}: {time.perf_counter() - t:.1f} s, {size / 1e3:.0f} kB")
    if size > MAX_BYTES:
        raise SystemExit(f"{out.name} is {size} bytes; keep notebooks under {MAX_BYTES} (fewer/smaller figures)")


def main(argv):
    sources = sorted(SRC.glob("[0-9][0-9]_*.py"))
    if argv:
        sources = [s for s in sources if any(s.name.startswith(a) for a in argv)]
    if not sources:
        raise SystemExit("no notebook sources matched")
    for s in sources:
        build(s)


if __name__ == "__main__":
    main(sys.argv[1:])
