"""Several seeds: one demo run per seed, and the mean and spread of every number over them.

:func:`run_seeds` repeats :func:`mini_eau.lab.demo.run_demo`; :func:`aggregate`
averages any list of results dicts of the same data and protocol (what
``python -m mini_eau demo --seeds 0 1 2`` writes as ``results.json``).
"""
from __future__ import annotations

import numpy as np

from .demo import run_demo

__all__ = ["run_seeds", "aggregate"]


def run_seeds(seeds=(0, 1, 2), **kwargs):
    """:func:`run_demo` once per seed; returns ``(per_seed results, aggregate(per_seed))``."""
    per_seed = [run_demo(seed=s, **kwargs) for s in seeds]
    return per_seed, aggregate(per_seed)


def _walk(trees, fn):
    """Apply ``fn`` to the list of leaves found at the same place in every tree (dicts/lists of numbers)."""
    first = trees[0]
    if isinstance(first, dict):
        return {k: _walk([t[k] for t in trees], fn) for k in first}
    if isinstance(first, list) and first and not isinstance(first[0], str):
        return [_walk([t[i] for t in trees], fn) for i in range(len(first))]
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return fn([float(t) for t in trees])
    return first


def aggregate(per_seed):
    """Mean and standard deviation over seeds of every number in the results (same data and protocol)."""
    sweeps = [r["sweeps"] for r in per_seed]
    mean = dict(per_seed[0])
    mean["sweeps"] = _walk(sweeps, lambda v: float(np.mean(v)))
    std = {"sweeps": _walk(sweeps, lambda v: float(np.std(v)))}
    for sw, first in zip(mean["sweeps"], per_seed[0]["sweeps"]):
        sw["noisy"] = first["noisy"]  # view indices, not numbers to average
    mean["seed"] = [r["seed"] for r in per_seed]
    mean["std"] = std
    mean["runtime_s"] = float(np.mean([r["runtime_s"] for r in per_seed]))
    return mean
