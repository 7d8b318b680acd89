"""Sync handlers on the worker pool, over a real socket: blocking ones cannot stall the loop,
they are bounded by the thread limiter (40), and every one of them is answered once released."""

from __future__ import annotations

import concurrent.futures
import time

import httpx

from _process import ServerProcess


def test_blocking_sync_handlers_cannot_stall_async_routes_and_are_bounded_by_the_limiter(tmp_path, monkeypatch):
    release = tmp_path / "release"
    monkeypatch.setenv("CONDUIT_TEST_RELEASE_FILE", str(release))
    server = ServerProcess("_sync_app:app").wait_ready()
    try:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        with httpx.Client(base_url=server.url, timeout=40, limits=limits) as client, \
                concurrent.futures.ThreadPoolExecutor(60) as pool:
            blocked = [pool.submit(client.get, "/block") for _ in range(50)]
            queued_sync = pool.submit(client.get, "/sync-fast")
            deadline = time.monotonic() + 20
            while client.get("/peak").json()["running"] < 40:  # until the limiter is full
                assert time.monotonic() < deadline, f"never 40 running: {client.get('/peak').json()}"
                time.sleep(0.02)
            for _ in range(20):  # the loop still serves async routes while 40 threads block
                assert client.get("/fast").text == "fast"
            assert not queued_sync.done()  # a sync handler waits for a slot, as trio's limiter says
            release.write_text("go")
            answers = [f.result(timeout=40) for f in blocked]
            assert [a.status_code for a in answers] == [200] * 50
            assert all(a.json() == {"released": True, "thread": "conduit-sync-worker"} for a in answers)
            assert queued_sync.result(timeout=40).status_code == 200
            assert client.get("/peak").json() == {"peak": 40, "running": 0}
    finally:
        server.terminate()
        assert server.wait(30) == 0
