"""SSE streaming inference (with client disconnects) and hot swap under load."""

import threading
import time

import httpx
import numpy as np
import pytest

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from conduit import Conduit, TestClient
from conduit.ml import ModelRegistry, Pipeline, StreamingModel
from conduit.testing.client import LiveServer


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def _events(text):
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if fields:
            events.append(fields)
    return events


def test_chunked_model_stream(iris):
    import orjson

    lr = LogisticRegression(max_iter=500).fit(*iris)
    app = Conduit()
    app.predict("/stream/iris", lr, name="iris", stream=True, chunk_size=40)
    with TestClient(app) as c:
        r = c.post("/stream/iris", json={"rows": iris[0].tolist()})
        assert r.headers["content-type"].startswith("text/event-stream")
        events = _events(r.text)
    assert [e["event"] for e in events] == ["prediction"] * 4 + ["done"]
    labels = sum((orjson.loads(e["data"])["predictions"] for e in events[:-1]), [])
    assert labels == lr.predict(iris[0]).tolist()
    with TestClient(app) as c:
        assert c.post("/stream/iris", json={"rows": [[1, 2]]}).status_code == 422


def test_generator_model_streams_partial_results():
    def countdown(X):
        for i in range(int(X[0, 0])):
            yield {"step": i}

    app = Conduit()
    app.predict("/stream/count", StreamingModel(countdown, 1, name="count"), stream=True)
    with TestClient(app) as c:
        events = _events(c.post("/stream/count", json={"row": [3]}).text)
    assert [e["data"] for e in events[:3]] == ['{"step":0}', '{"step":1}', '{"step":2}']
    assert events[-1]["event"] == "done"


def test_client_disconnect_closes_the_model_stream():
    produced = []
    closed = threading.Event()

    async def endless(X):
        import trio

        try:
            i = 0
            while True:
                produced.append(i)
                yield {"token": i}
                i += 1
                await trio.sleep(0.005)
        finally:
            closed.set()

    model = StreamingModel(endless, 1, name="endless")
    app = Conduit()
    app.predict("/stream/endless", model, stream=True, ping_interval=1.0)
    with LiveServer(app) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            with client.stream("POST", "/stream/endless", json={"row": [1]}) as response:
                seen = 0
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        seen += 1
                    if seen == 5:
                        break
        assert closed.wait(5), "the model's generator was not closed after the disconnect"
        count = len(produced)
        time.sleep(0.1)
        assert len(produced) == count  # no work after the client left
        assert model.open_streams == 0 and model.closed_streams == 1


def test_pipeline_stream_emits_each_stage(iris):
    lr = LogisticRegression(max_iter=500).fit(*iris)
    pipe = Pipeline("p").then(lambda X: X * 1.0, name="copy").then(lr, name="lr")
    app = Conduit()
    app.predict("/stream/p", pipe, stream=True)
    with TestClient(app) as c:
        events = _events(c.post("/stream/p", json={"rows": iris[0][:2].tolist()}).text)
    assert [e.get("event") for e in events] == ["prediction", "prediction", "done"]
    assert '"stage":"lr"' in events[1]["data"]


@pytest.mark.slow
def test_hot_swap_under_load_fails_no_request(iris):
    X, y = iris
    registry = ModelRegistry()
    registry.register("iris", LogisticRegression(max_iter=500).fit(X, y))
    app = Conduit()
    app.predict("/models/{name}", registry, max_wait=0.001)
    failures, versions = [], set()
    stop = threading.Event()

    with LiveServer(app) as server:
        def hammer():
            with httpx.Client(base_url=server.url, timeout=10) as client:
                while not stop.is_set():
                    r = client.post("/models/iris", json={"rows": X[:3].tolist()})
                    if r.status_code != 200:
                        failures.append(r.status_code)
                    else:
                        versions.add(r.json()["version"])

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        registry.swap("iris", RandomForestClassifier(20, random_state=0).fit(X, y))
        time.sleep(0.3)
        registry.swap("iris", LogisticRegression(C=0.1, max_iter=500).fit(X, y))
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    assert versions == {"1", "2", "3"}
