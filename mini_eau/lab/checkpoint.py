"""Safe checkpoints for trained models.

A checkpoint is one ``.npz`` file (``numpy.savez``) holding every parameter
array plus a JSON document (``__meta__``) with the method, the sizes, the
configuration and the training history.  It is read with
``allow_pickle=False``: loading runs no code, whoever wrote the file.

Saving writes to a temporary file in the same folder and renames it over the
target (``os.replace`` is atomic on POSIX and Windows), so a save that fails
half-way never leaves a broken file where a good one was.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from ..backend import to_numpy

__all__ = ["save", "load", "FORMAT", "VERSION"]

FORMAT = "mini_eau-checkpoint"
VERSION = 1
_META = "__meta__"


def _describe(model):
    from .baselines import Unimodal

    return {
        "format": FORMAT,
        "version": VERSION,
        "method": getattr(model, "name", "eau"),
        "input_dims": list(model.input_dims),
        "n_classes": int(model.n_classes),
        "modality": getattr(model, "modality", None) if isinstance(model, Unimodal) else None,
        "config": model.config.to_dict(),
    }


def save(path, trained):
    """Write ``trained`` (a :class:`mini_eau.train.Trained`) to ``path`` atomically."""
    meta = _describe(trained.model)
    meta["param_names"] = sorted(trained.params)
    meta["history"] = trained.history
    arrays = {f"param/{k}": to_numpy(v) for k, v in trained.params.items()}
    arrays[_META] = np.array(json.dumps(meta))
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ckpt-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path, expect=None):
    """Read a checkpoint written by :func:`save`; returns a :class:`~mini_eau.train.Trained`.

    Parameters
    ----------
    expect : model, optional
        If given, the checkpoint must be for this method, sizes and
        configuration; otherwise ``ValueError`` says what differs.

    Raises
    ------
    ValueError
        The file is truncated, not a mini_eau checkpoint, for another
        configuration, or lacks a parameter array.
    """
    from .baselines import make_method
    from ..model import EAUConfig
    from .train import Trained

    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as err:
        # np.load falls back to "is it a pickle?" for non-zip files; refuse that too
        raise ValueError(f"checkpoint {path!r}: cannot be read — truncated or corrupt ({err})") from err
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"checkpoint {path!r}: not a mini_eau checkpoint (a single array, not an .npz archive)")
    with z:
        files = set(z.files)
        if _META not in files:
            raise ValueError(f"checkpoint {path!r}: not a mini_eau checkpoint (no {_META} entry)")
        try:
            meta = json.loads(str(z[_META]))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise ValueError(f"checkpoint {path!r}: not a mini_eau checkpoint (no {FORMAT!r} header)")
            missing = [k for k in meta["param_names"] if f"param/{k}" not in files]
            if missing:
                raise ValueError(f"checkpoint {path!r}: missing parameter array(s) {missing}")
            params = {k: z[f"param/{k}"] for k in meta["param_names"]}
        except (zipfile.BadZipFile, EOFError, OSError, KeyError, json.JSONDecodeError) as err:
            raise ValueError(f"checkpoint {path!r}: cannot be read — truncated or corrupt ({err})") from err
    if meta.get("version") != VERSION:
        raise ValueError(f"checkpoint {path!r}: format version {meta.get('version')!r}, expected {VERSION}")
    model = make_method(meta["method"], meta["input_dims"], meta["n_classes"], EAUConfig(**meta["config"]))
    if expect is not None:
        want = _describe(expect)
        diff = [k for k in ("method", "input_dims", "n_classes", "modality") if want[k] != meta[k]]
        diff += [f"config.{k}" for k in want["config"] if want["config"][k] != meta["config"].get(k)]
        if diff:
            raise ValueError(f"checkpoint {path!r}: written for another configuration; differs in {diff}")
    fresh = model.init_params(np.random.default_rng(0))
    if set(fresh) != set(params):
        raise ValueError(f"checkpoint {path!r}: parameter names {sorted(params)} do not match the model's {sorted(fresh)}")
    for k, v in params.items():
        if v.shape != fresh[k].shape:
            raise ValueError(f"checkpoint {path!r}: parameter {k!r} has shape {v.shape}, expected {fresh[k].shape}")
    return Trained(model, params, meta.get("history", []))
