"""serve_v2 driven by KServe's own ``InferenceRESTClient`` (protocol v2) over a real socket.

KServe 0.21 pins pandas<3, protobuf<7 and python-dateutil<3, so ``pip install kserve`` would
downgrade the venv; its REST client works with the venv's versions when installed without its
pins: ``pip install --no-deps kserve==0.21.0 cloudevents==1.13.0 deprecation grpc-interceptor
timing-asgi kubernetes oauthlib requests-oauthlib durationpy websocket-client`` (the modules
``import kserve`` needs). Without them these tests skip, saying so."""

import asyncio

import httpx
import numpy as np
import pytest

kserve = pytest.importorskip(
    "kserve", reason="KServe's client is installed without its pins (pandas<3, protobuf<7): "
    "pip install --no-deps kserve==0.21.0 cloudevents==1.13.0 deprecation grpc-interceptor timing-asgi "
    "kubernetes oauthlib requests-oauthlib durationpy websocket-client")
from sklearn.linear_model import LinearRegression, LogisticRegression

from conduit import Conduit, LiveServer, ModelRegistry


@pytest.fixture(scope="module")
def served():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 3))
    registry = ModelRegistry()
    registry.register("clf", LogisticRegression().fit(X, X[:, 0] > 0))
    registry.register("reg", LinearRegression().fit(X, 2.0 * X[:, 1]))
    app = Conduit()
    app.serve_v2(registry, prefix="/v2", latency_target=0.050)
    with LiveServer(app) as live:
        yield live.url + "/", registry, X


def _call(method, *args, **kwargs):
    async def main():
        async with kserve.InferenceRESTClient(kserve.RESTConfig(protocol="v2", retries=0, timeout=10)) as client:
            return await getattr(client, method)(*args, **kwargs)

    return asyncio.run(main())


def _request(model, rows, binary):
    tensor = kserve.InferInput("input", list(rows.shape), "FP64")
    tensor.set_data_from_numpy(rows, binary_data=binary)
    return kserve.InferRequest(model_name=model, infer_inputs=[tensor])


def test_health_and_model_readiness(served):
    url, _, _ = served
    assert _call("is_server_live", url) and _call("is_server_ready", url)
    assert _call("is_model_ready", url, "clf") and _call("is_model_ready", url, "reg")
    assert not _call("is_model_ready", url, "missing")


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_infer_equal_to_the_estimator(served, binary):
    url, registry, X = served
    for model in ("clf", "reg"):
        response = _call("infer", url, _request(model, X[:9], binary), model_name=model)
        outputs = {o.name: o.as_numpy() for o in response.outputs}
        estimator = registry.get(model).model.estimator
        np.testing.assert_array_equal(outputs["predictions"], estimator.predict(X[:9]))
        assert response.model_name == model


def test_a_bad_tensor_is_a_named_http_error_and_the_server_keeps_serving(served):
    url, _, X = served
    with pytest.raises(httpx.HTTPStatusError) as caught:
        _call("infer", url, _request("clf", X[:4, :2].copy(), False), model_name="clf")  # 2 features, not 3
    assert caught.value.response.status_code == 400
    assert caught.value.response.json() == {"error": "row 0: expected 3 features per row, got 2"}
    with pytest.raises(httpx.HTTPStatusError) as caught:
        _call("infer", url, _request("missing", X[:4], False), model_name="missing")
    assert caught.value.response.status_code == 404
    assert "missing" in caught.value.response.json()["error"]
    assert _call("infer", url, _request("clf", X[:2], False), model_name="clf").outputs
