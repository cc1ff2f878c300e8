"""Checkpoints: exact round trip, clear errors, no half-written files (issue: reliability)."""
import os

import numpy as np
import pytest

from mini_eau.lab import checkpoint
from mini_eau.lab.baselines import make_method
from mini_eau.lab.data import ToyProblem
from mini_eau.model import EAU, EAUConfig
from mini_eau.lab.train import TrainConfig, Trained, fit


@pytest.fixture(scope="module")
def trained():
    prob = ToyProblem(seed=0)
    data = prob.sample(300, np.random.default_rng(0))
    return fit(EAU([16, 16], 4, EAUConfig(hidden=(8,), variance_head="deviation")), data,
               TrainConfig(epochs=1, batch_size=100), seed=0), data


def test_round_trip_is_exact(tmp_path, trained):
    tr, data = trained
    path = tmp_path / "eau.npz"
    tr.save(path)
    back = Trained.load(path)
    assert back.model.config == tr.model.config and back.model.name == "eau"
    assert all(np.array_equal(back.params[k], tr.params[k]) for k in tr.params)
    assert set(back.stats) == set(tr.stats) == set(tr.model.init_stats())   # the running statistics travel too
    assert all(np.array_equal(back.stats[k], tr.stats[k]) for k in tr.stats)
    assert np.array_equal(back.predict_proba(data.xs), tr.predict_proba(data.xs))
    assert np.array_equal(back.uncertainty(data.xs), tr.uncertainty(data.xs))
    assert back.history == tr.history


def test_a_version_1_checkpoint_loads_as_the_raw_head(tmp_path, trained):
    """Files written before the normalised head: no statistics, and the head they were trained with."""
    import json

    tr, data = trained
    old = fit(EAU([16, 16], 4, EAUConfig(hidden=(8,), variance_head="raw")), data, TrainConfig(epochs=1, batch_size=100))
    old.save(tmp_path / "new.npz")
    with np.load(tmp_path / "new.npz") as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["__meta__"]))
    meta["version"] = 1
    del meta["config"]["variance_head"], meta["stat_names"]
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "v1.npz", **arrays)
    back = Trained.load(tmp_path / "v1.npz")
    assert back.model.config.variance_head == "raw" and back.stats == {}
    assert np.array_equal(back.predict_proba(data.xs), old.predict_proba(data.xs))


def test_baselines_round_trip(tmp_path, trained):
    _, data = trained
    for name in ("unimodal_1", "tmc", "precision"):
        tr = fit(make_method(name, [16, 16], 4, EAUConfig(hidden=(8,))), data, TrainConfig(epochs=1, batch_size=100))
        tr.save(tmp_path / f"{name}.npz")
        back = Trained.load(tmp_path / f"{name}.npz")
        assert back.model.name == name
        assert np.array_equal(back.predict_proba(data.xs), tr.predict_proba(data.xs))


def test_no_pickle_needed(tmp_path, trained):
    tr, _ = trained
    tr.save(tmp_path / "a.npz")
    with np.load(tmp_path / "a.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)


def test_truncated_file_gives_a_clear_error(tmp_path, trained):
    tr, _ = trained
    path = tmp_path / "t.npz"
    tr.save(path)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        Trained.load(path)
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="cannot be read"):
        Trained.load(tmp_path / "junk.npz")


def test_other_configuration_and_missing_array(tmp_path, trained):
    tr, _ = trained
    path = tmp_path / "c.npz"
    tr.save(path)
    with pytest.raises(ValueError, match=r"another configuration; differs in \['config.hidden'\]"):
        Trained.load(path, expect=EAU([16, 16], 4, EAUConfig(hidden=(9,), variance_head="deviation")))
    with pytest.raises(ValueError, match=r"differs in \['config.variance_head'\]"):
        Trained.load(path, expect=EAU([16, 16], 4, EAUConfig(hidden=(8,))))   # the raw head: another model
    Trained.load(path, expect=EAU([16, 16], 4, EAUConfig(hidden=(8,), variance_head="deviation")))  # the same: fine
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "param/vib.W_out"}
    np.savez(tmp_path / "m.npz", **arrays)
    with pytest.raises(ValueError, match=r"missing parameter or statistics array\(s\) \['vib.W_out'\]"):
        Trained.load(tmp_path / "m.npz")
    np.savez(tmp_path / "plain.npz", a=np.ones(2))
    with pytest.raises(ValueError, match="not a mini_eau checkpoint"):
        Trained.load(tmp_path / "plain.npz")


def test_failed_save_keeps_the_old_file(tmp_path, trained, monkeypatch):
    tr, _ = trained
    path = tmp_path / "keep.npz"
    tr.save(path)
    good = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        tr.save(path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["keep.npz"]  # no temporary left behind


def test_missing_folder_names_the_users_path(tmp_path, trained):
    tr, _ = trained
    path = tmp_path / "no" / "such" / "model.npz"
    with pytest.raises(FileNotFoundError, match=r"checkpoint '.*no/such/model\.npz'.*does not exist") as err:
        tr.save(path)
    assert ".ckpt-" not in str(err.value)


@pytest.mark.parametrize("blob", [b"garbage, not a checkpoint", b"", b"\x80\x04K\x01."])  # the last: a pickle
def test_garbage_is_not_a_checkpoint_and_no_pickle_advice(tmp_path, blob):
    path = tmp_path / "garbage.npz"
    path.write_bytes(blob)
    with pytest.raises(ValueError, match=r"checkpoint '.*garbage\.npz'.*not a mini_eau checkpoint") as err:
        checkpoint.load(path)
    assert "pickle" not in str(err.value)


def test_other_archives_are_not_checkpoints(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a mini_eau checkpoint"):
        checkpoint.load(tmp_path / "plain.npz")
    np.savez(tmp_path / "objects.npz", __meta__=np.array([{"format": "x"}], dtype=object))
    with pytest.raises(ValueError, match="not a mini_eau checkpoint") as err:
        checkpoint.load(tmp_path / "objects.npz")
    assert "allow_pickle" not in str(err.value)
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(ValueError, match="single .npy array"):
        checkpoint.load(tmp_path / "one.npy")
    with pytest.raises(FileNotFoundError):
        checkpoint.load(tmp_path / "absent.npz")


def test_extra_is_stored_and_read_back(tmp_path, trained):
    tr, _ = trained
    tr.save(tmp_path / "x.npz", extra={"classes": ["cat", "dog"]})
    assert checkpoint.read_meta(tmp_path / "x.npz")["extra"] == {"classes": ["cat", "dog"]}


def test_checkpoint_and_train_do_not_import_each_other_at_import_time():
    import ast
    import inspect

    from mini_eau.lab import train

    for module, other in ((checkpoint, "train"), (train, "checkpoint")):
        tree = ast.parse(inspect.getsource(module))
        top = [n for n in tree.body if isinstance(n, ast.ImportFrom)]
        assert not any(n.module and n.module.split(".")[-1] == other for n in top), module.__name__
