"""``python -m mini_eau bench``: what does one hand-derived EAU training step cost?

One EAU training step — :meth:`EAU.loss_forward`, the hand-derived
:meth:`EAU.loss_backward` and an :class:`~mini_eau.optim.Adam` update, exactly
as :func:`mini_eau.lab.train.fit` runs it — is timed at two sizes and compared,
in the same run and interleaved round by round (so that other processes slow
every column alike), with

* **autograd** differentiating the very same forward (``value_and_grad``),
  followed by the same Adam update;
* the **floor**: the step's matrix products alone, the same shapes and
  transposes in the same number (:func:`step_matmuls`), on preallocated
  operands — what the step would cost if everything but BLAS were free;
* **PyTorch** running the same architecture and losses
  (:func:`torch_eau_loss`, checked against the NumPy loss and gradients in
  ``tests/test_bench.py``) with ``torch.optim.Adam``, when torch is
  installed (an optional benchmark dependency). On the ``cupy`` backend
  torch runs on the GPU too, if it can.

Everything is float64 (the library's default dtype), the noise is drawn once
before timing, and each column is the median of several timed repeats after
warm-up.  The JSON written by ``--json FILE`` holds the medians in seconds and
the ratios ``autograd_over_hand``, ``hand_over_floor`` and ``hand_over_torch``
per size, with the machine they were measured on.
"""
from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from dataclasses import dataclass

import numpy as np

from mini_eau import backend as _backend
from mini_eau.backend import get_default_backend, to_numpy
from mini_eau.contrastive import COSINE_EPS
from mini_eau.gaussian import S_MAX, S_MIN
from mini_eau.model import EAU, EAUConfig
from mini_eau.optim import Adam

__all__ = ["SIZES", "BenchSize", "make_problem", "step_matmuls", "torch_eau_loss", "run_bench", "format_table", "main"]


@dataclass(frozen=True)
class BenchSize:
    """One benchmark size: batch N, per-modality input sizes, encoder hidden sizes, embedding D, classes K."""

    n: int
    input_dims: tuple
    hidden: tuple
    d_embed: int
    n_classes: int
    warmup: int
    repeats: int

    def config(self):
        # EAU's defaults (paper fusion, paper L_URA, VIB, encoder dropout 0.8), at this size; the VIB code is D wide
        return EAUConfig(hidden=self.hidden, d_embed=self.d_embed, d_bottleneck=self.d_embed)


SIZES = {
    "tiny": BenchSize(16, (8, 8), (8,), 4, 3, warmup=1, repeats=3),           # --quick: seconds, for the tests
    "small": BenchSize(128, (16, 16), (64,), 8, 4, warmup=10, repeats=50),
    "large": BenchSize(4096, (256, 256), (1024,), 256, 10, warmup=1, repeats=5),
}
LR = 3e-3
LONG_STEP_S, PAUSE_S = 0.05, 0.25  # after a step longer than LONG_STEP_S, an untimed pause of PAUSE_S


def make_problem(size, seed=0):
    """``(model, params, xs, y, draws)`` for one size, all NumPy, from one seeded generator."""
    s = SIZES[size] if isinstance(size, str) else size
    model = EAU(s.input_dims, s.n_classes, s.config())
    rng = np.random.default_rng(seed)
    params = model.init_params(rng)
    xs = [rng.standard_normal((s.n, d)) for d in s.input_dims]
    y = rng.integers(0, s.n_classes, s.n)
    draws = model.draw(s.n, rng)
    return model, params, xs, y, draws


# -------------------------------------------------------------- the floor
def step_matmuls(model, n):
    """Every matrix product of one hand training step of ``model`` on a batch of ``n``.

    A list of ``(shape_a, shape_b, a_transposed, b_transposed)``: the
    product is ``A @ B`` with ``A`` of shape ``shape_a``, which in the step
    is a transposed view when ``a_transposed`` (likewise ``B``).  Forward:
    each encoder layer and both head maps per modality, the N x N cosine
    matrix of L_URA per modality, the VIB head and decoder; backward: for
    every linear map ``dout @ W.T`` and ``x.T @ dout`` (also for the first
    layer, whose input gradient the step computes and discards), and the two
    N x N products of the cosine backward.  ``tests/test_bench.py`` checks
    this list against the products a real step performs.
    """
    c, K, D = model.config, model.n_classes, model.config.d_embed
    out = []

    def linear(d_in, d_out):  # forward x @ W, backward dout @ W.T and x.T @ dout
        out.extend([((n, d_in), (d_in, d_out), False, False),
                    ((n, d_out), (d_out, d_in), False, True),
                    ((d_in, n), (n, d_out), True, False)])

    for d in model.input_dims:
        for h in c.hidden:
            linear(d, h)
            d = h
        linear(d, D)  # mean head
        linear(d, D)  # log-variance head
        if c.lambda_ura > 0:  # cosine matrix, and its two backward products
            out.extend([((n, D), (D, n), False, True), ((n, n), (n, D), False, False),
                        ((n, n), (n, D), True, False)])
        if c.lambda_uni > 0:
            linear(D, K)
    if c.vib:
        Z = c.d_bottleneck
        linear(D, Z)
        linear(D, Z)
        linear(Z, K)
    else:
        linear(D, K)
    return out


def _floor_operands(matmuls, xp, rng):
    ops = []
    for sa, sb, ta, tb in matmuls:
        a = xp.asarray(rng.standard_normal(sa[::-1] if ta else sa))
        b = xp.asarray(rng.standard_normal(sb[::-1] if tb else sb))
        ops.append((a.T if ta else a, b.T if tb else b))
    return ops


# ----------------------------------------------------------------- PyTorch
def torch_eau_loss(config, params, xs, y, draws):
    r"""The EAU loss of :meth:`EAU.loss_forward` written in PyTorch (for the benchmark).

    Same parameters (a dict of tensors with the NumPy names), same noise,
    same maths: encoders, bounded Gaussian heads, two reparameterised samples,
    L_URA (cosine with the softened norm, all three variants), L_UDR over
    ordered pairs plus the prior, "paper" or "mean" fusion of the means, and
    the VIB head, with the encoder dropout masks of ``draws["masks"]``.  The
    auxiliary classifiers, the VIB-less head and the per-dimension fusions are
    not written out (the benchmark uses none of them); asking for them
    raises ``NotImplementedError``.
    """
    import torch
    import torch.nn.functional as F

    c = config
    if c.lambda_uni > 0 or not c.vib or c.fusion not in ("paper", "mean"):
        raise NotImplementedError("torch_eau_loss: written for EAU without auxiliary classifiers, "
                                  "with the VIB and 'paper' or 'mean' fusion")
    masks = draws.get("masks")
    centre, radius = 0.5 * (S_MAX + S_MIN), 0.5 * (S_MAX - S_MIN)
    act = torch.relu if c.activation == "relu" else torch.tanh

    def head(h, pre):
        mu = h @ params[f"{pre}.W_mu"] + params[f"{pre}.b_mu"]
        s = centre + radius * torch.tanh((h @ params[f"{pre}.W_s"] + params[f"{pre}.b_s"] - centre) / radius)
        return mu, s

    mus, ss = [], []
    for m, x in enumerate(xs):
        h = x
        for l in range(len(c.hidden)):
            h = act(h @ params[f"enc{m}.W{l}"] + params[f"enc{m}.b{l}"])
            if masks is not None:
                h = h * (masks[m][l] / c.keep_prob)  # inverted dropout, the mask drawn with the noise
        mu, s = head(h, f"head{m}")
        mus.append(mu)
        ss.append(s)
    mus, ss = torch.stack(mus), torch.stack(ss)
    M, n = mus.shape[0], mus.shape[1]
    total = 0.0
    if c.lambda_ura > 0:
        sigma = torch.exp(0.5 * ss)
        anchors, augs = mus + sigma * draws["eps1"], mus + sigma * draws["eps2"]
        eye = torch.eye(n, dtype=mus.dtype, device=mus.device)
        unit = lambda z: z / torch.sqrt((z * z).sum(1, keepdim=True) + COSINE_EPS ** 2)  # noqa: E731
        ura = 0.0
        for m in range(M):
            S = unit(anchors[m]) @ unit(augs[m]).T / c.tau
            if c.ura_variant == "paper":
                ura = ura + (torch.logsumexp(S + math.log(n - 1) * eye, 1) - S.diagonal()).mean()
            elif c.ura_variant == "infonce":
                ura = ura + F.cross_entropy(S, torch.arange(n, device=S.device))
            else:  # official: both directions, every negative counted twice
                B = math.log(2.0) * (1.0 - eye)
                ura = ura + 0.5 * ((torch.logsumexp(S + B, 1) - S.diagonal()).mean()
                                   + (torch.logsumexp(S.T + B, 1) - S.diagonal()).mean())
        total = total + c.lambda_ura * ura
    if c.lambda_udr > 0:
        udr = 0.0
        for m1 in range(M):
            for m2 in range(M):
                if m1 != m2:
                    d = mus[m1] - mus[m2]
                    udr = udr + c.lambda_align * 0.5 * (ss[m2] - ss[m1] + torch.exp(ss[m1] - ss[m2])
                                                        + d * d * torch.exp(-ss[m2]) - 1.0).sum()
            udr = udr + c.lambda_prior * 0.5 * (torch.exp(ss[m1]) + mus[m1] ** 2 - 1.0 - ss[m1]).sum()
        total = total + c.lambda_udr * udr / n
    if c.fusion == "paper":
        u = torch.exp(ss / 2.0).mean(2, keepdim=True)
        alpha = torch.softmax(1.0 / (c.temperature * u), dim=0)
    else:
        alpha = torch.full_like(ss[:, :, :1], 1.0 / M)
    fused = (alpha * mus).sum(0)
    mu_f, s_f = head(fused, "vib")
    z = mu_f + torch.exp(0.5 * s_f) * draws["eps_f"]
    ce = F.cross_entropy(z @ params["vib.W_out"] + params["vib.b_out"], y)
    kl = 0.5 * (torch.exp(s_f) + mu_f * mu_f - 1.0 - s_f).sum() / n
    return total + ce + c.beta * kl


def _convert(obj, fn):
    """``fn`` applied to every array in a nest of dicts and lists (a model's draws hold lists of masks)."""
    if isinstance(obj, dict):
        return {k: _convert(v, fn) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_convert(v, fn) for v in obj]
    return fn(obj)


def _to_torch(obj, torch, device):
    """NumPy arrays (in dicts and lists, like a model's draws) as float64 tensors on ``device``."""
    return _convert(obj, lambda a: torch.tensor(a, device=device))


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


# ----------------------------------------------------------------- timing
def _sync_for(xp):
    if getattr(xp, "__name__", "") == "cupy":
        return lambda: xp.cuda.Device().synchronize()
    return lambda: None


def _columns(size, xp, torch_device):
    """The contenders at one size: a list of ``(name, step, sync, before)``.

    ``step()`` runs one training step (or the floor's products), ``sync()``
    waits for the device, ``before()`` (untimed) sets up the step, e.g.
    torch's thread count.  Each contender owns its copy of the parameters.
    """
    model, params, xs, y, draws = make_problem(size)
    n = len(y)
    sync = _sync_for(xp)
    columns = []

    p_hand = {k: xp.asarray(v.copy()) for k, v in params.items()}
    opt = Adam(p_hand, lr=LR)
    xs_d, y_d, draws_d = [xp.asarray(x) for x in xs], xp.asarray(y), _convert(draws, xp.asarray)

    def hand():  # as in fit(): the model checks its batch once, the components it composes do not
        loss, cache = model.loss_forward(p_hand, xs_d, y_d, draws_d)
        opt.step(model.loss_backward(1.0, cache))
        return loss

    columns.append(("hand", hand, sync, None))

    if xp is np:  # autograd traces NumPy code only
        import autograd

        p_ad = {k: v.copy() for k, v in params.items()}
        opt_ad = Adam(p_ad, lr=LR)
        value_and_grad = autograd.value_and_grad(lambda p: model.loss_forward(p, xs, y, draws)[0])

        def autograd_step():
            loss, grads = value_and_grad(p_ad)
            opt_ad.step(grads)
            return loss

        columns.append(("autograd", autograd_step, sync, None))

    operands = _floor_operands(step_matmuls(model, n), xp, np.random.default_rng(1))

    def floor():
        for a, b in operands:
            a @ b

    columns.append(("floor", floor, sync, None))

    torch = _torch()
    if torch is not None and torch_device is not None:
        dev = torch.device(torch_device)
        tp = {k: torch.tensor(v, device=dev, requires_grad=True) for k, v in params.items()}
        txs, ty = [torch.tensor(x, device=dev) for x in xs], torch.tensor(y, device=dev)
        tdraws = _to_torch(draws, torch, dev)
        topt = torch.optim.Adam(list(tp.values()), lr=LR)

        def torch_step():
            topt.zero_grad(set_to_none=True)
            loss = torch_eau_loss(model.config, tp, txs, ty, tdraws)
            loss.backward()
            topt.step()
            return loss

        if dev.type == "cuda":
            columns.append(("torch", torch_step, torch.cuda.synchronize, None))
        else:
            # On a small or busy machine torch's thread pool can cost more than it brings (its
            # threads wait on each other at every operation), so one thread and torch's own
            # choice are both timed and the faster counts: the hand step meets torch at its best.
            for t in sorted({1, torch.get_num_threads()}):
                columns.append((f"torch@{t}", torch_step, lambda: None, lambda t=t: torch.set_num_threads(t)))
    return columns


def _time_size(size, xp, torch_device, warmup, repeats):
    """Medians per column and the raw times; torch's column is its fastest thread setting."""
    columns = _columns(size, xp, torch_device)
    times = {name: [] for name, *_ in columns}
    torch = _torch() if any(name.startswith("torch@") for name in times) else None
    threads = torch.get_num_threads() if torch is not None else None
    try:
        for round_ in range(warmup + repeats):  # interleaved: a slow moment of the machine hits every column
            for name, step, sync, before in columns:
                if before is not None:
                    before()
                t0 = time.perf_counter()
                step()
                sync()
                elapsed = time.perf_counter() - t0
                if round_ >= warmup:
                    times[name].append(elapsed)
                if elapsed > LONG_STEP_S:
                    # BLAS and OpenMP worker threads keep spinning for a while after a parallel
                    # region; let them go idle so they don't steal cores from the next contender
                    time.sleep(PAUSE_S)
    finally:
        if threads is not None:
            torch.set_num_threads(threads)
    loss = columns[0][1]()
    if not math.isfinite(float(to_numpy(loss))):
        raise FloatingPointError(f"bench: the hand step's loss became non-finite at size {size!r}")
    med = {k: statistics.median(v) for k, v in times.items()}
    by_threads = {int(k.split("@")[1]): med.pop(k) for k in list(med) if k.startswith("torch@")}
    extra = {}
    if by_threads:
        best = min(by_threads, key=by_threads.get)
        med["torch"] = by_threads[best]
        extra = {"torch_threads": best, "torch_median_s_by_threads": {str(t): v for t, v in by_threads.items()}}
    return med, extra, times


def _machine(xp, torch_device):
    info = {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "numpy": np.__version__}
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        if names:
            info["cpu"] = names[0]
    except OSError:
        info["cpu"] = platform.processor()
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # pragma: no cover - old NumPy
        pass
    if hasattr(os, "getloadavg"):
        info["load_average"] = list(os.getloadavg())  # other processes on the machine, at the start
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_", "MKL_"))}
    if env:
        info["env"] = env
    torch = _torch()
    info["torch"] = None if torch is None else torch.__version__
    if torch is not None:
        info["torch_default_threads"] = torch.get_num_threads()
        info["torch_device"] = torch_device
    if getattr(xp, "__name__", "") == "cupy":
        props = xp.cuda.runtime.getDeviceProperties(xp.cuda.Device().id)
        info["gpu"] = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
        info["cupy"] = xp.__version__
    return info


def run_bench(backend=None, sizes=("small", "large"), repeats=None, warmup=None, use_torch=True, log=print):
    """Time every column at every size; returns the JSON-ready results dict."""
    name = get_default_backend() if backend is None else backend
    if name not in _backend.BACKENDS:
        raise ValueError(f"backend: expected one of {_backend.BACKENDS}, got {name!r}")
    # raises BackendUnavailable, saying what is missing, when CuPy or a GPU is not there
    xp = _backend._load_cupy() if name == "cupy" else np
    torch = _torch() if use_torch else None
    torch_device = None
    if torch is not None:
        torch_device = "cpu" if name == "numpy" else ("cuda" if torch.cuda.is_available() else None)
    results = {"backend": name, "dtype": "float64", "machine": _machine(xp, torch_device), "sizes": {}}
    for size in sizes:
        s = SIZES[size]
        w = s.warmup if warmup is None else warmup
        r = s.repeats if repeats is None else repeats
        log(f"timing size {size} (N={s.n}, hidden {list(s.hidden)}, D={s.d_embed}): {w} warm-up + {r} timed rounds ...")
        med, extra, raw = _time_size(size, xp, torch_device, w, r)
        ratio = lambda a, b: (med[a] / med[b]) if a in med and b in med else None  # noqa: E731
        results["sizes"][size] = {
            "n": s.n, "input_dims": list(s.input_dims), "hidden": list(s.hidden), "d_embed": s.d_embed,
            "n_classes": s.n_classes, "warmup": w, "repeats": r,
            "median_s": {k: med.get(k) for k in ("hand", "autograd", "floor", "torch")},
            **extra,
            "autograd_over_hand": ratio("autograd", "hand"),
            "hand_over_floor": ratio("hand", "floor"),
            "hand_over_torch": ratio("hand", "torch"),
            "times_s": raw,
        }
    return results


def _fmt_time(t):
    if t is None:
        return "-"
    return f"{t * 1e3:.3g} ms" if t < 1.0 else f"{t:.3g} s"


def _fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}"


def format_table(results):
    """The side-by-side table printed by ``python -m mini_eau bench``."""
    m = results["machine"]
    if m.get("torch") is None:
        torch_note = "torch not installed"
    elif not m.get("torch_device"):
        torch_note = f"torch {m['torch']} left out"
    else:
        torch_note = f"torch {m['torch']} on {m['torch_device']}"
    lines = [f"one EAU training step (forward, backward, Adam), {results['dtype']}, backend {results['backend']}; "
             f"median of timed rounds",
             f"machine: {m.get('gpu') or m.get('cpu', '?')}, {m['cpu_count']} CPUs, numpy {m['numpy']}"
             f"{', ' + m['blas'] if 'blas' in m else ''}; {torch_note}"]
    head = ("size", "N", "hidden", "D", "hand", "autograd", "floor", "torch", "autograd/hand", "hand/floor",
            "hand/torch")
    rows = []
    for size, r in results["sizes"].items():
        t = r["median_s"]
        rows.append((size, str(r["n"]), "x".join(map(str, r["hidden"])), str(r["d_embed"]), _fmt_time(t["hand"]),
                     _fmt_time(t["autograd"]), _fmt_time(t["floor"]), _fmt_time(t["torch"]),
                     _fmt_ratio(r["autograd_over_hand"]), _fmt_ratio(r["hand_over_floor"]),
                     _fmt_ratio(r["hand_over_torch"])))
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    fmt = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    lines += [fmt(head)] + [fmt(r) for r in rows]
    if results["backend"] != "numpy":
        lines.append("autograd: - (autograd differentiates NumPy code only)")
    return "\n".join(lines)


def main(backend=None, sizes=("small", "large"), repeats=None, warmup=None, json_path=None, use_torch=True, log=print):
    """Run, print the table, write ``json_path`` if given; returns the results."""
    results = run_bench(backend, sizes, repeats, warmup, use_torch=use_torch, log=log)
    log(format_table(results))
    if json_path:
        d = os.path.dirname(os.path.abspath(json_path))
        os.makedirs(d, exist_ok=True)
        with open(json_path, "w") as f:
            json.dump(results, f, indent=1)
        log(f"wrote {json_path}")
    return results


def cli(argv=None):
    """``python -m benchmarks.bench [--backend numpy|cupy] [--json FILE] [--sizes ...] [--quick]`` from the repo root."""
    import argparse

    from mini_eau.backend import BackendUnavailable

    p = argparse.ArgumentParser(prog="python -m benchmarks.bench",
                                description="Time one EAU training step: hand-derived vs autograd vs the matmul floor "
                                            "vs torch, side by side in one run.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--backend", choices=("numpy", "cupy"), default=None,
                   help="array backend (default: $MINI_EAU_BACKEND, else numpy)")
    p.add_argument("--json", metavar="FILE", help="also write the medians and ratios to FILE")
    p.add_argument("--sizes", nargs="+", choices=("tiny", "small", "large"), default=["small", "large"],
                   help="which sizes to time")
    p.add_argument("--quick", action="store_true", help="the tiny size with 3 rounds only (seconds; for tests)")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds per size (default: per size)")
    p.add_argument("--warmup", type=int, default=None, help="warm-up rounds per size (default: per size)")
    p.add_argument("--no-torch", action="store_true", help="leave out the PyTorch column even if torch is installed")
    args = p.parse_args(argv)
    sizes = ("tiny",) if args.quick else tuple(args.sizes)
    try:
        main(backend=args.backend, sizes=sizes, repeats=args.repeats, warmup=args.warmup, json_path=args.json,
             use_torch=not args.no_torch)
    except (BackendUnavailable, ValueError) as err:
        raise SystemExit(f"bench: {err}") from None
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(cli())
