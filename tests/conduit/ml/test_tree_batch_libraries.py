"""Batches large enough for the parallel lock-step walk equal each library's own predict:
deep scikit-learn forests (the early exit), LightGBM with NaN-as-zero splits (plain trees
through the compact table), XGBoost's float32 thresholds."""

import warnings

import numpy as np
import pytest

from conduit.ml import compile
from conduit_kernels.linear import PARALLEL_MIN_ROWS

lgb = pytest.importorskip("lightgbm", reason="LightGBM is in the test extra")
xgb = pytest.importorskip("xgboost", reason="XGBoost is in the test extra")


@pytest.fixture
def data():
    rng = np.random.default_rng(23)
    X = rng.normal(size=(2 * PARALLEL_MIN_ROWS + 13, 6))
    y = (X[:, 0] + X[:, 1] * X[:, 2] + 0.3 * rng.normal(size=len(X)) > 0).astype(int)
    T = rng.normal(scale=1.3, size=(PARALLEL_MIN_ROWS + 7, 6))
    T[rng.random(T.shape) < 0.05] = np.nan
    return X, y, T


def test_deep_random_forest_batch_equals_scikit_learn(data):
    from sklearn.ensemble import RandomForestClassifier

    X, y, T = data
    X = X.copy()
    X[::17, 3] = np.nan  # scikit-learn >= 1.4 learns a missing side
    model = RandomForestClassifier(12, random_state=0).fit(X, y)
    assert max(e.tree_.max_depth for e in model.estimators_) > 10
    compiled = compile(model)
    np.testing.assert_array_equal(compiled.predict_proba(T), model.predict_proba(T))
    np.testing.assert_array_equal(compiled.predict(T), model.predict(T))


@pytest.mark.parametrize("use_missing", [True, False])
def test_lightgbm_batch_equals_its_predict(data, use_missing):
    X, y, T = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lgb.LGBMClassifier(n_estimators=25, num_leaves=63, min_child_samples=3, verbose=-1,
                                   use_missing=use_missing).fit(X, y)
        expected = model.predict_proba(T)
    np.testing.assert_allclose(compile(model).predict_proba(T), expected, rtol=1e-12, atol=1e-15)


def test_xgboost_batch_equals_its_predict(data):
    X, y, T = data
    model = xgb.XGBClassifier(n_estimators=25, max_depth=8).fit(X, y)
    compiled = compile(model)
    np.testing.assert_allclose(compiled.predict_proba(T), model.predict_proba(T), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(compiled.predict(T), model.predict(T))


@pytest.mark.parametrize("max_depth", [2, 6, 8])
def test_xgboost_trained_with_missing_values_equals_its_predict(data, max_depth):
    """Trees that learned a NaN side per node (both sides occur) through the complete walk."""
    X, y, T = data
    X = X.copy()
    X[np.random.default_rng(1).random(X.shape) < 0.1] = np.nan
    model = xgb.XGBClassifier(n_estimators=20, max_depth=max_depth).fit(X, y)
    compiled = compile(model)
    for rows in (T, np.nan_to_num(T)):  # blocks with NaN, and without (no NaN test in the walk)
        np.testing.assert_allclose(compiled.predict_proba(rows), model.predict_proba(rows), rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(compiled.predict(rows), model.predict(rows))
