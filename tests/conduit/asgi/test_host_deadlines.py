"""The handler deadline on the host's asyncio loop (:mod:`conduit.asgi.deadlines`): one
watchdog cancels only the requests past ``handler_timeout``; anyone else's cancellation
passes through untouched; a handler that swallows the cancellation keeps its answer and
leaves its task with no cancellation pending; the watchdog ends when nothing is in flight."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from conduit import Conduit

TIMEOUT = 0.3


def _app() -> Conduit:
    app = Conduit(handler_timeout=TIMEOUT, openapi_url=None, docs_url=None)

    @app.get("/fast")
    async def fast():
        await anyio.sleep(0.01)
        return {"fast": True}

    @app.get("/slow")
    async def slow():
        await anyio.sleep(30)

    @app.get("/stubborn")
    async def stubborn():
        try:
            await anyio.sleep(30)
        except asyncio.CancelledError:  # a handler that should not, but does, swallow it
            return {"kept": True}

    @app.get("/sync-slow")
    def sync_slow():
        import time

        time.sleep(2 * TIMEOUT)
        return {"late": True}

    return app


@pytest.fixture(scope="module")
def app():
    app = _app()
    yield app
    app._asgi._stop_loop()


async def _get(app, path: str) -> tuple[int, bytes, int]:
    """(status, body, the task's pending cancellations after the call)."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [], "client": ("127.0.0.1", 1), "scheme": "http"}
    await app(scope, receive, send)
    return sent[0]["status"], sent[1]["body"], asyncio.current_task().cancelling()


def test_only_the_requests_past_the_deadline_get_504(app):
    async def main():
        calls = [_get(app, p) for p in ["/fast", "/slow", "/fast", "/sync-slow", "/slow", "/fast"] * 3]
        return await asyncio.gather(*calls)

    results = asyncio.run(main())
    statuses = [status for status, _, _ in results]
    assert statuses == [200, 504, 200, 504, 504, 200] * 3
    assert all(pending == 0 for _, _, pending in results)
    assert app._asgi._deadlines._watchdog is None  # nothing in flight: the watchdog ended


def test_a_cancellation_from_the_server_propagates_and_is_not_a_504(app):
    async def main():
        task = asyncio.create_task(_get(app, "/slow"))
        await asyncio.sleep(TIMEOUT / 3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await _get(app, "/fast")

    assert asyncio.run(main())[0] == 200


def test_a_handler_that_swallows_the_deadline_keeps_its_answer_and_no_cancel_is_left(app):
    status, body, pending = asyncio.run(_get(app, "/stubborn"))
    assert (status, body, pending) == (200, b'{"kept":true}', 0)


def test_concurrent_first_requests_without_lifespan_start_the_app_once():
    app = Conduit(openapi_url=None, docs_url=None)
    started = []

    @app.on_startup
    async def count_startups():
        started.append(1)
        await anyio.sleep(0.3)  # a slow startup: the window where a second first request used to start a second loop

    @app.get("/fast")
    async def fast():
        return {"fast": True}

    async def main():
        return await asyncio.gather(*(_get(app, "/fast") for _ in range(20)))

    try:
        assert [status for status, _, _ in asyncio.run(main())] == [200] * 20
        assert started == [1]
    finally:
        app._asgi._stop_loop()
