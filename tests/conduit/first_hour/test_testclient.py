"""TestClient works without a ``with`` block, as Starlette's does."""

from __future__ import annotations

import httpx
import pytest

from conduit import Conduit, TestClient


def _app(events: list[str]) -> Conduit:
    app = Conduit()
    app.on_startup(lambda: events.append("startup"))
    app.on_shutdown(lambda: events.append("shutdown"))

    @app.get("/")
    def hello():
        return "hello"
    return app


def test_plain_client_starts_the_app_on_first_use_and_close_shuts_it_down():
    events: list[str] = []
    client = TestClient(_app(events))
    assert events == []  # nothing runs before the first request
    assert client.get("/").text == "hello"
    assert client.get("/").status_code == 200
    assert events == ["startup"]  # once, not per request
    client.close()
    assert events == ["startup", "shutdown"]
    with pytest.raises(RuntimeError, match="closed"):
        client.get("/")


def test_with_block_still_runs_startup_on_entry_and_shutdown_on_exit():
    events: list[str] = []
    with TestClient(_app(events)) as client:
        assert events == ["startup"]
        assert client.get("/").text == "hello"
    assert events == ["startup", "shutdown"]


def test_a_failing_startup_is_reported_at_the_first_request():
    app = Conduit()

    @app.on_startup
    def boom():
        raise RuntimeError("no database")

    client = TestClient(app)
    with pytest.raises(RuntimeError, match="no database"):
        client.get("/")
    client.close()
    assert isinstance(client, httpx.Client)
