"""The inference and aggregation kernels on their own, against numpy oracles."""

import numpy as np
import pytest

from conduit_kernels._links import LabelRule, Link
from conduit_kernels.ensemble import argmax_rows, hard_vote, mean_vote, median_vote, soft_vote
from conduit_kernels.linear import linear_labels, linear_scores
from conduit_kernels.preprocessing import (
    FINITE,
    HAS_INF,
    HAS_NAN,
    affine_stage,
    affine_transform,
    check_finite,
    no_preprocessing,
)
from conduit_kernels.trees import forest_labels, forest_scores, make_forest


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def test_affine_chain_matches_numpy(rng):
    X = rng.normal(size=(7, 3))
    X[2, 1] = np.nan
    mean, scale, mul, add = rng.normal(size=(4, 3))
    pre = np.concatenate([
        affine_stage(3, subtract=mean, divide=np.abs(scale) + 0.1),
        affine_stage(3, multiply=mul, add=add, clip=(-0.5, 0.5)),
    ])
    want = np.clip(((X - mean) / (np.abs(scale) + 0.1)) * mul + add, -0.5, 0.5)
    np.testing.assert_array_equal(affine_transform(X, pre), want)


def test_check_finite():
    assert check_finite(np.zeros((2, 2))) == FINITE
    assert check_finite(np.array([[0.0, np.nan]])) == HAS_NAN
    assert check_finite(np.array([[np.nan, -np.inf]])) == HAS_INF


def test_linear_links(rng):
    X = rng.normal(size=(9, 4))
    coef, intercept = rng.normal(size=(3, 4)), rng.normal(size=3)
    pre = no_preprocessing(4)
    raw = X @ coef.T + intercept
    np.testing.assert_allclose(linear_scores(X, coef, intercept, pre, Link.IDENTITY), raw, rtol=1e-13)
    soft = np.exp(raw - raw.max(1, keepdims=True))
    np.testing.assert_allclose(linear_scores(X, coef, intercept, pre, Link.SOFTMAX),
                               soft / soft.sum(1, keepdims=True), rtol=1e-13)
    np.testing.assert_array_equal(linear_labels(X, coef, intercept, pre, LabelRule.ARGMAX),
                                  raw.argmax(1))
    p = 1 / (1 + np.exp(-raw[:, :1]))
    np.testing.assert_allclose(linear_scores(X, coef[:1], intercept[:1], pre, Link.LOGISTIC),
                               np.hstack([1 - p, p]), rtol=1e-13)


def test_stump_forest_nan_and_float32_compare():
    # x0 <= 0.1 ? 1 : 2, NaN goes right; threshold sits between float32 neighbours.
    thr = float(np.float32(0.1))
    forest = make_forest(
        [(np.array([0, 0, 0]), np.array([thr, 0.0, 0.0]), np.array([1, -1, -1]),
          np.array([2, -1, -1]), np.array([0, 0, 0]), np.array([[1.0], [1.0], [2.0]]), 0)],
        np.zeros(1), compare32=True,
    )
    X = np.array([[0.1], [0.2], [np.nan], [-1.0]])
    out = forest_scores(X, *forest, no_preprocessing(1), Link.IDENTITY)
    # 0.1 rounds to float32(0.1) == thr, so it goes left like scikit-learn's trees.
    assert out.ravel().tolist() == [1.0, 2.0, 2.0, 1.0]
    labels = forest_labels(X, *forest, no_preprocessing(1), LabelRule.POSITIVE)
    assert labels.tolist() == [1, 1, 1, 1]


def test_make_forest_rejects_bad_columns():
    with pytest.raises(ValueError, match="outside init"):
        make_forest([(np.array([-2]), np.array([0.0]), np.array([-1]), np.array([-1]),
                      np.array([0]), np.array([[1.0]]), 3)], np.zeros(1))


def test_votes_match_numpy(rng):
    probas = rng.random((3, 10, 4))
    w = np.array([0.5, 2.0, 1.0])
    np.testing.assert_allclose(soft_vote(probas, w, True), np.average(probas, axis=0, weights=w),
                               rtol=1e-15)
    np.testing.assert_allclose(soft_vote(probas, w, False), probas.mean(axis=0), rtol=1e-15)
    labels = rng.integers(0, 4, size=(3, 10))
    want = [np.argmax(np.bincount(labels[:, i], weights=w, minlength=4)) for i in range(10)]
    assert hard_vote(labels, w, 4).tolist() == want
    preds = rng.normal(size=(4, 10))
    np.testing.assert_allclose(mean_vote(preds, np.ones(4), False), preds.mean(0), rtol=1e-15)
    np.testing.assert_allclose(median_vote(preds), np.median(preds, axis=0), rtol=1e-15)
    scores = rng.normal(size=(5, 3))
    assert argmax_rows(scores).tolist() == scores.argmax(1).tolist()


# --- split kinds (LightGBM / XGBoost) -----------------------------------------------------

from conduit_kernels.trees import Split  # noqa: E402


def _stump(kind, threshold, missing_left, sets=()):
    # one split on x0: left leaf 1.0, right leaf 2.0
    return make_forest([(np.array([0, -2, -2]), np.array([threshold, 0.0, 0.0]), np.array([1, -1, -1]),
                         np.array([2, -1, -1]), np.array([missing_left, 0, 0]),
                         np.array([[0.0], [1.0], [2.0]]), 0, np.array([kind, 0, 0]), list(sets))],
                       np.zeros(1))


SPLIT_CASES = [
    # (kind, threshold, missing_left, sets, x, expected leaf value)
    (Split.NUMERIC, 0.5, 1, (), np.nan, 1.0),
    (Split.NUMERIC, 0.5, 0, (), np.nan, 2.0),
    (Split.NAN_AS_ZERO, 0.5, 0, (), np.nan, 1.0),      # NaN -> 0.0 <= 0.5
    (Split.NAN_AS_ZERO, -0.5, 1, (), np.nan, 2.0),     # NaN -> 0.0 > -0.5, missing side ignored
    (Split.ZERO_AS_MISSING, 0.5, 0, (), 0.0, 2.0),     # zero is missing -> right
    (Split.ZERO_AS_MISSING, 0.5, 0, (), np.nan, 2.0),  # NaN is zero is missing
    (Split.ZERO_AS_MISSING, 0.5, 0, (), 0.25, 1.0),
    (Split.CATEGORY, 0, 0, ([1, 3, 40],), 3.0, 1.0),
    (Split.CATEGORY, 0, 0, ([1, 3, 40],), 40.0, 1.0),  # second bitset word
    (Split.CATEGORY, 0, 0, ([1, 3, 40],), 2.0, 2.0),
    (Split.CATEGORY, 0, 0, ([1, 3, 40],), 3.7, 1.0),   # truncated to 3
    (Split.CATEGORY, 0, 0, ([1, 3, 40],), -1.0, 2.0),  # negative: not in any set
    (Split.CATEGORY, 0, 0, ([1, 3, 40],), 1e12, 2.0),  # beyond the bitset
    (Split.CATEGORY, 0, 1, ([1, 3, 40],), np.nan, 1.0),
    (Split.CATEGORY, 0, 0, ([1, 3, 40],), np.nan, 2.0),
]


@pytest.mark.parametrize(("kind", "threshold", "missing_left", "sets", "x", "expected"), SPLIT_CASES)
def test_split_kinds(kind, threshold, missing_left, sets, x, expected):
    forest = _stump(kind, threshold, missing_left, sets)
    out = forest_scores(np.array([[x]]), *forest, no_preprocessing(1), Link.IDENTITY)
    assert out[0, 0] == expected


# --- column kernels and SVM, against numpy ---------------------------------------------------

from conduit_kernels.preprocessing import fill_missing, one_hot, ordinal, polynomial  # noqa: E402
from conduit_kernels.svm import SvmKernel, svm_labels, svm_scores  # noqa: E402


def test_fill_missing_and_ordinal(rng):
    X = rng.normal(size=(20, 3))
    X[rng.random(X.shape) < 0.3] = np.nan
    fill = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(fill_missing(X, fill), np.where(np.isnan(X), fill, X))
    codes = np.array([[0.0, 2.0], [-1.0, 1.0], [3.0, -1.0]])
    out = ordinal(codes, np.array([3, -1]), -9.0, np.nan)
    np.testing.assert_array_equal(out, [[0.0, 2.0], [-9.0, 1.0], [np.nan, -9.0]])


def test_one_hot_with_unknown_and_dropped():
    codes = np.array([[1.0, 0.0], [-1.0, 2.0], [0.0, 1.0]])
    # column 0: 3 categories, none dropped; column 1: 3 categories, category 0 dropped
    out = one_hot(codes, np.array([0, 3, 5]), np.array([-1, 0]))
    np.testing.assert_array_equal(out, [[0, 1, 0, 0, 0], [0, 0, 0, 0, 1], [1, 0, 0, 1, 0]])


def test_polynomial_matches_products(rng):
    X = rng.normal(size=(10, 3))
    powers = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [1, 1, 0], [0, 1, 2]])
    expected = np.stack([np.prod(X ** p, axis=1) for p in powers], axis=1)
    np.testing.assert_allclose(polynomial(X, powers), expected, rtol=1e-14)


@pytest.mark.parametrize("kind", list(SvmKernel))
def test_svm_scores_match_numpy(rng, kind):
    X, sv = rng.normal(size=(15, 4)), rng.normal(size=(6, 4))
    dual, intercept = rng.normal(size=(3, 6)), rng.normal(size=3)
    gamma, coef0, degree = 0.3, 0.5, 3.0
    dots = X @ sv.T
    gram = {SvmKernel.LINEAR: dots, SvmKernel.POLY: (gamma * dots + coef0) ** degree,
            SvmKernel.RBF: np.exp(-gamma * ((X[:, None, :] - sv[None]) ** 2).sum(-1)),
            SvmKernel.SIGMOID: np.tanh(gamma * dots + coef0)}[kind]
    params = np.array([kind, gamma, coef0, degree], dtype=np.float64)
    expected = gram @ dual.T + intercept
    out = svm_scores(X, sv, dual, intercept, params, no_preprocessing(4), Link.IDENTITY)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    # three pair decisions -> one-vs-one votes over three classes
    votes = np.zeros((15, 3), dtype=int)
    for pair, (a, b) in enumerate([(0, 1), (0, 2), (1, 2)]):
        votes[np.arange(15), np.where(expected[:, pair] > 0, a, b)] += 1
    labels = svm_labels(X, sv, dual, intercept, params, no_preprocessing(4), LabelRule.OVO_VOTES)
    np.testing.assert_array_equal(labels, votes.argmax(axis=1))
