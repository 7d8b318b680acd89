"""The ASGI face under a real uvicorn process, and a Starlette app mounted inside Conduit."""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import time

import httpx
import pytest

HERE = pathlib.Path(__file__).parent


@pytest.fixture(scope="module")
def uvicorn_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "asgi_sample_app:app", "--fd", str(sock.fileno()),
         "--lifespan", "on", "--log-level", "warning"],
        pass_fds=[sock.fileno()], env=env, cwd=HERE)
    sock.close()
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # the app warms its kernels before answering
            try:
                httpx.get(url + "/state", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    raise RuntimeError("uvicorn exited")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture()
def http(uvicorn_url):
    with httpx.Client(base_url=uvicorn_url, timeout=30) as client:
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


def test_mounted_starlette_on_the_native_server():
    from conduit import LiveServer

    sys.path.insert(0, str(HERE))
    try:
        import asgi_sample_app
    finally:
        sys.path.remove(str(HERE))
    with LiveServer(asgi_sample_app.app) as live:
        assert httpx.get(live.url + "/legacy/").json()["starlette"] is True
        assert httpx.post(live.url + "/legacy/echo", json=[1, 2]).json() == {"got": [1, 2]}
