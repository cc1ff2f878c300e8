"""Metrics (SPEC §12): values worked by hand, reference implementations, properties, errors."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mini_eau.lab import metrics as M


# ------------------------------------------------------------- accuracy / F1
def test_accuracy_from_labels_and_from_probs():
    y = np.array([0, 1, 2, 1])
    # 3 of 4 labels right
    assert M.accuracy(np.array([0, 1, 2, 2]), y) == 0.75
    # argmax rows: 0, 1, 1, 1 -> right, right, wrong, right = 3/4
    p = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.5, 0.4], [0.0, 1.0, 0.0]])
    assert M.accuracy(p, y) == 0.75


def test_macro_f1_hand_value():
    # y = 0 0 1 2, pred = 0 1 1 1, K = 3
    # class 0: TP 1, FP 0, FN 1 -> 2/(2+0+1) = 2/3
    # class 1: TP 1, FP 2, FN 0 -> 2/(2+2+0) = 1/2
    # class 2: TP 0, FP 0, FN 1 -> 0
    # mean = (2/3 + 1/2 + 0)/3 = 7/18
    assert M.macro_f1(np.array([0, 1, 1, 1]), np.array([0, 0, 1, 2]), 3) == pytest.approx(7 / 18)


def test_macro_f1_leaves_out_classes_absent_from_both_and_reduces_scores_by_argmax():
    # the hand case above with K = 4: class 3 is neither true nor predicted (0/0) and is
    # left out of the mean, which stays 7/18 (a 0 for it would give 7/24)
    y, pred = np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1])
    assert M.macro_f1(pred, y, 4) == pytest.approx(7 / 18)
    # scores (N, K): their argmax is the prediction
    scores = np.eye(4)[pred] * 0.7 + 0.1
    assert M.macro_f1(scores, y, 4) == pytest.approx(7 / 18)


# ------------------------------------------------------------- NLL / Brier
def test_nll_hand_value_and_clip():
    p = np.array([[0.5, 0.5], [0.25, 0.75]])
    # -(log 0.5 + log 0.75)/2 = (0.693147 + 0.287682)/2 = 0.490415
    assert M.nll(p, np.array([0, 1])) == pytest.approx((math.log(2) - math.log(0.75)) / 2)
    # p_true = 0 is clipped at 1e-12: -log 1e-12 = 27.631, not inf
    assert M.nll(np.array([[1.0, 0.0]]), np.array([1])) == pytest.approx(-math.log(M.NLL_CLIP))
    # the cap does not depend on the dtype (log_loss alone clips at the dtype's epsilon)
    assert M.nll(np.array([[1.0, 0.0]], dtype=np.float32), np.array([1])) == pytest.approx(-math.log(M.NLL_CLIP))
    # three classes, one never predicted nor true: -(log 0.7 + log 0.2)/2
    p3 = np.array([[0.7, 0.3, 0.0], [0.5, 0.2, 0.3]])
    assert M.nll(p3, np.array([0, 1])) == pytest.approx(-(math.log(0.7) + math.log(0.2)) / 2)


def test_brier_hand_values():
    # (0.5-1)^2 + (0.5-0)^2 = 0.5
    assert M.brier(np.array([[0.5, 0.5]]), np.array([0])) == pytest.approx(0.5)
    # confident and wrong: 1 + 1 = 2 (the maximum); right: 0; mean = 1
    assert M.brier(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1, 1])) == pytest.approx(1.0)
    # three classes: (0.2-0)^2 + (0.5-1)^2 + (0.3-0)^2 = 0.04 + 0.25 + 0.09 = 0.38
    assert M.brier(np.array([[0.2, 0.5, 0.3]]), np.array([1])) == pytest.approx(0.38)


# ---------------------------------------------------------------- ECE
def test_ece_three_samples_two_bins():
    p = np.array([[0.8, 0.1, 0.1],    # conf 0.8, pred 0, y 0: right
                  [0.4, 0.3, 0.3],    # conf 0.4, pred 0, y 1: wrong
                  [0.2, 0.7, 0.1]])   # conf 0.7, pred 1, y 1: right
    y = np.array([0, 1, 1])
    # bins [0, 0.5], (0.5, 1]
    # bin 0: {0.4 wrong}: |0 - 0.4| = 0.4, weight 1/3
    # bin 1: {0.8, 0.7 both right}: conf 0.75, acc 1, |1 - 0.75| = 0.25, weight 2/3
    # ECE = 0.4/3 + 0.25*2/3 = 0.3
    assert M.ece(p, y, n_bins=2) == pytest.approx(0.3)
    conf, acc, count = M.reliability_curve(p, y, n_bins=2)
    np.testing.assert_allclose(conf, [0.4, 0.75])
    np.testing.assert_allclose(acc, [0.0, 1.0])
    np.testing.assert_array_equal(count, [1, 2])


def test_ece_perfectly_calibrated_is_zero_and_empty_bins_are_nan():
    # every confidence 0.75 and 3 of 4 right: |0.75 - 0.75| = 0
    p = np.tile([0.75, 0.25], (4, 1))
    y = np.array([0, 0, 0, 1])
    assert M.ece(p, y) == pytest.approx(0.0, abs=1e-15)
    conf, acc, count = M.reliability_curve(p, y)  # 15 bins: 0.75 in (11/15, 12/15] -> bin 11
    assert count.sum() == 4 and count[11] == 4
    assert np.isnan(conf[0]) and np.isnan(acc[0])


def test_ece_bins_are_right_closed():
    # conf exactly 0.5 with 2 bins belongs to bin 0 = [0, 0.5]
    _, _, count = M.reliability_curve(np.array([[0.5, 0.5]]), np.array([0]), n_bins=2)
    np.testing.assert_array_equal(count, [1, 0])


# ---------------------------------------------------------------- AURC
def test_aurc_hand_value_and_uncertainty_convention():
    conf = np.array([0.9, 0.8, 0.7, 0.6])
    correct = np.array([1, 0, 1, 0])
    # top-k risks: k=1: 0/1, k=2: 1/2, k=3: 1/3, k=4: 2/4; mean = (0 + .5 + .3333 + .5)/4 = 1/3
    cov, risk = M.risk_coverage_curve(conf, correct)
    np.testing.assert_allclose(cov, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(risk, [0, 1 / 2, 1 / 3, 1 / 2])
    assert M.aurc(conf, correct) == pytest.approx(1 / 3)
    # an uncertainty ranks the other way round: 1 - conf gives the same curve
    assert M.aurc(1 - conf, correct, uncertainty=True) == pytest.approx(1 / 3)


def test_aurc_ties_are_averaged_over_orders():
    # conf 0.9 (right), then a tie 0.5/0.5 with one right, one wrong.
    # k=1: 0; k=2: expected errors 1/2 over the two orders -> risk 1/4; k=3: 1/3
    # AURC = (0 + 1/4 + 1/3)/3 = 7/36, whichever way the input lists the tie
    assert M.aurc([0.9, 0.5, 0.5], [1, 1, 0]) == pytest.approx(7 / 36)
    assert M.aurc([0.5, 0.5, 0.9], [0, 1, 1]) == pytest.approx(7 / 36)


def test_aurc_perfect_ranking_is_minimal():
    rng = np.random.default_rng(1)
    correct = rng.random(40) < 0.7
    perfect = correct + 0.01 * rng.random(40)        # every right sample above every wrong one
    worst = -perfect
    e, n = (~correct).sum(), 40
    minimum = sum((k - n + e) / k for k in range(n - e + 1, n + 1)) / n
    assert M.aurc(perfect, correct) == pytest.approx(minimum)
    assert M.aurc(worst, correct) > M.aurc(rng.random(40), correct) > M.aurc(perfect, correct)


# ------------------------------------------------------------- Spearman
def test_spearman_with_ties_by_hand():
    a = np.array([1.0, 2.0, 2.0, 3.0])
    b = np.array([10.0, 30.0, 20.0, 40.0])
    # ranks a = 1, 2.5, 2.5, 4 ; ranks b = 1, 3, 2, 4 ; both means 2.5
    # deviations a = -1.5, 0, 0, 1.5 ; b = -1.5, .5, -.5, 1.5
    # sum da*db = 2.25 + 0 + 0 + 2.25 = 4.5 ; sum da^2 = 4.5 ; sum db^2 = 5
    # rho = 4.5 / sqrt(4.5 * 5) = sqrt(0.9) = 0.948683
    assert M.spearman(a, b) == pytest.approx(math.sqrt(0.9))
    assert M.spearman(a, -b) == pytest.approx(-math.sqrt(0.9))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 5), st.floats(-1e3, 1e3)), min_size=3, max_size=30))
def test_spearman_properties(pairs):
    a = np.array([p[0] for p in pairs], dtype=float)
    b = np.array([p[1] for p in pairs])
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return
    rho = M.spearman(a, b)
    assert -1 - 1e-12 <= rho <= 1 + 1e-12
    assert rho == pytest.approx(M.spearman(b, a))
    # invariant under strictly increasing maps (exp; doubling is exact in floating point)
    assert rho == pytest.approx(M.spearman(np.exp(a / 5), 2.0 * b))


# ---------------------------------------------------------- robustness
def test_robustness_auc_hand_value():
    # trapezoids: [0,1]: 1 * (1 + .5)/2 = .75 ; [1,3]: 2 * (.5 + .5)/2 = 1 ; total 1.75 over range 3
    assert M.robustness_auc([0, 1, 3], [1.0, 0.5, 0.5]) == pytest.approx(1.75 / 3)
    # a flat curve is its own mean
    assert M.robustness_auc([0, 1, 2, 3, 4, 6], [0.8] * 6) == pytest.approx(0.8)


# ------------------------------------------------------------- errors
def test_errors_name_the_argument():
    p = np.array([[0.5, 0.5], [0.2, 0.8]])
    y = np.array([0, 1])
    with pytest.raises(ValueError, match="probs: expected rows that sum to 1"):
        M.nll(np.array([[0.5, 0.6], [0.2, 0.8]]), y)
    with pytest.raises(ValueError, match="probs: expected a 2-d array"):
        M.brier(np.array([0.5, 0.5]), y)
    with pytest.raises(ValueError, match=r"y: labels must lie in \[0, 1\]"):
        M.ece(p, np.array([0, 2]))
    with pytest.raises(ValueError, match="y: expected 2 labels"):
        M.accuracy(p, np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="y: expected integer class labels"):
        M.accuracy(p, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="probs_or_pred: expected integer class predictions"):
        M.accuracy(np.array([0.0, 1.0]), y)
    with pytest.raises(ValueError, match="pred: labels must lie"):
        M.macro_f1(np.array([0, 3]), y, 2)
    with pytest.raises(ValueError, match="n_classes"):
        M.macro_f1(np.array([0, 1]), y, 1)
    with pytest.raises(ValueError, match="n_bins"):
        M.ece(p, y, n_bins=0)
    with pytest.raises(ValueError, match="correct: expected 2 values"):
        M.aurc([0.1, 0.2], [1, 0, 1])
    with pytest.raises(ValueError, match="correct: expected 0/1"):
        M.aurc([0.1, 0.2], [1, 2])
    with pytest.raises(ValueError, match="a: all values are equal"):
        M.spearman([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="b: expected 3 values"):
        M.spearman([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="levels: expected strictly increasing"):
        M.robustness_auc([0, 2, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="accuracies: expected 3 values"):
        M.robustness_auc([0, 1, 2], [1, 1])
    with pytest.raises(ValueError, match="levels: contains NaN"):
        M.robustness_auc([0, np.nan], [1, 1])
