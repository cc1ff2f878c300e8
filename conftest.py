"""Test-suite set-up shared by the tests and the notebooks (run by nbmake).

The notebooks read ``MINI_EAU_FAST``: in the test suite they run in fast mode
(small data, few epochs). The kernels nbmake starts inherit this process's
environment. ``mini_eau`` comes from the install: ``pip install -r
requirements.txt`` installs it (editable), so every kernel imports it without
a PYTHONPATH, as a student's would.
"""
import importlib.metadata
import os
import sys

import pytest

os.environ.setdefault("MINI_EAU_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
ROOT = os.path.dirname(os.path.abspath(__file__))
# the repository root, for `benchmarks` (a folder of scripts, not part of the package)
sys.path.insert(0, ROOT)

try:
    importlib.metadata.distribution("mini_eau")
except importlib.metadata.PackageNotFoundError:
    # A checkout used without installing it: let the notebook kernels find the package anyway.
    # (tests/test_notebooks.py::test_notebook_runs_in_plain_jupyter_without_pythonpath checks
    # the installed set-up, and skips here.)
    os.environ["PYTHONPATH"] = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")

# the student notebooks stop at their first exercise by design (NotImplementedError);
# nbmake runs the solution notebooks, tests/test_notebooks.py checks the student ones
collect_ignore_glob = ["notebooks/student/*"]


def pytest_collection_modifyitems(config, items):
    """nbmake's notebook runs carry the ``notebooks`` marker, so ``-m "not notebooks"`` leaves them out."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
