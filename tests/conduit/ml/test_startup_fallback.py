"""fallback= also covers a primary that is down at start-up (fails to load or to warm up): the
app starts, answers from the fallback, and /ready says degraded. And a list_path collision is
refused at registration, before anything compiles, naming both routes."""

import httpx
import joblib
import numpy as np
import pytest

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

from conduit import Conduit, LiveServer, ModelRegistry
from conduit.ml import ModelLoadError
from conduit.observability import install


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y, DecisionTreeClassifier(random_state=0).fit(X, y)


class BrokenWarmUp:
    """An estimator-like model that cannot predict at all (its warm-up fails)."""

    n_features_in_ = 4
    classes_ = None

    def predict(self, X):
        raise RuntimeError("GPU driver missing")


class CountsCalls:
    """An estimator-like model that records every predict (compiling one probes it)."""

    n_features_in_ = 4
    classes_ = None

    def __init__(self):
        self.calls = 0

    def predict(self, X):
        self.calls += 1
        return np.zeros(X.shape[0])


def serve_and_check(app, backup, X):
    rows = X[:3].tolist()
    with LiveServer(app) as server:
        answer = httpx.post(server.url + "/predict", json={"rows": rows})
        ready = httpx.get(server.url + "/ready")
        listed = httpx.get(server.url + "/models/churn").json()
    assert answer.status_code == 200, answer.text
    assert answer.json()["path"] == "fallback"
    assert answer.json()["predictions"] == backup.predict(X[:3]).tolist()
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert ready.json()["status"].startswith("degraded:") and "'churn'" in ready.json()["status"]
    assert "fallback" in ready.json()["status"]
    (version,) = listed["versions"]
    assert listed["loaded"] is False and version["loaded"] is False and "error" in version


def test_fallback_covers_a_primary_that_fails_to_load(iris, tmp_path):
    X, _, backup = iris
    app = Conduit()
    install(app)
    app.predict("/predict", str(tmp_path / "missing.joblib"), name="churn", fallback=backup)
    serve_and_check(app, backup, X)


def test_fallback_covers_a_primary_whose_file_is_corrupt(iris, tmp_path):
    X, _, backup = iris
    path = tmp_path / "corrupt.joblib"
    path.write_bytes(b"not a pickle at all")
    app = Conduit()
    install(app)
    app.predict("/predict", path, name="churn", fallback=backup)
    serve_and_check(app, backup, X)


def test_fallback_covers_a_primary_whose_warm_up_fails(iris):
    X, _, backup = iris
    app = Conduit()
    install(app)
    app.predict("/predict", BrokenWarmUp(), name="churn", fallback=backup)
    serve_and_check(app, backup, X)


def test_without_a_fallback_a_primary_that_fails_to_load_stops_the_app(tmp_path):
    app = Conduit()
    with pytest.raises(ModelLoadError, match="missing.joblib"):
        app.predict("/predict", tmp_path / "missing.joblib", name="churn")


def test_a_healthy_primary_with_a_fallback_is_ready_not_degraded(iris):
    X, y, backup = iris
    app = Conduit()
    install(app)
    app.predict("/predict", DecisionTreeClassifier(max_depth=2).fit(X, y), name="churn", fallback=backup)
    with LiveServer(app) as server:
        assert httpx.post(server.url + "/predict", json={"rows": X[:2].tolist()}).json()["path"] == "primary"
        assert httpx.get(server.url + "/ready").json() == {"ready": True, "status": "ready"}


def test_list_path_collision_detected_before_compiling():
    app = Conduit()
    app.predict("/models/{name}/predict", ModelRegistry())
    model = CountsCalls()
    with pytest.raises(ValueError) as caught:
        app.predict("/predict/churn", model, name="churn")
    message = str(caught.value)
    assert "'/models/{name}/predict'" in message and "'/predict/churn'" in message and "'/models'" in message
    assert model.calls == 0  # refused before compiling (compiling probes predict)
    # the way out the message names works, and the same registry may be listed twice
    app.predict("/predict/churn", model, name="churn", list_path="/churn-models")
    app.predict("/predict/churn2", CountsCalls(), name="churn2", list_path="/churn-models")


def test_list_path_collision_between_two_registries_names_both(tmp_path):
    app = Conduit()
    app.predict("/a/{name}", ModelRegistry(), list_path="/catalog")
    with pytest.raises(ValueError, match=r"app.predict\('/b/\{name\}'\).*'/catalog'.*app.predict\('/a/\{name\}'\)"):
        app.predict("/b/{name}", ModelRegistry(), list_path="/catalog")
