"""mini_eau — a small, exact, readable NumPy implementation of EAU.

"Embracing Unimodal Aleatoric Uncertainty for Robust Multimodal Fusion"
(Gao et al., CVPR 2024).  Every component is a ``*_forward`` / ``*_backward``
pair with its derivation in the docstring and a float64 gradient check;
``python -m mini_eau gradcheck`` runs them all.

The public surface, module by module:

- :mod:`mini_eau.backend`    — ``get_array_module``, ``to_numpy``, ``set_default_backend``
- :mod:`mini_eau.gradcheck`  — ``check_backward``, ``numerical_gradient``, ``rel_error``
- :mod:`mini_eau.layers`     — linear, relu, tanh, softplus, dropout, softmax cross-entropy, MSE, Gaussian NLL
- :mod:`mini_eau.optim`      — ``SGD``, ``Adam``
"""
from . import backend, gradcheck, layers, optim  # noqa: F401  (importing registers gradient checks)
from .backend import get_array_module, set_default_backend, to_numpy
from .gradcheck import check_backward
from .optim import SGD, Adam

__version__ = "0.1.0"
