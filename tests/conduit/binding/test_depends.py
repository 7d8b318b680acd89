"""Dependency injection and registration-time errors."""

from dataclasses import dataclass
from typing import Annotated

import pytest

from conduit import HTTPError, Request, RouteError
from conduit.binding import Depends, Header, Path, Query


def test_sync_async_and_cached(app, client_for):
    calls = []

    def settings():
        calls.append("settings")
        return {"prefix": "u-"}

    async def current_user(x_user: Annotated[str, Header()], cfg: Annotated[dict, Depends(settings)]):
        calls.append("user")
        if x_user == "nobody":
            raise HTTPError(401, "who are you?")
        return cfg["prefix"] + x_user

    @app.get("/me")
    def me(user: Annotated[str, Depends(current_user)], cfg: dict = Depends(settings),
           verbose: bool = False):
        return {"user": user, "prefix": cfg["prefix"], "verbose": verbose}

    client = client_for(app)
    assert client.get("/me?verbose=1", headers={"x-user": "ann"}).json() == {"user": "u-ann", "prefix": "u-", "verbose": True}
    assert calls == ["settings", "user"]  # settings ran once for the request
    assert client.get("/me", headers={"x-user": "nobody"}).status_code == 401
    response = client.get("/me?verbose=perhaps")
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["error"]["detail"]} == {("header", "x-user"), ("query", "verbose")}


def test_no_cache(app, client_for):
    counter = {"n": 0}

    def tick():
        counter["n"] += 1
        return counter["n"]

    @app.get("/t")
    def t(a: int = Depends(tick, use_cache=False), b: int = Depends(tick, use_cache=False)):
        return [a, b]

    assert client_for(app).get("/t").json() == [1, 2]


def test_generator_dependencies_tear_down(app, client_for):
    events = []

    def db():
        events.append("open")
        try:
            yield "conn"
        finally:
            events.append("close")

    async def tx(conn: Annotated[str, Depends(db)]):
        events.append("begin")
        yield conn + "+tx"
        events.append("commit")

    @app.get("/q")
    async def q(t: Annotated[str, Depends(tx)], request: Request):
        events.append("handler")
        return {"t": t}

    assert client_for(app).get("/q").json() == {"t": "conn+tx"}
    assert events == ["open", "begin", "handler", "commit", "close"]


def test_dependency_uses_path_param(app, client_for):
    @dataclass
    class User:
        id: int

    def load_user(user_id: int) -> User:
        if user_id > 100:
            raise HTTPError(404, "no such user")
        return User(user_id)

    @app.get("/users/{user_id:int}")
    def get_user(user: User = Depends(load_user)):
        return {"id": user.id}

    client = client_for(app)
    assert client.get("/users/5").json() == {"id": 5}
    assert client.get("/users/500").status_code == 404


class Opaque:
    pass


@pytest.mark.parametrize("make", [
    lambda app: app.get("/x")(lambda thing: None),                             # no annotation, no default
    lambda app: app.get("/x")(_opaque_handler),                                 # no converter for the type
    lambda app: app.get("/x/{id}")(lambda: None),                               # path param missing
    lambda app: app.get("/x")(_bad_path_marker),                                # Path() not in pattern
    lambda app: app.get("/x")(_bad_dependency),                                 # dependency unbindable
])
def test_registration_errors(app, make):
    with pytest.raises(RouteError) as info:
        make(app)
    assert "/x" in str(info.value)
    assert app.router.routes == []


def _opaque_handler(thing: Opaque = None):
    return None


def _bad_path_marker(id: Annotated[int, Path()]):
    return None


def _needs_opaque(o: Opaque):
    return o


def _bad_dependency(x=Depends(_needs_opaque)):
    return None


def test_query_marker_as_default(app, client_for):
    @app.get("/p")
    def p(page: int = Query(2, ge=1)):
        return page

    client = client_for(app)
    assert client.get("/p").json() == 2
    assert client.get("/p?page=0").status_code == 422
