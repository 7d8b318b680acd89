"""LightGBM and XGBoost models converted into the tree kernels, equal to the libraries' predict."""

import hashlib
import warnings

import httpx
import joblib
import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm", reason="lightgbm is in the test extra (./dev test installs it)")
xgb = pytest.importorskip("xgboost", reason="xgboost is in the test extra (./dev test installs it)")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit import Conduit, LiveServer
from conduit.ml import compile, load_model

# XGBoost computes in float32 (inputs, sums, the sigmoid): equal within 1e-6 relative, with an
# absolute floor for values near 0 where float32 rounding alone is more than 1e-6 relative.
XGB_TOL = dict(rtol=1e-6, atol=1e-6)
FEATURE_TYPES = ["q", "q", "q", "c", "q"]


def make_data(seed, n=300):
    """Five features: numbers with NaN and exact zeros, and one categorical (codes 0..5)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    X[:, 3] = rng.integers(0, 6, n)
    X[rng.random(n) < 0.1, 0] = np.nan
    X[rng.random(n) < 0.1, 3] = np.nan
    X[rng.random(n) < 0.2, 2] = 0.0
    score = X[:, 1] + (X[:, 3] == 2) + 0.5 * np.nan_to_num(X[:, 0]) + 0.3 * rng.normal(size=n)
    return X, score


def unseen(seed, n=200):
    """Rows unlike the training data: NaN everywhere, unseen and negative categories, zeros."""
    rng = np.random.default_rng(seed + 1000)
    T = rng.normal(scale=1.5, size=(n, 5))
    T[:, 3] = rng.integers(-1, 9, n)
    T[rng.random(n) < 0.15] = np.nan
    T[rng.random(n) < 0.15, 2] = 0.0
    return T


def labels_for(score, classes):
    return np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))


@given(seed=st.integers(0, 10_000), trees=st.integers(1, 8), leaves=st.integers(2, 8),
       task=st.sampled_from(["regression", "binary", "multiclass"]),
       missing=st.sampled_from(["nan", "zero", "none"]))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_lightgbm_equal_to_its_predict(seed, trees, leaves, task, missing):
    X, score = make_data(seed)
    options = dict(n_estimators=trees, num_leaves=leaves, min_child_samples=3, verbose=-1,
                   zero_as_missing=missing == "zero", use_missing=missing != "none")
    T = unseen(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task == "regression":
            model = lgb.LGBMRegressor(**options).fit(X, score, categorical_feature=[3])
            np.testing.assert_allclose(compile(model).predict(T), model.predict(T), rtol=1e-6)
        else:
            model = lgb.LGBMClassifier(**options).fit(X, labels_for(score, 2 if task == "binary" else 3),
                                                      categorical_feature=[3])
            compiled = compile(model)
            np.testing.assert_allclose(compiled.predict_proba(T), model.predict_proba(T), rtol=1e-6)
            np.testing.assert_array_equal(compiled.predict(T), model.predict(T))
        booster = model.booster_
        np.testing.assert_allclose(compile(booster).predict(T), booster.predict(T), rtol=1e-6)
    assert compile(model).path == "compiled" and compile(model).kind == "forest"


@given(seed=st.integers(0, 10_000), trees=st.integers(1, 8), depth=st.integers(1, 4),
       task=st.sampled_from(["reg:squarederror", "binary:logistic", "multi:softprob", "multi:softmax"]),
       onehot=st.sampled_from([1, 8]))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_xgboost_booster_equal_to_its_predict(seed, trees, depth, task, onehot):
    X, score = make_data(seed)
    target = score if task.startswith("reg") else labels_for(score, 2 if task.startswith("binary") else 3)
    params = {"objective": task, "max_depth": depth, "tree_method": "hist", "max_cat_to_onehot": onehot}
    if task.startswith("multi"):
        params["num_class"] = 3
    data = xgb.DMatrix(X, target, feature_types=FEATURE_TYPES, enable_categorical=True)
    booster = xgb.train(params, data, trees)
    T = unseen(seed)
    expected = booster.predict(xgb.DMatrix(T, feature_types=FEATURE_TYPES, enable_categorical=True))
    compiled = compile(booster)
    assert compiled.path == "compiled"
    np.testing.assert_allclose(compiled.predict(T), expected, **XGB_TOL)


@pytest.mark.parametrize("classes", [2, 3])
def test_xgboost_sklearn_wrappers(classes):
    X, score = make_data(5)
    T = unseen(5)
    model = xgb.XGBClassifier(n_estimators=15, max_depth=3).fit(X, labels_for(score, classes))
    compiled = compile(model)
    np.testing.assert_array_equal(compiled.predict(T), model.predict(T))
    np.testing.assert_allclose(compiled.predict_proba(T), model.predict_proba(T), **XGB_TOL)
    regressor = xgb.XGBRegressor(n_estimators=15, max_depth=3).fit(X, score)
    np.testing.assert_allclose(compile(regressor).predict(T), regressor.predict(T), **XGB_TOL)


def test_unsupported_objective_falls_back_with_a_reason():
    X, score = make_data(2)
    model = lgb.LGBMRegressor(objective="poisson", n_estimators=3, verbose=-1).fit(X, np.abs(score))
    compiled = compile(model)
    assert compiled.path == "fallback" and "poisson" in compiled.reason
    np.testing.assert_allclose(compiled.predict(np.nan_to_num(X)), model.predict(np.nan_to_num(X)))


def test_loaded_from_their_own_files_and_joblib(tmp_path):
    X, score = make_data(9)
    T = unseen(9)
    y = labels_for(score, 2)
    lgb_model = lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, y, categorical_feature=[3])
    text = tmp_path / "model.txt"
    lgb_model.booster_.save_model(text)
    digest = hashlib.sha256(text.read_bytes()).hexdigest()
    booster = load_model(text, format="lightgbm", sha256=digest)
    np.testing.assert_allclose(compile(booster).predict(T), lgb_model.booster_.predict(T), rtol=1e-6)

    xgb_model = xgb.XGBClassifier(n_estimators=10, max_depth=3).fit(X, y)
    for name, fmt in (("model.ubj", None), ("model.json", "xgboost")):
        path = tmp_path / name
        xgb_model.get_booster().save_model(path)
        loaded = load_model(path, format=fmt)
        np.testing.assert_allclose(compile(loaded).predict(T), xgb_model.predict_proba(T)[:, 1], **XGB_TOL)

    for model in (lgb_model, xgb_model):
        path = tmp_path / f"{type(model).__name__}.joblib"
        joblib.dump(model, path)
        loaded = load_model(path, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
        np.testing.assert_array_equal(compile(loaded).predict(T), model.predict(T))


def test_served_over_http_equal_to_the_libraries():
    X, score = make_data(4)
    y = labels_for(score, 3)
    T = unseen(4)[:40]
    lgb_model = lgb.LGBMClassifier(n_estimators=12, verbose=-1).fit(X, y, categorical_feature=[3])
    xgb_model = xgb.XGBRegressor(n_estimators=12, max_depth=3).fit(X, score)
    app = Conduit()
    app.predict("/predict/lgb", lgb_model, name="lgb")
    app.predict("/predict/xgb", xgb_model, name="xgb")
    rows = [[None if np.isnan(v) else float(v) for v in row] for row in T]
    with LiveServer(app) as server:
        a = httpx.post(server.url + "/predict/lgb", json={"rows": rows, "probabilities": True}).json()
        b = httpx.post(server.url + "/predict/xgb", json={"rows": rows}).json()
        described = httpx.get(server.url + "/models/lgb").json()["versions"][0]
    assert a["predictions"] == lgb_model.predict(T).tolist()
    np.testing.assert_allclose(a["probabilities"], lgb_model.predict_proba(T), rtol=1e-6)
    np.testing.assert_allclose(b["predictions"], xgb_model.predict(T), **XGB_TOL)
    assert described["path"] == "compiled" and described["kind"] == "forest"
