"""Test-suite set-up shared by the tests and the notebooks (run by nbmake).

The notebooks read ``MINI_EAU_FAST``: in the test suite they run in fast mode
(small data, few epochs; each notebook well under 30 s on 2 cores).  The
kernels nbmake starts inherit this process's environment.
"""
import os
import sys

os.environ.setdefault("MINI_EAU_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
ROOT = os.path.dirname(os.path.abspath(__file__))
# the notebook kernels import mini_eau from the checkout, not from an install
os.environ["PYTHONPATH"] = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
sys.path.insert(0, ROOT)
