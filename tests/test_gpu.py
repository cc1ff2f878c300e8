"""The same component and model code on CuPy: gradients equal NumPy's, training runs on the GPU.

Tests marked ``gpu`` need CuPy and a CUDA device and are skipped without them
(``python -m pytest -m gpu`` runs them; ``scripts/gpu_check.sh`` installs
CuPy first).  The model tests are parametrised over backends: ``strict``
(the CPU stand-in for CuPy of ``tests/strict_array.py``, so that every machine
runs them) and ``cupy`` (NumPy against itself could not fail; NumPy training
is tests/test_model.py's).  :func:`report` prints the CuPy-vs-NumPy
gradient agreement per component for ``scripts/gpu_check.sh``.
"""
from dataclasses import replace

import numpy as np
import pytest

import strict_array as sa

from mini_eau import backend as B
from mini_eau.lab.baselines import METHODS, make_method
from mini_eau.lab.data import ToyProblem
from mini_eau.gradcheck import registered
from mini_eau.model import EAU, EAUConfig
from mini_eau.optim import Adam
from mini_eau.lab.train import TrainConfig, fit

GPU_TOL = 1e-10  # float64 on the GPU: different kernels, different rounding, same maths
BACKENDS = ["strict", pytest.param("cupy", marks=pytest.mark.gpu)]
COMPONENTS = sorted(registered())


def _cupy_or_skip():
    try:
        return B._load_cupy()
    except B.BackendUnavailable as err:
        pytest.skip(str(err))


def _xp(name, monkeypatch=None):
    if name == "strict":
        if monkeypatch is not None:
            sa.use_strict_special(monkeypatch)
        return sa.xp
    return _cupy_or_skip()


@pytest.fixture(scope="module")
def toy():
    prob = ToyProblem(seed=0)
    rng = np.random.default_rng(0)
    return prob.sample(400, rng), prob.sweep(levels=(0.0, 6.0), n=200, rng=rng)


# ------------------------------------------------------------- components
def compare_component(name, xp, seed=0):
    """Largest relative error, over every case of ``name``, between the NumPy and ``xp`` outputs and gradients."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    for case in registered()[name](rng):
        out, grads, out_b, grads_b = sa.run_case(case, xp, rng)
        for a, b in zip(out + grads, out_b + grads_b):
            worst = max(worst, sa.rel_error(a, b))
    return worst


@pytest.mark.gpu
@pytest.mark.parametrize("name", COMPONENTS)
def test_component_gradients_on_cupy_equal_numpy(name):
    cp = _cupy_or_skip()
    assert compare_component(name, cp) <= GPU_TOL


def report(path=None):
    """Print (and write to ``path``) the CuPy-vs-NumPy agreement of every component; 0 if all within 1e-10."""
    cp = B._load_cupy()
    rows = [(name, compare_component(name, cp)) for name in COMPONENTS]
    width = max(len(n) for n, _ in rows)
    lines = [f"{'component':{width}s}  max rel. error CuPy vs NumPy (outputs and gradients, float64)"]
    lines += [f"{n:{width}s}  {e:.2e}{'' if e <= GPU_TOL else '  FAIL'}" for n, e in rows]
    worst = max(e for _, e in rows)
    lines.append(f"{len(rows)} components, worst {worst:.2e} (pass mark {GPU_TOL:g}): "
                 f"{'ok' if worst <= GPU_TOL else 'FAIL'}")
    text = "\n".join(lines)
    print(text)
    if path:
        with open(path, "w") as f:
            f.write(text + "\n")
    return 0 if worst <= GPU_TOL else 1


# ----------------------------------------------------------------- models
@pytest.mark.parametrize("backend", BACKENDS)
def test_eau_training_step_matches_numpy(backend, monkeypatch):
    """One step of EAU's default model (dropout on) on the backend, fed NumPy's draws, equals NumPy's step."""
    xp = _xp(backend, monkeypatch)
    model = EAU((5, 4), 3, EAUConfig(hidden=(8,), lambda_uni=0.2))
    rng = np.random.default_rng(0)
    params = model.init_params(rng)
    xs, y = [rng.standard_normal((10, d)) for d in model.input_dims], rng.integers(0, 3, 10)
    draws = model.draw(10, rng)
    p_np, p_b = {k: v.copy() for k, v in params.items()}, sa.to_backend(params, xp)
    losses = []
    for p, arrays in ((p_np, (xs, y, draws)), (p_b, sa.to_backend((xs, y, draws), xp))):
        loss, cache = model.loss_forward(p, *arrays)
        Adam(p, lr=1e-2).step(model.loss_backward(1.0, cache))
        losses.append(loss)
    assert sa.rel_error(*losses) <= GPU_TOL
    for k in p_np:
        assert not isinstance(p_b[k], np.ndarray), f"{k} left the backend"
        assert sa.rel_error(p_np[k], p_b[k]) <= GPU_TOL, k


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", METHODS)
def test_every_method_trains_and_predicts(backend, name, toy, monkeypatch):
    xp = _xp(backend, monkeypatch)
    train, sweep = toy
    model = make_method(name, [16, 16], 4, EAUConfig(hidden=(16,)))
    tr = fit(model, train, TrainConfig(epochs=2, batch_size=100), seed=1, xp=xp)
    assert tr.xp is xp and len(tr.history) == 2 and np.isfinite(tr.history[-1]["loss"])
    p = tr.predict_proba(sweep[0].xs)
    assert isinstance(p, np.ndarray) and p.shape == (200, 4) and np.allclose(p.sum(axis=1), 1.0)


@pytest.mark.gpu
def test_cupy_training_run_learns(toy):
    cp = _cupy_or_skip()
    train, sweep = toy
    tr = fit(EAU([16, 16], 4), train, TrainConfig(epochs=10, batch_size=50), seed=0, xp=cp)
    assert all(B.get_array_module(v) is cp and not isinstance(v, np.ndarray) for v in tr.params.values())
    assert tr.history[-1]["loss"] < tr.history[0]["loss"]
    assert np.mean(tr.predict(sweep[0].xs) == sweep[0].y) > 0.7


@pytest.mark.gpu
def test_the_switch_trains_on_cupy(toy, monkeypatch, tmp_path):
    """MINI_EAU_BACKEND=cupy alone moves training to the GPU; the demo's analysis still works."""
    cp = _cupy_or_skip()
    from mini_eau.lab import demo

    monkeypatch.setenv(B.ENV_VAR, "cupy")
    B.set_default_backend(None)
    assert B.default_xp() is cp
    tr = fit(EAU([16, 16], 4), toy[0], TrainConfig(epochs=1, batch_size=100), seed=0)
    assert tr.xp is cp
    res = demo.run_demo(settings=demo.DemoSettings(steps=20, n_train=300, n_test=100),
                        methods=("eau", "concat", "unimodal_0", "unimodal_1"), out=str(tmp_path), log=lambda s: None)
    assert len(res["sweeps"][0]["eau"]["weights"][0]) == len(res["levels"])


# ------------------------------------------------------- no GPU: a clear message
def test_asking_for_cupy_without_it_says_what_is_missing():
    import os
    import subprocess
    import sys

    try:
        B._load_cupy()
        pytest.skip("CuPy and a GPU are here")
    except B.BackendUnavailable:
        pass
    with pytest.raises(B.BackendUnavailable, match="backend 'cupy'"):
        B.set_default_backend("cupy")
    for argv, env in ((["mini_eau", "demo", "--fast", "--backend", "cupy"], {}),
                      (["benchmarks.bench", "--quick", "--backend", "cupy"], {}),
                      (["mini_eau", "demo", "--fast"], {B.ENV_VAR: "cupy"})):
        res = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, timeout=120,
                             env={**os.environ, **env})
        assert res.returncode != 0
        assert "backend 'cupy'" in res.stderr and ("CuPy" in res.stderr or "CUDA" in res.stderr)
        assert "Traceback" not in res.stderr, res.stderr
