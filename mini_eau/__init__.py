"""mini_eau — a small, exact, readable NumPy implementation of EAU.

"Embracing Unimodal Aleatoric Uncertainty for Robust Multimodal Fusion"
(Gao et al., CVPR 2024).  Every component is a ``*_forward`` / ``*_backward``
pair with its derivation in the docstring; ``python -m mini_eau gradcheck``
proves, in float64, that every backward matches its forward.

The teaching core, in the paper's order (SPEC sections in brackets):

- :mod:`~mini_eau.backend`      one code path for NumPy and CuPy: ``get_array_module``, ``to_numpy``
- :mod:`~mini_eau.validation`   ``@accepts``: each public function declares its arguments, checked at the edge
- :mod:`~mini_eau.gradcheck`    ``check_backward``: a backward against finite differences and autograd
- :mod:`~mini_eau.layers`       linear, relu, tanh, dropout, softmax cross-entropy, MSE, Gaussian NLL
- :mod:`~mini_eau.optim`        ``SGD``, ``Adam``
- :mod:`~mini_eau.encoders`     the per-modality MLP encoders [§1]
- :mod:`~mini_eau.gaussian`     Gaussian heads with a bounded log-variance, reparameterised sampling [§2, §3]
- :mod:`~mini_eau.kl`           closed-form KL, ``udr_loss`` (L_UDR) [§4]
- :mod:`~mini_eau.contrastive`  ``ura_loss`` (L_URA), variants paper / infonce / official [§5]
- :mod:`~mini_eau.fusion`       ``modality_uncertainty``, ``uncertainty_weights``, ``fuse`` (RMFI), five variants [§6]
- :mod:`~mini_eau.vib`          ``vib_loss``, the variational information bottleneck [§7]
- :mod:`~mini_eau.model`        ``EAU``, ``EAUConfig``: the whole model and its end-to-end backward [§1–§8]
- :mod:`~mini_eau.uncertainty`  aleatoric / epistemic decompositions, MC dropout [§9]
- :mod:`~mini_eau.regression`   heteroscedastic MLP regressor with MC dropout [§9]

The experiment kit lives in :mod:`mini_eau.lab` (data, metrics, training,
baselines, the estimator API, the demo, plots, checkpoints, the command line).
``fit``, ``TrainConfig`` and ``EAUClassifier`` are re-exported here for
convenience; they are imported only when first used, so ``import mini_eau``
loads the maths alone.
"""
from . import backend, gradcheck, layers, optim  # noqa: F401
from .backend import get_array_module, set_default_backend, to_numpy
from .contrastive import ura_loss_backward, ura_loss_forward
from .fusion import fuse_backward, fuse_forward, uncertainty_weights
from .gaussian import gaussian_head_backward, gaussian_head_forward, sample_backward, sample_forward
from .gradcheck import check_backward
from .kl import kl_gaussians_forward, kl_standard_normal_forward, udr_loss_backward, udr_loss_forward
from .model import EAU, EAUConfig
from .optim import SGD, Adam
from .uncertainty import decompose_entropy, decompose_variance
from .vib import vib_loss_backward, vib_loss_forward

__version__ = "0.2.0"

# the kit's entry points, loaded on first use (PEP 562)
_KIT = {"fit": "train", "TrainConfig": "train", "Trained": "train", "EAUClassifier": "estimator",
        "make_classifier": "estimator", "MultimodalData": "data"}


def __getattr__(name):
    if name in _KIT:
        import importlib

        return getattr(importlib.import_module(f".lab.{_KIT[name]}", __name__), name)
    raise AttributeError(f"module 'mini_eau' has no attribute {name!r}")
