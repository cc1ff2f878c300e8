"""The experiment kit: everything around the maths that a run needs, one file (or folder) per job.

- :mod:`~mini_eau.lab.data`               the data sets [SPEC §11]: ``container`` (MultimodalData), ``toy``,
                                          ``regression`` (1-D, §9), ``real`` (scikit-learn's sets), ``benchmarks``
                                          (noise sweeps, ``load_benchmark``)
- :mod:`~mini_eau.lab.corruptions`        test-time corruption families: gaussian, mask, salt-and-pepper
- :mod:`~mini_eau.lab.baselines`          the methods EAU is compared with, one module each: ``unimodal``, ``concat``,
                                          ``late``, ``tmc`` (with ``dempster_shafer``), ``qmf``; ``base`` the shared
                                          encoders [§10]
- :mod:`~mini_eau.lab.train`              ``fit``: minibatch Adam, one seeded generator per run; ``Trained``
- :mod:`~mini_eau.lab.checkpoint`         save and load plain parts (npz + JSON, no pickle)
- :mod:`~mini_eau.lab.metrics`            accuracy, F1, NLL, Brier, ECE, AURC, Spearman, robustness [§12]
- :mod:`~mini_eau.lab.diagnostics`        each loss term's share of the gradient on the log-variances
- :mod:`~mini_eau.lab.estimator`          ``EAUClassifier``: plain arrays in, predictions and uncertainty out;
  :mod:`~mini_eau.lab.estimator_inputs`   what it accepts, :mod:`~mini_eau.lab.estimator_results` what it returns and keeps
- :mod:`~mini_eau.lab.demo`               the main job, ``python -m mini_eau demo``; ablations
- :mod:`~mini_eau.lab.seeds`              several seeds: ``run_seeds``, ``aggregate``
- :mod:`~mini_eau.lab.plots`              the demo's figures
- :mod:`~mini_eau.lab.cli`                ``python -m mini_eau gradcheck | demo | ablations``
"""

# the entry points, loaded on first use (PEP 562): importing the kit, or the command line's
# gradcheck, needs only the core's dependencies; the estimator brings scikit-learn when used
_ENTRY_POINTS = {"fit": "train", "TrainConfig": "train", "Trained": "train", "EAUClassifier": "estimator",
                 "make_classifier": "estimator"}


def __getattr__(name):
    if name in _ENTRY_POINTS:
        import importlib

        return getattr(importlib.import_module(f".{_ENTRY_POINTS[name]}", __name__), name)
    raise AttributeError(f"module 'mini_eau.lab' has no attribute {name!r}")
