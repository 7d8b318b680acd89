"""Query, header, cookie and path binding: every kind converts, every failure is a 422."""

import datetime as dt
import enum
import uuid
from typing import Annotated, Literal

import pytest

from conduit.binding import Cookie, Header, Query


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def errors_of(response):
    assert response.status_code == 422, response.text
    return {tuple(e["loc"]): e for e in response.json()["error"]["detail"]}


def test_defaults_and_conversion(app, client_for):
    @app.get("/users")
    def list_users(page: int = 1, limit: int = 10, q: str | None = None, tags: list[str] = []):
        return {"page": page, "limit": limit, "q": q, "tags": tags}

    client = client_for(app)
    assert client.get("/users").json() == {"page": 1, "limit": 10, "q": None, "tags": []}
    got = client.get("/users?page=3&limit=5&q=bob&tags=a&tags=b").json()
    assert got == {"page": 3, "limit": 5, "q": "bob", "tags": ["a", "b"]}


@pytest.mark.parametrize("text, value", [("true", True), ("1", True), ("yes", True), ("on", True),
                                         ("false", False), ("0", False), ("no", False), ("NO", False)])
def test_bool(app, client_for, text, value):
    @app.get("/flag")
    def flag(active: bool = False):
        return {"active": active}

    assert client_for(app).get(f"/flag?active={text}").json() == {"active": value}


def test_scalar_kinds(app, client_for):
    @app.get("/kinds")
    def kinds(when: dt.datetime, day: dt.date, id: uuid.UUID, color: Color,
              order: Literal["asc", "desc"] = "asc", ratio: float = 0.5):
        return {"when": when.isoformat(), "day": day.isoformat(), "id": str(id),
                "color": color.value, "order": order, "ratio": ratio}

    u = uuid.uuid4()
    got = client_for(app).get("/kinds", params={
        "when": "2024-05-01T10:00:00Z", "day": "2024-05-01", "id": str(u), "color": "blue",
        "order": "desc", "ratio": "1.5"}).json()
    assert got == {"when": "2024-05-01T10:00:00+00:00", "day": "2024-05-01", "id": str(u),
                   "color": "blue", "order": "desc", "ratio": 1.5}


def test_every_failure_is_listed(app, client_for):
    @app.get("/kinds")
    def kinds(when: dt.datetime, day: dt.date, id: uuid.UUID, color: Color,
              order: Literal["asc", "desc"] = "asc", page: int = 1, active: bool = False,
              ids: list[int] = []):
        return {}

    response = client_for(app).get("/kinds?when=yesterday&day=2024-13-01&id=nope&color=green"
                                   "&order=up&page=x&active=maybe&ids=1&ids=b")
    errors = errors_of(response)
    assert set(errors) == {("query", "when"), ("query", "day"), ("query", "id"), ("query", "color"), ("query", "order"),
                           ("query", "page"), ("query", "active"), ("query", "ids", 1)}
    assert errors[("query", "page")]["type"] == "int_parsing"
    assert errors[("query", "color")]["type"] == "enum"


def test_missing_required(app, client_for):
    @app.get("/search")
    def search(q: str, page: int):
        return {}

    errors = errors_of(client_for(app).get("/search"))
    assert errors[("query", "q")]["type"] == "missing"
    assert errors[("query", "page")]["type"] == "missing"


def test_constraints(app, client_for):
    @app.get("/items")
    def items(page: Annotated[int, Query(ge=1, le=100)] = 1,
              name: Annotated[str, Query(min_length=2, max_length=5, pattern=r"^[a-z]+$")] = "ab",
              limit: int = Query(10, gt=0, lt=50), tags: Annotated[list[str], Query(max_length=2)] = []):
        return {"page": page, "name": name, "limit": limit}

    client = client_for(app)
    assert client.get("/items?page=100&name=abcde&limit=49").json() == {"page": 100, "name": "abcde", "limit": 49}
    errors = errors_of(client.get("/items?page=0&name=ABCDEFG&limit=50&tags=a&tags=b&tags=c"))
    assert errors[("query", "page")]["type"] == "greater_than_equal"
    assert errors[("query", "limit")]["type"] == "less_than"
    assert errors[("query", "tags")]["type"] == "too_long"
    assert errors[("query", "name")]["type"] in ("string_too_long", "string_pattern_mismatch")
    assert errors_of(client.get("/items?name=a1"))[("query", "name")]["type"] == "string_pattern_mismatch"
    assert errors_of(client.get("/items?page=101"))[("query", "page")]["type"] == "less_than_equal"


def test_alias(app, client_for):
    @app.get("/a")
    def a(page_size: Annotated[int, Query(alias="page-size")] = 10):
        return {"size": page_size}

    assert client_for(app).get("/a?page-size=3").json() == {"size": 3}


def test_headers_and_cookies(app, client_for):
    @app.get("/me")
    def me(user_agent: Annotated[str, Header()], x_token: Annotated[int, Header(ge=0)],
           session: Annotated[str, Cookie()], theme: Annotated[str, Cookie()] = "light",
           x_tag: Annotated[list[str], Header()] = []):
        return {"ua": user_agent, "token": x_token, "session": session, "theme": theme, "tags": x_tag}

    client = client_for(app)
    got = client.get("/me", headers={"User-Agent": "t", "X-Token": "7", "Cookie": "session=abc; other=1"}).json()
    assert got == {"ua": "t", "token": 7, "session": "abc", "theme": "light", "tags": []}
    errors = errors_of(client.get("/me", headers={"X-Token": "-1"}))
    assert errors[("header", "x-token")]["type"] == "greater_than_equal"
    assert errors[("cookie", "session")]["type"] == "missing"


def test_path_params_convert_to_annotation(app, client_for):
    @app.get("/users/:id")
    def user(id: int):
        return {"id": id}

    @app.get("/orders/{order_id:int}")
    def order(order_id: int, full: bool = False):
        return {"id": order_id, "full": full}

    client = client_for(app)
    assert client.get("/users/12").json() == {"id": 12}
    assert errors_of(client.get("/users/abc"))[("path", "id")]["type"] == "int_parsing"
    assert client.get("/orders/5?full=1").json() == {"id": 5, "full": True}


def test_request_injection(app, client_for):
    from conduit import Request

    @app.get("/r")
    def r(req: Request, request=None):
        return {"same": req is request or request is None, "method": req.method}

    assert client_for(app).get("/r").json()["method"] == "GET"
