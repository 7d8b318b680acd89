"""The Open Inference Protocol (KServe V2 / Triton HTTP) over a real socket, driven by the real
client (tritonclient.http, JSON and binary tensors), plus raw requests for every refusal: errors
come back in the protocol's shape, {"error": "..."}, and the server keeps serving."""

import json
import struct

import httpx
import numpy as np
import pytest

th = pytest.importorskip("tritonclient.http", reason="the V2 tests drive the real Triton client "
                         "(pip install 'tritonclient[http]', in the test extra)")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression, LogisticRegression

from conduit import Conduit, LiveServer, ModelRegistry
from conduit.ml.serve.v2_tensors import TensorError, aligned_buffer, parse_request


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def server(data, tmp_path_factory):
    X, y = data
    registry = ModelRegistry()
    registry.register("clf", LogisticRegression().fit(X, y))
    registry.register("clf", LogisticRegression(C=0.01).fit(X, y))  # version 2, current
    registry.register("reg", LinearRegression().fit(X, X[:, 0] * 3.0))
    broken = tmp_path_factory.mktemp("v2") / "broken.joblib"
    broken.write_bytes(b"not a pickle")
    registry.register("broken", broken, lazy=True)
    app = Conduit()
    app.serve_v2(registry, prefix="/v2")
    with LiveServer(app) as live:
        yield live, registry


@pytest.fixture
def client(server):
    return th.InferenceServerClient(server[0].url.removeprefix("http://"))


def test_health_and_server_metadata(client):
    assert client.is_server_live() and client.is_server_ready()
    metadata = client.get_server_metadata()
    assert metadata["name"] == "conduit" and "binary_tensor_data" in metadata["extensions"]


def test_model_metadata_lists_inputs_outputs_datatypes_and_shapes(client):
    metadata = client.get_model_metadata("clf")
    assert metadata["name"] == "clf" and metadata["versions"] == ["1", "2"]
    assert metadata["inputs"] == [{"name": "input", "datatype": "FP64", "shape": [-1, 4]}]
    assert metadata["outputs"] == [{"name": "predictions", "datatype": "INT64", "shape": [-1]},
                                   {"name": "probabilities", "datatype": "FP64", "shape": [-1, 2]}]
    assert client.get_model_metadata("reg", "1")["outputs"] == [
        {"name": "predictions", "datatype": "FP64", "shape": [-1]}]
    assert client.is_model_ready("clf") and client.is_model_ready("clf", "1")


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
@pytest.mark.parametrize("datatype", ["FP64", "FP32", "INT32"])
def test_infer_equal_to_the_estimator(client, server, data, binary, datatype):
    X, _ = data
    rows = X[:7].astype(th.triton_to_np_dtype(datatype)) if datatype != "INT32" else np.round(X[:7]).astype(np.int32)
    tensor = th.InferInput("input", list(rows.shape), datatype)
    tensor.set_data_from_numpy(rows, binary_data=binary)
    outputs = [th.InferRequestedOutput("predictions", binary_data=binary),
               th.InferRequestedOutput("probabilities", binary_data=binary)]
    for version in ("1", "2"):
        result = client.infer("clf", [tensor], model_version=version, outputs=outputs)
        estimator = server[1].get("clf", version).model.estimator
        expected = rows.astype(np.float64)
        np.testing.assert_array_equal(result.as_numpy("predictions"), estimator.predict(expected))
        np.testing.assert_allclose(result.as_numpy("probabilities"), estimator.predict_proba(expected), rtol=1e-12)
        assert result.get_response()["model_version"] == version
    # no outputs named: tritonclient asks for every output in binary
    result = client.infer("reg", [tensor], request_id="r-7")
    np.testing.assert_allclose(result.as_numpy("predictions"), server[1].get("reg").model.estimator.predict(
        rows.astype(np.float64)), rtol=1e-12)
    assert result.get_response()["id"] == "r-7" and result.get_response()["model_version"] == "1"


def triton_error(call):
    with pytest.raises(th.InferenceServerException) as caught:
        call()
    return caught.value


def test_errors_through_the_triton_client(client, data):
    X, _ = data
    tensor = th.InferInput("input", [2, 4], "FP64")
    tensor.set_data_from_numpy(X[:2], binary_data=True)
    missing = triton_error(lambda: client.infer("nope", [tensor]))
    assert missing.status() == "404" and "'nope'" in missing.message()
    narrow = th.InferInput("input", [2, 3], "FP64")
    narrow.set_data_from_numpy(X[:2, :3])
    wrong = triton_error(lambda: client.infer("clf", [narrow]))
    assert wrong.status() == "400" and "expected 4 features" in wrong.message()
    down = triton_error(lambda: client.infer("broken", [tensor]))
    assert down.status() == "503" and "'broken'" in down.message()
    assert not client.is_model_ready("broken")
    unknown = triton_error(lambda: client.infer("clf", [tensor], outputs=[th.InferRequestedOutput("logits")]))
    assert unknown.status() == "400" and "unknown output 'logits'" in unknown.message()


def raw_infer(url, body, headers=None, model="clf"):
    return httpx.post(f"{url}/v2/models/{model}/infer", content=body, headers=headers or {})


def as_json(header):
    return json.dumps(header).encode()


BAD_REQUESTS = {
    "not_json": (b"{", None, "not JSON"),
    "not_an_object": (b"[1, 2]", None, "JSON object"),
    "no_inputs": (as_json({"inputs": []}), None, "\"inputs\""),
    "unknown_datatype": (as_json({"inputs": [{"name": "input", "datatype": "FP128", "shape": [1, 4],
                                              "data": [1, 2, 3, 4]}]}), None, "unknown datatype"),
    "shape_not_ints": (as_json({"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, "4"],
                                            "data": [1, 2, 3, 4]}]}), None, "shape"),
    "count_mismatch": (as_json({"inputs": [{"name": "input", "datatype": "FP64", "shape": [2, 4],
                                            "data": [1, 2, 3, 4]}]}), None, "holds 8 elements"),
    "string_in_fp64": (as_json({"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 4],
                                            "data": [1, 2, "3", 4]}]}), None, "is not a FP64 value"),
    "float_in_int": (as_json({"inputs": [{"name": "input", "datatype": "INT64", "shape": [1, 4],
                                          "data": [1, 2, 3.5, 4]}]}), None, "is not a INT64 value"),
    "int_overflow": (as_json({"inputs": [{"name": "input", "datatype": "INT8", "shape": [1, 4],
                                          "data": [1, 2, 300, 4]}]}), None, "does not fit INT8"),
    "nan_refused": (as_json({"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 4],
                                         "data": [1, None, 3, 4]}]}), None, "missing value"),
    "duplicate_input": (as_json({"inputs": [{"name": "a", "datatype": "FP64", "shape": [4], "data": [1, 2, 3, 4]},
                                            {"name": "a", "datatype": "FP64", "shape": [4], "data": [1, 2, 3, 4]}]}),
                        None, "appears twice"),
    "binary_size_past_the_end": (as_json({"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 4],
                                                      "parameters": {"binary_data_size": 32}}]}) + b"\0" * 8,
                                 "header", "past the end"),
    "binary_size_wrong_for_shape": (as_json({"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 4],
                                                         "parameters": {"binary_data_size": 8}}]}) + b"\0" * 8,
                                    "header", "needs 32"),
    "bytes_left_over": (as_json({"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 4],
                                             "data": [1, 2, 3, 4]}]}) + b"junk", "header", "bytes of binary data"),
    "header_length_too_large": (as_json({"inputs": []}), 10_000, "Inference-Header-Content-Length"),
    "header_length_not_a_number": (as_json({"inputs": []}), "ten", "Inference-Header-Content-Length"),
    "truncated_bytes_element": (as_json({"inputs": [{"name": "input", "datatype": "BYTES", "shape": [1],
                                                     "parameters": {"binary_data_size": 6}}]})
                                + struct.pack("<I", 10) + b"ab", "header", "BYTES element 0"),
    "bytes_for_a_number_model": (as_json({"inputs": [{"name": "input", "datatype": "BYTES", "shape": [1, 4],
                                                      "data": ["a", "b", "c", "d"]}]}), None, "reads numbers"),
    "unknown_column_input": (as_json({"inputs": [{"name": "x", "datatype": "FP64", "shape": [4], "data": [1, 2, 3, 4]},
                                                 {"name": "y", "datatype": "FP64", "shape": [4], "data": [1, 2, 3, 4]}]}),
                             None, "unknown input 'x'"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_requests_answer_400_in_the_protocol_shape(server, data, case):
    url = server[0].url
    body, header, needle = BAD_REQUESTS[case]
    headers = {}
    if header == "header":
        headers["Inference-Header-Content-Length"] = str(body.index(b"}]}") + 3)
    elif header is not None:
        headers["Inference-Header-Content-Length"] = str(header)
    r = raw_infer(url, body, headers)
    assert r.status_code == 400, r.text
    assert list(r.json()) == ["error"] and needle in r.json()["error"], r.json()
    # and the server keeps serving
    ok = raw_infer(url, as_json({"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 4],
                                             "data": data[0][0].tolist()}]}))
    assert ok.status_code == 200 and ok.json()["outputs"][0]["name"] == "predictions"


def test_unknown_model_and_version_are_404_in_the_protocol_shape(server):
    url = server[0].url
    for path in ("/v2/models/nope", "/v2/models/clf/versions/9", "/v2/models/nope/ready"):
        r = httpx.get(url + path)
        assert r.status_code == 404 and list(r.json()) == ["error"], (path, r.text)


def test_binary_tensors_decode_without_a_copy_when_aligned():
    values = np.arange(12, dtype=np.float64).reshape(3, 4)
    header = as_json({"inputs": [{"name": "input", "datatype": "FP64", "shape": [3, 4],
                                  "parameters": {"binary_data_size": values.nbytes}}]})
    body = header + values.tobytes()
    raw, pad = aligned_buffer(len(body), len(header))
    raw[pad:pad + len(body)] = np.frombuffer(body, dtype=np.uint8)
    decoded = parse_request(raw[pad:pad + len(body)], len(header)).inputs["input"]
    np.testing.assert_array_equal(decoded, values)
    assert np.shares_memory(decoded, raw) and decoded.flags.c_contiguous and decoded.flags.writeable
    assert decoded.flags.aligned
    # misaligned bytes (an odd-sized tensor first) are copied, never read unaligned
    odd = as_json({"inputs": [{"name": "a", "datatype": "UINT8", "shape": [3], "parameters": {"binary_data_size": 3}},
                              {"name": "input", "datatype": "FP64", "shape": [3, 4],
                               "parameters": {"binary_data_size": values.nbytes}}]})
    body = odd + b"abc" + values.tobytes()
    raw, pad = aligned_buffer(len(body), len(odd))
    raw[pad:pad + len(body)] = np.frombuffer(body, dtype=np.uint8)
    decoded = parse_request(raw[pad:pad + len(body)], len(odd)).inputs["input"]
    np.testing.assert_array_equal(decoded, values)
    assert decoded.flags.aligned and not np.shares_memory(decoded, raw)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=4), max_leaves=20)
tensor_like = st.fixed_dictionaries({"name": st.sampled_from(["input", "x", 3]),
                                     "datatype": st.sampled_from(["FP64", "INT8", "BYTES", "BOOL", "X"]),
                                     "shape": st.lists(st.integers(-1, 5), max_size=3) | json_values,
                                     "data": json_values,
                                     "parameters": st.fixed_dictionaries({}, optional={
                                         "binary_data_size": st.integers(-2, 40) | json_values})})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=st.one_of(json_values, st.fixed_dictionaries({"inputs": st.lists(tensor_like, max_size=3)},
                                                          optional={"outputs": json_values,
                                                                    "parameters": json_values})),
       tail=st.binary(max_size=40))
def test_property_any_request_decodes_or_is_a_named_refusal(header, tail):
    text = json.dumps(header).encode()
    for body, length in ((text, None), (text + tail, len(text))):
        try:
            parse_request(body, length)
        except TensorError:
            pass


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_category_model_takes_one_tensor_per_column_with_bytes(binary):
    lgb = pytest.importorskip("lightgbm", reason="lightgbm is in the test extra (./dev test installs it)")
    pd = pytest.importorskip("pandas", reason="pandas is in the test extra (./dev test installs it)")
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"age": rng.normal(40, 10, 300), "plan": pd.Categorical(rng.choice(["free", "pro"], 300))})
    y = ((frame["plan"] == "pro") ^ (frame["age"] > 40)).astype(int)
    estimator = lgb.LGBMClassifier(n_estimators=8, verbose=-1, min_child_samples=5).fit(frame, y)
    registry = ModelRegistry()
    registry.register("plans", estimator)
    app = Conduit()
    app.serve_v2(registry)
    with LiveServer(app) as live:
        client = th.InferenceServerClient(live.url.removeprefix("http://"))
        metadata = client.get_model_metadata("plans")
        assert metadata["inputs"] == [{"name": "age", "datatype": "FP64", "shape": [-1]},
                                      {"name": "plan", "datatype": "BYTES", "shape": [-1]}]
        age = th.InferInput("age", [3], "FP64")
        age.set_data_from_numpy(np.array([30.0, 50.0, 50.0]), binary_data=binary)
        plan = th.InferInput("plan", [3], "BYTES")
        plan.set_data_from_numpy(np.array([b"pro", b"free", b"enterprise"], dtype=object), binary_data=binary)
        result = client.infer("plans", [age, plan], outputs=[th.InferRequestedOutput("probabilities",
                                                                                     binary_data=binary)])
    expected = estimator.predict_proba(pd.DataFrame({"age": [30.0, 50.0, 50.0], "plan": pd.Categorical(
        ["pro", "free", None], categories=["free", "pro"])}))
    np.testing.assert_allclose(result.as_numpy("probabilities"), expected, rtol=1e-9)


def test_a_lazy_model_loads_on_its_first_v2_request(data, tmp_path):
    import joblib

    X, y = data
    path = tmp_path / "lazy.joblib"
    joblib.dump(LogisticRegression().fit(X, y), path)
    registry = ModelRegistry(max_loaded=1)
    registry.register("lazy", path, lazy=True)
    app = Conduit()
    app.serve_v2(registry)
    with LiveServer(app) as live:
        client = th.InferenceServerClient(live.url.removeprefix("http://"))
        assert client.is_model_ready("lazy") and not registry.get("lazy").loaded
        tensor = th.InferInput("input", [2, 4], "FP64")
        tensor.set_data_from_numpy(X[:2], binary_data=True)
        result = client.infer("lazy", [tensor])
        assert registry.get("lazy").loaded
    np.testing.assert_array_equal(result.as_numpy("predictions"), registry.get("lazy").model.predict(X[:2]))
