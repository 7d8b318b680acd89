"""The handler deadline holds for sync (``def``) handlers.

Issue 21's attack: on ``conduit run --handler-timeout 1`` a sync handler that sleeps
3 s answered 200 after 3 s, while an async one got 504 at 1 s.
"""

from __future__ import annotations

import logging
import threading
import time

import trio

from conduit import Conduit
from conduit.lifecycle.threads import run_sync_handler
from conduit.testing import TestClient


def test_sync_handler_timeout_is_504_at_the_deadline(caplog):
    release = threading.Event()
    app = Conduit(handler_timeout=0.5)

    @app.get("/slow")
    def slow():
        release.wait(30)
        return {"late": True}

    with caplog.at_level(logging.WARNING, logger="conduit.error"), TestClient(app) as client:
        response = client.get("/slow")
        assert response.status_code == 504  # answered while the thread still runs
        assert not release.is_set()
        release.set()
        deadline = time.monotonic() + 20
        while not any("returned after its deadline" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "no log line for the dropped result"
            time.sleep(0.05)


def test_an_abandoned_thread_keeps_its_limiter_slot_until_it_returns(caplog):
    """The pool stays bounded: a handler past its deadline still holds its slot."""
    release = threading.Event()

    async def main() -> tuple[int, int]:
        limiter = trio.to_thread.current_default_thread_limiter()
        with trio.move_on_after(0.1):
            await run_sync_handler(lambda: release.wait(30), "stuck")
        held_after_deadline = limiter.borrowed_tokens
        release.set()
        while limiter.borrowed_tokens:
            await trio.sleep(0.01)
        return held_after_deadline, limiter.borrowed_tokens

    with caplog.at_level(logging.WARNING, logger="conduit.error"):
        held, after = trio.run(main)
    assert (held, after) == (1, 0)
    assert any("stuck returned after its deadline" in r.getMessage() for r in caplog.records)


def test_an_abandoned_threads_error_is_logged_not_raised(caplog):
    release = threading.Event()

    def fails():
        release.wait(30)
        raise RuntimeError("too late to matter")

    async def main() -> None:
        limiter = trio.to_thread.current_default_thread_limiter()
        with trio.move_on_after(0.1):
            await run_sync_handler(fails, "fails")
        release.set()
        while limiter.borrowed_tokens:
            await trio.sleep(0.01)

    with caplog.at_level(logging.ERROR, logger="conduit.error"):
        trio.run(main)
    assert any("fails failed after its deadline" in r.getMessage() for r in caplog.records)


def test_a_hanging_custom_504_handler_still_gets_a_504(monkeypatch):
    import conduit.lifecycle.cycle as cycle

    monkeypatch.setattr(cycle, "DEADLINE_ANSWER_TIMEOUT", 0.2)
    app = Conduit(handler_timeout=0.2)

    @app.exception_handler(504)
    async def hangs(request, exc):
        await trio.sleep(60)

    @app.get("/slow")
    async def slow():
        await trio.sleep(60)

    with TestClient(app) as client:
        response = client.get("/slow")
    assert response.status_code == 504
    assert response.json()["error"]["detail"] == "the handler did not finish in time"
