"""Figures for the demo, written as PNG (150 dpi) and SVG; no display needed.

Every figure reads only the results dict of :func:`mini_eau.lab.demo.run_demo`
(one seed) or :func:`mini_eau.lab.seeds.aggregate` (several seeds: lines are
means, bands one standard deviation).  Titles name the data set, the
protocol, the seeds and any budget other than the demo's full one, so a
figure can be read on its own.

Made for a projector: no text below 10 pt at the saved size, legends outside
the axes, and in the accuracy figure only EAU, the oracle and the best
baseline in colour (the other methods in grey; their numbers are in the
printed tables and ``results.json``).
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["demo_figures", "best_baseline", "FIGURES"]

DPI = 150
FIGURES = ("accuracy_vs_noise", "fusion_weights", "uncertainty_vs_noise", "reliability")
"""The figures :func:`demo_figures` writes (each as ``.png`` and ``.svg``)."""

BASELINES = ("concat", "late", "mean", "precision", "tmc", "qmf")
FONTS = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10,
         "ytick.labelsize": 10, "legend.fontsize": 11, "figure.titlesize": 13}
"""Font sizes in points; at 150 dpi, 10 pt is 21 pixels high, readable from the back of a room."""

EAU_STYLE = dict(color="black", lw=2.8, marker="o", ms=6, zorder=6)
ORACLE_STYLE = dict(color="tab:green", lw=2.4, ls=(0, (6, 2)), marker="s", ms=5, mfc="none", zorder=5)
BEST_STYLE = dict(color="tab:blue", lw=2.2, marker="^", ms=6, zorder=4)
OTHER_STYLE = dict(color="0.72", lw=1.2, zorder=2)


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only: works on machines without a display
    import matplotlib.pyplot as plt

    return plt


def _setting(results):
    """The title's second line: data, protocol, seeds and, when it is not the full one, the budget."""
    from .demo import budget_text

    s = results["seed"]
    seeds = f"mean ± sd over seeds {', '.join(map(str, s))}" if isinstance(s, list) else f"seed {s}"
    budget = budget_text(results)
    head = results.get("config", {}).get("variance_head", "raw")
    corruption = results.get("corruption", "gaussian")
    extra = ", ".join(([f"{corruption} corruption"] if corruption != "gaussian" else [])
                      + ([f"variance head '{head}'"] if head != "raw" else []))
    return (f"{results['data']}, protocol '{results['protocol']}', {seeds}" + (f"\n{extra}" if extra else "")
            + (f"\n{budget}" if budget else ""))


def _band(ax, x, mean, std, color):
    mean, std = np.asarray(mean, float), np.asarray(std, float)
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.15, lw=0)


def _panels(plt, n, width=4.6, height=3.8, sharey=True):
    """``n`` panels, at most three to a row, in a figure whose layout leaves room for an outside legend."""
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 1.4), sharey=sharey, squeeze=False,
                             layout="constrained")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()[:n]


def _level_word(results):
    """How a level is named in a panel: "noise" for Gaussian noise, else the corruption ("mask 0.4")."""
    return "noise" if results.get("corruption", "gaussian") == "gaussian" else results["corruption"]


def _sweep_title(sw, results=None):
    what = "noise" if results is None or results.get("corruption", "gaussian") == "gaussian" else results["corruption"]
    return f"{what} on {' + '.join(sw['noisy_names'])}"


def best_baseline(results):
    """The baseline with the highest accuracy averaged over every sweep and level (the one to beat)."""
    names = [b for b in BASELINES if all(b in sw["methods"] for sw in results["sweeps"])]
    if not names:
        return None
    return max(names, key=lambda b: np.mean([sw["methods"][b]["accuracy"] for sw in results["sweeps"]]))


def _legend(fig, axes, ncol, reverse=False):
    """One legend for the figure, below the panels (outside every axis); ``reverse``: last drawn first."""
    handles, labels = axes[0].get_legend_handles_labels()
    if reverse:
        handles, labels = handles[::-1], labels[::-1]
    fig.legend(handles, labels, loc="outside lower center", ncol=min(ncol, len(labels)), frameon=False)


def demo_figures(results, out):
    """Write the demo's figures (:data:`FIGURES`) into ``out``, PNG and SVG each; returns the paths written."""
    plt = _plt()
    with plt.rc_context(FONTS):
        return _figures(plt, results, out)


def _figures(plt, results, out):
    levels = np.asarray(results["levels"])
    std = results.get("std", {}).get("sweeps")
    setting = _setting(results)
    xlabel = results.get("level_axis", "injected noise (noise units)")
    paths = []

    # 1. accuracy: EAU, the oracle and the best baseline stand out; every other method in grey
    best = best_baseline(results)
    others = [m for m in results["sweeps"][0]["methods"] if m not in ("eau", best) and not m.startswith("unimodal_")]
    fig, axes = _panels(plt, len(results["sweeps"]))
    for k, (ax, sw) in enumerate(zip(axes, results["sweeps"])):
        for j, name in enumerate(others):
            if name in sw["methods"]:
                ax.plot(levels, sw["methods"][name]["accuracy"], **OTHER_STYLE,
                        label=f"other baselines ({', '.join(others)})" if j == 0 else None)
        lines = [(best, sw["methods"].get(best), BEST_STYLE, f"best baseline ({best})"),
                 ("oracle", sw.get("oracle"), ORACLE_STYLE, "oracle (trained on the clean views only)"),
                 ("eau", sw["methods"].get("eau"), EAU_STYLE, "EAU")]
        for name, r, style, label in lines:
            if r is None:
                continue
            ax.plot(levels, r["accuracy"], label=label, **style)
            if std is not None:
                src = std[k]["methods"].get(name) or std[k].get(name)
                if src is not None:
                    _band(ax, levels, r["accuracy"], src["accuracy"], style["color"])
        ax.set_title(_sweep_title(sw, results))
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    _legend(fig, axes, ncol=2, reverse=True)  # EAU first: drawn last, on top
    fig.suptitle(f"Accuracy vs corruption — {setting}")
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
            ax.plot(levels, w, lw=2.4 if noisy else 1.4, ls="-" if noisy else "--", marker="o" if noisy else ".",
                    color=f"C{m}", label=f"view {results['views'][m]}")
            if std is not None:
                _band(ax, levels, w, std[k]["eau"]["weights"][m], f"C{m}")
        ax.axhline(1.0 / M, color="grey", ls=":", lw=1.2, label=f"uniform, 1/M = {1 / M:.2f}")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(_sweep_title(sw, results))
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("EAU's mean fusion weight")
    _legend(fig, axes, ncol=M + 1)
    fig.suptitle(f"EAU's fusion weights (solid: the swept views) — {setting}")
    paths += _save(fig, out, "fusion_weights")

    # 3. predicted uncertainty u of the swept views against the injected noise
    fig, axes = _panels(plt, len(sweeps), sharey=False)
    for k, (ax, sw) in enumerate(zip(axes, sweeps)):
        for m, u in sw["eau"]["uncertainty"].items():
            sp = sw["eau"]["spearman"][m]
            ax.plot(levels, u, marker="o", lw=2.2, color=f"C{int(m)}",  # one colour per view in every figure
                    label=f"{results['views'][int(m)]}: Spearman {sp:.2f}")
            if std is not None:
                _band(ax, levels, u, std[k]["eau"]["uncertainty"][m], f"C{int(m)}")
        ax.set_title(_sweep_title(sw, results))
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=10)
    axes[0].set_ylabel(r"EAU's $u = \mathrm{mean}_d\,\sigma_d$")
    fig.suptitle(f"Uncertainty of the swept view vs its corruption — {setting}")
    paths += _save(fig, out, "uncertainty_vs_noise")

    # 4. EAU's calibration: one row per sweep, one column per noise level (not pooled: pooling
    #    hides under-confidence at low noise cancelling over-confidence at high noise)
    n_rows, n_cols = len(sweeps), len(levels)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.4 * n_cols + 0.6, 2.5 * n_rows + 1.6), sharex=True,
                             sharey=True, squeeze=False, layout="constrained")
    for row, sw in zip(axes, sweeps):
        for c, (ax, lv, r, ece) in enumerate(zip(row, levels, sw["eau"]["reliability"], sw["methods"]["eau"]["ece"])):
            conf, acc, count = (np.asarray(r[key], float) for key in ("confidence", "accuracy", "count"))
            edges = np.linspace(0, 1, len(count) + 1)
            centres, width = 0.5 * (edges[1:] + edges[:-1]), 1 / len(count)
            ok = np.isfinite(acc) & (count > 0)
            ax.bar(centres[ok], acc[ok], width=width, edgecolor="black", color="tab:blue", alpha=0.65,
                   label="accuracy in the bin")
            ax.bar(centres, 0.25 * count / max(count.sum(), 1), width=width, color="tab:orange", alpha=0.8,
                   label="share of samples (x 0.25)")
            ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1.2, label="perfectly calibrated")
            ax.set_title(f"{_level_word(results)} {lv:g}: ECE {ece:.2f}", fontsize=11)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.02)
            ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
            ax.set_yticks([0, 0.5, 1])
            if c == 0:
                ax.set_ylabel(f"{_sweep_title(sw, results)}\naccuracy")
    for ax in axes[-1]:
        ax.set_xlabel("confidence")
        labels = ax.get_xticklabels()  # the end labels pulled inwards: one panel's "1" never touches the next "0"
        labels[0].set_horizontalalignment("left")
        labels[-1].set_horizontalalignment("right")
    _legend(fig, axes[0], ncol=3)
    fig.suptitle(f"EAU's reliability at each corruption level — {setting}")
    paths += _save(fig, out, "reliability")
    return paths


def _save(fig, out, stem):
    """Save PNG and SVG, each written under a temporary name and renamed: an interrupt never leaves half a figure."""
    plt = _plt()
    paths = []
    for ext in ("png", "svg"):
        path = os.path.join(out, f"{stem}.{ext}")
        fig.savefig(f"{path}.partial", dpi=DPI, format=ext)
        os.replace(f"{path}.partial", path)
        paths.append(path)
    plt.close(fig)
    return paths
