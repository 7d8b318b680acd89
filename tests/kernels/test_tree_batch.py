"""The batch tree walk (four rows in lock step through the compact node table) against the
one-row walk and against plain comparisons: any batch gives each row what it gets alone."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conduit_kernels._links import LabelRule, Link
from conduit_kernels.preprocessing import no_preprocessing
from conduit_kernels.trees import (
    COMPLETE_DEPTH,
    EARLY_EXIT_DEPTH,
    Split,
    forest_labels,
    forest_labels_parallel,
    forest_scores,
    forest_scores_parallel,
    make_forest,
)

GRID = np.array([-2.0, -0.5, 0.0, 0.1, 0.5, 1.0, 3.0])


def _random_tree(rng, n_features, max_depth, kinds, width):
    feature, threshold, left, right, missing, value, kind = [], [], [], [], [], [], []

    def add(depth):
        at = len(feature)
        for column in (feature, threshold, left, right, missing, kind):
            column.append(0)
        value.append(rng.normal(size=width))
        if depth >= max_depth or (depth > 0 and rng.random() < 0.3):
            feature[at], left[at], right[at] = -1, -1, -1
            return at
        feature[at] = int(rng.integers(n_features))
        threshold[at] = float(rng.choice(GRID))
        missing[at] = int(rng.integers(2))
        kind[at] = int(rng.choice(kinds))
        left[at] = add(depth + 1)
        right[at] = add(depth + 1)
        return at

    add(0)
    return (np.array(feature), np.array(threshold), np.array(left), np.array(right), np.array(missing),
            np.array(value), 0, np.array(kind), [])


def _rows(rng, n, n_features):
    X = rng.choice(np.concatenate([GRID, [np.nan, 0.1 + 1e-9, np.float32(0.1), -0.0]]), size=(n, n_features))
    return np.ascontiguousarray(X)


def _each_row_alone(kernel, X, forest, last):
    return np.concatenate([kernel(X[i:i + 1], *forest, no_preprocessing(X.shape[1]), last) for i in range(len(X))])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 150), compare32=st.booleans(),
       max_depth=st.integers(1, 16), with_categorical_tree=st.booleans())
def test_lock_step_equals_one_row_walk(seed, n, compare32, max_depth, with_categorical_tree):
    """Plain trees (NUMERIC, NAN_AS_ZERO) in lock step give each row what the one-row walk gives it."""
    rng = np.random.default_rng(seed)
    n_features, width = 3, 2
    parts = [_random_tree(rng, n_features, max_depth, [Split.NUMERIC, Split.NAN_AS_ZERO], width)
             for _ in range(5)]
    if with_categorical_tree:
        parts.append(_random_tree(rng, n_features, max_depth, [Split.ZERO_AS_MISSING], width))
    forest = make_forest(parts, rng.normal(size=width), divisor=3.0, compare32=compare32,
                         n_features=n_features)
    X = _rows(rng, n, n_features)
    pre = no_preprocessing(n_features)
    alone = _each_row_alone(forest_scores, X, forest, Link.SOFTMAX)
    np.testing.assert_array_equal(forest_scores(X, *forest, pre, Link.SOFTMAX), alone)
    np.testing.assert_array_equal(forest_scores_parallel(X, *forest, pre, Link.SOFTMAX), alone)
    labels = _each_row_alone(forest_labels, X, forest, LabelRule.ARGMAX)
    np.testing.assert_array_equal(forest_labels_parallel(X, *forest, pre, LabelRule.ARGMAX), labels)


def _stump(threshold, compare32, kind=Split.NUMERIC, missing_left=0):
    return make_forest([(np.array([0, -2, -2]), np.array([threshold, 0.0, 0.0]), np.array([1, -1, -1]),
                         np.array([2, -1, -1]), np.array([missing_left, 0, 0]),
                         np.array([[0.0], [1.0], [2.0]]), 0, np.array([kind, 0, 0]), [])],
                       np.zeros(1), compare32=compare32)


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(threshold=finite | st.sampled_from([np.inf, -np.inf, 3.5e38, -3.5e38, 1e-46]), x=finite)
def test_float32_cut_compares_as_the_library(threshold, x):
    """``float32(x) <= threshold`` in float64 (scikit-learn, XGBoost) is what the float32 cut answers,
    for thresholds between float32 neighbours and past float32's range, at x near the threshold."""
    with np.errstate(over="ignore"):
        t32 = np.float32(threshold) if np.isfinite(np.float32(threshold)) else np.float32(0.0)
        near = [x, threshold, float(t32), float(np.nextafter(t32, np.float32(np.inf))),
                float(np.nextafter(t32, np.float32(-np.inf))), np.inf, -np.inf]
    X = np.array([[v] for v in near] * 2)  # 14 rows: lock step and the one-row walk
    with np.errstate(over="ignore"):
        as32 = X[:, 0].astype(np.float32).astype(np.float64)
    expected = np.where(as32 <= threshold, 1.0, 2.0)
    out = forest_scores(X, *_stump(threshold, True), no_preprocessing(1), Link.IDENTITY)
    np.testing.assert_array_equal(out[:, 0], expected)


@pytest.mark.parametrize(("kind", "threshold", "missing_left", "x", "expected"), [
    (Split.NUMERIC, 0.5, 1, np.nan, 1.0),
    (Split.NUMERIC, 0.5, 0, np.nan, 2.0),
    (Split.NAN_AS_ZERO, 0.5, 0, np.nan, 1.0),   # NaN -> 0.0 <= 0.5
    (Split.NAN_AS_ZERO, -0.5, 1, np.nan, 2.0),  # NaN -> 0.0 > -0.5, missing side ignored
    (Split.NAN_AS_ZERO, 0.0, 0, np.nan, 1.0),   # 0.0 <= 0.0
    (Split.NUMERIC, 0.5, 0, 0.5, 1.0),
])
@pytest.mark.parametrize("compare32", [False, True])
def test_split_kinds_in_lock_step(kind, threshold, missing_left, x, expected, compare32):
    X = np.full((9, 1), x)  # eight rows in lock step, one left over for the one-row walk
    out = forest_scores(X, *_stump(threshold, compare32, kind, missing_left), no_preprocessing(1), Link.IDENTITY)
    assert out[:, 0].tolist() == [expected] * 9


def test_deep_unbalanced_tree_reaches_every_leaf():
    """A chain deeper than EARLY_EXIT_DEPTH: four rows leaving at different depths each get their own
    leaf (the early exit waits for all four)."""
    depth = EARLY_EXIT_DEPTH * 3
    # node 2k splits x0 <= k (left: leaf 2k+1 holding k), right: node 2k+2; the last node is a leaf
    n = 2 * depth + 1
    feature = np.array([0 if i % 2 == 0 and i < n - 1 else -1 for i in range(n)])
    threshold = np.array([i // 2 + 0.5 if feature[i] == 0 else 0.0 for i in range(n)])
    left = np.array([i + 1 if feature[i] == 0 else -1 for i in range(n)])
    right = np.array([i + 2 if feature[i] == 0 else -1 for i in range(n)])
    value = np.array([[float(i // 2)] if feature[i] < 0 else [0.0] for i in range(n)])
    forest = make_forest([(feature, threshold, left, right, np.zeros(n), value, 0)], np.zeros(1))
    X = np.array([[0.0], [depth - 1.0], [5.0], [depth + 9.0], [1.0], [17.0], [2.0], [3.0]])
    out = forest_scores(X, *forest, no_preprocessing(1), Link.IDENTITY)[:, 0]
    assert out.tolist() == np.minimum(X[:, 0], depth).tolist()


def test_trees_record_depth_and_plainness():
    rng = np.random.default_rng(3)
    plain = _random_tree(rng, 2, 6, [Split.NUMERIC], 1)
    other = _random_tree(rng, 2, 6, [Split.ZERO_AS_MISSING], 1)
    forest = make_forest([plain, other], np.zeros(1))
    assert forest.trees[:, 3].tolist() == [1, 0]
    assert 1 <= forest.trees[0, 2] <= 6
    assert forest.cut.dtype == np.float64
    assert make_forest([plain], np.zeros(1), compare32=True).cut.dtype == np.float32


def _reference_walk(part, x, compare32):
    """The leaf a row reaches, by the split rules written out in Python over the tree's own arrays."""
    feature, threshold, left, right, missing, value, _, kind, _ = part
    node = 0
    while left[node] >= 0:
        v = x[feature[node]]
        if kind[node] == Split.NAN_AS_ZERO and np.isnan(v):
            v = 0.0
        if np.isnan(v):
            go_left = bool(missing[node])
        else:
            go_left = (float(np.float32(v)) if compare32 else v) <= threshold[node]
        node = left[node] if go_left else right[node]
    return value[node]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), compare32=st.booleans(),
       max_depth=st.integers(0, COMPLETE_DEPTH), with_nan=st.booleans())
def test_complete_tree_walk_equals_reference(seed, n, compare32, max_depth, with_nan):
    """Shallow plain trees, unbalanced (leaves above the last level are padded down to it), with
    NaN sent left or right per node, give each row the leaf a Python walk of the tree finds:
    in blocks with NaN and in blocks without (which skip the NaN test)."""
    rng = np.random.default_rng(seed)
    n_features, width = 3, 2
    parts = [_random_tree(rng, n_features, max_depth, [Split.NUMERIC, Split.NAN_AS_ZERO], width)
             for _ in range(4)]
    forest = make_forest(parts, np.zeros(width), compare32=compare32, n_features=n_features)
    assert (forest.trees[:, 4] >= 0).all()  # every tree took the complete walk
    X = _rows(rng, n, n_features)
    if not with_nan:
        X[np.isnan(X)] = 0.1
    expected = np.array([sum(_reference_walk(p, x, compare32) for p in parts) for x in X])
    out = forest_scores(X, *forest, no_preprocessing(n_features), Link.IDENTITY)
    np.testing.assert_array_equal(out, expected)


def test_only_shallow_plain_trees_are_laid_out_complete():
    rng = np.random.default_rng(5)
    shallow = _random_tree(rng, 2, COMPLETE_DEPTH, [Split.NUMERIC], 1)
    other = _random_tree(rng, 2, 4, [Split.ZERO_AS_MISSING], 1)
    depth = COMPLETE_DEPTH + 1  # a chain one level too deep
    n = 2 * depth + 1
    feature = np.array([0 if i % 2 == 0 and i < n - 1 else -1 for i in range(n)])
    chain = (feature, np.zeros(n), np.array([i + 1 if f == 0 else -1 for i, f in enumerate(feature)]),
             np.array([i + 2 if f == 0 else -1 for i, f in enumerate(feature)]), np.zeros(n), np.ones((n, 1)), 0)
    forest = make_forest([shallow, other, chain], np.zeros(1))
    assert (forest.trees[:, 4] >= 0).tolist() == [True, False, False]
    slots = (1 << forest.trees[0, 2]) - 1
    assert forest.heap.shape == (slots, 2) and forest.heap_value.shape == (slots + 1, 1)
