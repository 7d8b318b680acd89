"""The ML examples start and answer (models train at import from bundled data)."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")
from conduit import TestClient

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ensemble_api():
    module = _load("ensemble_api")
    with TestClient(module.app) as c:
        rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
        r = c.post("/predict/triage", json={"rows": rows})
        assert r.json()["predictions"] == module.ensemble.predict(rows).tolist()
        r = c.post("/predict/ensemble", json={"rows": rows, "probabilities": True})
        assert len(r.json()["probabilities"]) == 2
        assert c.get("/pipeline/metrics").json()["route0"]["calls"] >= 1
        assert set(c.get("/models").json()["models"]) == {"ensemble", "triage"}


def test_streaming_service():
    module = _load("streaming_service")
    with TestClient(module.app) as c:
        text = c.post("/stream/explain", json={"row": module.X[0].tolist()}).text
        assert text.count("event: prediction") == 30 and "event: done" in text
        text = c.post("/stream/digits", json={"rows": module.X[:250].tolist()}).text
        assert text.count("event: prediction") == 3
