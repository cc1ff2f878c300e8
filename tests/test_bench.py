"""`python -m benchmarks.bench`: it runs, its JSON has what the issue asks for, and what it compares is fair.

No timing is asserted (timings depend on the machine and its load); what is
checked is that the columns measure what they claim: the floor replays the
very matrix products of a hand step, and the PyTorch loss is the NumPy loss.
"""
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

import strict_array as sa
from strict_array import xp as S

from benchmarks.bench import SIZES, _to_torch, make_problem, run_bench, step_matmuls, torch_eau_loss
from mini_eau.model import EAU, EAUConfig
from mini_eau.optim import Adam

RATIOS = ("autograd_over_hand", "hand_over_floor", "hand_over_torch")


def test_quick_bench_writes_the_json(tmp_path):
    out = tmp_path / "bench.json"
    # --no-torch: importing torch alone takes seconds; its column is tested in process below
    res = subprocess.run([sys.executable, "-m", "benchmarks.bench", "--quick", "--no-torch", "--json", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    r = json.loads(out.read_text())
    assert r["backend"] == "numpy" and r["dtype"] == "float64"
    assert {"cpu_count", "numpy", "platform", "torch"} <= set(r["machine"])
    tiny = r["sizes"]["tiny"]
    assert set(tiny["median_s"]) == {"hand", "autograd", "floor", "torch"}
    for k in ("hand", "autograd", "floor"):
        assert tiny["median_s"][k] > 0 and len(tiny["times_s"][k]) == tiny["repeats"] == 3
    for k in RATIOS:
        assert k in tiny
    assert tiny["autograd_over_hand"] == pytest.approx(tiny["median_s"]["autograd"] / tiny["median_s"]["hand"])
    assert tiny["hand_over_floor"] == pytest.approx(tiny["median_s"]["hand"] / tiny["median_s"]["floor"])
    assert tiny["median_s"]["torch"] is None and tiny["hand_over_torch"] is None
    assert "torch not installed" in res.stdout or "left out" in res.stdout
    # the printed table: one row per size, every column named
    header = next(ln for ln in res.stdout.splitlines() if "autograd/hand" in ln)
    assert all(w in header for w in ("hand", "autograd", "floor", "torch", "hand/floor", "hand/torch"))
    assert any(ln.split()[:1] == ["tiny"] for ln in res.stdout.splitlines())


def test_torch_column_is_its_best_thread_setting():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    r = run_bench("numpy", sizes=("tiny",), repeats=2, warmup=0, log=lambda s: None)["sizes"]["tiny"]
    assert torch.get_num_threads() == threads  # put back as found
    by = r["torch_median_s_by_threads"]
    assert "1" in by and r["median_s"]["torch"] == min(by.values()) == by[str(r["torch_threads"])]
    assert r["hand_over_torch"] == pytest.approx(r["median_s"]["hand"] / r["median_s"]["torch"])


def test_bench_sizes_are_the_issues():
    s, l = SIZES["small"], SIZES["large"]
    assert (s.n, s.hidden, s.d_embed) == (128, (64,), 8)
    assert (l.n, l.hidden, l.d_embed) == (4096, (1024,), 256)


@pytest.mark.parametrize("config", [
    SIZES["tiny"].config(),
    EAUConfig(hidden=(5, 4), d_embed=3, d_bottleneck=2, lambda_uni=0.5, keep_prob=0.8, ura_variant="official"),
    EAUConfig(hidden=(6,), d_embed=3, vib=False, lambda_ura=0.0),
])
def test_floor_replays_the_products_of_a_real_step(config):
    """step_matmuls lists exactly the products a hand training step performs (logged on strict arrays)."""
    model = EAU((4, 3, 5), 3, config)
    n = 6
    rng = np.random.default_rng(0)
    params = sa.to_backend(model.init_params(rng), S)
    xs = sa.to_backend([rng.standard_normal((n, d)) for d in model.input_dims], S)
    y = S.asarray(rng.integers(0, 3, n))
    draws = model.draw(n, S.random.default_rng(0), xp=S)
    opt = Adam(params)
    sa.LOG.matmuls.clear()
    sa.LOG.record_matmuls = True
    try:
        loss, cache = model.loss_forward(params, xs, y, draws)
        opt.step(model.loss_backward(1.0, cache))
    finally:
        sa.LOG.record_matmuls = False
    listed = sorted((a, b) for a, b, _, _ in step_matmuls(model, n))
    assert sorted(sa.LOG.matmuls) == listed


@pytest.mark.parametrize("ura", ["paper", "infonce", "official"])
@pytest.mark.parametrize("fusion", ["paper", "mean"])
def test_torch_runs_the_same_loss_and_gradients(ura, fusion):
    torch = pytest.importorskip("torch")
    size = replace(SIZES["tiny"], n=12)
    model, params, xs, y, draws = make_problem(size, seed=3)
    model.config = replace(model.config, ura_variant=ura, fusion=fusion, lambda_udr=0.1)
    for name in params:  # log-variance heads off their small init: every path carries gradient
        if name.endswith("W_s"):
            params[name] = np.random.default_rng(1).standard_normal(params[name].shape) * 0.5
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    assert "masks" in draws  # EAU's default dropout is part of the comparison
    tdraws = _to_torch(draws, torch, "cpu")
    txs, ty = [torch.tensor(x) for x in xs], torch.tensor(y)
    p_np = {k: v.copy() for k, v in params.items()}
    opt, topt = Adam(p_np, lr=1e-2), torch.optim.Adam(list(tp.values()), lr=1e-2)
    for _ in range(2):
        loss, cache = model.loss_forward(p_np, xs, y, draws)
        grads = model.loss_backward(1.0, cache)
        topt.zero_grad()
        tloss = torch_eau_loss(model.config, tp, txs, ty, tdraws)
        tloss.backward()
        assert abs(float(loss) - tloss.item()) <= 1e-12 * abs(float(loss))
        for k, g in grads.items():
            tg = tp[k].grad.numpy()
            assert np.max(np.abs(g - tg)) <= 1e-10 * max(np.max(np.abs(g)), 1e-300), k
        opt.step(grads)
        topt.step()
    for k in p_np:
        np.testing.assert_allclose(tp[k].detach().numpy(), p_np[k], rtol=1e-9, atol=1e-12)


def test_torch_loss_refuses_what_it_does_not_write_out():
    pytest.importorskip("torch")
    with pytest.raises(NotImplementedError, match="auxiliary"):
        torch_eau_loss(EAUConfig(lambda_uni=0.5), {}, [], None, {})
