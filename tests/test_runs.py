"""The command line never loses a result, refuses nonsense in one line, and draws figures for a projector.

* every nonsense argument of ``demo`` / ``ablations`` fails before any work:
  exit code 2, one line naming the flag and what it accepts, no traceback;
* a second run never replaces or mixes with an earlier one: the default
  folder moves on to ``...-2``; an explicit ``--out`` that holds files is
  refused unless ``--force``, which deletes only what a run writes;
* an interrupt says exactly what the folder holds;
* ``results.json`` records the protocol, the budget, ``--fast``, the command
  and whether every seed finished;
* ``fit`` checks the budget it is given when training starts;
* every text of every figure is at least 10 pt, at 150 dpi; titles name a
  reduced budget; the reliability figure is a sweeps x levels grid.

Runs use tiny budgets (about a second of training each).
"""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mini_eau.lab import demo, plots, seeds
from mini_eau.lab.data import load_benchmark
from mini_eau.lab.train import TrainConfig, fit
from mini_eau.model import EAU

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_ARGS = ("--steps", "15", "--n-train", "200", "--n-test", "40", "--no-figures")


def _cli(*argv, cwd=None, timeout=300):
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "mini_eau", *argv], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


# ------------------------------------------------------------ arguments
NONSENSE = [
    (("demo", "--epochs", "-3"), "--epochs", "integer >= 1"),
    (("demo", "--steps", "0"), "--steps", "integer >= 1"),
    (("demo", "--steps", "ten"), "--steps", "integer >= 1"),
    (("demo", "--n-train", "0"), "--n-train", "integer >= 2"),
    (("demo", "--n-test", "0"), "--n-test", "integer >= 1"),
    (("demo", "--seeds", "-1"), "--seeds", "integer >= 0"),
    (("demo", "--seeds", "1", "1"), "--seeds", "distinct"),
    (("demo", "--epochs", "2", "--steps", "5"), "--epochs", "not both"),
    (("demo", "--data", "digits", "--n-test", "5"), "--n-test", "fixed test set"),
    (("demo", "--data", "imagenet"), "--data", "choose from"),
    (("demo", "--protocol", "noisy"), "--protocol", "choose from"),
    (("demo", "--corruption", "blur"), "--corruption", "'gaussian', 'mask', 'saltpepper'"),
    (("ablations", "--corruption", "jpeg"), "--corruption", "'gaussian', 'mask', 'saltpepper'"),
    (("demo", "--bogus"), "--bogus", "unrecognized"),
    (("ablations", "--steps", "-1"), "--steps", "integer >= 1"),
    (("ablations", "--seeds", "0", "-2"), "--seeds", "integer >= 0"),
    (("gradcheck", "--seed", "x"), "--seed", "invalid"),
]


@pytest.mark.parametrize("argv, flag, accepts", NONSENSE, ids=[" ".join(a) for a, _, _ in NONSENSE])
def test_nonsense_fails_in_one_line_before_any_work(argv, flag, accepts, tmp_path):
    res = _cli(*argv, cwd=tmp_path, timeout=60)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and res.stdout == "", res.stdout + res.stderr
    assert len(lines) == 1 and flag in lines[0] and accepts in lines[0] and "Traceback" not in res.stderr, lines
    assert not (tmp_path / "runs").exists()  # nothing created, nothing printed: no work started


def test_n_train_beyond_a_real_set_is_refused(tmp_path):
    res = _cli("demo", "--data", "cancer", "--n-train", "100000", cwd=tmp_path, timeout=60)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 1 and len(lines) == 1 and "--n-train" in lines[0] and "cancer has" in lines[0]
    assert not (tmp_path / "runs").exists()


# ------------------------------------------------------------ no result lost
def _files(folder):
    return {p: (folder / p).read_bytes() for p in sorted(os.listdir(folder))}


@pytest.mark.slow  # whole commands or training runs: left out of the quick loop
def test_a_second_run_goes_to_a_new_folder_and_the_first_is_untouched(tmp_path):
    first = _cli("demo", *TINY_ARGS, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    folder = tmp_path / "runs" / "demo-toy-augment"
    before = _files(folder)
    assert set(before) == {"results.json", "results_seed0.json"}
    second = _cli("demo", *TINY_ARGS, "--seeds", "1", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "runs/demo-toy-augment holds an earlier run (kept); this run writes to runs/demo-toy-augment-2" \
        in second.stdout
    assert _files(folder) == before
    assert json.loads((tmp_path / "runs" / "demo-toy-augment-2" / "results.json").read_text())["seed"] == 1


def test_a_non_empty_out_is_refused_and_force_deletes_only_what_a_run_wrote(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "results.json").write_text('{"an": "earlier run"}')
    (out / "reliability.png").write_bytes(b"old figure")
    (out / "notes.txt").write_text("the user's own file")
    res = _cli("demo", *TINY_ARGS, "--out", str(out), cwd=tmp_path)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 1 and len(lines) == 1 and "is not empty" in lines[0] and "--force" in lines[0]
    assert (out / "results.json").read_text() == '{"an": "earlier run"}'
    res = _cli("demo", *TINY_ARGS, "--out", str(out), "--force", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "--force: deleted the 2 file(s) an earlier run wrote" in res.stdout and "left 1 other file" in res.stdout
    # the old figure is gone (this run drew none), nothing of the earlier run is mixed in
    assert sorted(os.listdir(out)) == ["notes.txt", "results.json", "results_seed0.json"]
    assert json.loads((out / "results.json").read_text())["complete"] is True


def test_results_json_records_how_the_run_was_made(tmp_path):
    res = _cli("demo", "--fast", "--steps", "15", "--n-train", "200", "--n-test", "40", "--no-figures",
               "--protocol", "clean", "--out", str(tmp_path), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    r = json.loads((tmp_path / "results.json").read_text())
    assert r["protocol"] == "clean" and r["fast"] is True and r["default_budget"] is False
    assert r["corruption"] == "gaussian" and r["levels"] == [0.0, 1.0, 2.0, 3.0, 4.0, 6.0]
    assert "note: --protocol clean trains without noise" in res.stdout   # the clean protocol's caveat, said up front
    assert r["budget"] == {"steps": 15, "batch_size": 128, "lr": demo.SETTINGS.lr, "n_train": 200, "n_test": 40}
    assert r["seeds_requested"] == [0] and r["complete"] is True
    assert r["command"].startswith("python -m mini_eau demo --fast --steps 15")
    assert "--fast budget: 15 steps, 200 training samples" in res.stdout


def test_an_interrupt_before_the_first_seed_leaves_no_folder_and_says_so(tmp_path):
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "mini_eau", "demo", "--steps", "3000", "--n-train", "400"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    folder = tmp_path / "runs" / "demo-toy-augment"
    deadline = time.time() + 120
    while not folder.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted before the first seed finished; nothing written (removed the empty folder" in err
    assert not folder.exists()


# ------------------------------------------------------------ fit's budget
def test_fit_checks_the_budget_when_training_starts():
    b = load_benchmark("toy", seed=0, n_train=64, n_test=10)
    config = TrainConfig(epochs=1, batch_size=32)
    config.epochs = 0  # changed after construction
    with pytest.raises(ValueError, match=r"epochs: expected an integer >= 1, got 0"):
        fit(EAU([16, 16], 4), b.train, config)
    with pytest.raises(ValueError, match=r"seed: expected an integer >= 0, got -1"):
        fit(EAU([16, 16], 4), b.train, TrainConfig(epochs=1, batch_size=32), seed=-1)
    for bad in ({"epochs": -3}, {"epochs": 2.5}, {"batch_size": 1}):
        with pytest.raises((ValueError, TypeError), match=next(iter(bad))):
            TrainConfig(**bad)
    with pytest.raises(ValueError, match="steps: expected an integer >= 1"):
        demo.run_demo(settings=demo.DemoSettings(steps=-93), log=lambda *a: None)


# ------------------------------------------------------------ figures
@pytest.fixture(scope="module")
def results():
    tiny = demo.DemoSettings(steps=20, n_train=300, n_test=60)
    per_seed = [demo.run_demo("toy3", seed=s, settings=tiny, fast=True, log=lambda *a: None) for s in (0, 1)]
    return seeds.aggregate(per_seed)


@pytest.mark.slow  # whole commands or training runs: left out of the quick loop
def test_every_figure_is_readable_on_a_projector(results, tmp_path, monkeypatch):
    import matplotlib.text

    drawn = {}
    save = plots._save

    def keep(fig, out, stem):
        fig.canvas.draw()
        drawn[stem] = (fig, [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()])
        return save(fig, out, stem)

    monkeypatch.setattr(plots, "_save", keep)
    paths = plots.demo_figures(results, str(tmp_path))
    assert sorted(drawn) == sorted(plots.FIGURES)
    for stem, (fig, texts) in drawn.items():
        small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < 10]
        assert small == [], stem
        title = fig._suptitle.get_text()
        assert "--fast budget: 20 steps" in title and "seeds 0, 1" in title, (stem, title)
    import matplotlib.image

    png = matplotlib.image.imread(str(tmp_path / "reliability.png"))
    fig = drawn["reliability"][0]
    assert png.shape[1] == round(fig.get_figwidth() * plots.DPI)  # saved at 150 dpi
    grid = [ax for ax in fig.axes if ax.get_visible()]
    assert len(grid) == len(results["sweeps"]) * len(results["levels"])  # every sweep, every level
    assert all(p.endswith((".png", ".svg")) for p in paths) and not [p for p in os.listdir(tmp_path)
                                                                      if p.endswith(".partial")]


def test_accuracy_figure_colours_eau_the_oracle_and_the_best_baseline_only(results, tmp_path, monkeypatch):
    drawn = {}
    monkeypatch.setattr(plots, "_save", lambda fig, out, stem: drawn.setdefault(stem, fig) and [])
    plots.demo_figures(results, str(tmp_path))
    best = plots.best_baseline(results)
    mean_acc = {b: np.mean([sw["methods"][b]["accuracy"] for sw in results["sweeps"]]) for b in plots.BASELINES}
    assert mean_acc[best] == max(mean_acc.values())
    labels = [t.get_text() for t in drawn["accuracy_vs_noise"].legends[0].get_texts()]
    assert labels[:3] == ["EAU", "oracle (trained on the clean views only)", f"best baseline ({best})"]
    assert len(labels) == 4 and labels[3].startswith("other baselines")
    colours = {tuple(np.round(__import__("matplotlib").colors.to_rgba(l.get_color()), 3))
               for l in drawn["accuracy_vs_noise"].axes[0].get_lines()}
    assert len(colours) == 4  # black, green, blue, and one grey for every other method


def test_a_full_budget_title_says_nothing_about_the_budget(results):
    full = {**results, "budget": {k: getattr(demo.SETTINGS, k) for k in results["budget"]}, "default_budget": True,
            "fast": False}
    assert demo.budget_text(full) == "" and "budget" not in plots._setting(full)


# ------------------------------------------------------------ docs tables
def test_summarise_writes_its_tables_into_a_page_between_the_markers(results, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("summarise", os.path.join(ROOT, "scripts", "summarise.py"))
    summarise = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(summarise)
    run = tmp_path / "runs" / "demo-toy3-augment"
    run.mkdir(parents=True)
    record = {**results, "command": "python -m mini_eau demo --data toy3 --seeds 0 1 --out somewhere --force",
              "complete": False}
    (run / "results.json").write_text(json.dumps(record))
    page = tmp_path / "page.md"
    page.write_text("# Results\n\nbefore\n<!-- summarise toy3 -->\nstale table\n<!-- /summarise toy3 -->\nafter\n")
    assert summarise.main([str(run), "--only-levels", "--markdown", str(page), "--block", "toy3"]) == 0
    text = page.read_text()
    assert text.startswith("# Results\n\nbefore\n<!-- summarise toy3 -->\nMade by these runs") and "stale" not in text
    assert text.endswith("<!-- /summarise toy3 -->\nafter\n")
    # the command that made the run, without where its files went; an interrupted run says so
    assert "- `python -m mini_eau demo --data toy3 --seeds 0 1`, 20 steps per model (interrupted" in text
    eau_row = next(l for l in text.splitlines() if l.startswith("| eau |"))
    assert f"**{results['sweeps'][0]['methods']['eau']['accuracy'][0]:.3f}**" in eau_row
    with pytest.raises(SystemExit, match="has no lines"):
        summarise.main([str(run), "--markdown", str(page), "--block", "missing"])


def test_run_demo_never_replaces_an_earlier_results_json(tmp_path):
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(FileExistsError, match="earlier run"):
        demo.run_demo(settings=demo.DemoSettings(steps=5, n_train=100, n_test=20), out=str(tmp_path),
                      log=lambda *a: None)
    assert (tmp_path / "results.json").read_text() == "{}"
