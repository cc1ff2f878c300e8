r"""Data sets for the experiments (SPEC §11): a seeded two-modality toy, a 1-D
heteroscedastic regression with a gap, and scikit-learn's digits as two views.

Data live on the host: this module is plain NumPy and registers no gradient
checks.  All randomness comes from a ``numpy.random.Generator`` passed in (the
toy's fixed parts — prototypes, maps — from its own ``seed``), so the same
seeds give bit-identical arrays.

Every multimodal set is a :class:`MultimodalData`: a list of per-modality
feature matrices, the labels, and the **noise scale injected into each sample
of each modality**, kept so that predicted uncertainty can be compared with it
(Spearman correlation, SPEC §12).

The toy problem (SPEC §11)
--------------------------
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

Defaults ``n_classes=4, d_latent=8, d_a=d_b=16, separation=1.0`` were tuned
with a logistic regression (scikit-learn, trained on 4000 training-noise
samples, tested on 4000-sample sweeps; problem seeds 0, 1, 2):

=========================  =======================================
test set                   accuracy (seeds 0 / 1 / 2; chance 0.25)
=========================  =======================================
A alone, s^A = 0           0.98 / 0.98 / 0.96
A alone, s^A = 1           0.83 / 0.90 / 0.83
A alone, s^A = 6           0.38 / 0.42 / 0.40
B alone, s^B = 1           0.89 / 0.85 / 0.80
B alone, s^B = 6           0.41 / 0.41 / 0.37
A|B concat, s^A=6, s^B=1   0.58 / 0.57 / 0.53
=========================  =======================================

so concatenation with one view drowned in noise falls well below the clean
view alone — the failure uncertainty-aware fusion is meant to fix.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ..validation import check_array, check_choice, check_labels, check_positive

__all__ = [
    "MultimodalData",
    "ToyProblem",
    "TOY_LEVELS",
    "regression_mean",
    "regression_noise_std",
    "make_regression_1d",
    "regression_grid",
    "load_digits_two_view",
    "load_digits_views",
    "load_breast_cancer_views",
    "minmax_scale",
    "add_noise",
    "noise_sweep",
    "digits_sweep",
    "join_halves",
    "DIGITS_LEVELS",
    "Benchmark",
    "BENCHMARKS",
    "noise_unit",
    "load_benchmark",
]

TOY_LEVELS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0)
"""Noise scales of the toy test sweep (SPEC §11), in units of the clean signal RMS."""

DIGITS_LEVELS = (0.0, 0.1, 0.25, 0.5, 1.0, 1.5)
"""Noise scales of the digits sweep, for pixels in [0, 1] (pixel std about 0.38).

A logistic regression trained on the clean left half (right half) of the
``seed=0`` split scores 0.84 (0.89) at 0, 0.68 (0.74) at 0.25, 0.46 (0.49) at
0.5, 0.27 (0.28) at 1 and 0.22 (0.20) at 1.5 (chance 0.1); on both halves
with the noisy one at 1.5, 0.38 (0.36)."""


# ----------------------------------------------------------------- helpers
def _check_rng(rng, name="rng"):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name}: expected a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


def _check_count(name, n):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {n}")
    return int(n)


def _check_noise(name, value):
    """``None`` (training noise) or a finite scale >= 0."""
    if value is None:
        return None
    check_positive(name, value, allow_zero=True)
    return float(value)


def _check_interval(name, interval):
    if not (isinstance(interval, (tuple, list)) and len(interval) == 2
            and all(isinstance(v, numbers.Real) and math.isfinite(v) for v in interval)
            and interval[0] < interval[1]):
        raise ValueError(f"{name}: expected a pair (low, high) of finite numbers with low < high, got {interval!r}")
    return float(interval[0]), float(interval[1])


# ---------------------------------------------------------- the container
@dataclass
class MultimodalData:
    r"""A multimodal classification set.

    Attributes
    ----------
    xs : list of ndarray
        M float64 arrays, ``xs[m]`` of shape (N, D_m).
    y : ndarray of int
        Labels (N,) in ``0 .. n_classes-1``.
    noise : ndarray, optional
        (M, N) float, ``noise[m, i]`` the standard deviation of the Gaussian
        noise injected into sample i of modality m (default: zeros, i.e.
        your own data, with no noise injected by us).
    n_classes : int, optional
        K (default: ``y.max() + 1``).
    names : tuple of str, optional
        Modality names (default ``("a", "b", ...)``); methods and
        :func:`add_noise` accept a name or an index.
    """

    xs: list
    y: np.ndarray
    noise: np.ndarray = None
    n_classes: int = None
    names: tuple = None

    def __post_init__(self):
        if not isinstance(self.xs, (list, tuple)) or len(self.xs) < 1:
            raise ValueError("xs: expected a non-empty list of (N, D_m) arrays, one per modality")
        self.xs = list(self.xs)
        for m, x in enumerate(self.xs):
            check_array(f"xs[{m}]", x, ndim=2, dtype_kind="f")
        n = self.xs[0].shape[0]
        for m, x in enumerate(self.xs):
            if x.shape[0] != n:
                raise ValueError(f"xs[{m}]: expected {n} rows like xs[0], got {x.shape[0]}")
        if self.n_classes is None:  # inferred from the labels
            check_labels("y", self.y, n_samples=n)
            self.n_classes = int(np.max(self.y)) + 1 if n else 0
            if self.n_classes < 2:
                raise ValueError(f"y: n_classes is inferred as y.max() + 1 = {self.n_classes}; expected labels of at least 2 classes")
        if self.noise is None:  # own data: nothing injected
            self.noise = np.zeros((len(self.xs), n))
        if isinstance(self.n_classes, bool) or not isinstance(self.n_classes, numbers.Integral) or self.n_classes < 2:
            raise ValueError(f"n_classes: expected an integer >= 2, got {self.n_classes!r}")
        check_labels("y", self.y, n_samples=n, n_classes=self.n_classes)
        check_array("noise", self.noise, shape=(len(self.xs), n), dtype_kind="f")
        if np.any(self.noise < 0):
            raise ValueError("noise: expected scales >= 0, got a negative value")
        if self.names is None:
            self.names = tuple("abcdefghijklmnopqrstuvwxyz"[m] for m in range(len(self.xs)))
        self.names = tuple(self.names)
        if len(self.names) != len(self.xs) or len(set(self.names)) != len(self.names):
            raise ValueError(f"names: expected {len(self.xs)} distinct modality names, got {self.names!r}")

    def __len__(self):
        return self.xs[0].shape[0]

    @property
    def n_modalities(self):
        """M."""
        return len(self.xs)

    def modality_index(self, modality):
        """Index of ``modality`` given by name or by integer index."""
        if isinstance(modality, numbers.Integral) and not isinstance(modality, bool):
            if 0 <= modality < len(self.xs):
                return int(modality)
            raise ValueError(f"modality: expected an index in [0, {len(self.xs) - 1}] or one of {self.names}, got {modality!r}")
        check_choice("modality", modality, self.names)
        return self.names.index(modality)

    def subset(self, idx):
        """The samples ``idx`` (integer indices or a boolean mask of length N), as a new set."""
        idx = np.asarray(idx)
        if idx.dtype.kind == "b":
            if idx.shape != (len(self),):
                raise ValueError(f"idx: expected a boolean mask of shape ({len(self)},), got {idx.shape}")
        elif idx.dtype.kind not in "iu" or idx.ndim != 1:
            raise ValueError(f"idx: expected a 1-d integer index array or boolean mask, got dtype {idx.dtype}, shape {idx.shape}")
        elif idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise ValueError(f"idx: indices must lie in [0, {len(self) - 1}]")
        return MultimodalData([x[idx] for x in self.xs], self.y[idx], self.noise[:, idx], self.n_classes, self.names)

    def select(self, views):
        """The views ``views`` (names or indices, in that order) of every sample, as a new set."""
        idx = [self.modality_index(v) for v in ([views] if isinstance(views, (str, numbers.Integral)) else views)]
        return MultimodalData([self.xs[m] for m in idx], self.y, self.noise[idx], self.n_classes,
                              tuple(self.names[m] for m in idx))

    def batches(self, batch_size, rng=None, drop_last=False):
        """Yield index arrays of (at most) ``batch_size`` samples covering the set once.

        Shuffled by ``rng`` (a Generator); in order when ``rng`` is None.
        Use ``data.subset(idx)`` for the batch itself.  ``drop_last`` drops a
        final short batch (useful for losses that need N >= 2, SPEC §5).
        """
        batch_size = _check_count("batch_size", batch_size)
        order = np.arange(len(self)) if rng is None else _check_rng(rng).permutation(len(self))
        stop = len(self) - (len(self) % batch_size if drop_last else 0)
        for start in range(0, stop, batch_size):
            yield order[start:start + batch_size]


# ----------------------------------------------------------- toy problem
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

    def __init__(self, seed=0, n_classes=4, d_latent=8, d_a=16, d_b=16, separation=1.0,
                 nonlinear_b=True, train_noise=(0.0, 3.0), n_views=2):
        self.n_classes = _check_count("n_classes", n_classes)
        if self.n_classes < 2:
            raise ValueError(f"n_classes: expected an integer >= 2, got {n_classes}")
        self.d_latent = _check_count("d_latent", d_latent)
        self.d_a = _check_count("d_a", d_a)
        self.d_b = _check_count("d_b", d_b)
        self.separation = float(check_positive("separation", separation))
        self.nonlinear_b = bool(nonlinear_b)
        lo, hi = _check_interval("train_noise", train_noise)
        if lo < 0:
            raise ValueError(f"train_noise: expected scales >= 0, got {train_noise!r}")
        self.train_noise = (lo, hi)
        self.seed = seed
        self.n_views = _check_count("n_views", n_views)
        if self.n_views < 2:
            raise ValueError(f"n_views: expected an integer >= 2, got {n_views}")
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

    def sample(self, n, rng, noise_a=None, noise_b=None, noise=None):
        """``n`` samples; None noise = training noise U(train_noise) per sample and modality.

        ``noise_a``/``noise_b`` set the first two views' scales; ``noise`` (one
        entry per view) sets them all.
        """
        n = _check_count("n", n)
        _check_rng(rng)
        return self._generate(n, rng, self._noise_args(noise_a, noise_b, noise))

    def sweep(self, levels=TOY_LEVELS, noisy="a", other=1.0, n=2000, rng=None):
        """One test set per noise level on the view(s) ``noisy``, every other view at ``other``.

        ``noisy`` is a view name or index, or a list of them.  Every level
        reuses the same labels, latents and unit draws xi (common random
        numbers: one child seed drawn from ``rng``), so differences between
        levels come from the noise scale alone.  Returns a list of
        :class:`MultimodalData` in the order of ``levels``.
        """
        n = _check_count("n", n)
        _check_rng(rng)
        noisy = _view_indices("noisy", noisy, self.names)
        levels = _check_levels(levels)
        other = _check_noise("other", other)
        if other is None:
            raise ValueError("other: expected a fixed noise scale >= 0, got None")
        child = int(rng.integers(2 ** 63 - 1))
        return [self._generate(n, np.random.default_rng(child), [lvl if m in noisy else other for m in range(self.n_views)])
                for lvl in levels]

    def conflict(self, n, rng, modality="b", noise_a=1.0, noise_b=1.0):
        """Conflicting views: ``modality`` comes from a fresh sample of class (y + 1) mod K.

        The label stays y (that of the untouched modality); ``noise`` records
        the scales actually injected into each kept view.
        """
        n = _check_count("n", n)
        _check_rng(rng)
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

    def ood(self, n, rng, shift=4.0, noise_a=1.0, noise_b=1.0):
        r"""Out-of-distribution set: latent :math:`z + \text{shift}\cdot v`, v = ``self.direction``.

        ``shift`` is in latent units (the within-class std is 0.5; the
        prototypes lie about :math:`c\sqrt{2 d_z} = 4` apart at the defaults).
        The view scales ``r`` stay those of the training distribution.
        """
        n = _check_count("n", n)
        _check_rng(rng)
        if not isinstance(shift, numbers.Real) or not math.isfinite(shift):
            raise ValueError(f"shift: expected a finite number, got {shift!r}")
        noise = [_check_noise("noise_a", noise_a), _check_noise("noise_b", noise_b)]
        return self._generate(n, rng, noise + noise[1:] * (self.n_views - 2), shift=float(shift))


def _view_indices(name, views, names):
    """A view name or index, or a list of them, as a sorted tuple of distinct indices."""
    if isinstance(views, (str, numbers.Integral)):
        views = [views]
    out = []
    for v in views:
        if isinstance(v, numbers.Integral) and not isinstance(v, bool):
            if not 0 <= v < len(names):
                raise ValueError(f"{name}: expected view indices in [0, {len(names) - 1}] or names from {names}, got {v!r}")
            out.append(int(v))
        else:
            check_choice(name, v, names)
            out.append(names.index(v))
    if not out or len(set(out)) != len(out):
        raise ValueError(f"{name}: expected one or more distinct views, got {views!r}")
    return tuple(sorted(out))


def _check_levels(levels):
    levels = tuple(levels)
    if not levels:
        raise ValueError("levels: expected at least one noise level")
    for v in levels:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0:
            raise ValueError(f"levels: expected finite noise scales >= 0, got {v!r}")
    return tuple(float(v) for v in levels)


# ------------------------------------------------------ 1-D regression (§9)
def regression_mean(x):
    r"""True regression function :math:`f(x) = \sin x`."""
    x = np.asarray(x, dtype=float)
    return np.sin(x)


def regression_noise_std(x):
    r"""True noise standard deviation :math:`\sigma(x) = 0.1 + 0.2 |x|`
    (0.3 at the gap's edges :math:`|x| = 1`, 0.7 at :math:`|x| = 3`: heteroscedastic).

    With this problem, :func:`mini_eau.regression.fit_regressor` (two tanh
    layers, MC dropout) shows epistemic variance in the gap 3–5x that on the
    training inputs (``tests/test_regression.py``, notebook 01); an earlier
    choice, :math:`\sin(1.5x) + 0.3x` with noise :math:`0.05 + 0.05x^2`, gave
    only about 2x with the same settings.
    """
    x = np.asarray(x, dtype=float)
    return 0.1 + 0.2 * np.abs(x)


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
    n = _check_count("n", n)
    _check_rng(rng)
    a, b = _check_interval("x_range", x_range)
    if gap is None:
        g0 = g1 = a
    else:
        g0, g1 = _check_interval("gap", gap)
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


def regression_grid(n=401, x_range=(-4.0, 4.0)):
    """Evenly spaced evaluation inputs (beyond the training range by default, to show extrapolation).

    Returns ``x`` (n, 1), ``f(x)`` (n,), ``sigma(x)`` (n,).
    """
    n = _check_count("n", n)
    a, b = _check_interval("x_range", x_range)
    x = np.linspace(a, b, n)
    return x[:, None], regression_mean(x), regression_noise_std(x)


# ------------------------------------------------------ real multi-view sets
def minmax_scale(train, test):
    """Both sets scaled per feature to [0, 1] with the **training** rows' min and max.

    Features constant on the training rows map to 0.  Test values outside
    the training range fall outside [0, 1] (no clipping: that is what a
    deployed model would see).
    """
    xs_tr, xs_te = [], []
    for x_tr, x_te in zip(train.xs, test.xs):
        lo, hi = x_tr.min(axis=0), x_tr.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        xs_tr.append((x_tr - lo) / span)
        xs_te.append((x_te - lo) / span)
    return (MultimodalData(xs_tr, train.y, train.noise, train.n_classes, train.names),
            MultimodalData(xs_te, test.y, test.noise, test.n_classes, test.names))


def _split_views(views, y, n_classes, names, seed, test_fraction):
    """Stratified train/test split of per-view feature matrices, MinMax-scaled on the training rows."""
    from sklearn.model_selection import train_test_split  # imported here: sklearn is slow to import

    if not isinstance(test_fraction, numbers.Real) or not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction: expected a number in (0, 1), got {test_fraction!r}")
    tr, te = train_test_split(np.arange(len(y)), test_size=test_fraction, stratify=y, random_state=seed)
    make = lambda idx: MultimodalData([v[idx].astype(np.float64) for v in views], y[idx].astype(np.int64),
                                      np.zeros((len(views), len(idx))), n_classes, names)
    return minmax_scale(make(np.sort(tr)), make(np.sort(te)))


def load_digits_views(split="halves", seed=0, test_fraction=0.3):
    """scikit-learn's bundled 8x8 digits (1797 images, 10 classes; no download) as 2 or 4 views.

    ``split="halves"``: views ``left`` (columns 0-3) and ``right`` (columns
    4-7), 32 pixels each.  ``split="quadrants"``: views ``top-left``,
    ``top-right``, ``bottom-left``, ``bottom-right``, 16 pixels each.
    Stratified split with ``random_state=seed``; pixels MinMax-scaled per
    feature on the training rows.  Returns ``(train, test)`` with zero noise.
    """
    from sklearn.datasets import load_digits

    check_choice("split", split, ("halves", "quadrants"))
    digits = load_digits()
    img = digits.images
    n = len(img)
    if split == "halves":
        views = [img[:, :, :4].reshape(n, 32), img[:, :, 4:].reshape(n, 32)]
        names = ("left", "right")
    else:
        views = [img[:, :4, :4].reshape(n, 16), img[:, :4, 4:].reshape(n, 16),
                 img[:, 4:, :4].reshape(n, 16), img[:, 4:, 4:].reshape(n, 16)]
        names = ("top-left", "top-right", "bottom-left", "bottom-right")
    return _split_views(views, digits.target, 10, names, seed, test_fraction)


def load_digits_two_view(seed=0, test_fraction=0.3):
    """The digits as two views, left and right image halves: :func:`load_digits_views` with ``split="halves"``."""
    return load_digits_views("halves", seed, test_fraction)


def load_breast_cancer_views(seed=0, test_fraction=0.3):
    """scikit-learn's bundled breast-cancer set (569 tumours, 2 classes; no download) as three views.

    The 30 features are ten cell-nucleus measurements (radius, texture,
    perimeter, area, smoothness, compactness, concavity, concave points,
    symmetry, fractal dimension) each summarised three ways; the views are
    those summaries: ``mean``, ``se`` (standard error) and ``worst`` (mean of
    the three largest), 10 features each.  Stratified split with
    ``random_state=seed``; MinMax-scaled on the training rows.
    """
    from sklearn.datasets import load_breast_cancer

    bc = load_breast_cancer()
    x = bc.data
    views = [x[:, 0:10], x[:, 10:20], x[:, 20:30]]
    return _split_views(views, bc.target, 2, ("mean", "se", "worst"), seed, test_fraction)


def join_halves(left, right):
    """Images (N, 8, 8) from left and right halves (N, 32) each (inverse of the split)."""
    check_array("left", left, shape=(None, 32))
    check_array("right", right, shape=(left.shape[0], 32))
    return np.concatenate([left.reshape(-1, 8, 4), right.reshape(-1, 8, 4)], axis=2)


def add_noise(data, modality, scale, rng):
    r"""A copy of ``data`` with Gaussian noise of std ``scale`` added to one modality.

    ``scale`` is a number >= 0 or an (N,) array of per-sample scales (e.g.
    ``rng.uniform(0, 1, N)`` for training noise).  Independent noises add in
    variance, so the stored scale becomes
    :math:`\sqrt{\text{noise}^2 + \text{scale}^2}` (just ``scale`` on clean data).
    """
    if not isinstance(data, MultimodalData):
        raise TypeError(f"data: expected a MultimodalData, got {type(data).__name__}")
    m = data.modality_index(modality)
    _check_rng(rng)
    n = len(data)
    if isinstance(scale, numbers.Real) and not isinstance(scale, bool):
        check_positive("scale", scale, allow_zero=True)
        s = np.full(n, float(scale))
    else:
        s = np.asarray(check_array("scale", scale, shape=(n,), dtype_kind="fiu"), dtype=float)
        if np.any(s < 0):
            raise ValueError("scale: expected scales >= 0, got a negative value")
    xs = list(data.xs)
    xs[m] = xs[m] + s[:, None] * rng.standard_normal(xs[m].shape)
    noise = data.noise.copy()
    noise[m] = np.sqrt(noise[m] ** 2 + s ** 2)
    return MultimodalData(xs, data.y, noise, data.n_classes, data.names)


def noise_sweep(data, rng, levels, noisy, other=0.0):
    """One noisy copy of ``data`` per level: noise ``level`` on the view(s) ``noisy``, ``other`` on the rest.

    ``noisy`` is a view name or index, or a list of them (any subset).  Every
    level reuses the same unit draws (common random numbers: one child seed
    from ``rng``), so differences between levels come from the scale alone.
    """
    if not isinstance(data, MultimodalData):
        raise TypeError(f"data: expected a MultimodalData, got {type(data).__name__}")
    _check_rng(rng)
    noisy = _view_indices("noisy", noisy, data.names)
    levels = _check_levels(levels)
    check_positive("other", other, allow_zero=True)
    child = int(rng.integers(2 ** 63 - 1))
    out = []
    for lvl in levels:
        r = np.random.default_rng(child)
        d = data
        for m in range(data.n_modalities):
            d = add_noise(d, m, lvl if m in noisy else other, r)
        out.append(d)
    return out


def digits_sweep(data, rng, levels=DIGITS_LEVELS, noisy="left", other=0.0):
    """:func:`noise_sweep` with the digits' default levels (kept for the two-view digits)."""
    return noise_sweep(data, rng, levels, noisy, other)


# ------------------------------------------------------------- benchmarks
@dataclass
class Benchmark:
    """A data set with its test protocol: what ``demo --data NAME`` runs.

    Attributes
    ----------
    name : str
    train, test : MultimodalData
        Clean training and test sets (the toy's test views carry ``other`` noise in the sweeps).
    unit : float
        The data's noise unit, :func:`noise_unit` of the clean training
        set.  Every noise scale below is a multiple of it, so one rule
        serves every data set.
    levels : tuple of float
        Test noise scales of each sweep (``TOY_LEVELS`` times ``unit``).
    train_noise : float
        Upper end of the training noise scale U(0, train_noise) (3 ``unit``).
    other : float
        Noise on the views a sweep leaves alone (the toy: 1 ``unit``, as SPEC
        §11; real data: 0).
    sweeps : tuple of tuple of int
        The noisy views of each sweep: every single view, and for M >= 3
        also the first half of the views (rounded up) together.
    """

    name: str
    train: MultimodalData
    test: MultimodalData
    unit: float
    levels: tuple
    train_noise: float
    other: float
    sweeps: tuple


BENCHMARKS = ("toy", "toy3", "digits", "digits4", "cancer")
"""Names accepted by :func:`load_benchmark` (and ``demo --data``)."""


def noise_unit(data):
    """The root mean square of every feature value of ``data``: noise of scale ``s * unit`` then has signal-to-noise ratio 1/s^2.

    The toy's views are scaled to unit RMS (SPEC §11), so its unit is 1.
    """
    return float(np.sqrt(np.mean(np.concatenate([(x ** 2).ravel() for x in data.xs]))))


def load_benchmark(name, seed=0, n_train=None, n_test=None):
    """The data set ``name`` (one of :data:`BENCHMARKS`) with its sweeps, noise unit and levels.

    ``toy``/``toy3``: the toy problem with 2 / 3 views (problem seed
    ``seed``; ``n_train``/``n_test`` samples, default 4000/2000), clean
    training data.  ``digits``: digits halves; ``digits4``: digits
    quadrants; ``cancer``: breast-cancer feature groups (their sizes are
    fixed).  The rule for every set: training noise U(0, 3 unit), test
    levels (0, 1, 2, 3, 4, 6) unit.
    """
    check_choice("data", name, BENCHMARKS)
    if name in ("toy", "toy3"):
        prob = ToyProblem(seed=seed, n_views=2 if name == "toy" else 3)
        rng = np.random.default_rng([seed, 7])
        n_train = 4000 if n_train is None else _check_count("n_train", n_train)
        n_test = 2000 if n_test is None else _check_count("n_test", n_test)
        train = prob.sample(n_train, rng, noise=[0.0] * prob.n_views)
        test = prob.sample(n_test, rng, noise=[0.0] * prob.n_views)
        other_units = 1.0
    else:
        if name == "cancer":
            train, test = load_breast_cancer_views(seed)
        else:
            train, test = load_digits_views("halves" if name == "digits" else "quadrants", seed)
        if n_train is not None:
            train = train.subset(np.arange(min(_check_count("n_train", n_train), len(train))))
        other_units = 0.0
    unit = noise_unit(train)
    M = train.n_modalities
    sweeps = tuple((m,) for m in range(M)) + ((tuple(range((M + 1) // 2)),) if M >= 3 else ())
    return Benchmark(name, train, test, unit, tuple(lv * unit for lv in TOY_LEVELS), 3.0 * unit,
                     other_units * unit, sweeps)
