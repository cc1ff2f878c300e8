r"""Evaluation metrics (SPEC §12): accuracy, macro-F1, NLL, Brier, ECE and the
reliability curve, risk-coverage / AURC, Spearman rank correlation, and
robustness as the normalised area under the accuracy-vs-noise curve.

Where scikit-learn or SciPy has the metric (accuracy, F1, NLL, Brier,
Spearman, the trapezoid rule) it computes it; what no library has is written
out here: the equal-width-bin ECE with its reliability curve, and the
risk-coverage curve with its area (AURC).

Metrics run on the host: inputs are converted to NumPy (``to_numpy``, so CuPy
arrays work too) and every function returns a Python float or NumPy arrays.
``probs`` is always an (N, K) matrix of class probabilities (rows sum to 1);
``y`` integer labels (N,) in ``0 .. K-1``.
"""
from __future__ import annotations

import numpy as np

from ..backend import to_numpy
from ..validation import check_array, check_labels

__all__ = [
    "accuracy",
    "macro_f1",
    "nll",
    "brier",
    "reliability_curve",
    "ece",
    "risk_coverage_curve",
    "aurc",
    "spearman",
    "robustness_auc",
]

NLL_CLIP = 1e-12
"""Probabilities are clipped below at this value in :func:`nll` (log 0 = -inf)."""


# ----------------------------------------------------------------- checks
def _probs(probs, name="probs"):
    p = to_numpy(probs)
    check_array(name, p, ndim=2, dtype_kind="f")
    if p.shape[0] < 1 or p.shape[1] < 2:
        raise ValueError(f"{name}: expected shape (N, K) with N >= 1 and K >= 2, got {p.shape}")
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError(f"{name}: expected probabilities in [0, 1]")
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError(f"{name}: expected rows that sum to 1 (class probabilities); "
                         f"got row sums in [{p.sum(axis=1).min():.6g}, {p.sum(axis=1).max():.6g}]")
    return p


def _labels(y, n, k, name="y"):
    y = to_numpy(y)
    check_labels(name, y, n_samples=n, n_classes=k)
    return y


def _pred(pred, name):
    """Class predictions: integer labels (N,) or probabilities/scores (N, K) -> argmax."""
    p = to_numpy(pred)
    check_array(name, p, ndim=(1, 2))
    if p.ndim == 2:
        return np.argmax(p, axis=1), p.shape[1]
    if p.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integer class predictions (N,) or scores (N, K), got dtype {p.dtype}")
    return p, None


def _vector(name, x, n=None):
    v = to_numpy(x)
    check_array(name, v, ndim=1, dtype_kind="fiub")
    if v.shape[0] < 1:
        raise ValueError(f"{name}: expected at least one value, got an empty array")
    if n is not None and v.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values (one per sample), got {v.shape[0]}")
    return v.astype(float)


def _n_bins(n_bins):
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins: expected an integer >= 1, got {n_bins!r}")
    return n_bins


# -------------------------------------------------------- classification
# Accuracy, F1, NLL and Brier are scikit-learn's; the wrappers check the input
# (a ValueError naming the argument) and fix the conventions the paper's tables use.
def accuracy(probs_or_pred, y):
    r"""Fraction of correct predictions, :math:`\frac1N\sum_i \mathbb 1[\hat y_i = y_i]` (``sklearn.metrics.accuracy_score``).

    ``probs_or_pred``: predicted labels (N,) or scores (N, K), whose argmax
    is the prediction (ties go to the lowest class, as ``np.argmax``).
    """
    from sklearn.metrics import accuracy_score  # imported here: scikit-learn is slow to import

    pred, k = _pred(probs_or_pred, "probs_or_pred")
    y = _labels(y, pred.shape[0], k)
    return float(accuracy_score(y, pred))


def macro_f1(pred, y, n_classes):
    r"""Unweighted mean over classes of :math:`F_1^k = \frac{2\,TP_k}{2\,TP_k + FP_k + FN_k}` (``sklearn.metrics.f1_score``).

    Classes that occur neither in ``y`` nor in ``pred`` (0/0) are left out
    of the mean: ``f1_score(average="macro")`` with its default labels, the
    classes present in either.  ``pred``: labels (N,) or scores (N, K).
    """
    from sklearn.metrics import f1_score

    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes: expected an integer >= 2, got {n_classes!r}")
    pred, k = _pred(pred, "pred")
    if k is not None and k != n_classes:
        raise ValueError(f"pred: expected scores with {n_classes} columns (n_classes), got {k}")
    _labels(pred, None, n_classes, name="pred")
    y = _labels(y, pred.shape[0], n_classes)
    # zero_division=0: a class never predicted (or never true) scores F1 = 2 TP/(2 TP + FP + FN) = 0, no warning
    return float(f1_score(y, pred, average="macro", zero_division=0))


def nll(probs, y):
    r"""Mean negative log-likelihood :math:`-\frac1N\sum_i \log p_{i, y_i}` (``sklearn.metrics.log_loss``).

    Numerics: probabilities are clipped below at :data:`NLL_CLIP` = 1e-12
    before ``log_loss`` sees them, so a confident mistake costs at most
    :math:`-\log 10^{-12} \approx 27.6` instead of inf (``log_loss`` alone
    clips at the machine epsilon of the input's dtype, which would make the
    cap depend on float32 or float64).
    """
    from sklearn.metrics import log_loss

    p = _probs(probs).astype(np.float64)
    y = _labels(y, p.shape[0], p.shape[1])
    # positional: the second argument was renamed (y_pred -> y_proba) in scikit-learn 1.9
    return float(log_loss(y, np.maximum(p, NLL_CLIP), labels=np.arange(p.shape[1])))


def brier(probs, y):
    r"""Multi-class Brier score :math:`\frac1N\sum_i\sum_k (p_{ik} - \mathbb 1[y_i = k])^2`, in [0, 2] (``sklearn.metrics.brier_score_loss``).

    Unscaled for every K, two classes included (``scale_by_half=False``; with
    ``"auto"`` scikit-learn halves the two-class score).
    """
    from sklearn.metrics import brier_score_loss

    p = _probs(probs).astype(np.float64)
    y = _labels(y, p.shape[0], p.shape[1])
    return float(brier_score_loss(y, p, labels=np.arange(p.shape[1]), scale_by_half=False))


# ------------------------------------------------------ calibration
# No library has ECE with these bins or the reliability curve behind it:
# written out here, each tested against a worked example.
def reliability_curve(probs, y, n_bins=15):
    r"""Per-bin mean confidence, accuracy and count for a reliability diagram.

    Confidence :math:`c_i = \max_k p_{ik}`, prediction :math:`\arg\max_k p_{ik}`.
    ``n_bins`` equal-width bins on [0, 1]: bin b holds
    :math:`c \in (b/B, (b+1)/B]` (bin 0 also holds c = 0); edges are
    ``np.linspace(0, 1, n_bins + 1)``.

    Returns
    -------
    confidence, accuracy : (n_bins,) float
        Mean confidence and accuracy of each bin (NaN for an empty bin).
    count : (n_bins,) int
    """
    p = _probs(probs)
    y = _labels(y, p.shape[0], p.shape[1])
    n_bins = _n_bins(n_bins)
    conf = p.max(axis=1)
    correct = (np.argmax(p, axis=1) == y).astype(float)
    # Right-closed bins: c in (b/B, (b+1)/B] -> b = ceil(c B) - 1.
    b = np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)
    count = np.bincount(b, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(b, weights=conf, minlength=n_bins) / count
        mean_acc = np.bincount(b, weights=correct, minlength=n_bins) / count
    return mean_conf, mean_acc, count


def ece(probs, y, n_bins=15):
    r"""Expected calibration error with equal-width confidence bins (SPEC §12: 15 bins).

    .. math:: \mathrm{ECE} = \sum_b \frac{n_b}{N}\,\bigl|\mathrm{acc}_b - \mathrm{conf}_b\bigr|

    over the non-empty bins of :func:`reliability_curve`.
    """
    conf, acc, count = reliability_curve(probs, y, n_bins)
    used = count > 0
    return float(np.sum(count[used] / count.sum() * np.abs(acc[used] - conf[used])))


# ------------------------------------------------------- selective risk
def risk_coverage_curve(confidence, correct, uncertainty=False):
    r"""Risk (error rate) of the k most confident samples, for k = 1..N.

    Samples are ranked by decreasing confidence (or increasing
    uncertainty when ``uncertainty=True``).  Coverage :math:`k/N`, risk
    :math:`r_k = (\text{errors among the top } k)/k`.  Tied scores have no
    order, so within a tied group the error count grows linearly — the
    expected risk over a random order of the ties; the curve does not depend
    on how the sort breaks ties.

    Returns ``coverage`` (N,), ``risk`` (N,).
    """
    s = _vector("confidence", confidence)
    c = _vector("correct", correct, n=s.shape[0])
    if not np.all((c == 0) | (c == 1)):
        raise ValueError("correct: expected 0/1 or boolean values")
    key = s if uncertainty else -s
    order = np.argsort(key, kind="stable")
    key, err = key[order], 1.0 - c[order]
    n = key.shape[0]
    # Tie groups: start index and size of the group of each position.
    new_group = np.r_[True, key[1:] != key[:-1]]
    starts = np.flatnonzero(new_group)
    sizes = np.diff(np.r_[starts, n])
    group = np.cumsum(new_group) - 1
    errs_before = np.r_[0.0, np.cumsum(err)][starts]          # errors ranked above each group
    group_errs = np.add.reduceat(err, starts)
    pos_in_group = np.arange(n) - starts[group] + 1          # 1..size
    errors_k = errs_before[group] + pos_in_group * group_errs[group] / sizes[group]
    k = np.arange(1, n + 1)
    return k / n, errors_k / k


def aurc(confidence_or_uncertainty, correct, uncertainty=False):
    r"""Area under the risk-coverage curve (Geifman et al., 2019); lower is better.

    Convention: the mean of the risks at the N coverages k/N,

    .. math:: \mathrm{AURC} = \frac1N \sum_{k=1}^{N} r_k,

    with :math:`r_k` from :func:`risk_coverage_curve` (ties averaged).  The
    first argument is a confidence (higher = more sure) unless
    ``uncertainty=True`` (higher = less sure, e.g. a predicted variance).
    A perfect ranking of e errors among N gives the minimum
    :math:`\frac1N\sum_{k>N-e} (k-N+e)/k`; a random one about the error rate.
    """
    _, risk = risk_coverage_curve(confidence_or_uncertainty, correct, uncertainty=uncertainty)
    return float(np.mean(risk))


# ------------------------------------------------------ rank correlation
def spearman(a, b):
    r"""Spearman rank correlation: the Pearson correlation of the ranks, ties averaged (``scipy.stats.spearmanr``).

    .. math:: \rho = \frac{\sum_i (R_i - \bar R)(S_i - \bar S)}
                         {\sqrt{\sum_i (R_i - \bar R)^2 \sum_i (S_i - \bar S)^2}}

    SPEC §12 uses it between injected noise and predicted uncertainty.  A
    constant input has no ranking: ``ValueError`` naming it (``spearmanr``
    would warn and return NaN).
    """
    from scipy.stats import spearmanr

    a = _vector("a", a)
    b = _vector("b", b, n=a.shape[0])
    if a.shape[0] < 2:
        raise ValueError("a: expected at least 2 values for a rank correlation")
    for name, v in (("a", a), ("b", b)):
        if np.all(v == v[0]):
            raise ValueError(f"{name}: all values are equal; the rank correlation is undefined")
    return float(spearmanr(a, b)[0])


# -------------------------------------------------------------- robustness
def robustness_auc(levels, accuracies):
    r"""Mean accuracy over the noise range: trapezoid area under accuracy-vs-noise / range (``scipy.integrate.trapezoid``).

    .. math:: R = \frac{1}{s_L - s_1} \sum_{l=1}^{L-1} (s_{l+1} - s_l)\,\frac{a_l + a_{l+1}}{2}

    ``levels`` strictly increasing (at least two); a flat curve at a gives a.
    """
    from scipy.integrate import trapezoid

    s = _vector("levels", levels)
    a = _vector("accuracies", accuracies, n=s.shape[0])
    if s.shape[0] < 2:
        raise ValueError("levels: expected at least 2 noise levels")
    if np.any(np.diff(s) <= 0):
        raise ValueError("levels: expected strictly increasing noise levels")
    return float(trapezoid(a, s) / (s[-1] - s[0]))
