"""Data sets for the experiments (SPEC §11), one file per job.

- :mod:`.container`   :class:`MultimodalData`, the set every method trains on (views, labels, injected noise)
- :mod:`.toy`         :class:`ToyProblem`, the seeded multi-view toy, and its test levels ``TOY_LEVELS``
- :mod:`.regression`  the 1-D heteroscedastic regression with a gap (SPEC §9)
- :mod:`.real`        scikit-learn's digits (2 or 4 views) and breast cancer (3 views)
- :mod:`.benchmarks`  ``add_noise``, ``noise_sweep``, ``noise_unit`` and the registry ``load_benchmark``

Data live on the host: plain NumPy, no gradient checks.  All randomness
comes from a ``numpy.random.Generator`` passed in (the toy's fixed parts —
prototypes, maps — from its own ``seed``), so the same seeds give
bit-identical arrays.  Everything is importable from here:
``from mini_eau.lab.data import ToyProblem, load_benchmark``.
"""
from .benchmarks import BENCHMARKS, Benchmark, add_noise, load_benchmark, noise_sweep, noise_unit
from .container import MultimodalData
from .real import DIGITS_LEVELS, join_halves, load_breast_cancer_views, load_digits_views
from .regression import make_regression_1d, regression_grid, regression_mean, regression_noise_std
from .toy import TOY_LEVELS, ToyProblem

__all__ = [
    "MultimodalData",
    "ToyProblem",
    "TOY_LEVELS",
    "regression_mean",
    "regression_noise_std",
    "make_regression_1d",
    "regression_grid",
    "load_digits_views",
    "load_breast_cancer_views",
    "join_halves",
    "DIGITS_LEVELS",
    "add_noise",
    "noise_sweep",
    "noise_unit",
    "Benchmark",
    "BENCHMARKS",
    "load_benchmark",
]
