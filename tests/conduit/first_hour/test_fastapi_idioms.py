"""Issue 26, item 4 (and 5's fallback): the Starlette/FastAPI idioms a newcomer brings.

Before -> after, one test each:
* ``@app.on_event("startup")``: AttributeError -> runs at startup (and "shutdown" at shutdown);
* ``lifespan=`` an async context manager: not accepted -> entered at startup, left at shutdown;
* ``StaticFiles(html=True)``: TypeError -> index.html for directories, 404.html for missing files;
* an unannotated ``websocket`` parameter: RouteError -> the WebSocket;
* ``app.dependency_overrides``: missing -> replaces a dependency per request (tests);
* ``Resilient(fallback=f)``: returned ``f`` itself -> calls ``f`` with the call's arguments.
"""

from __future__ import annotations

import contextlib
from typing import Annotated

import httpx
import pytest
import trio

from conduit import Conduit, Depends, LiveServer, Resilient, StaticFiles, TestClient


def test_on_event_startup_and_shutdown_run():
    events = []
    app = Conduit()

    @app.on_event("startup")
    async def opened():
        events.append("startup")

    @app.on_event("shutdown")
    def closed():
        events.append("shutdown")

    @app.get("/")
    async def root() -> dict:
        return {"events": list(events)}

    with TestClient(app) as client:
        assert client.get("/").json() == {"events": ["startup"]}
    assert events == ["startup", "shutdown"]
    with pytest.raises(ValueError, match="'startup' or 'shutdown', got 'start'"):
        app.on_event("start")


def test_lifespan_context_manager_over_a_real_socket():
    events = []

    @contextlib.asynccontextmanager
    async def lifespan(app):
        events.append("enter")
        yield {"pool": "connected"}
        events.append("exit")

    app = Conduit(lifespan=lifespan)

    @app.get("/pool")
    async def pool() -> dict:
        return {"pool": app.state.pool}

    with LiveServer(app) as live:
        assert httpx.get(live.url + "/pool").json() == {"pool": "connected"}
        assert events == ["enter"]
    assert events == ["enter", "exit"]


def test_lifespan_that_is_not_a_context_manager_fails_startup_with_a_clear_error():
    app = Conduit(lifespan=lambda app: None)
    with pytest.raises(TypeError, match="lifespan= must be an async context manager"):
        trio.run(app.startup)


def test_staticfiles_html_mode(tmp_path):
    (tmp_path / "index.html").write_text("<h1>home</h1>")
    (tmp_path / "404.html").write_text("<h1>lost</h1>")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.html").write_text("<h1>docs</h1>")
    app = Conduit()
    app.mount("/site", StaticFiles(directory=tmp_path, html=True))
    with LiveServer(app) as live:
        assert httpx.get(live.url + "/site/").text == "<h1>home</h1>"
        assert httpx.get(live.url + "/site/docs/").text == "<h1>docs</h1>"
        missing = httpx.get(live.url + "/site/nope")
        assert (missing.status_code, missing.text) == (404, "<h1>lost</h1>")
        escape = httpx.get(live.url + "/site/..%2f..%2fetc/passwd")
        assert escape.status_code == 404 and escape.text == "<h1>lost</h1>"


def test_staticfiles_without_html_keeps_the_json_404(tmp_path):
    (tmp_path / "404.html").write_text("<h1>lost</h1>")
    app = Conduit()
    app.mount("/static", StaticFiles(directory=tmp_path))
    with TestClient(app) as client:
        response = client.get("/static/nope")
        assert response.status_code == 404 and response.json()["error"]["detail"] == "file not found"


def test_unannotated_websocket_parameter():
    app = Conduit()

    @app.websocket("/ws")
    async def echo(websocket):
        await websocket.accept()
        await websocket.send_text("hello " + await websocket.receive_text())
        await websocket.close()

    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        ws.send_text("there")
        assert ws.receive_text() == "hello there"


def test_unannotated_websocket_on_an_http_route_is_still_refused():
    from conduit import RouteError

    app = Conduit()
    with pytest.raises(RouteError, match="websocket"):
        app.get("/x")(lambda websocket: {})


def real_db():
    raise AssertionError("the real database must not be reached in this test")


def user(db: Annotated[dict, Depends(real_db)], name: str = "ada") -> dict:
    return {"name": name, "db": db["kind"]}


def test_dependency_overrides_replace_a_dependency_for_tests():
    app = Conduit()

    @app.get("/me")
    async def me(u: Annotated[dict, Depends(user)]) -> dict:
        return u

    app.dependency_overrides[real_db] = lambda: {"kind": "fake"}
    with TestClient(app) as client:
        assert client.get("/me?name=bob").json() == {"name": "bob", "db": "fake"}
        app.dependency_overrides[user] = lambda: {"name": "stub", "db": "none"}
        assert client.get("/me").json() == {"name": "stub", "db": "none"}
        app.dependency_overrides.clear()
        assert client.get("/me").status_code == 500  # the real one again


def test_resilient_fallback_callable_is_called_with_the_arguments():
    async def failing(x: int) -> int:
        raise ConnectionError("down")

    async def cached(x: int) -> int:
        return x * 10

    async def main():
        assert await Resilient(failing, fallback=cached)(4) == 40
        assert await Resilient(failing, fallback=lambda x: -x)(4) == -4
        assert await Resilient(failing, fallback=7)(4) == 7
        assert await Resilient(failing, fallback=None)(4) is None
        assert await Resilient(failing, fallback_function=lambda exc: str(exc))(4) == "down"

    trio.run(main)
