"""Safe checkpoints: one ``.npz`` file of plain parts, read without running code.

A checkpoint holds three plain parts: a JSON header (``meta``: the method,
the sizes, the configuration, the training history and any ``extra`` notes),
the parameter arrays (``params``) and the running statistics of the variance
heads (``stats``).  It is read with ``allow_pickle=False``: loading runs no
code, whoever wrote the file.  This module knows nothing about training:
:meth:`mini_eau.lab.train.Trained.save` and :meth:`~mini_eau.lab.train.Trained.load`
turn a trained model into these parts and back.

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

__all__ = ["describe", "save", "load", "read_meta", "check_model", "FORMAT", "VERSION"]

FORMAT = "mini_eau-checkpoint"
VERSION = 2
"""2: the running statistics (``stat/`` entries) and ``variance_head``; a version-1 file loads as ``variance_head="raw"``."""
_META = "__meta__"


def describe(model):
    """The header that identifies ``model``: method name, sizes, the modality of a unimodal baseline, configuration."""
    return {
        "method": getattr(model, "name", "eau"),
        "input_dims": list(model.input_dims),
        "n_classes": int(model.n_classes),
        "modality": getattr(model, "modality", None),  # only the unimodal baselines have one
        "config": model.config.to_dict(),
    }


def save(path, meta, params, stats=None):
    """Write ``meta`` (a JSON-serialisable dict), ``params`` and ``stats`` (dicts of arrays) to ``path`` atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder must exist.
    meta : dict
        The header: :func:`describe` of the model, plus anything else to keep
        (``Trained.save`` adds the history and ``extra``); read back by
        :func:`read_meta`.
    params, stats : dict of array
        Copied to NumPy (from CuPy, if they live on a GPU).

    Returns
    -------
    path
    """
    stats = {} if stats is None else stats
    meta = dict(meta, format=FORMAT, version=VERSION, param_names=sorted(params), stat_names=sorted(stats))
    arrays = {f"param/{k}": to_numpy(v) for k, v in params.items()}
    arrays.update({f"stat/{k}": to_numpy(v) for k, v in stats.items()})
    arrays[_META] = np.array(json.dumps(meta))
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"checkpoint {os.fspath(path)!r}: the folder {folder!r} does not exist; "
                                "create it first (os.makedirs(folder, exist_ok=True))")
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


def load(path):
    """``(meta, params, stats)`` from a checkpoint file written by :func:`save`.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is truncated, not a mini_eau checkpoint, of another format
        version, or lacks an array its header names; the message names the file.
    """
    name = os.fspath(path)
    with open(path, "rb") as f:  # FileNotFoundError as is: the user's path, Python's words
        head = f.read(6)
    # look before np.load does: for a file that is not a zip archive it would
    # suggest unpickling it, which a checkpoint never needs
    if head.startswith(b"\x93NUMPY"):
        raise ValueError(f"checkpoint {name!r}: not a mini_eau checkpoint (a single .npy array, not an .npz archive)")
    if not head.startswith(b"PK"):
        raise ValueError(f"checkpoint {name!r}: cannot be read — not a mini_eau checkpoint (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as z:
            files = set(z.files)
            if _META not in files:
                raise _NotOurs(f"no {_META} entry")
            meta = json.loads(str(z[_META]))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise _NotOurs(f"no {FORMAT!r} header")
            names = meta.get("param_names", [])
            params = {k: z[f"param/{k}"] for k in names if f"param/{k}" in files}
            stat_names = meta.get("stat_names", [])
            stats = {k: z[f"stat/{k}"] for k in stat_names if f"stat/{k}" in files}
    except _NotOurs as err:
        raise ValueError(f"checkpoint {name!r}: not a mini_eau checkpoint ({err})") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, json.JSONDecodeError) as err:
        raise ValueError(f"checkpoint {name!r}: cannot be read — truncated or corrupt ({err})") from err
    except ValueError:  # NumPy's words would suggest allow_pickle=True, which a checkpoint never needs
        raise ValueError(f"checkpoint {name!r}: cannot be read — not a mini_eau checkpoint or corrupt "
                         "(an entry holds Python objects or has a broken array header)") from None
    missing = [k for k in names if k not in params] + [k for k in stat_names if k not in stats]
    if missing:
        raise ValueError(f"checkpoint {name!r}: missing parameter or statistics array(s) {missing}")
    if meta.get("version") == 1:  # written before the normalised variance head existed
        meta["config"].setdefault("variance_head", "raw")
    elif meta.get("version") != VERSION:
        raise ValueError(f"checkpoint {name!r}: format version {meta.get('version')!r}, expected {VERSION} (or 1)")
    return meta, params, stats


class _NotOurs(Exception):
    """A readable archive that a mini_eau checkpoint did not write."""


def read_meta(path):
    """The JSON header of a checkpoint: method, sizes, configuration, history and ``extra``.

    Raises
    ------
    ValueError
        As :func:`load`.
    """
    return load(path)[0]


def check_model(path, meta, params, stats, model, expect=None):
    """Check the parts read from ``path`` against ``model``, the model rebuilt from their header.

    ``expect``, if given, is the model the caller wants: the header must be
    for its method, sizes and configuration.  Every parameter and statistics
    array must have the name and shape the model gives it.  A ``ValueError``
    says what differs.
    """
    path = os.fspath(path)
    if expect is not None:
        want = describe(expect)
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
    want_stats = {k: tuple(v.shape) for k, v in model.init_stats().items()}
    if set(want_stats) != set(stats) or any(stats[k].shape != want_stats[k] for k in stats):
        raise ValueError(f"checkpoint {path!r}: running statistics {sorted(stats)} do not match the model's {sorted(want_stats)}")
