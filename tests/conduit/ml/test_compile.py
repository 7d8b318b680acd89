"""compile(estimator) equals the estimator: labels exactly, numbers to a few ulps."""

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")

from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    Ridge,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from conduit.ml import InvalidInput, compile

METHODS = ("predict", "predict_proba", "decision_function", "transform")
N_FEATURES = 6


def _classification(n_classes, nan=False, seed=0):
    X, y = make_classification(
        n_samples=240, n_features=N_FEATURES, n_informative=4, n_classes=n_classes,
        random_state=seed,
    )
    if nan:
        X[np.random.default_rng(seed).random(X.shape) < 0.1] = np.nan
    return X, y


def _regression(n_targets=1, nan=False, seed=0):
    X, y = make_regression(n_samples=240, n_features=N_FEATURES, n_targets=n_targets, random_state=seed)
    if nan:
        X[np.random.default_rng(seed).random(X.shape) < 0.1] = np.nan
    return X, y


CASES = {
    "logistic-binary": (lambda: LogisticRegression(), lambda: _classification(2)),
    "logistic-multinomial": (lambda: LogisticRegression(max_iter=500), lambda: _classification(3)),
    "linear-regression": (LinearRegression, _regression),
    "ridge-multioutput": (Ridge, lambda: _regression(3)),
    "sgd-classifier": (lambda: SGDClassifier(random_state=0), lambda: _classification(3)),
    "sgd-regressor": (lambda: SGDRegressor(random_state=0), _regression),
    "linear-svc": (lambda: LinearSVC(), lambda: _classification(2)),
    "gaussian-nb": (GaussianNB, lambda: _classification(3)),
    "tree-classifier-nan": (lambda: DecisionTreeClassifier(random_state=0), lambda: _classification(3, nan=True)),
    "tree-regressor": (lambda: DecisionTreeRegressor(max_depth=6, random_state=0), _regression),
    "forest-classifier": (lambda: RandomForestClassifier(12, random_state=0), lambda: _classification(3)),
    "forest-classifier-nan": (lambda: RandomForestClassifier(8, random_state=0), lambda: _classification(2, nan=True)),
    "forest-regressor-multioutput": (lambda: RandomForestRegressor(6, random_state=0), lambda: _regression(2)),
    "extra-trees-classifier": (lambda: ExtraTreesClassifier(8, random_state=0), lambda: _classification(2)),
    "extra-trees-regressor": (lambda: ExtraTreesRegressor(8, random_state=0), _regression),
    "gb-binary": (lambda: GradientBoostingClassifier(n_estimators=15, random_state=0), lambda: _classification(2)),
    "gb-multiclass": (lambda: GradientBoostingClassifier(n_estimators=10, random_state=0), lambda: _classification(3)),
    "gb-regressor": (lambda: GradientBoostingRegressor(n_estimators=15, random_state=0), _regression),
    "hgb-binary-nan": (lambda: HistGradientBoostingClassifier(max_iter=15, random_state=0), lambda: _classification(2, nan=True)),
    "hgb-multiclass": (lambda: HistGradientBoostingClassifier(max_iter=10, random_state=0), lambda: _classification(3)),
    "hgb-regressor-nan": (lambda: HistGradientBoostingRegressor(max_iter=15, random_state=0), lambda: _regression(nan=True)),
    "standard-scaler": (StandardScaler, _regression),
    "minmax-scaler-clip": (lambda: MinMaxScaler(feature_range=(-1, 2), clip=True), _regression),
    "pipeline-scalers-logistic": (
        lambda: make_pipeline(StandardScaler(), MinMaxScaler(), LogisticRegression()),
        lambda: _classification(3),
    ),
    "pipeline-scaler-forest": (
        lambda: make_pipeline(StandardScaler(), RandomForestClassifier(5, random_state=0)),
        lambda: _classification(2),
    ),
}


def _inputs(X, rng, nan):
    """Training-like rows, wider random rows, a single row, and NaN rows where accepted."""
    spread = np.nanstd(X, axis=0) * 3
    batches = [
        np.nan_to_num(X[:50], nan=0.0),
        rng.normal(size=(40, X.shape[1])) * spread,
        np.nan_to_num(X[:1], nan=0.0),
    ]
    if nan:
        with_nan = rng.normal(size=(30, X.shape[1])) * spread
        with_nan[rng.random(with_nan.shape) < 0.3] = np.nan
        batches.append(with_nan)
    return batches


def assert_same(got, want):
    want = np.asarray(want)
    assert got.shape == want.shape
    if want.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_equals_estimator(name, rng):
    make_estimator, make_data = CASES[name]
    X, y = make_data()
    estimator = make_estimator().fit(X) if name.endswith(("-scaler", "-clip")) else make_estimator().fit(X, y)
    model = compile(estimator)
    assert model.path == "compiled", model.reason
    checked = 0
    for batch in _inputs(X, rng, nan=model.allow_nan):
        for method in METHODS:
            if not hasattr(estimator, method):
                continue
            try:
                want = getattr(estimator, method)(batch)
            except AttributeError:  # e.g. SGDClassifier(loss="hinge").predict_proba
                continue
            if not model.has(method):
                continue
            assert_same(getattr(model, method)(batch), want)
            checked += 1
    assert checked >= 3


def test_nan_models_accept_nan_and_others_refuse(rng):
    X, y = _classification(2, nan=True)
    hgb = compile(HistGradientBoostingClassifier(max_iter=5).fit(X, y))
    assert hgb.allow_nan
    X_clean, y_clean = _classification(2)
    lr = compile(LogisticRegression().fit(X_clean, y_clean))
    assert not lr.allow_nan
    row = X_clean[:1].copy()
    row[0, 2] = np.nan
    with pytest.raises(InvalidInput, match="NaN"):
        lr.predict(row)
    row[0, 2] = np.inf
    with pytest.raises(InvalidInput, match="infinity"):
        lr.predict(row)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((0, N_FEATURES)), "empty batch"),
        ([], "empty batch"),
        (np.zeros((2, N_FEATURES + 1)), f"expected {N_FEATURES} features per row, got {N_FEATURES + 1}"),
        ([[1.0, 2.0]], f"expected {N_FEATURES} features"),
        ([["a"] * N_FEATURES], "features must be numbers"),
        ([[1.0] * N_FEATURES, [1.0] * 3], f"row 1: expected {N_FEATURES} features per row, got 3"),
        (np.zeros((2, 2, N_FEATURES)), "2-D"),
    ],
)
def test_bad_input_is_named(bad, message):
    X, y = _classification(2)
    model = compile(LogisticRegression().fit(X, y))
    with pytest.raises(InvalidInput, match=message):
        model.predict(bad)


def test_single_row_as_flat_list_and_integers():
    X, y = _classification(2)
    estimator = LogisticRegression().fit(X, y)
    model = compile(estimator)
    row = [1, 0, 2, 0, 1, 3]
    assert model.predict(row).tolist() == estimator.predict(np.array([row], dtype=float)).tolist()


def test_unsupported_estimator_falls_back_transparently():
    X, y = _classification(3)
    estimator = KNeighborsClassifier(3).fit(X, y)
    model = compile(estimator)
    assert model.path == "fallback"
    assert "KNeighborsClassifier" in model.reason
    np.testing.assert_array_equal(model.predict(X[:20]), estimator.predict(X[:20]))
    assert model.describe()["path"] == "fallback"
    with pytest.raises(InvalidInput):
        model.predict(np.zeros((1, 2)))


def test_not_an_estimator_is_refused():
    with pytest.raises(TypeError, match="not a fitted estimator"):
        compile(object())


def test_large_batch_uses_parallel_kernels_with_same_output(rng):
    X, y = _classification(3)
    estimator = RandomForestClassifier(5, random_state=0).fit(X, y)
    model = compile(estimator)
    big = rng.normal(size=(3000, N_FEATURES))
    np.testing.assert_array_equal(model.predict(big), estimator.predict(big))
    np.testing.assert_array_equal(model.predict_proba(big), estimator.predict_proba(big))


def test_string_class_labels():
    X, y = _classification(3)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    estimator = GaussianNB().fit(X, labels)
    np.testing.assert_array_equal(compile(estimator).predict(X), estimator.predict(X))
