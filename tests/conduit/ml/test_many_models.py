"""Many models per process: lazy registration, one load for concurrent first requests, LRU
unloading beyond max_loaded, what is loaded in describe() and /metrics, and a model that fails
to load answering 503 naming it while the others keep serving."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import joblib
import numpy as np
import pytest

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")
from sklearn.linear_model import LogisticRegression

from conduit import Conduit, LiveServer, ModelRegistry
from conduit.ml import ModelLoadError
from conduit.observability import install

ROWS = [[0.5, -1.0, 2.0]]


@pytest.fixture
def model_files(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 3))
    paths, estimators = {}, {}
    for i, name in enumerate("abcd"):
        y = (X[:, i % 3] > 0).astype(int)
        estimators[name] = LogisticRegression().fit(X, y)
        paths[name] = tmp_path / f"{name}.joblib"
        joblib.dump(estimators[name], paths[name])
    broken = tmp_path / "broken.joblib"
    broken.write_bytes(b"\x80\x05 truncated pickle")
    return paths, estimators, broken


def loaded_gauge(text, name):
    for line in text.splitlines():
        if line.startswith("conduit_model_loaded{") and f'model="{name}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def make_app(paths, broken, max_loaded=2):
    registry = ModelRegistry(max_loaded=max_loaded, retry_after=60)
    for name, path in paths.items():
        registry.register(name, path, lazy=True)
    registry.register("broken", broken, lazy=True)
    events = []
    registry.listeners.append(lambda entry: events.append((entry.name, entry.loaded)))
    app = Conduit()
    install(app)
    app.predict("/predict/{name}", registry, batching=False)
    return app, registry, events


def test_lazy_models_load_on_first_request_once_and_lru_unloads(model_files):
    paths, estimators, broken = model_files
    app, registry, events = make_app(paths, broken)
    assert registry.loaded() == []
    with LiveServer(app) as server:
        url = server.url
        listing = httpx.get(url + "/models").json()["models"]
        assert {name: m["loaded"] for name, m in listing.items()} == dict.fromkeys([*"abcd", "broken"], False)
        assert loaded_gauge(httpx.get(url + "/metrics").text, "a") == 0
        # eight concurrent first requests for "a": one load
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: httpx.post(url + "/predict/a", json={"rows": ROWS}), range(8)))
        assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
        assert {tuple(r.json()["predictions"]) for r in answers} == {tuple(estimators["a"].predict(ROWS))}
        assert events.count(("a", True)) == 1
        for name in ("b", "c"):
            r = httpx.post(url + f"/predict/{name}", json={"rows": ROWS, "probabilities": True})
            np.testing.assert_allclose(r.json()["probabilities"], estimators[name].predict_proba(ROWS))
        # max_loaded=2: "a", least recently used, was unloaded
        assert sorted(e.name for e in registry.loaded()) == ["b", "c"]
        listing = httpx.get(url + "/models").json()["models"]
        assert [name for name, m in sorted(listing.items()) if m["loaded"]] == ["b", "c"]
        metrics = httpx.get(url + "/metrics").text
        assert [loaded_gauge(metrics, n) for n in "abc"] == [0, 1, 1]
        # "a" again: loaded again from its file, and now "b" is the least recently used
        assert httpx.post(url + "/predict/a", json={"rows": ROWS}).status_code == 200
        assert sorted(e.name for e in registry.loaded()) == ["a", "c"]
        assert events.count(("a", True)) == 2 and ("b", False) in events
        described = httpx.get(url + "/models/a").json()["versions"][0]
        assert described["loaded"] and described["lazy"] and described["path"] == "compiled"


def test_a_model_that_fails_to_load_is_503_naming_it_while_others_serve(model_files):
    paths, estimators, broken = model_files
    app, registry, _ = make_app(paths, broken)
    with LiveServer(app) as server:
        url = server.url
        with ThreadPoolExecutor(4) as pool:
            down = list(pool.map(lambda _: httpx.post(url + "/predict/broken", json={"rows": ROWS}), range(4)))
        ok = httpx.post(url + "/predict/d", json={"rows": ROWS})
        again = httpx.post(url + "/predict/broken", json={"rows": ROWS})
        listing = httpx.get(url + "/models/broken").json()
        ready = httpx.get(url + "/ready").json()
    for r in (*down, again):
        assert r.status_code == 503
        assert "'broken'" in r.json()["error"]["detail"] and "failed to load" in r.json()["error"]["detail"]
        assert int(r.headers["retry-after"]) >= 1
        assert str(broken) not in r.text  # the file path stays in the log
    assert ok.status_code == 200 and ok.json()["predictions"] == estimators["d"].predict(ROWS).tolist()
    assert listing["loaded"] is False and "error" in listing["versions"][0]
    assert ready["ready"] is True and "'broken' is down" in ready["status"]


def test_unknown_model_is_404_not_503(model_files):
    paths, _, broken = model_files
    app, _, _ = make_app(paths, broken)
    with LiveServer(app) as server:
        r = httpx.post(server.url + "/predict/zzz", json={"rows": ROWS})
    assert r.status_code == 404 and r.json()["error"]["type"] == "model_not_found"


def test_lazy_registration_refuses_what_it_cannot_load_later(tmp_path):
    registry = ModelRegistry()
    with pytest.raises(ValueError, match="lazy=True needs a model file path"):
        registry.register("m", LogisticRegression(), lazy=True)
    with pytest.raises(ModelLoadError, match="nothing.joblib"):
        registry.register("m", tmp_path / "nothing.joblib", lazy=True)
    with pytest.raises(ValueError, match="max_loaded"):
        ModelRegistry(max_loaded=0)
    assert len(registry) == 0


def test_models_given_as_objects_are_kept_and_do_not_count(model_files):
    paths, estimators, _ = model_files
    registry = ModelRegistry(max_loaded=1)
    registry.register("in-memory", estimators["a"])
    registry.register("b", paths["b"])
    registry.register("c", paths["c"])  # evicts "b", never the in-memory one
    assert sorted(e.name for e in registry.loaded()) == ["c", "in-memory"]
    with pytest.raises(ValueError, match="cannot be loaded again"):
        registry.unload("in-memory")
