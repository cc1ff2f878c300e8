r"""The seeded multi-view toy classification problem (SPEC §11).

With :math:`K` classes, latent size :math:`d_z` and separation :math:`c`:

.. math::
    P = c\,G,\ G_{kj} \sim \mathcal N(0, 1) \qquad
    y \sim \mathcal U\{0..K-1\},\quad z = P_y + 0.5\,\eta,\ \eta \sim \mathcal N(0, I_{d_z})

.. math::
    x^A = \frac{z W_A}{r_A} + s^A \xi^A, \qquad
    x^B = \frac{\tanh(z W_B)}{r_B} + s^B \xi^B, \qquad \xi \sim \mathcal N(0, I)

:math:`W_m` has entries :math:`\mathcal N(0, 1/d_z)`.  :math:`r_m` is the RMS
of the clean signal of view :math:`m` (estimated once, at construction, from
20 000 clean samples of the problem's own generator), so each clean view has
unit RMS per coordinate and a noise scale :math:`s` means the same
signal-to-noise ratio (:math:`1/s^2` per coordinate) in both views.
Training noise: :math:`s^m \sim \mathcal U(0, 3)` independently per sample and
modality (a variance head can only learn noise it has seen).

The defaults ``n_classes=4, d_latent=8, d_a=d_b=16, separation=1.0`` were
chosen (with a logistic regression; NOTES.md, "How the toy's defaults were
chosen") so that concatenation with one view drowned in noise falls well below
the clean view alone — the failure uncertainty-aware fusion is meant to fix.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ...validation import Integer, Real, accepts, check_choice, check_positive
from .container import RNG, MultimodalData, check_interval, check_levels, view_indices

__all__ = ["ToyProblem", "TOY_LEVELS"]

TOY_LEVELS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0)
"""Noise scales of the toy test sweep (SPEC §11), in units of the clean signal RMS."""


def _check_noise(name, value):
    """``None`` (training noise) or a finite scale >= 0."""
    if value is None:
        return None
    check_positive(name, value, allow_zero=True)
    return float(value)


class ToyProblem:
    r"""Seeded two-modality toy classification (SPEC §11); formulas in the module docstring.

    Parameters
    ----------
    seed : int
        Seeds the problem's own generator, which fixes the prototypes ``P``
        (K, d_z), the maps ``W_a`` (d_z, d_a), ``W_b`` (d_z, d_b), the OOD
        ``direction`` (unit, d_z) and the view scales ``r`` (2,).
    n_classes, d_latent, d_a, d_b : int
        K (>= 2), d_z and the view sizes.
    separation : float
        c > 0: prototype scale.  Smaller is harder (see module docstring).
    nonlinear_b : bool
        Follow ``W_b`` by tanh (default) or keep view B linear.
    train_noise : (float, float)
        Range of the uniform training noise scale (default (0, 3)).

    Methods ``sample``, ``sweep``, ``conflict``, ``ood`` take a Generator for
    the samples themselves.  Noise arguments ``noise_a`` / ``noise_b``: None
    draws training noise per sample, a number >= 0 fixes the scale for all.
    """

    @accepts(n_classes=Integer(2), d_latent=Integer(1), d_a=Integer(1), d_b=Integer(1), separation=Real(),
             n_views=Integer(2))
    def __init__(self, seed=0, n_classes=4, d_latent=8, d_a=16, d_b=16, separation=1.0,
                 nonlinear_b=True, train_noise=(0.0, 3.0), n_views=2):
        self.n_classes = int(n_classes)
        self.d_latent, self.d_a, self.d_b = int(d_latent), int(d_a), int(d_b)
        self.separation = float(separation)
        self.nonlinear_b = bool(nonlinear_b)
        lo, hi = check_interval("train_noise", train_noise)
        if lo < 0:
            raise ValueError(f"train_noise: expected scales >= 0, got {train_noise!r}")
        self.train_noise = (lo, hi)
        self.seed = seed
        self.n_views = int(n_views)
        self.names = tuple("abcdefghijklmnopqrstuvwxyz"[m] for m in range(self.n_views))

        gen = np.random.default_rng(seed)
        self.P = self.separation * gen.standard_normal((self.n_classes, self.d_latent))
        self.W_a = gen.standard_normal((self.d_latent, self.d_a)) / math.sqrt(self.d_latent)
        self.W_b = gen.standard_normal((self.d_latent, self.d_b)) / math.sqrt(self.d_latent)
        v = gen.standard_normal(self.d_latent)
        self.direction = v / np.linalg.norm(v)
        # views beyond the second: alternately linear (like A) and nonlinear (like B), size d_a
        self.W = [self.W_a, self.W_b] + [gen.standard_normal((self.d_latent, self.d_a)) / math.sqrt(self.d_latent)
                                         for _ in range(self.n_views - 2)]
        # Unit-RMS views: a noise scale then means the same SNR in every view.
        self.r = np.ones(self.n_views)
        _, _, *clean = self._clean(20000, gen)
        self.r = np.array([np.sqrt(np.mean(x ** 2)) for x in clean])

    # -- the generative model
    def _clean(self, n, rng, y=None, shift=0.0):
        """Labels, latents and the M clean (noise-free, scaled) views."""
        if y is None:
            y = rng.integers(self.n_classes, size=n)
        z = self.P[y] + 0.5 * rng.standard_normal((n, self.d_latent)) + shift * self.direction
        views = []
        for m, W in enumerate(self.W):
            pre = z @ W
            views.append((np.tanh(pre) if self.nonlinear_b and m % 2 == 1 else pre) / self.r[m])
        return (y, z, *views)

    def _scales(self, n, rng, value):
        return rng.uniform(*self.train_noise, size=n) if value is None else np.full(n, value)

    def _generate(self, n, rng, noise, y=None, shift=0.0):
        # Fixed draw order (y, eta, s^1..s^M, xi^1..xi^M): with fixed noise,
        # sample() and ood() from equal generator states share y, eta and xi.
        y, _, *xs = self._clean(n, rng, y=y, shift=shift)
        s = np.stack([self._scales(n, rng, v) for v in noise])
        xs = [x + s[m][:, None] * rng.standard_normal(x.shape) for m, x in enumerate(xs)]
        return MultimodalData(xs, y, s, self.n_classes, self.names)

    def _noise_args(self, noise_a, noise_b, noise):
        """One scale (or None) per view from ``noise_a``/``noise_b`` (two views) or the list ``noise``."""
        if noise is None:
            return [_check_noise("noise_a", noise_a), _check_noise("noise_b", noise_b)] + [None] * (self.n_views - 2)
        if len(noise) != self.n_views:
            raise ValueError(f"noise: expected one scale (or None) per view, {self.n_views} in all, got {len(noise)}")
        return [_check_noise(f"noise[{m}]", v) for m, v in enumerate(noise)]

    @accepts(n=Integer(1), rng=RNG)
    def sample(self, n, rng, noise_a=None, noise_b=None, noise=None):
        """``n`` samples; None noise = training noise U(train_noise) per sample and modality.

        ``noise_a``/``noise_b`` set the first two views' scales; ``noise`` (one
        entry per view) sets them all.
        """
        return self._generate(n, rng, self._noise_args(noise_a, noise_b, noise))

    @accepts(n=Integer(1), rng=RNG)
    def sweep(self, levels=TOY_LEVELS, noisy="a", other=1.0, n=2000, rng=None):
        """One test set per noise level on the view(s) ``noisy``, every other view at ``other``.

        ``noisy`` is a view name or index, or a list of them.  Every level
        reuses the same labels, latents and unit draws xi (common random
        numbers: one child seed drawn from ``rng``), so differences between
        levels come from the noise scale alone.  Returns a list of
        :class:`MultimodalData` in the order of ``levels``.
        """
        noisy = view_indices("noisy", noisy, self.names)
        levels = check_levels(levels)
        other = _check_noise("other", other)
        if other is None:
            raise ValueError("other: expected a fixed noise scale >= 0, got None")
        child = int(rng.integers(2 ** 63 - 1))
        return [self._generate(n, np.random.default_rng(child), [lvl if m in noisy else other for m in range(self.n_views)])
                for lvl in levels]

    @accepts(n=Integer(1), rng=RNG)
    def conflict(self, n, rng, modality="b", noise_a=1.0, noise_b=1.0):
        """Conflicting views: ``modality`` comes from a fresh sample of class (y + 1) mod K.

        The label stays y (that of the untouched modality); ``noise`` records
        the scales actually injected into each kept view.
        """
        check_choice("modality", modality, self.names)
        noise_a, noise_b = _check_noise("noise_a", noise_a), _check_noise("noise_b", noise_b)
        noise = [noise_a, noise_b] + [noise_b] * (self.n_views - 2)
        base = self._generate(n, rng, noise)
        donor = self._generate(n, rng, noise, y=(base.y + 1) % self.n_classes)
        m = self.names.index(modality)
        xs = list(base.xs)
        xs[m] = donor.xs[m]
        noise = base.noise.copy()
        noise[m] = donor.noise[m]
        return MultimodalData(xs, base.y, noise, self.n_classes, self.names)

    @accepts(n=Integer(1), rng=RNG)
    def ood(self, n, rng, shift=4.0, noise_a=1.0, noise_b=1.0):
        r"""Out-of-distribution set: latent :math:`z + \text{shift}\cdot v`, v = ``self.direction``.

        ``shift`` is in latent units (the within-class std is 0.5; the
        prototypes lie about :math:`c\sqrt{2 d_z} = 4` apart at the defaults).
        The view scales ``r`` stay those of the training distribution.
        """
        if not isinstance(shift, numbers.Real) or not math.isfinite(shift):
            raise ValueError(f"shift: expected a finite number, got {shift!r}")
        noise = [_check_noise("noise_a", noise_a), _check_noise("noise_b", noise_b)]
        return self._generate(n, rng, noise + noise[1:] * (self.n_views - 2), shift=float(shift))
