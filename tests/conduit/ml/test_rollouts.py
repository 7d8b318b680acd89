"""Rollouts (a weighted split between versions, sticky per hashed key) and shadows (a candidate
version mirrored off the response path, its agreement or error in describe() and /metrics)."""

import time

import httpx
import numpy as np
import pytest

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from conduit import Conduit, LiveServer, ModelNotFound, ModelRegistry
from conduit.observability import install


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 3))
    return X, (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)


def classifier_registry(data):
    X, y = data
    registry = ModelRegistry()
    registry.register("churn", LogisticRegression().fit(X, y))
    registry.register("churn", DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y))
    return registry


def serve(registry):
    app = Conduit()
    install(app)
    app.predict("/predict/{name}", registry)
    app.serve_v2(registry)
    return app


def metric(text, family, **labels):
    for line in text.splitlines():
        if line.startswith(family + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_rollout_is_sticky_per_hashed_header_and_follows_the_weights(data):
    X, _ = data
    registry = classifier_registry(data)
    registry.rollout("churn", {"1": 0.9, "2": 0.1}, key="header:X-User-Id")
    with LiveServer(serve(registry)) as server:
        seen = {}
        with httpx.Client(base_url=server.url) as client:
            for user in range(150):
                versions = {client.post("/predict/churn", json={"row": X[0].tolist()},
                                        headers={"x-user-id": f"user-{user}"}).json()["version"] for _ in range(2)}
                assert len(versions) == 1, user  # sticky
                seen[user] = versions.pop()
            # a request naming a version still gets it
            assert client.post("/predict/churn?version=2", json={"row": X[0].tolist()},
                               headers={"x-user-id": "user-0"}).json()["version"] == "2"
            metrics = client.get("/metrics").text
    share = sum(v == "2" for v in seen.values()) / len(seen)
    assert 0.03 <= share <= 0.2, share
    # the served version is in the metrics too
    counted = metric(metrics, "conduit_model_requests_total", model="churn", version="2")
    assert counted == sum(v == "2" for v in seen.values()) * 2 + 1


def test_rollout_key_from_a_body_field_and_through_the_v2_protocol(data):
    X, _ = data
    registry = classifier_registry(data)
    registry.rollout("churn", {"1": 1, "2": 1}, key="body:account")
    keys = [f"acct-{i}" for i in range(40)]
    expected = {k: registry.choose_version("churn", k) for k in keys}
    assert set(expected.values()) == {"1", "2"}
    with LiveServer(serve(registry)) as server:
        for key in keys:
            answer = httpx.post(server.url + "/predict/churn", json={"row": X[0].tolist(), "account": key})
            assert answer.json()["version"] == expected[key]
        registry.rollout("churn", {"1": 1, "2": 1}, key="header:x-account")
        for key in keys[:10]:
            v2 = httpx.post(server.url + "/v2/models/churn/infer", headers={"x-account": key}, json={
                "inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 3], "data": X[0].tolist()}]})
            assert v2.json()["model_version"] == expected[key]


def test_rollout_refuses_what_it_cannot_do(data):
    registry = classifier_registry(data)
    with pytest.raises(ValueError, match="no version '7'"):
        registry.rollout("churn", {"1": 0.5, "7": 0.5})
    with pytest.raises(ValueError, match="non-negative"):
        registry.rollout("churn", {"1": -1, "2": 2})
    with pytest.raises(ValueError, match="add up to 0"):
        registry.rollout("churn", {"1": 0, "2": 0})
    with pytest.raises(ValueError, match="'header:NAME' or 'body:FIELD'"):
        registry.rollout("churn", {"1": 1}, key="cookie:session")
    with pytest.raises(ModelNotFound):
        registry.rollout("nope", {"1": 1})
    assert registry.rollouts == {}
    registry.rollout("churn", {"2": 1})
    assert registry.choose_version("churn", None) == "2"
    registry.rollout("churn", None)
    assert registry.choose_version("churn", None) is None


class Broken:
    """An estimator-like candidate that cannot predict."""

    n_features_in_ = 3
    classes_ = None

    def predict(self, X):
        raise RuntimeError("candidate is broken")


def wait_for(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_shadow_records_agreement_for_a_classifier(data):
    X, _ = data
    registry = classifier_registry(data)
    registry.activate("churn", "1")
    registry.shadow("churn", "2")
    rows = X[:60]
    with LiveServer(serve(registry)) as server:
        for chunk in np.array_split(rows, 6):
            answer = httpx.post(server.url + "/predict/churn", json={"rows": chunk.tolist()})
            assert answer.json()["version"] == "1"
        wait_for(lambda: registry.shadows["churn"].statistics().requests == 6)
        described = httpx.get(server.url + "/models/churn").json()["shadow"]
        metrics = httpx.get(server.url + "/metrics").text
    v1, v2 = (registry.get("churn", v).model.predict(rows) for v in ("1", "2"))
    agreeing = int((v1 == v2).sum())
    assert described["rows"] == 60 and described["agreement"] == pytest.approx(agreeing / 60)
    labels = dict(model="churn", version="1", candidate="2")
    assert metric(metrics, "conduit_model_shadow_rows_total", **labels) == 60
    assert metric(metrics, "conduit_model_shadow_agreeing_rows_total", **labels) == agreeing


def test_shadow_records_error_for_a_regressor_and_never_fails_a_request(data):
    X, _ = data
    registry = ModelRegistry()
    registry.register("price", LinearRegression().fit(X, X[:, 0] * 2))
    registry.register("price", LinearRegression().fit(X, X[:, 0] * 2 + 0.5), make_current=False)
    registry.shadow("price", "2")
    with LiveServer(serve(registry)) as server:
        assert httpx.post(server.url + "/predict/price", json={"rows": X[:10].tolist()}).status_code == 200
        wait_for(lambda: registry.shadows["price"].statistics().requests == 1)
        stats = registry.shadows["price"].statistics()
        assert stats.mean_absolute_error == pytest.approx(0.5, abs=1e-9)
        # a candidate that fails: the request is answered; the failure is counted
        registry.register("price", Broken(), make_current=False, warm_up=False)  # version 3
        registry.shadow("price", "3")
        assert httpx.post(server.url + "/predict/price", json={"rows": X[:3].tolist()}).status_code == 200
        wait_for(lambda: registry.shadows["price"].statistics().failures == 1)
        assert registry.shadows["price"].statistics().rows == 0
    with pytest.raises(ValueError, match="sample"):
        registry.shadow("price", "2", sample=0)
