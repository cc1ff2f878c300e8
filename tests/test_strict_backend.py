"""The CuPy path without a GPU: training never falls back to NumPy behind the backend's back.

Every test runs mini_eau on :class:`strict_array.StrictArray`, a CPU array
that, like a CuPy array, refuses to turn into a NumPy array implicitly and
refuses raw NumPy operands (see ``tests/strict_array.py``).  A forgotten
``np.`` call, a ``float()`` on a device value or a host array mixed into the
maths raises there, or shows up in the transfer counters, exactly where it
would cost a device-host copy (or fail) on a GPU.  Fed the same draws, the
strict run must reproduce the NumPy run to rounding (in fact bit for bit:
the same NumPy kernels do the arithmetic underneath).
"""
from dataclasses import replace

import numpy as np
import pytest

import strict_array as sa
from strict_array import StrictArray, xp as S

from mini_eau.backend import get_array_module, to_numpy
from mini_eau.lab.baselines import METHODS, make_method
from mini_eau.lab.data import ToyProblem
from mini_eau.fusion import VARIANTS as FUSIONS
from mini_eau.gradcheck import registered
from mini_eau.model import EAU, EAUConfig
from mini_eau.optim import Adam
from mini_eau.lab.train import TrainConfig, fit

URA_VARIANTS = ("paper", "infonce", "official")
TOL = 1e-12


@pytest.fixture(autouse=True)
def strict_special(monkeypatch):
    """TMC's digamma/gammaln follow the array module: give the strict module its scipy.special mirror."""
    sa.use_strict_special(monkeypatch)


rel = sa.rel_error


# ------------------------------------------------------------ the array type
def test_strict_array_refuses_every_silent_fall_back():
    a = S.asarray(np.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError, match="implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        a + np.ones(3)
    with pytest.raises(TypeError):
        np.ones(3) * a  # numpy defers (__array_ufunc__ = None), then the strict side refuses
    with pytest.raises(TypeError):
        np.exp(a)
    with pytest.raises(TypeError, match=r"numpy.sum called on a StrictArray"):
        np.sum(a)
    with pytest.raises(TypeError, match="index is a numpy.ndarray"):
        a[np.array([0, 1])]
    # reductions stay arrays (0-d), as on CuPy; scalars and strict operands are fine
    assert isinstance(a.sum(), StrictArray) and a.sum().shape == ()
    assert isinstance(np.float64(2.0) * a, StrictArray) and isinstance(S.exp(a), StrictArray)
    assert get_array_module(np.ones(1), a) is S


def test_host_conversions_and_copies_are_counted():
    a = S.asarray(np.arange(3.0))
    h0, d0 = sa.counts()
    float(a[0]), bool(a[1] > 0), int(a[2]), a[0].item(), to_numpy(a), a.get()
    assert sa.counts() == (h0 + 6, d0)
    S.asarray(a), S.asarray(a, dtype=np.float64), S.full(3, 2.0), S.eye(2)
    assert sa.counts() == (h0 + 6, d0)           # on-device: nothing moves
    S.asarray(np.ones(2)), S.asarray(3.0)
    assert sa.counts() == (h0 + 6, d0 + 2)       # host data: two host-to-device copies


def test_in_place_updates_write_through_views():
    # Adam and the backward passes update arrays (and slices of stacks) in place
    p = S.zeros((2, 3))
    view = p[1]
    view += S.asarray(np.ones(3))
    p[0] += S.asarray(np.full(3, 2.0))
    p *= 3.0
    np.testing.assert_array_equal(to_numpy(p), [[6.0] * 3, [3.0] * 3])


# ------------------------------------------------------ every component pair
@pytest.mark.parametrize("name", sorted(registered()))
def test_every_registered_component_matches_numpy_without_transfers(name):
    """Every gradient-check case's forward and backward, on strict arrays, equal NumPy's; nothing crosses."""
    rng = np.random.default_rng(0)
    for case in registered()[name](rng):
        snaps = {}
        out, grads, out_s, grads_s = sa.run_case(case, S, rng, between=lambda k: snaps.__setitem__(k, sa.counts()))
        assert snaps["end"] == snaps["start"], f"{name} [{case.label}]: host transfers {sa.LOG.to_host[-3:]}"
        for a, b in zip(out + grads, out_s + grads_s):
            assert isinstance(b, (StrictArray, float)), f"{name}: a result of type {type(b).__name__} left the backend"
            assert rel(a, b) <= TOL, f"{name} [{case.label}]"


# ------------------------------------------------------ whole training steps
def _problem(model, n, seed=0):
    rng = np.random.default_rng(seed)
    params = model.init_params(rng)
    xs = [rng.standard_normal((n, d)) for d in model.input_dims]
    y = rng.integers(0, model.n_classes, n)
    return params, xs, y, model.draw(n, rng)


def _step(model, params, opt, xs, y, draws):
    """One training step exactly as :func:`mini_eau.lab.train.fit` does it."""
    loss, cache = model.loss_forward(params, xs, y, draws)
    grads = model.loss_backward(1.0, cache)
    opt.step(grads)
    return loss, cache["terms"], grads


def _compare_step(model, n=6, steps=2):
    params, xs, y, draws = _problem(model, n)
    p_np = {k: v.copy() for k, v in params.items()}
    opt_np = Adam(p_np, lr=1e-2)
    p_s = sa.to_backend(params, S)
    opt_s = Adam(p_s, lr=1e-2)
    xs_s, y_s, draws_s = sa.to_backend(xs, S), sa.to_backend(y, S), sa.to_backend(draws, S)
    for _ in range(steps):
        loss, terms, grads = _step(model, p_np, opt_np, xs, y, draws)
        before = sa.counts()
        loss_s, terms_s, grads_s = _step(model, p_s, opt_s, xs_s, y_s, draws_s)
        # a fresh draw on the device is part of a step too
        fresh = model.draw(n, S.random.default_rng(1), xp=S)
        assert sa.counts() == before, f"host transfers inside a step: {sa.LOG.to_host[len(sa.LOG.to_host) - 3:]}"
        masks = [mask for per_modality in fresh.get("masks", []) for mask in per_modality]
        assert all(isinstance(v, StrictArray) for v in [*masks, *(fresh[k] for k in fresh if k != "masks")])
        assert isinstance(loss_s, StrictArray) and all(isinstance(t, StrictArray) for t in terms_s.values())
        assert rel(loss, loss_s) <= TOL
        assert set(terms) == set(terms_s) and all(rel(terms[k], terms_s[k]) <= TOL for k in terms)
        assert set(grads) == set(grads_s) and all(rel(grads[k], grads_s[k]) <= TOL for k in grads), \
            max((rel(grads[k], grads_s[k]), k) for k in grads)
    assert all(isinstance(v, StrictArray) for v in p_s.values()), "Adam replaced a device parameter"
    assert all(rel(p_np[k], p_s[k]) <= TOL for k in p_np)
    st = model.init_stats() or None  # the running statistics, on the host and on the device
    p = model.predict_proba(p_s, xs_s, stats=sa.to_backend(st, S) if st else None)
    assert isinstance(p, StrictArray) and rel(model.predict_proba(p_np, xs, stats=st), p) <= TOL


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("ura", URA_VARIANTS)
def test_eau_training_step_on_strict_arrays(fusion, ura):
    cfg = EAUConfig(hidden=(7, 5), d_embed=3, d_bottleneck=2, keep_prob=0.8, fusion=fusion, ura_variant=ura,
                    lambda_uni=0.3, lambda_udr=0.1)
    _compare_step(EAU((4, 3, 5), 3, cfg))


@pytest.mark.parametrize("change", [{"vib": False}, {"activation": "tanh"}, {"lambda_ura": 0.0, "lambda_uni": 0.0},
                                    {"lambda_udr": 0.0}, {"variance_head": "standardised"},
                                    {"variance_head": "deviation"}])
def test_eau_variants_on_strict_arrays(change):
    cfg = replace(EAUConfig(hidden=(6,), d_embed=3, keep_prob=0.7), **change)
    _compare_step(EAU((4, 3), 3, cfg))


@pytest.mark.parametrize("name", METHODS)
def test_every_method_training_step_on_strict_arrays(name):
    model = make_method(name, (4, 3), 3, EAUConfig(hidden=(6,), d_embed=3, keep_prob=0.8))
    _compare_step(model)


def test_step_matmuls_are_logged():
    # the benchmark's floor replays a step's products: the log it is checked against works
    a, b = S.asarray(np.ones((2, 3))), S.asarray(np.ones((4, 3)))
    sa.LOG.record_matmuls = True
    try:
        sa.LOG.matmuls.clear()
        a @ b.T
    finally:
        sa.LOG.record_matmuls = False
    assert sa.LOG.matmuls == [((2, 3), (3, 4))]


# ----------------------------------------------------------------- fit itself
class _Watched(EAU):
    """EAU that snapshots the transfer counters at every step's draw and at every epoch start."""

    def __post_init__(self):
        super().__post_init__()
        self.marks = []

    def start_epoch(self, epoch, total):
        self.marks.append(("epoch", sa.counts()))

    def draw(self, n, rng, xp=np, dtype=np.float64):
        assert xp is S and not isinstance(rng, np.random.Generator), "noise must be drawn on the device"
        self.marks.append(("step", sa.counts()))
        return super().draw(n, rng, xp, dtype)


@pytest.mark.parametrize("batch_size", [60, 25])
def test_fit_on_strict_arrays_copies_only_between_epochs(batch_size):
    data = ToyProblem(seed=0).sample(120, np.random.default_rng(0))
    model = _Watched([16, 16], 4, EAUConfig(hidden=(8,), keep_prob=0.9, variance_head="deviation"))  # running stats too
    epochs = 3
    start = sa.counts()
    tr = fit(model, data, TrainConfig(epochs=epochs, batch_size=batch_size), seed=0, xp=S)
    end = sa.counts()
    steps = 120 // batch_size
    kinds = [k for k, _ in model.marks]
    assert kinds == (["epoch"] + ["step"] * steps) * epochs
    # from an epoch's first draw to its last, nothing moved between host and device
    for e in range(epochs):
        block = model.marks[e * (steps + 1):(e + 1) * (steps + 1)]
        assert len({c for _, c in block}) == 1, f"transfers inside epoch {e + 1}: {block}"
    # per epoch: one permutation up, the loss-term table and the accuracy down; never per step
    n_params = len(tr.params)
    assert end[0] - start[0] == 2 * epochs
    assert end[1] - start[1] == n_params + len(data.xs) + 1 + epochs
    assert all(isinstance(v, StrictArray) for v in tr.params.values())
    assert len(tr.history) == epochs and all(np.isfinite(h["loss"]) for h in tr.history)
    p = tr.predict_proba(data.xs)
    assert isinstance(p, np.ndarray) and np.allclose(p.sum(axis=1), 1.0)


@pytest.mark.slow  # whole commands or training runs: left out of the quick loop
def test_fast_demo_analysis_runs_on_a_device_backend(monkeypatch, tmp_path):
    """run_demo's evaluation, fusion weights, uncertainties and figures with parameters on the device."""
    from mini_eau.lab import demo, train

    monkeypatch.setattr(train, "default_xp", lambda: S)
    settings = demo.DemoSettings(steps=20, n_train=300, n_test=100)
    res = demo.run_demo(settings=settings, methods=("eau", "concat", "unimodal_0", "unimodal_1"), out=str(tmp_path),
                        log=lambda s: None)
    assert len(res["sweeps"][0]["eau"]["weights"][0]) == len(res["levels"])
    assert (tmp_path / "results.json").exists() and (tmp_path / "uncertainty_vs_noise.png").exists()
