"""Figures for the demo (matplotlib, written to files; no display needed)."""
from __future__ import annotations

import os

import numpy as np

from . import metrics

__all__ = ["demo_figures"]

_STYLE = {"eau": dict(color="black", lw=2.5, marker="o"), "oracle": dict(color="grey", lw=2, ls="--")}


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only: works on machines without a display
    import matplotlib.pyplot as plt

    return plt


def demo_figures(results, eau, sweep_a, sweep_b, out):
    """Write the demo's four PNG figures into ``out``; returns their paths."""
    plt = _plt()
    levels = results["noise_levels"]
    noisy = results["noisy_modality"]
    paths = []

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, r in results["methods"].items():
        ax.plot(levels, r["accuracy"], label=name, **_STYLE.get(name, dict(marker=".")))
    ax.set_xlabel(f"injected noise scale on modality {noisy!r}")
    ax.set_ylabel("test accuracy")
    ax.set_title("Accuracy vs noise")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    paths.append(_save(fig, out, "accuracy_vs_noise.png"))

    if eau is None:
        return paths
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    ax.plot(levels, results["fusion_weight_noisy"], marker="o", color="black", label=f"weight of {noisy!r} (noise on {noisy!r})")
    ax.axhline(0.5, color="grey", ls=":", label="mean fusion (1/M)")
    ax.set_xlabel(f"injected noise scale on modality {noisy!r}")
    ax.set_ylabel("mean fusion weight")
    ax.set_ylim(0, 1)
    ax.set_title("EAU fusion weight of the noisy modality")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    paths.append(_save(fig, out, "fusion_weight_vs_noise.png"))

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=False)
    for m, (ax, sweep) in enumerate(zip(axes, (sweep_a, sweep_b))):
        u = np.concatenate([eau.model.uncertainty(eau.params, d.xs)[m] for d in sweep])
        n = np.concatenate([d.noise[m] for d in sweep])
        jitter = np.random.default_rng(0).uniform(-0.12, 0.12, n.shape)
        ax.scatter(n + jitter, u, s=2, alpha=0.15, color="tab:blue")
        ax.plot(levels, [u[n == lv].mean() for lv in levels], color="black", marker="o", label="mean per level")
        key = "a" if m == 0 else "b"
        name = results.get("modalities", ["a", "b"])[m]
        ax.set_title(f"modality {name!r} (noise swept on it): Spearman = {results['spearman'][key]:.2f}", fontsize=10)
        ax.set_xlabel("injected noise scale")
        ax.set_ylabel(r"predicted uncertainty $u = \mathrm{mean}_d\,\sigma_d$")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle("Predicted aleatoric uncertainty vs injected noise")
    paths.append(_save(fig, out, "uncertainty_vs_noise.png"))

    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    probs = np.concatenate([eau.predict_proba(d.xs) for d in sweep_a])
    y = np.concatenate([d.y for d in sweep_a])
    conf, acc, count = metrics.reliability_curve(probs, y, n_bins=15)
    ok = count >= 10  # a bin of one or two samples says nothing about calibration
    edges = np.linspace(0, 1, 16)
    centres = 0.5 * (edges[1:] + edges[:-1])
    ax.bar(centres[ok], acc[ok], width=1 / 15, edgecolor="black", alpha=0.7, label="accuracy")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", label="perfect calibration")
    ax.set_xlabel("confidence (max probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"EAU reliability, all levels (ECE {metrics.ece(probs, y):.3f})\nbins with >= 10 samples", fontsize=9)
    ax.legend(fontsize=8)
    paths.append(_save(fig, out, "reliability.png"))
    return paths


def _save(fig, out, name):
    path = os.path.join(out, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
