"""Router groups, mounts, reverse routing and background tasks, over real sockets with httpx."""

from __future__ import annotations

import logging

import httpx
import pytest
import trio

from conduit import (APIRouter, BackgroundTasks, Conduit, Depends, Forbidden, Header, LiveServer, NoMatchFound,
                     Request)

done: list[str] = []


def require_token(x_token: str = Header(...)):
    if x_token != "secret":
        raise Forbidden(detail="bad token")


def tag_middleware(handler):
    async def tagged(request: Request):
        response = await handler(request)
        response.set_header("x-router", "admin")
        return response
    return tagged


def make_app() -> Conduit:
    app = Conduit()
    users = APIRouter(prefix="/users", tags=["users"])

    @users.get("/{id:int}", name="get_user")
    async def get_user(id: int):
        return {"id": id}

    @users.get("/")
    async def list_users():
        return []

    admin = APIRouter(prefix="/admin", dependencies=[Depends(require_token)], middleware=[tag_middleware])

    @admin.post("/purge")
    async def purge():
        return {"purged": True}

    inner = APIRouter(prefix="/inner")

    @inner.get("/files/*path")
    async def inner_file(path: str):
        return {"path": path}

    admin.include_router(inner)
    app.include_router(users, prefix="/v1")
    app.include_router(admin, prefix="/v1")

    sub = Conduit(openapi_url=None, docs_url=None)

    @sub.get("/ping")
    async def sub_ping(request: Request):
        return {"pong": True, "path": request.path}

    app.mount("/sub", sub)

    @app.post("/signup")
    async def signup(email: str, tasks: BackgroundTasks):
        async def send_mail(to: str):
            await trio.sleep(0.05)
            done.append(f"mail:{to}")

        def audit(to: str):
            done.append(f"audit:{to}")

        def broken():
            raise RuntimeError("task exploded")

        tasks.add_task(send_mail, email)
        tasks.add_task(broken)
        tasks.add_task(audit, email)
        return {"queued": len(tasks)}

    @app.get("/done")
    async def done_list():
        return done

    @app.get("/link")
    async def link():
        return {"user": app.url_path_for("get_user", id=5),
                "file": app.url_path_for("inner_file", path="a b/c.txt")}

    return app


def test_router_prefix_and_nesting(client):
    assert client.get("/v1/users/3").json() == {"id": 3}
    assert client.get("/v1/users/").json() == []
    assert client.get("/users/3").status_code == 404
    response = client.get("/v1/admin/inner/files/x/y.txt", headers={"x-token": "secret"})
    assert response.json() == {"path": "x/y.txt"}


def test_router_dependencies_and_middleware(client):
    assert client.post("/v1/admin/purge").status_code == 422  # the header the dependency needs
    assert client.post("/v1/admin/purge", headers={"x-token": "nope"}).status_code == 403
    response = client.post("/v1/admin/purge", headers={"x-token": "secret"})
    assert response.json() == {"purged": True}
    assert response.headers["x-router"] == "admin"
    assert client.get("/v1/admin/inner/files/a", headers={"x-token": "nope"}).status_code == 403


def test_router_tags_in_openapi(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/v1/users/{id}"]["get"]["tags"] == ["users"]
    params = paths["/v1/admin/purge"]["post"]["parameters"]
    assert [p["name"] for p in params] == ["x-token"]


def test_mounted_sub_app(client):
    assert client.get("/sub/ping").json() == {"pong": True, "path": "/ping"}
    assert client.get("/sub/nope").status_code == 404


def test_url_path_for(client):
    assert client.get("/link").json() == {"user": "/v1/users/5", "file": "/v1/admin/inner/files/a%20b/c.txt"}
    app = make_app()
    with pytest.raises(NoMatchFound):
        app.url_path_for("get_user")
    with pytest.raises(NoMatchFound):
        app.url_path_for("nope", id=1)


def test_background_tasks_run_after_response_and_errors_are_logged(client, caplog):
    with caplog.at_level(logging.ERROR, logger="conduit.background"):
        response = client.post("/signup", params={"email": "a@x"})
        assert response.json() == {"queued": 3}
        # the next request on the same keep-alive connection starts after the tasks
        assert client.get("/done").json()[-2:] == ["mail:a@x", "audit:a@x"]
    assert any("task exploded" in r.exc_text for r in caplog.records if r.exc_text)


def test_graceful_drain_waits_for_background_tasks():
    from conduit.server import serve

    app = Conduit()
    finished: list[bool] = []

    @app.get("/slow")
    async def slow(tasks: BackgroundTasks):
        async def work():
            await trio.sleep(0.3)
            finished.append(True)
        tasks.add_task(work)
        return "ok"

    async def main():
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            port = await nursery.start(lambda task_status: serve(app, "127.0.0.1", 0, shutdown_trigger=stop,
                                                                 grace_period=10, task_status=task_status))
            async with httpx.AsyncClient() as http:
                response = await http.get(f"http://127.0.0.1:{port}/slow")
            assert response.text == "ok"
            stop.set()
    trio.run(main)
    assert finished == [True]


def test_route_dependencies_must_be_depends():
    from conduit import RouteError

    app = Conduit()
    with pytest.raises(RouteError, match="Depends"):
        app.add_route("/x", lambda: None, dependencies=[require_token])


def test_router_prefix_rules():
    with pytest.raises(ValueError, match="prefix"):
        APIRouter(prefix="users/")
