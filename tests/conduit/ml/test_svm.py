"""SVC (binary) and SVR compiled in closed form, equal to scikit-learn, for every kernel."""

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR, NuSVC, NuSVR

from conduit.ml import compile

KERNELS = ["linear", "poly", "rbf", "sigmoid"]


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("cls", [SVC, NuSVC])
def test_binary_svc(cancer, kernel, cls):
    X, y = cancer
    model = make_pipeline(StandardScaler(), cls(kernel=kernel, degree=2)).fit(X, y)
    compiled = compile(model)
    assert compiled.path == "compiled" and compiled.kind == "svm"
    np.testing.assert_allclose(compiled.decision_function(X), model.decision_function(X), rtol=1e-9, atol=1e-11)
    np.testing.assert_array_equal(compiled.predict(X), model.predict(X))
    big = np.repeat(X, 5, axis=0)  # the parallel variant
    np.testing.assert_array_equal(compiled.predict(big), model.predict(big))


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("cls", [SVR, NuSVR])
def test_svr(cancer, kernel, cls):
    X, _ = cancer
    target = X[:, 0] + X[:, 3] / 100
    model = make_pipeline(StandardScaler(), cls(kernel=kernel, degree=3)).fit(X, target)
    np.testing.assert_allclose(compile(model).predict(X), model.predict(X), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("shape", ["ovo", "ovr"])
def test_multiclass_svc_one_vs_one_votes(kernel, shape):
    X, y = load_iris(return_X_y=True)
    X = np.vstack([X, X[:40] + 0.3])  # four classes, so votes can tie
    y = np.concatenate([y, np.full(40, 3)])
    model = make_pipeline(StandardScaler(), SVC(kernel=kernel, decision_function_shape=shape)).fit(X, y)
    compiled = compile(model)
    assert compiled.path == "compiled"
    probe = np.random.default_rng(0).normal(X.mean(0), X.std(0) * 1.5, size=(500, 4))
    for rows in (X, probe, np.repeat(probe, 6, axis=0)):
        np.testing.assert_array_equal(compiled.predict(rows), model.predict(rows))
    if shape == "ovo":
        np.testing.assert_allclose(compiled.decision_function(probe), model.decision_function(probe),
                                   rtol=1e-9, atol=1e-11)
    else:
        assert not compiled.has("decision_function")  # the "ovr" transform is not compiled


@pytest.mark.filterwarnings("ignore:The `probability` parameter was deprecated:FutureWarning")
def test_svc_with_probabilities_falls_back_for_probabilities_only(cancer):
    X, y = cancer
    model = SVC(probability=True, random_state=0).fit(X, y)
    compiled = compile(model)
    assert not compiled.has("predict_proba")
    np.testing.assert_array_equal(compiled.predict(X), model.predict(X))
