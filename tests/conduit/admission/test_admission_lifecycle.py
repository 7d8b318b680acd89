"""Admission inside the app's lifecycle: its 503 is an answer like any other, and the memory
guard is checked again while a body streams in.

Issue 21's attacks: admission's 503 skipped the request id; a burst of 40 requests
holding 20 MB each took a 227 MB limit to 288-488 MB (the guard looked only once,
before the body).
"""

from __future__ import annotations

from conduit import Conduit, Request
from conduit.admission import Admission, MemoryGuard
from conduit.middleware.request_id import RequestID
from conduit.testing import TestClient


def _app() -> Conduit:
    app = Conduit()
    app.add_middleware(RequestID)

    @app.post("/upload", max_body_size=100_000_000)
    async def upload(request: Request):
        return {"bytes": len(await request.body())}

    @app.get("/ok")
    async def ok():
        return {"ok": True}

    return app


class FakeRSS:
    def __init__(self, value: int):
        self.value = value

    def __call__(self) -> int:
        return self.value


def test_admission_503_carries_the_request_id():
    app = _app()
    with TestClient(app) as client:
        app.admission = Admission(memory=MemoryGuard(1000, read_rss=FakeRSS(5000), interval=0))
        try:
            response = client.get("/ok", headers={"x-request-id": "trace-42"})
            generated = client.get("/ok")
        finally:
            app.admission = None
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-request-id"] == "trace-42"
    assert response.json()["error"]["request_id"] == "trace-42"
    assert generated.status_code == 503
    assert generated.json()["error"]["request_id"] == generated.headers["x-request-id"]  # made by RequestID


def test_memory_guard_refuses_a_body_mid_stream():
    """RSS is under the limit on admission; the body's bytes push the estimate over it."""
    app = _app()
    rss = FakeRSS(1_000_000)
    with TestClient(app) as client:
        app.admission = Admission(memory=MemoryGuard(3_000_000, read_rss=rss, interval=3600))
        try:
            assert client.post("/upload", content=b"x" * 1_000_000).json() == {"bytes": 1_000_000}
            refused = client.post("/upload", content=b"x" * 5_000_000)
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert "memory" in refused.json()["error"]["detail"]
        finally:
            app.admission = None
        assert client.get("/ok").status_code == 200  # serving goes on


def test_memory_guard_burst_overshoots_by_at_most_one_read_per_connection():
    """40 connections sending 20 MB each in 64 KiB reads against a 227 MB limit."""
    limit, read, connections = 227_000_000, 65_536, 40
    guard = MemoryGuard(limit, read_rss=FakeRSS(100_000_000), interval=3600)
    assert not guard.check()
    refused = [False] * connections
    for _ in range(20_000_000 // read):
        for i in range(connections):
            if refused[i]:
                continue
            # a read arrived; the guard looks at it (Request.body_guard)
            if guard.charge(read):
                refused[i] = True
    peak_estimate = guard.rss + guard.charged
    assert all(refused)
    assert peak_estimate <= limit + connections * read


def test_a_rss_reading_replaces_the_charged_estimate():
    rss = FakeRSS(100)
    clock = [0.0]
    guard = MemoryGuard(1000, read_rss=rss, interval=1.0, clock=lambda: clock[0])
    assert not guard.check()
    assert not guard.charge(500)
    assert guard.charge(600)  # 100 + 1100 > 1000
    rss.value = 50
    clock[0] = 5.0
    assert not guard.check()  # under the low-water mark again: the reading wins
    assert guard.charged == 0
