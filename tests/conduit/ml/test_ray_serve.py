"""A Conduit app with a predict route as a Ray Serve deployment (2 replicas, autoscaling) on a
local Ray cluster bound to 127.0.0.1 without a dashboard, composed with a model deployment
reached through a DeploymentHandle (examples/ray_serve_app.py)."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "examples"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def serve_cluster():
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # loopback only (read when ray is imported)
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray = pytest.importorskip("ray", reason="Ray Serve is the ray[serve] extra (in the test extra)")
    from ray import serve

    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    path = os.pathsep.join([str(ROOT), str(ROOT / "kernels"), str(ROOT / "examples"),
                            os.environ.get("PYTHONPATH", "")])
    port = free_port()
    try:
        for attempt in range(3):
            try:
                ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False, _temp_dir=temp,
                         log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
                break
            except Exception as exc:  # Ray gives its raylet a fixed 30 s to register
                ray.shutdown()
                if attempt == 2 or "timed out during startup" not in str(exc):
                    raise
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        yield serve, f"http://127.0.0.1:{port}"
    finally:
        try:
            serve.shutdown()
        finally:
            ray.shutdown()
            shutil.rmtree(temp, ignore_errors=True)


def test_conduit_app_as_a_ray_serve_deployment_with_two_replicas_and_a_model_handle(serve_cluster):
    serve, url = serve_cluster
    import ray_serve_app
    from sklearn.datasets import load_iris

    X, _ = load_iris(return_X_y=True)
    serve.run(ray_serve_app.application(), name="iris", route_prefix="/")
    status = serve.status().applications["iris"]
    ingress = status.deployments["conduit-ingress"]
    assert ingress.status == "HEALTHY" and sum(ingress.replica_states.values()) == 2
    expected = ray_serve_app.iris_model().predict(X[:5]).tolist()
    with httpx.Client(base_url=url, timeout=30) as client:
        answers = [client.post("/predict", json={"rows": X[:5].tolist()}) for _ in range(20)]
        assert all(a.status_code == 200 for a in answers), answers[0].text
        assert {tuple(a.json()["predictions"]) for a in answers} == {tuple(expected)}
        # the app's own lifecycle answers bad input, through Ray Serve's proxy
        bad = client.post("/predict", json={"rows": [[1, 2]]})
        assert bad.status_code == 422 and bad.json()["error"]["detail"][0]["loc"] == ["body", "rows", 0]
        # composition: the ingress handler calls the model deployment through its handle
        both = client.post("/ensemble", json={"rows": X[:5].tolist()}).json()
        assert "remote" in both, both
        assert both["remote"] == expected and all(both["agree"])


def test_a_built_app_cannot_be_sent_to_the_replicas():
    pytest.importorskip("ray", reason="ray is in the test extra (./dev test installs it)")
    import conduit.ray
    from conduit import Conduit

    with pytest.raises(TypeError, match="a built app cannot be sent"):
        conduit.ray.deployment(Conduit())
    with pytest.raises(ValueError, match="module:attribute"):
        conduit.ray.deployment("no_colon")
