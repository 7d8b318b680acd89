"""app.predict(..., fallback=other_model): the fallback answers when the primary fails or its
breaker is open; the path is in the response and in /metrics."""

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from conduit import Conduit, TestClient
from conduit.observability import install
from conduit.resilience import CircuitBreaker


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


class Flaky:
    """An estimator-like model that fails when the first feature is over 100."""

    n_features_in_ = 4
    classes_ = None

    def predict(self, X):
        if X[:, 0].max() > 100:
            raise RuntimeError("primary down")
        return np.full(X.shape[0], 7)


def _answers(client, model, path):
    text = client.get("/metrics").text
    line = next((l for l in text.splitlines()
                 if l.startswith("conduit_model_answers_total") and f'model="{model}"' in l
                 and f'path="{path}"' in l), None)
    return float(line.rsplit(" ", 1)[1]) if line else 0.0


@pytest.mark.parametrize("batching", [True, False])
def test_fallback_answers_when_the_primary_fails(iris, batching):
    X, y = iris
    backup = DecisionTreeClassifier(random_state=0).fit(X, y)
    app = Conduit()
    install(app)
    name = f"flaky{int(batching)}"
    app.predict("/predict", Flaky(), name=name, fallback=backup, batching=batching)
    with TestClient(app) as client:
        ok = client.post("/predict", json={"rows": [[1, 2, 3, 4]]}).json()
        assert ok["predictions"] == [7] and ok["path"] == "primary"
        rows = [[150.0, 3.0, 1.4, 0.2], *X[:3].tolist()]
        down = client.post("/predict", json={"rows": rows})
        assert down.status_code == 200
        assert down.json()["path"] == "fallback"
        assert down.json()["predictions"] == backup.predict(np.array(rows)).tolist()
        # bad input is the client's error, never a reason to fail over
        assert client.post("/predict", json={"rows": [[1, 2]]}).status_code == 422
        assert _answers(client, name, "fallback") == 1
        assert _answers(client, name, "primary") == 1


def test_fallback_answers_while_the_breaker_is_open(iris):
    X, y = iris
    breaker = CircuitBreaker("flaky-breaker", failure_threshold=2, recovery_time=60.0)
    primary = LogisticRegression(max_iter=500).fit(X, y)
    backup = DecisionTreeClassifier(random_state=0).fit(X, y)
    attempts = []

    def wrap(infer):
        async def guarded(entry, rows, proba):
            attempts.append(len(rows))

            async def failing(*_):
                raise RuntimeError("upstream down")
            return await breaker.call(failing, entry, rows, proba)
        return guarded

    app = Conduit()
    app.predict("/predict", primary, name="guarded", wrap=wrap, fallback=backup, batching=False)
    with TestClient(app) as client:
        for _ in range(4):
            r = client.post("/predict", json={"rows": X[:2].tolist(), "probabilities": True})
            assert r.status_code == 200 and r.json()["path"] == "fallback"
            np.testing.assert_allclose(r.json()["probabilities"], backup.predict_proba(X[:2]))
    assert breaker.state.name == "OPEN"
    assert len(attempts) == 4  # every call reached the breaker; the open breaker failed fast


def test_without_a_fallback_a_failure_is_still_a_500(iris):
    app = Conduit()
    app.predict("/predict", Flaky(), name="alone", batching=False)
    with TestClient(app) as client:
        r = client.post("/predict", json={"rows": [[150, 2, 3, 4]]})
        assert r.status_code == 500 and "path" not in r.text
