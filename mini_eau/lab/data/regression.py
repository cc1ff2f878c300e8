r"""The 1-D heteroscedastic regression with a gap in the training inputs (SPEC §9, §11).

:math:`y = \sin x + \sigma(x)\,\xi` with :math:`\sigma(x) = 0.1 + 0.2|x|`: inside the
gap a model should show epistemic uncertainty (no data), at the edges
aleatoric uncertainty (large sigma).  Used by :mod:`mini_eau.regression` and notebook 01.
"""
from __future__ import annotations

import numpy as np

from ...validation import Integer, accepts
from .container import RNG, check_interval

__all__ = ["regression_mean", "regression_noise_std", "make_regression_1d", "regression_grid"]


def regression_mean(x):
    r"""True regression function :math:`f(x) = \sin x`."""
    x = np.asarray(x, dtype=float)
    return np.sin(x)


def regression_noise_std(x):
    r"""True noise standard deviation :math:`\sigma(x) = 0.1 + 0.2 |x|`
    (0.3 at the gap's edges :math:`|x| = 1`, 0.7 at :math:`|x| = 3`: heteroscedastic).

    With this problem, :func:`mini_eau.regression.fit_regressor` (two tanh
    layers, MC dropout) shows epistemic variance in the gap 3–5x that on the
    training inputs (``tests/test_regression.py``, notebook 01).
    """
    x = np.asarray(x, dtype=float)
    return 0.1 + 0.2 * np.abs(x)


@accepts(n=Integer(1), rng=RNG)
def make_regression_1d(n, rng, gap=(-1.0, 1.0), x_range=(-3.0, 3.0)):
    r"""Heteroscedastic 1-D regression with a gap in the training inputs (SPEC §9, §11).

    .. math:: x \sim \mathcal U([a, b] \setminus [g_0, g_1]),\quad
              y = f(x) + \sigma(x)\,\xi,\ \xi \sim \mathcal N(0, 1)

    with :func:`regression_mean` f and :func:`regression_noise_std` sigma.
    Inside the gap a model should show epistemic uncertainty (no data), at
    the edges aleatoric uncertainty (large sigma).  ``gap=None`` gives no gap.

    Returns
    -------
    x : (n, 1), y : (n,), sigma : (n,)
        Inputs, targets and the true noise std at each input.
    """
    a, b = check_interval("x_range", x_range)
    if gap is None:
        g0 = g1 = a
    else:
        g0, g1 = check_interval("gap", gap)
        if g0 < a or g1 > b or (g0 == a and g1 == b):
            raise ValueError(f"gap: expected an interval inside x_range {x_range!r} leaving some of it, got {gap!r}")
    left = g0 - a
    # u uniform on a line of length (left + right); the right part is moved past the gap.
    u = rng.uniform(0.0, left + (b - g1), size=n)
    x = np.where(u < left, a + u, g1 + (u - left))
    # A point exactly at g1 is on the gap's edge; nudge it out so "nothing inside [g0, g1]" holds.
    if gap is not None:
        x = np.where((x >= g0) & (x <= g1), np.nextafter(g1, np.inf), x)
    sigma = regression_noise_std(x)
    y = regression_mean(x) + sigma * rng.standard_normal(n)
    return x[:, None], y, sigma


@accepts(n=Integer(1))
def regression_grid(n=401, x_range=(-4.0, 4.0)):
    """Evenly spaced evaluation inputs (beyond the training range by default, to show extrapolation).

    Returns ``x`` (n, 1), ``f(x)`` (n,), ``sigma(x)`` (n,).
    """
    a, b = check_interval("x_range", x_range)
    x = np.linspace(a, b, n)
    return x[:, None], regression_mean(x), regression_noise_std(x)
