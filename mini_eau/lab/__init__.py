"""The experiment kit: everything around the maths that a run needs.

- :mod:`~mini_eau.lab.data`        toy multi-view problems, real multi-view sets, noise sweeps [SPEC §11]
- :mod:`~mini_eau.lab.metrics`     accuracy, F1, NLL, Brier, ECE, AURC, Spearman, robustness [§12]
- :mod:`~mini_eau.lab.train`       ``fit``: minibatch Adam, one seeded generator per run
- :mod:`~mini_eau.lab.baselines`   unimodal, concat, late, TMC, QMF under one interface [§10]
- :mod:`~mini_eau.lab.estimator`   ``EAUClassifier``: plain arrays in, predictions and uncertainty out
- :mod:`~mini_eau.lab.checkpoint`  save and load trained models (npz + JSON, no pickle)
- :mod:`~mini_eau.lab.demo`        the main job, ``python -m mini_eau demo``
- :mod:`~mini_eau.lab.plots`       the demo's figures
- :mod:`~mini_eau.lab.cli`         ``python -m mini_eau gradcheck | demo | ablations``
"""
from .train import TrainConfig, Trained, fit  # noqa: F401
from .estimator import EAUClassifier, make_classifier  # noqa: F401
