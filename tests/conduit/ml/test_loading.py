"""Model files: joblib / skops / ONNX loading, sha256 pinning, clear startup failures."""

import hashlib
import os
import logging

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="sklearn is in the test extra (./dev test installs it)")
import joblib
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from conduit.exceptions import ModelNotFound
from conduit.ml import ModelLoadError, ModelRegistry, OnnxModel, compile, load_model
from conduit.ml.onnx import choose_providers


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def lr(iris):
    return LogisticRegression(max_iter=500).fit(*iris)


def test_joblib_round_trip_with_pin(tmp_path, lr, iris):
    path = tmp_path / "lr.joblib"
    joblib.dump(lr, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    loaded = load_model(path, sha256=digest)
    np.testing.assert_array_equal(compile(loaded).predict(iris[0]), lr.predict(iris[0]))


def test_checksum_mismatch_refuses_and_names_the_file(tmp_path, lr):
    path = tmp_path / "lr.joblib"
    joblib.dump(lr, path)
    with pytest.raises(ModelLoadError, match=r"lr\.joblib: sha256 mismatch"):
        load_model(path, sha256="0" * 64)
    registry = ModelRegistry()
    with pytest.raises(ModelLoadError, match="sha256 mismatch"):
        registry.register("iris", path, sha256="0" * 64)
    assert "iris" not in registry


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (None, "missing.joblib", "model file not found"),
        (b"not a pickle at all", "corrupt.joblib", "not a readable joblib file"),
        (b"garbage", "corrupt.skops", "not a readable skops file"),
        (b"garbage", "corrupt.onnx", "not a loadable ONNX model"),
        (b"x", "model.txt", "unknown model format"),
    ],
)
def test_bad_files_fail_with_a_clear_message(tmp_path, content, name, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelLoadError, match=message) as info:
        load_model(path)
    assert name in str(info.value)


def test_object_that_is_not_an_estimator(tmp_path):
    path = tmp_path / "dict.joblib"
    joblib.dump({"weights": [1, 2]}, path)
    with pytest.raises(ModelLoadError, match="not an estimator"):
        load_model(path)


def test_skops_with_trusted_types(tmp_path, iris):
    import skops.io as sio

    model = RandomForestClassifier(3, random_state=0).fit(*iris)
    path = tmp_path / "rf.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    if untrusted:
        with pytest.raises(ModelLoadError, match="untrusted types"):
            load_model(path)
    loaded = load_model(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(iris[0]), model.predict(iris[0]))


def _onnx_bytes(model, n_features):
    from skl2onnx import to_onnx

    return to_onnx(model, np.zeros((1, n_features), dtype=np.float32),
                   options={id(model): {"zipmap": False}}).SerializeToString()


def test_onnx_model_metadata_providers_and_validation(tmp_path, lr, iris, caplog):
    X = iris[0].astype(np.float32)
    path = tmp_path / "lr.onnx"
    path.write_bytes(_onnx_bytes(lr, 4))
    model = load_model(path)
    assert isinstance(model, OnnxModel)
    assert model.provider == "CPUExecutionProvider" and not model.fell_back
    info = model.describe()
    assert info["metadata"]["inputs"][0]["dtype"] == "tensor(float)"
    assert info["metadata"]["inputs"][0]["shape"][1] == 4
    np.testing.assert_array_equal(model.predict(X), lr.predict(X))
    np.testing.assert_allclose(model.predict_proba(X), lr.predict_proba(X), atol=1e-5)
    from conduit.ml import InvalidInput

    with pytest.raises(InvalidInput, match="expected 4 features"):
        model.predict(np.zeros((1, 3)))


def test_provider_choice():
    available = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers("auto", available) == available
    assert choose_providers("auto", ["CPUExecutionProvider", "TensorrtExecutionProvider"]) == [
        "TensorrtExecutionProvider", "CPUExecutionProvider"]
    with pytest.raises(ValueError, match="not available"):
        choose_providers(["CUDAExecutionProvider"], ["CPUExecutionProvider"])


def test_explicit_unavailable_provider_fails_startup(lr):
    with pytest.raises(ModelLoadError, match="TensorrtExecutionProvider"):
        OnnxModel(_onnx_bytes(lr, 4), providers=["TensorrtExecutionProvider"])


def test_silent_cpu_fallback_is_detected(monkeypatch, lr, caplog):
    import onnxruntime as ort

    # Pretend CUDA is installed; ONNX Runtime then runs the session on CPU anyway.
    monkeypatch.setattr(ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    real = ort.InferenceSession

    def session(source, sess_options=None, providers=None):
        return real(source, sess_options=sess_options, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(ort, "InferenceSession", session)
    with caplog.at_level(logging.WARNING, logger="conduit.ml"):
        model = OnnxModel(_onnx_bytes(lr, 4))
    assert model.requested_providers[0] == "CUDAExecutionProvider"
    assert model.fell_back and model.provider == "CPUExecutionProvider"
    assert "runs it on CPUExecutionProvider" in caplog.text


def test_registry_versions_describe_and_swap(tmp_path, lr, iris):
    registry = ModelRegistry(keep=2)
    v1 = registry.register("iris", lr)
    assert v1.version == "1" and registry.get("iris") is v1
    rf = RandomForestClassifier(3, random_state=0).fit(*iris)
    path = tmp_path / "rf.joblib"
    joblib.dump(rf, path)
    v2 = registry.swap("iris", path)
    assert registry.get("iris") is v2 and registry.get("iris", 1) is v1
    described = registry.describe()["iris"]
    assert described["current"] == "2"
    assert [(v["version"], v["estimator"], v["path"]) for v in described["versions"]] == [
        ("1", "LogisticRegression", "compiled"), ("2", "RandomForestClassifier", "compiled")]
    registry.register("iris", lr, version="3")
    assert [v["version"] for v in registry.describe()["iris"]["versions"]] == ["2", "3"]
    assert registry.activate("iris", 2) is v2
    with pytest.raises(ModelNotFound):
        registry.get("nope")
    with pytest.raises(ModelNotFound, match="no version"):
        registry.get("iris", 1)


# --- loading that cannot be raced ------------------------------------------------------


class _Evil:
    """Unpickling this creates ``marker``: the proof that a file's code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pinned_load_never_runs_a_swapped_file(tmp_path, lr):
    """A thread swaps the model file for a malicious pickle and back, as fast as it can,
    while pinned loads run: every load either returns the good model or refuses, and
    the malicious pickle never runs (its marker file never appears)."""
    import threading

    marker = tmp_path / "pwned"
    good, evil, target = tmp_path / "good.joblib", tmp_path / "evil.joblib", tmp_path / "model.joblib"
    joblib.dump(lr, good)
    joblib.dump(_Evil(marker), evil)
    digest = hashlib.sha256(good.read_bytes()).hexdigest()
    good_bytes, evil_bytes = good.read_bytes(), evil.read_bytes()
    target.write_bytes(good_bytes)
    stop = threading.Event()

    def swap():
        staging = tmp_path / "staging.joblib"
        flip = False
        while not stop.is_set():
            # both an atomic replace (new inode) and an in-place rewrite (same inode)
            staging.write_bytes(evil_bytes if flip else good_bytes)
            os.replace(staging, target)
            with open(target, "r+b") as fh:
                fh.write(good_bytes if flip else evil_bytes)
                fh.truncate()
            flip = not flip

    swapper = threading.Thread(target=swap, daemon=True)
    swapper.start()
    outcomes = {"loaded": 0, "refused": 0}
    try:
        for _ in range(400):
            try:
                model = load_model(target, sha256=digest)
            except ModelLoadError as exc:
                assert "sha256 mismatch" in str(exc) or "changed size" in str(exc) \
                    or "not found" in str(exc), str(exc)
                outcomes["refused"] += 1
            else:
                assert type(model) is LogisticRegression
                outcomes["loaded"] += 1
            assert not marker.exists(), "a pinned load ran the swapped-in pickle"
    finally:
        stop.set()
        swapper.join()
    assert outcomes["loaded"] + outcomes["refused"] == 400
    assert not marker.exists()


def test_the_evil_pickle_really_runs_when_unpinned(tmp_path):
    # the race test above proves something only if its payload runs when loaded
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.joblib"
    joblib.dump(_Evil(marker), path)
    with pytest.raises(ModelLoadError, match="not an estimator"):
        load_model(path)
    assert marker.exists()


def test_pinned_symlink_is_refused(tmp_path, lr):
    real = tmp_path / "real.joblib"
    joblib.dump(lr, real)
    link = tmp_path / "link.joblib"
    link.symlink_to(real)
    digest = hashlib.sha256(real.read_bytes()).hexdigest()
    with pytest.raises(ModelLoadError, match="link.joblib: is a symlink"):
        load_model(link, sha256=digest)
    assert type(load_model(link)) is LogisticRegression  # unpinned: symlinks are followed


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.joblib"
    os.mkfifo(fifo)
    with pytest.raises(ModelLoadError, match="is a FIFO"):
        load_model(fifo, sha256="0" * 64)
    with pytest.raises(ModelLoadError, match="is a FIFO"):
        load_model(fifo)


def test_file_growing_during_the_read_is_refused(tmp_path, lr, monkeypatch):
    from conduit.ml.serve import loading

    path = tmp_path / "lr.joblib"
    joblib.dump(lr, path)
    real_read = os.read

    def read_then_append(fd, n):
        chunk = real_read(fd, n)
        if chunk:
            with open(path, "ab") as fh:
                fh.write(b"\0" * 16)
        return chunk

    monkeypatch.setattr(loading.os, "read", read_then_append)
    with pytest.raises(ModelLoadError, match="changed size while being read"):
        load_model(path, sha256="0" * 64)


def test_pinned_skops_and_onnx_load_from_the_checked_bytes(tmp_path, lr, iris):
    import skops.io as sio

    path = tmp_path / "lr.skops"
    sio.dump(lr, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    trusted = sio.get_untrusted_types(file=path)
    loaded = load_model(path, sha256=digest, trusted=trusted)
    np.testing.assert_array_equal(loaded.predict(iris[0]), lr.predict(iris[0]))
    onnx_path = tmp_path / "lr.onnx"
    onnx_path.write_bytes(_onnx_bytes(lr, 4))
    model = load_model(onnx_path, sha256=hashlib.sha256(onnx_path.read_bytes()).hexdigest())
    assert isinstance(model, OnnxModel) and model.describe()["n_features"] == 4
    with pytest.raises(ModelLoadError, match=r"lr\.onnx: sha256 mismatch"):
        load_model(onnx_path, sha256="1" * 64)
