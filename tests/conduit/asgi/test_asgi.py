"""The ASGI face under real uvicorn, hypercorn and granian processes, and ASGI apps mounted in Conduit."""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

HERE = pathlib.Path(__file__).parent


def _command(server: str, port: int) -> list[str]:
    """The command line that serves ``asgi_sample_app:app`` on 127.0.0.1:port with lifespan on."""
    if server == "uvicorn":
        return [sys.executable, "-m", "uvicorn", "asgi_sample_app:app", "--host", "127.0.0.1", "--port", str(port),
                "--lifespan", "on", "--log-level", "warning"]
    if server == "hypercorn":
        return [sys.executable, "-m", "hypercorn", "asgi_sample_app:app", "--bind", f"127.0.0.1:{port}"]
    return [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--log-level", "warning", "asgi_sample_app:app"]


@pytest.fixture(scope="module", params=["uvicorn", "hypercorn", "granian"])
def asgi_url(request):
    """``asgi_sample_app:app`` served by a real ASGI server process on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen(_command(request.param, port), env=env, cwd=HERE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):  # the app warms its kernels before answering
            try:
                httpx.get(url + "/state", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    raise RuntimeError(f"{request.param} exited")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture()
def http(asgi_url):
    with httpx.Client(base_url=asgi_url, timeout=30) as client:
        yield client


def test_lifespan_startup_ran(http):
    assert "startup" in http.get("/state").json()


def test_params_and_sync_handlers(http):
    assert http.get("/hello/ada", params={"times": 2}).json() == {"hello": "ada", "times": 2}
    assert http.get("/hello/ada", params={"times": "x"}).status_code == 422
    assert http.get("/sync").text == "from a worker thread"
    assert http.get("/nope").status_code == 404
    assert http.delete("/sync").status_code == 405


def test_streamed_request_body(http):
    def chunks():
        for _ in range(8):
            yield b"x" * 65536
    assert http.post("/echo", content=chunks()).json() == {"bytes": 8 * 65536}


def test_upload_under_uvicorn(http):
    response = http.post("/upload", files={"file": ("a.txt", b"abc")}, data={"note": "n"})
    assert response.json() == {"name": "a.txt", "size": 3, "note": "n"}


def test_streaming_response_under_uvicorn(http):
    with http.stream("GET", "/events") as response:
        text = "".join(response.iter_text())
    assert text.count("data: tick") == 3


def test_background_task_under_uvicorn(http):
    assert http.post("/later").text == "ok"
    for _ in range(50):
        if "background" in http.get("/state").json():
            break
        time.sleep(0.1)
    assert "background" in http.get("/state").json()


def test_mounted_starlette_app_answers(http):
    assert http.get("/legacy/").json() == {"starlette": True, "path": "/legacy/", "root": "/legacy"}
    assert http.post("/legacy/echo", json={"a": 1}).json() == {"got": {"a": 1}}


@pytest.fixture(scope="module")
def sample_app():
    sys.path.insert(0, str(HERE))
    try:
        import asgi_sample_app
    finally:
        sys.path.remove(str(HERE))
    return asgi_sample_app


@pytest.fixture(scope="module")
def native_url(sample_app):
    from conduit import LiveServer

    with LiveServer(sample_app.app) as live:
        yield live.url


def test_mounted_starlette_on_the_native_server(native_url):
    assert httpx.get(native_url + "/legacy/").json()["starlette"] is True
    assert httpx.post(native_url + "/legacy/echo", json=[1, 2]).json() == {"got": [1, 2]}


def test_mounted_asgi_response_streams_on_the_native_server(native_url, sample_app):
    """An endless Starlette stream answers chunk by chunk; closing the client stops the mounted app."""
    lines = []
    with httpx.stream("GET", native_url + "/legacy/endless", timeout=30) as response:
        assert response.status_code == 200 and "content-length" not in response.headers
        for line in response.iter_lines():
            lines.append(line)
            if len(lines) == 3:
                break
    assert lines == ["tick 0", "tick 1", "tick 2"]
    for _ in range(100):
        if "endless stopped" in sample_app.events:
            break
        time.sleep(0.1)
    assert "endless stopped" in sample_app.events


def test_websocket_text_bytes_and_close_code(asgi_url):
    with connect(asgi_url.replace("http", "ws") + "/ws/lobby", open_timeout=30, close_timeout=10) as ws:
        assert ws.recv(timeout=30) == '{"room":"lobby"}'
        ws.send("hi")
        assert ws.recv(timeout=30) == "lobby:hi"
        ws.send(b"abc")
        assert ws.recv(timeout=30) == b"cba"
        ws.send("bye")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd.code == 4000 and closed.value.rcvd.reason == "bye"


def test_websocket_client_disconnect_ends_the_handler(asgi_url, http):
    with connect(asgi_url.replace("http", "ws") + "/ws/gone", open_timeout=30) as ws:
        assert ws.recv(timeout=30) == '{"room":"gone"}'
    for _ in range(100):
        if "ws closed gone" in http.get("/state").json():
            break
        time.sleep(0.1)
    assert "ws closed gone" in http.get("/state").json()


def test_websocket_refused_handshake_is_403_and_an_unknown_path_404(asgi_url):
    # The same answers as the native server: the refusal keeps its status through the
    # ASGI websocket.http.response extension, which all three servers offer.
    for path, status in (("/ws-refuse", 403), ("/no-such-socket", 404)):
        with pytest.raises(InvalidStatus) as refused:
            connect(asgi_url.replace("http", "ws") + path, open_timeout=30)
        assert refused.value.response.status_code == status


def test_websocket_handler_error_closes_1011(asgi_url):
    with connect(asgi_url.replace("http", "ws") + "/ws-boom", open_timeout=30) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd.code == 1011
