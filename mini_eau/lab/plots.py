"""Figures for the demo, written as PNG (150 dpi) and SVG; no display needed.

Every figure reads only the results dict of :func:`mini_eau.lab.demo.run_demo`
(one seed) or :func:`mini_eau.lab.demo.aggregate` (several seeds: lines are
means, bands one standard deviation).  Titles name the data set, the
protocol and the seeds, so a figure can be read on its own.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["demo_figures", "STYLES"]

DPI = 150

# one colour, line style and marker per method, so overlapping lines stay visible
STYLES = {
    "eau": dict(color="black", lw=2.6, marker="o", ms=5, zorder=5),
    "oracle": dict(color="tab:green", lw=2.2, ls=(0, (6, 2)), marker="s", ms=4, mfc="none", zorder=6),
    "best_clean_view": dict(color="tab:olive", lw=1.5, ls=(0, (1, 1.5)), marker="D", ms=3, mfc="none", zorder=4),
    "concat": dict(color="tab:red", lw=1.4, ls="-", marker="v", ms=4),
    "late": dict(color="tab:orange", lw=1.4, ls="--", marker="^", ms=4),
    "mean": dict(color="tab:purple", lw=1.4, ls="-.", marker="<", ms=4),
    "precision": dict(color="tab:blue", lw=1.4, ls=":", marker=">", ms=4),
    "tmc": dict(color="tab:cyan", lw=1.4, ls="--", marker="x", ms=5),
    "qmf": dict(color="tab:brown", lw=1.4, ls="-.", marker="+", ms=6),
}
_UNIMODAL_MARKERS = ("1", "2", "3", "4", "x", "+")


def _style(name):
    if name.startswith("unimodal_"):  # one grey, dotted line per view, told apart by marker and shade
        m = int(name.split("_")[1])
        return dict(color=str(0.35 + 0.1 * (m % 4)), lw=1.0, ls=":", marker=_UNIMODAL_MARKERS[m % 6], ms=6)
    return STYLES[name]


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only: works on machines without a display
    import matplotlib.pyplot as plt

    return plt


def _setting(results):
    s = results["seed"]
    seeds = f"mean ± sd over seeds {', '.join(map(str, s))}" if isinstance(s, list) else f"seed {s}"
    return f"{results['data']}, protocol '{results['protocol']}', {seeds}"


def _label(results, name):
    if name.startswith("unimodal_"):
        return f"{results['views'][int(name.split('_')[1])]} alone"
    return {"best_clean_view": "best clean view alone", "oracle": "oracle (clean views only)"}.get(name, name)


def _band(ax, x, mean, std, style):
    mean, std = np.asarray(mean, float), np.asarray(std, float)
    ax.fill_between(x, mean - std, mean + std, color=style["color"], alpha=0.12, lw=0)


def _panels(plt, n, width=4.2, height=3.6):
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 0.6), sharey=True, squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()[:n]


def _sweep_title(sw):
    return f"noise on {' + '.join(sw['noisy_names'])}"


def demo_figures(results, out):
    """Write the demo's figures into ``out`` (PNG and SVG each); returns the paths written."""
    plt = _plt()
    levels = np.asarray(results["levels"])
    std = results.get("std", {}).get("sweeps")
    setting = _setting(results)
    xlabel = f"{results['corruption']} on the swept view(s): {results['level_label']}"
    paths = []

    # 1. accuracy of every method on every sweep
    fig, axes = _panels(plt, len(results["sweeps"]))
    for k, (ax, sw) in enumerate(zip(axes, results["sweeps"])):
        rows = dict(sw["methods"])
        for key in ("best_clean_view", "oracle"):
            if key in sw:
                rows[key] = sw[key]
        for name, r in rows.items():
            style = _style(name)
            ax.plot(levels, r["accuracy"], label=_label(results, name), **style)
            if std is not None:
                src = std[k]["methods"].get(name) or std[k].get(name)
                if src is not None and name in ("eau", "oracle", "concat", "late"):
                    _band(ax, levels, r["accuracy"], src["accuracy"], style)
        ax.set_title(_sweep_title(sw), fontsize=10)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    axes[0].legend(fontsize=7, ncol=2, loc="lower left")
    fig.suptitle(f"Accuracy vs noise — {setting}", fontsize=11)
    paths += _save(fig, out, "accuracy_vs_noise")

    sweeps = [sw for sw in results["sweeps"] if "eau" in sw]
    if not sweeps:
        return paths
    M = len(results["views"])

    # 2. EAU's fusion weight of every view
    fig, axes = _panels(plt, len(sweeps))
    for k, (ax, sw) in enumerate(zip(axes, sweeps)):
        for m, w in enumerate(sw["eau"]["weights"]):
            noisy = m in sw["noisy"]
            line = ax.plot(levels, w, lw=2.2 if noisy else 1.2, ls="-" if noisy else "--", marker="o" if noisy else ".",
                           color=f"C{m}",
                           label=f"{results['views'][m]}" + (" (noisy)" if noisy else ""))[0]
            if std is not None:
                _band(ax, levels, w, std[k]["eau"]["weights"][m], {"color": line.get_color()})
        ax.axhline(1.0 / M, color="grey", ls=":", lw=1, label=f"uniform 1/M = {1 / M:.2f}")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(_sweep_title(sw), fontsize=10)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("EAU's mean fusion weight")
    fig.suptitle(f"EAU's fusion weights — {setting}", fontsize=11)
    paths += _save(fig, out, "fusion_weights")

    # 3. predicted uncertainty u of the swept views against the injected noise
    fig, axes = _panels(plt, len(sweeps))
    for k, (ax, sw) in enumerate(zip(axes, sweeps)):
        for m, u in sw["eau"]["uncertainty"].items():
            sp = sw["eau"]["spearman"][m]
            line = ax.plot(levels, u, marker="o", lw=2, color=f"C{int(m)}",  # one colour per view in every figure
                           label=f"{results['views'][int(m)]}: Spearman {sp:.2f}")[0]
            if std is not None:
                _band(ax, levels, u, std[k]["eau"]["uncertainty"][m], {"color": line.get_color()})
        ax.set_title(_sweep_title(sw), fontsize=10)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel(r"EAU's $u = \mathrm{mean}_d\,\sigma_d$ of the swept view")
    fig.suptitle(f"Predicted uncertainty vs injected noise — {setting}", fontsize=11)
    paths += _save(fig, out, "uncertainty_vs_noise")

    # 4. EAU's calibration at each noise level of the first sweep (not pooled: pooling hides
    #    under-confidence at low noise cancelling over-confidence at high noise)
    sw = sweeps[0]
    rel = sw["eau"]["reliability"]
    fig, axes = plt.subplots(1, len(rel), figsize=(2.3 * len(rel), 2.9), sharey=True, squeeze=False)
    for ax, lv, r, ece in zip(axes[0], levels, rel, sw["methods"]["eau"]["ece"]):
        conf, acc, count = (np.asarray(r[k], float) for k in ("confidence", "accuracy", "count"))
        edges = np.linspace(0, 1, len(count) + 1)
        centres = 0.5 * (edges[1:] + edges[:-1])
        ok = np.isfinite(acc) & (count > 0)
        ax.bar(centres[ok], acc[ok], width=1 / len(count), edgecolor="black", color="tab:blue", alpha=0.6)
        ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1)
        for c, a, n in zip(centres[ok], acc[ok], count[ok]):
            ax.text(c, min(a, 0.93) + 0.02, f"{n:.0f}", ha="center", fontsize=5.5, rotation=90)
        ax.set_title(f"noise {lv:g}: ECE {ece:.3f}", fontsize=8)
        ax.set_xlabel("confidence", fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.08)
    axes[0][0].set_ylabel("accuracy (bar labels: samples)")
    fig.suptitle(f"EAU reliability per noise level, {_sweep_title(sw)} — {setting}", fontsize=9)
    paths += _save(fig, out, "reliability")
    return paths


def _save(fig, out, stem):
    plt = _plt()
    fig.tight_layout()
    paths = []
    for ext in ("png", "svg"):
        path = os.path.join(out, f"{stem}.{ext}")
        fig.savefig(path, dpi=DPI)
        paths.append(path)
    plt.close(fig)
    return paths
