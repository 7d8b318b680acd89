"""app.predict: JSON in and out, every bad input a named 422, registry listing, errors."""

import json
import numpy as np
import pytest

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")
from sklearn.datasets import load_iris
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression

from conduit import Conduit, TestClient
from conduit.ml import ModelRegistry, compile


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def lr(iris):
    return LogisticRegression(max_iter=500).fit(*iris)


@pytest.fixture
def client(lr):
    app = Conduit()
    app.predict("/predict/iris", lr, name="iris")
    with TestClient(app) as c:
        yield c


def test_rows_in_predictions_out(client, lr, iris):
    X = iris[0][:5]
    r = client.post("/predict/iris", json={"rows": X.tolist()})
    assert r.status_code == 200
    body = r.json()
    assert body["model"] == "iris" and body["version"] == "1"
    assert body["predictions"] == lr.predict(X).tolist()
    assert "probabilities" not in body


def test_single_row_and_probabilities(client, lr, iris):
    row = iris[0][60].tolist()
    r = client.post("/predict/iris?probabilities=true", json={"row": row})
    body = r.json()
    assert body["predictions"] == lr.predict([row]).tolist()
    np.testing.assert_allclose(body["probabilities"], lr.predict_proba([row]), rtol=1e-12)
    assert body["classes"] == [0, 1, 2]
    r = client.post("/predict/iris", json={"rows": [row], "probabilities": True})
    assert len(r.json()["probabilities"]) == 1


@pytest.mark.parametrize(
    ("payload", "message", "loc", "type"),
    [
        ({"rows": [[1.0, 2.0, 3.0]]}, "expected 4 features per row, got 3", ["body", "rows", 0], "too_short"),
        ({"rows": []}, "empty batch", ["body", "rows"], "too_short"),
        ({"rows": [[1.0, "x", 3.0, 4.0]]}, "features must be numbers", ["body", "rows", 0, 1], "float_type"),
        ({"rows": [[1.0, 2.0, 3.0, 4.0], [1.0]]}, "row 1: expected 4 features", ["body", "rows", 1], "too_short"),
        ({"rows": [[1.0, 2.0, 3.0, 4.0], [1, 2, 3, 4, 5]]}, "got 5", ["body", "rows", 1], "too_long"),
        ({"data": [[1, 2, 3, 4]]}, "no \"rows\"", ["body", "rows"], "missing"),
        ({"rows": [[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, None, 4.0]]}, "NaN", ["body", "rows", 1, 2], "missing"),
        ({"row": [1.0, 2.0, "x", 4.0]}, "features must be numbers", ["body", "row", 2], "float_type"),
        ([1.0, 2.0, 3.0, 10 ** 400], "too large for a double", ["body"], "finite_number"),
        ({"rows": [[1, 2, 3, 4]], "probabilities": "yes"}, "true or false", ["body", "probabilities"], "bool_type"),
        ({"rows": [[1, 2, 3, 4]], "version": [1]}, "version must be", ["body", "version"], "string_type"),
        ("just text", "must be an object", ["body"], "model_type"),
    ],
)
def test_bad_input_is_a_named_422(client, payload, message, loc, type):
    import re

    r = client.post("/predict/iris", content=json.dumps(payload),
                    headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    [entry] = r.json()["error"]["detail"]
    assert re.search(message, entry["msg"]), entry
    assert entry["loc"] == loc and entry["type"] == type, entry


@pytest.mark.parametrize("content", [b'{"rows": [[1.0, NaN, 3.0, 4.0]]}', b"{rows:", b'{"rows": [[1e999, 1, 2, 3]]}',
                                     b'\xff{"rows": []}'])
def test_a_body_that_is_not_json_is_400_invalid_json(client, content):
    r = client.post("/predict/iris", content=content)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "invalid_json"
    assert r.json()["error"]["detail"].startswith("invalid JSON: ")


def test_an_empty_body_is_a_missing_body(client):
    r = client.post("/predict/iris", content=b"")
    assert r.status_code == 422
    assert r.json()["error"]["detail"][0]["loc"] == ["body"]
    assert r.json()["error"]["detail"][0]["type"] == "missing"


def test_a_probabilities_flag_that_is_no_boolean_is_422(client):
    r = client.post("/predict/iris?probabilities=perhaps", json={"rows": [[1, 2, 3, 4]]})
    assert r.status_code == 422 and r.json()["error"]["detail"][0]["type"] == "bool_parsing"


def test_probabilities_from_a_regressor_is_422(iris):
    app = Conduit()
    app.predict("/predict/lin", LinearRegression().fit(*iris), name="lin")
    with TestClient(app) as c:
        r = c.post("/predict/lin?probabilities=1", json={"rows": [[1, 2, 3, 4]]})
        assert r.status_code == 422 and "does not give probabilities" in r.text
        assert r.json()["error"]["detail"][0]["loc"] == ["query", "probabilities"]
        operation = c.get("/openapi.json").json()["paths"]["/predict/lin"]["post"]
        assert [p["name"] for p in operation["parameters"]] == ["version"]  # no ?probabilities= to offer
        assert c.post("/predict/lin", json={"rows": [[1, 2, 3, 4]]}).status_code == 200


def test_registry_routes_listing_and_404(lr, iris):
    registry = ModelRegistry()
    registry.register("iris", lr)
    registry.register("hgb", HistGradientBoostingClassifier(max_iter=5).fit(*iris))
    app = Conduit()
    app.predict("/models/{name}", registry)
    with TestClient(app) as c:
        listing = c.get("/models").json()["models"]
        assert set(listing) == {"iris", "hgb"}
        assert listing["hgb"]["versions"][0]["path"] == "compiled"
        assert c.get("/models/iris").json()["current"] == "1"
        assert c.get("/models/nope").status_code == 404
        r = c.post("/models/nope", json={"rows": [[1, 2, 3, 4]]})
        assert r.status_code == 404 and r.json()["error"]["type"] == "model_not_found"
        r = c.post("/models/hgb", json={"rows": [[1, float("nan") if False else 2, 3, 4]]})
        assert r.status_code == 200
        assert c.post("/models/iris?version=7", json={"rows": [[1, 2, 3, 4]]}).status_code == 404


class Exploding:
    """A model whose inference fails."""

    n_features_in_ = 2
    classes_ = None

    def predict(self, X):
        if X.shape[0] > 0 and X[0, 0] > 100:
            raise RuntimeError("secret internal detail")
        return np.zeros(X.shape[0])


def test_model_failure_is_a_500_without_traceback(caplog):
    app = Conduit()
    app.predict("/predict/x", Exploding(), name="x", batching=False)
    with TestClient(app) as c:
        assert c.post("/predict/x", json={"rows": [[1, 2]]}).status_code == 200
        r = c.post("/predict/x", json={"rows": [[1000, 2]]})
        assert r.status_code == 500
        assert r.json()["error"]["type"] == "inference_error"
        assert "secret" not in r.text and "Traceback" not in r.text
    assert "secret internal detail" in caplog.text


def test_batched_failure_is_also_a_500():
    app = Conduit()
    app.predict("/predict/x", Exploding(), name="x")
    with TestClient(app) as c:
        r = c.post("/predict/x", json={"rows": [[1000, 2]]})
        assert r.status_code == 500 and "secret" not in r.text


def test_resilience_wrapper_is_applied(lr):
    calls = []

    def wrap(infer):
        async def wrapped(entry, X, proba):
            calls.append(X.shape[0])
            return await infer(entry, X, proba)
        return wrapped

    app = Conduit()
    app.predict("/predict/iris", lr, name="iris", wrap=wrap)
    with TestClient(app) as c:
        c.post("/predict/iris", json={"rows": [[1, 2, 3, 4]] * 3})
    assert calls == [3]


def test_onnx_model_served(lr, iris):
    from skl2onnx import to_onnx

    from conduit.ml import OnnxModel

    onx = to_onnx(lr, iris[0][:1].astype(np.float32), options={id(lr): {"zipmap": False}})
    app = Conduit()
    app.predict("/predict/onnx", OnnxModel(onx.SerializeToString()), name="onnx")
    with TestClient(app) as c:
        r = c.post("/predict/onnx?probabilities=1", json={"rows": iris[0][:3].tolist()})
        assert r.json()["predictions"] == lr.predict(iris[0][:3]).tolist()
        assert c.post("/predict/onnx", json={"rows": [[1, 2]]}).status_code == 422
        assert c.get("/models/onnx").json()["versions"][0]["provider"] == "CPUExecutionProvider"


def test_every_failing_cell_is_an_entry_up_to_the_cap(client):
    from conduit.ml.validation import MAX_ENTRIES

    r = client.post("/predict/iris", json={"rows": [[1, None, 3, 4], [1, 2, 3, 4], [None, 2, 3, None]]})
    assert [e["loc"] for e in r.json()["error"]["detail"]] == [
        ["body", "rows", 0, 1], ["body", "rows", 2, 0], ["body", "rows", 2, 3]]
    assert {e["type"] for e in r.json()["error"]["detail"]} == {"missing"}
    r = client.post("/predict/iris", json={"rows": [[1, 2, 3, 4], [1, 2], [1, "x", 3, 4], [5]]})
    assert [(e["loc"], e["type"]) for e in r.json()["error"]["detail"]] == [
        (["body", "rows", 1], "too_short"), (["body", "rows", 3], "too_short")]
    r = client.post("/predict/iris", json={"rows": [["x"] * 4] * 100})
    assert r.status_code == 422 and len(r.json()["error"]["detail"]) == MAX_ENTRIES
