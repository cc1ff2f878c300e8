r"""Optimisers that update a dict of named parameters in place.

Both take ``params`` (name -> array) at construction and ``step(grads)``
with the same names.  Updates are written into the existing arrays, so a
model holding references to them sees the new values, and on a GPU no array
leaves the device.
"""
from __future__ import annotations

from .backend import get_array_module
from .validation import check_positive

__all__ = ["SGD", "Adam"]


class _Optimizer:
    def __init__(self, params, lr):
        if not isinstance(params, dict) or not params:
            raise ValueError("params: expected a non-empty dict of name -> array")
        check_positive("lr", lr)
        self.params = params
        self.lr = lr
        self.t = 0

    def _check(self, grads):
        missing = set(self.params) - set(grads)
        extra = set(grads) - set(self.params)
        if missing or extra:
            raise ValueError(f"grads: expected the parameter names {sorted(self.params)}; "
                             f"missing {sorted(missing)}, unexpected {sorted(extra)}")
        for k, g in grads.items():
            if g.shape != self.params[k].shape:
                raise ValueError(f"grads[{k!r}]: expected shape {self.params[k].shape}, got {g.shape}")


class SGD(_Optimizer):
    r"""Stochastic gradient descent with (heavy-ball) momentum.

    .. math::
        v \leftarrow \beta v + g,\qquad \theta \leftarrow \theta - \eta\, v

    With :math:`\beta = 0` this is plain :math:`\theta \leftarrow \theta - \eta g`.
    """

    def __init__(self, params, lr=0.01, momentum=0.0):
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum: expected a number in [0, 1), got {momentum!r}")
        self.momentum = momentum
        self.velocity = {k: get_array_module(p).zeros_like(p) for k, p in params.items()}

    def step(self, grads):
        """Apply one update in place."""
        self._check(grads)
        self.t += 1
        for k, p in self.params.items():
            v = self.velocity[k]
            v *= self.momentum
            v += grads[k]
            p -= self.lr * v

    def state_dict(self):
        return {"t": self.t, **{f"velocity/{k}": v for k, v in self.velocity.items()}}


class Adam(_Optimizer):
    r"""Adam (Kingma & Ba, 2015) with bias correction.

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g,\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2,\\
        \hat m = m / (1-\beta_1^t),\quad \hat v = v / (1-\beta_2^t),\quad
        \theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \epsilon)

    At the first step :math:`\hat m = g` and :math:`\hat v = g^2`, so every
    parameter moves by :math:`\eta\, g/(|g| + \epsilon) \approx \eta\,\operatorname{sign}(g)`:
    bias correction is what makes the first steps the right size.
    """

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(params, lr)
        for name, b in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"{name}: expected a number in [0, 1), got {b!r}")
        check_positive("eps", eps)  # eps = 0 would turn a zero gradient into 0/0
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = {k: get_array_module(p).zeros_like(p) for k, p in params.items()}
        self.v = {k: get_array_module(p).zeros_like(p) for k, p in params.items()}

    def step(self, grads):
        """Apply one update in place."""
        self._check(grads)
        self.t += 1
        c1 = 1.0 - self.beta1 ** self.t
        c2 = 1.0 - self.beta2 ** self.t
        for k, p in self.params.items():
            g = grads[k]
            xp = get_array_module(p)
            m, v = self.m[k], self.v[k]
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * (g * g)
            p -= self.lr * (m / c1) / (xp.sqrt(v / c2) + self.eps)

    def state_dict(self):
        return {"t": self.t, **{f"m/{k}": a for k, a in self.m.items()}, **{f"v/{k}": a for k, a in self.v.items()}}
