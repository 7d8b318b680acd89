"""Process lifecycle over real sockets: startup failure, graceful shutdown, workers, the connection cap."""

from __future__ import annotations

import signal
import socket
import threading
import time

import httpx
import pytest

from conduit import Conduit, Request
from conduit.testing.client import LiveServer

from _process import ServerProcess
from _raw_http import connect, exchange, get, read_response, wait_closed


def test_failing_startup_hook_exits_nonzero_with_a_clear_message():
    with ServerProcess("_prod_app:bad") as server:
        assert server.wait(60) == 3
        assert "application startup failed: RuntimeError: database unreachable" in server.output()


def test_failing_startup_with_workers_exits_nonzero():
    with ServerProcess("_prod_app:bad", "--workers", "2") as server:
        assert server.wait(60) == 3


def test_sigterm_lets_in_flight_requests_finish_and_exits_zero():
    with ServerProcess() as server:
        server.wait_ready()
        results = {}

        def slow():
            results["slow"] = httpx.get(server.url + "/slow?s=1.5", timeout=10)

        idle = connect(server.port)  # an idle keep-alive connection
        idle.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_response(idle).status == 200
        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.5)  # the slow request is in its handler
        started = time.monotonic()
        server.terminate()
        assert wait_closed(idle, 3.0), "idle keep-alive connection not closed at once on SIGTERM"
        thread.join(10)
        assert results["slow"].status_code == 200 and results["slow"].text == "slow done"
        assert results["slow"].headers["connection"] == "close"
        assert server.wait(10) == 0
        assert time.monotonic() - started < 10
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_grace_period_bounds_the_drain():
    with ServerProcess("_prod_app:app", "--grace-period", "1") as server:
        server.wait_ready()
        thread = threading.Thread(target=lambda: _swallow(lambda: httpx.get(server.url + "/slow?s=20",
                                                                             timeout=30)))
        thread.start()
        time.sleep(0.5)
        server.terminate(signal.SIGINT)
        assert server.wait(10) == 0
        thread.join(10)


def _swallow(fn):
    try:
        fn()
    except httpx.HTTPError:
        pass


def test_workers_share_the_socket_replace_a_crashed_worker_and_drain_on_sigterm():
    with ServerProcess("_prod_app:app", "--workers", "2") as server:
        server.wait_ready()
        deadline = time.monotonic() + 30
        pids = set()
        while len(pids) < 2 and time.monotonic() < deadline:
            pids.add(httpx.get(server.url + "/pid", headers={"connection": "close"}).json()["pid"])
        assert len(pids) == 2
        with pytest.raises(httpx.HTTPError):
            httpx.get(server.url + "/crash")
        after = set()
        while len(after) < 2 and time.monotonic() < deadline:
            after.add(httpx.get(server.url + "/pid", headers={"connection": "close"}).json()["pid"])
        assert len(after) == 2 and after != pids  # one replaced, still two serving
        metrics = httpx.get(server.url + "/metrics").text
        assert 'conduit_requests_total{method="GET",route="/pid",status="200"}' in metrics
        server.terminate()
        assert server.wait(30) == 0


# ---------------------------------------------------------------- in-process


def _limits_app() -> Conduit:
    app = Conduit()

    @app.get("/")
    async def index():
        return "ok"

    @app.post("/upload")
    async def upload(request: Request):
        return {"size": len(await request.body())}

    @app.post("/small", max_body_size=10)
    async def small(request: Request):
        return {"size": len(await request.body())}

    @app.post("/ignores-body")
    async def ignores():
        return "ignored"

    return app


@pytest.fixture(scope="module")
def limits():
    with LiveServer(_limits_app(), max_body_size=1000, max_connections=8, keepalive_timeout=5.0) as live:
        yield live


def test_content_length_over_limit_is_413_without_100_continue(limits):
    sock = connect(limits.port)
    try:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 413"), head[:80]
        assert b"connection: close" in head.lower()
    finally:
        sock.close()


def test_expect_100_continue_when_the_body_is_accepted(limits):
    sock = connect(limits.port)
    try:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 100")
        sock.sendall(b"hello")
        response = read_response(sock)
        assert response.status == 200 and response.body == b'{"size":5}'
    finally:
        sock.close()


def test_per_route_body_limit(limits):
    body = b"x" * 20
    request = b"POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 20\r\n\r\n" + body
    assert exchange(limits.port, request).status == 413
    request = b"POST /upload HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 20\r\n\r\n" + body
    assert exchange(limits.port, request).status == 200


def test_unread_body_with_expect_closes_instead_of_waiting(limits):
    response = exchange(limits.port, b"POST /ignores-body HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n"
                                     b"Expect: 100-continue\r\n\r\n")
    assert response.status == 200 and response.closed


def test_connection_cap_answers_503_and_keeps_serving_open_connections(limits):
    held = [connect(limits.port) for _ in range(8)]
    try:
        time.sleep(0.3)
        extra = exchange(limits.port, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert extra.status == 503 and extra.headers.get("retry-after") == "1"
        held[0].sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_response(held[0]).status == 200
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    assert get(limits.port).status == 200
