"""Under an ASGI server the app's policy holds as it does on the native server.

Issue 21's attacks "no limits under ASGI" and "asgi.py never closes a streaming
iterator", against real uvicorn and granian processes over raw sockets: the 413
comes before the body is sent whole, and a client that leaves an endless stream
gets its iterator closed.
"""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from _faces import serve_face  # the face fixtures of tests/conduit/faces


#: (server, app, the loop its requests run on): the host's loop, and the bridge to the trio thread.
SERVED = [("uvicorn", "asgi_policy_app", "asyncio"), ("granian", "asgi_policy_app", "asyncio"),
          ("uvicorn", "asgi_policy_app_trio", "trio"), ("granian", "asgi_policy_app_trio", "trio")]


@pytest.fixture(scope="module", params=SERVED, ids=[f"{server}-{loop}" for server, _, loop in SERVED])
def asgi(request):
    server, module, loop = request.param
    with serve_face(server, f"{module}:app") as face:
        face.loop = loop
        yield face


def test_asgi_requests_run_on_the_loop_the_placement_chose(asgi):
    with asgi.client() as client:
        assert client.get("/loop").json() == {"loop": asgi.loop}


def _open(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    return sock


def _read_status(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"connection closed before a status line: {data!r}")
        data += chunk
    return int(data.split(b" ", 2)[1])


def test_asgi_body_over_the_declared_limit_is_413_before_the_body_is_sent(asgi):
    sock = _open(asgi.url)
    try:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 40000000\r\n\r\n" + b"x" * 1000)
        assert _read_status(sock) == 413  # 39.99 MB never sent
    finally:
        sock.close()


def test_asgi_chunked_body_over_the_route_limit_is_413_while_it_streams(asgi):
    sock = _open(asgi.url)
    try:
        sock.sendall(b"POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(3):
            sock.sendall(b"3e8\r\n" + b"x" * 1000 + b"\r\n")  # 3000 bytes, no last chunk yet
        assert _read_status(sock) == 413
    finally:
        sock.close()


def test_asgi_closes_the_streaming_iterator_when_the_client_leaves(asgi):
    before = httpx.get(asgi.url + "/closed").json()["streams"]
    with httpx.stream("GET", asgi.url + "/endless", timeout=30) as response:
        assert response.status_code == 200
        first = next(response.iter_bytes())
        assert first.startswith(b"tick")
    deadline = time.monotonic() + 20
    while httpx.get(asgi.url + "/closed").json()["streams"] == before:
        assert time.monotonic() < deadline, "the endless stream's iterator was never closed"
        time.sleep(0.1)


def test_asgi_route_limit_of_1000_refuses_5000_bytes(asgi):
    """Issue 21: under uvicorn a route with max_body_size=1000 accepted 5,000 bytes."""
    assert httpx.post(asgi.url + "/small", content=b"x" * 5000, timeout=30).status_code == 413


@pytest.mark.parametrize("size", [5_000_000, 40_000_000])
def test_asgi_default_limit_refuses_5mb_and_40mb(asgi, size):
    """Issue 21: the default 1 MiB limit was not applied under uvicorn (5 MB and 40 MB got 200)."""
    assert httpx.post(asgi.url + "/echo", content=b"x" * size, timeout=60).status_code == 413


def test_asgi_handler_past_the_timeout_is_504(asgi):
    """Issue 21: a handler running 40 s returned 200 under uvicorn; the native server answered 504."""
    response = httpx.get(asgi.url + "/sleeps", timeout=60)
    assert response.status_code == 504
    assert response.json()["error"]["detail"] == "the handler did not finish in time"


def test_asgi_trio_call_hidden_from_the_scan_is_a_500_and_the_server_keeps_serving(asgi):
    """What docs/asgi.md says a host-loop handler gives up: a trio call reached through
    ``app.state`` fails cleanly (500, generic body) on the host's loop; pinned, it runs."""
    with asgi.client() as client:
        response = client.get("/hidden-trio")
        if asgi.loop == "asyncio":
            assert response.status_code == 500
            assert response.json()["error"]["detail"] == "Internal Server Error"
        else:
            assert response.json() == {"ran": True}
        assert client.get("/loop").json() == {"loop": asgi.loop}  # still serving


def _wait_for(client, predicate, what: str) -> dict:
    deadline = time.monotonic() + 20
    while not predicate(state := client.get("/done").json()):
        assert time.monotonic() < deadline, f"{what} never happened: {state}"
        time.sleep(0.05)
    return state


def test_asgi_background_tasks_run_after_the_response_sync_and_async(asgi):
    with asgi.client() as client:
        before = client.get("/done").json()
        assert client.post("/later").json() == {"queued": 2}
        _wait_for(client, lambda s: s["sync"] > before["sync"] and s["async"] > before["async"],
                  "the sync and async background tasks")


def test_asgi_large_upload_spooled_to_disk_is_read_then_closed(asgi):
    """A 2 MiB part rolls over to a temporary file: its reads and writes run in worker
    threads on either loop, and the upload is closed once the response is sent."""
    payload = bytes(range(256)) * 8192
    with asgi.client() as client:
        response = client.post("/upload", files={"file": ("big.bin", payload)})
        assert response.json() == {"size": len(payload), "name": "big.bin"}
        _wait_for(client, lambda s: s["upload_closed"] is True, "closing the upload")


def test_asgi_websocket_session_runs_on_the_loop_the_placement_chose(asgi):
    from websockets.sync.client import connect

    with connect(asgi.url.replace("http://", "ws://") + "/ws-loop", open_timeout=30) as ws:
        for text in ("a", "b" * 1000):
            ws.send(text)
            assert ws.recv(timeout=30) == f"{asgi.loop}:{text}"
