"""Test-suite set-up shared by the tests and the notebooks (run by nbmake).

The notebooks read ``MINI_EAU_FAST``: in the test suite they run in fast mode
(small data, few epochs). The kernels nbmake starts inherit this process's
environment. ``mini_eau`` itself comes from the install (``pip install -r
requirements.txt`` installs it editable), so no PYTHONPATH is needed here.
"""
import os
import sys

os.environ.setdefault("MINI_EAU_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# the repository root, for `benchmarks` (a folder of scripts, not part of the package)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# the student notebooks stop at their first exercise by design (NotImplementedError);
# nbmake runs the solution notebooks, tests/test_notebooks.py checks the student ones
collect_ignore_glob = ["notebooks/student/*"]
