"""SVC (binary) and SVR compiled in closed form, equal to scikit-learn, for every kernel."""

import numpy as np
import pytest

pytest.importorskip("sklearn")
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


def test_multiclass_svc_falls_back_with_a_reason():
    X, y = load_iris(return_X_y=True)
    model = SVC().fit(X, y)
    compiled = compile(model)
    assert compiled.path == "fallback" and "multiclass SVC" in compiled.reason
    np.testing.assert_array_equal(compiled.predict(X), model.predict(X))
