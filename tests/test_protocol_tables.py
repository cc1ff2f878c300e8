"""scripts/protocol_tables.py: the docs' protocol tables, their targets, and the committed page they make."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("protocol_tables", ROOT / "scripts" / "protocol_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(data, protocol, corruption, spearman, eau, concat, late, oracle, w0, w_top):
    sweep = {"noisy": [0], "noisy_names": ["a"], "eau": {"spearman": {"0": spearman}, "weights": [[w0, w_top], [1 - w0, 1 - w_top]]},
             "methods": {"eau": {"accuracy": [0.9, eau]}, "concat": {"accuracy": [0.9, concat]},
                         "late": {"accuracy": [0.9, late]}}, "oracle": {"accuracy": [0.8, oracle]}}
    return {"data": data, "protocol": protocol, "corruption": corruption, "sweeps": [sweep], "levels": [0, 6]}


@pytest.mark.parametrize("case, missed", [
    (("toy", "clean", "gaussian", 0.6, 0.80, 0.50, 0.70, 0.85, 0.5, 0.1), []),
    (("toy", "clean", "gaussian", 0.4, 0.80, 0.50, 0.70, 0.85, 0.5, 0.1), ["Spearman < 0.5"]),
    (("toy", "clean", "gaussian", 0.6, 0.74, 0.50, 0.70, 0.85, 0.5, 0.1), ["EAU < max(concat, late) + 0.05"]),
    (("toy", "clean", "gaussian", 0.6, 0.80, 0.50, 0.70, 0.85, 0.5, 0.6), ["weight on the corrupted view(s) does not fall"]),
    (("toy", "clean", "mask", 0.4, 0.80, 0.50, 0.70, 0.85, 0.5, 0.1), ["Spearman < 0.5"]),
    (("digits", "clean", "gaussian", 0.35, 0.80, 0.83, 0.79, 0.9, 0.5, 0.1), ["EAU > 2 points below concat"]),
    (("digits", "clean", "gaussian", 0.25, 0.70, 0.50, 0.79, 0.9, 0.5, 0.1), ["Spearman < 0.3", "EAU < late"]),
    (("digits", "clean", "mask", -0.5, 0.80, 0.79, 0.79, 0.9, 0.5, 0.1), []),   # no Spearman target on real-data masks
    (("cancer", "augment", "gaussian", 0.9, 0.85, 0.50, 0.70, 0.88, 0.5, 0.1), ["EAU > 2 points below the oracle"]),
    (("cancer", "augment", "mask", -0.9, 0.5, 0.7, 0.7, 0.9, 0.5, 0.6), ["weight on the corrupted view(s) does not fall"]),
])
def test_targets_name_every_miss(case, missed):
    r = _run(*case)
    assert _script().targets(r, r["sweeps"][0]) == missed


@pytest.mark.parametrize("head", ["raw", "deviation"])
def test_the_committed_page_is_what_the_script_makes_of_the_committed_results(head):
    """docs/generated/protocols_<head>.md cannot drift from the runs it summarises."""
    study = ROOT / "docs" / "results" / "study" / head
    page = ROOT / "docs" / "generated" / f"protocols_{head}.md"
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "protocol_tables.py"), str(study)], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True).stdout
    assert out == page.read_text()
    runs = [json.loads(p.read_text()) for p in study.glob("*/results.json")]
    assert {r["data"] for r in runs} == {"toy", "toy3", "digits", "digits4", "cancer"}
    assert {(r["protocol"], r["corruption"]) for r in runs} == {(p, c) for p in ("clean", "augment")
                                                                for c in ("gaussian", "mask", "saltpepper")}
    assert all(r["seed"] == [0, 1, 2] and r["default_budget"] and r["config"]["variance_head"] == head for r in runs)
