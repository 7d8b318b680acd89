"""A route's pattern is parsed once, at registration; conflicts are refused in one place."""

from __future__ import annotations

import pytest

import conduit_kernels.route_table as route_table
from conduit import Conduit
from conduit.routing import RouteError, Router
from conduit.routing import router as router_module
from conduit.routing.checks import check_app
from conduit.routing.groups import url_path_for
from conduit_kernels.route_table import ParamKind, RouteConflict, Segment, ShapeTable, build_route_table


@pytest.fixture
def parses(monkeypatch):
    """Every call of ``parse_pattern``, wherever the framework makes it."""
    calls: list[str] = []
    real = route_table.parse_pattern

    def counting(pattern):
        calls.append(pattern)
        return real(pattern)

    monkeypatch.setattr(route_table, "parse_pattern", counting)
    monkeypatch.setattr(router_module, "parse_pattern", counting)
    return calls


def test_each_pattern_is_parsed_once_through_table_check_openapi_and_reverse_routing(parses):
    app = Conduit()  # with the OpenAPI routes: they are patterns too

    @app.get("/users/{id:int}")
    def user(id: int):
        return {"id": id}

    @app.get("/files/*rest")
    def files(rest: str):
        return rest

    registered = [route.pattern for route in app.router.routes]
    assert sorted(parses) == sorted(registered)
    app.router.compile()
    document = app.openapi()
    assert check_app(app) == []
    assert url_path_for(app.router.routes, "user", id=7) == "/users/7"
    assert sorted(parses) == sorted(registered)  # nothing parsed again
    assert "/users/{id}" in document["paths"] and "/files/{rest}" in document["paths"]


def test_route_keeps_its_segments_and_parameters():
    route = Router().add("/users/{id:int}/files/*rest", ["GET"], lambda id, rest: None, name="f")
    assert route.segments == (Segment(ParamKind.STATIC, "users"), Segment(ParamKind.INT, "id"),
                              Segment(ParamKind.STATIC, "files"), Segment(ParamKind.PATH, "rest"))
    assert route.param_names == ("id", "rest")
    assert route.param_kinds == (ParamKind.INT, ParamKind.PATH)


def test_a_conflict_is_refused_at_registration_and_a_removed_route_frees_its_shape():
    router = Router()
    first = router.add("/posts/:id", ["GET"], lambda id: None, name="by_id")
    with pytest.raises(RouteError, match="ambiguous routes"):
        router.add("/posts/:slug", ["GET"], lambda slug: None, name="by_slug")
    router.add("/posts/:slug", ["DELETE"], lambda slug: None, name="delete")  # another method: fine
    router.remove(first)
    router.add("/posts/:slug", ["GET"], lambda slug: None, name="by_slug")
    assert [r.name for r in router.routes] == ["delete", "by_slug"]
    router.compile()  # the table builder meets no conflict


def test_the_builder_takes_parsed_segments_and_applies_the_same_rule():
    parsed = route_table.parse_pattern("/a/{x:int}")
    table = build_route_table([(["GET"], parsed), (["GET"], "/a/b")])
    assert table.method_id("GET") == 0
    with pytest.raises(RouteConflict, match=r"ambiguous routes: GET '/a/\{x:int\}' and GET '/a/\{y:int\}'"):
        build_route_table([(["GET"], parsed), (["GET"], route_table.parse_pattern("/a/{y:int}"))])
    shapes = ShapeTable()
    shapes.claim("k", ["GET"], parsed)
    assert shapes.conflict(["POST", "GET"], route_table.parse_pattern("/a/{n:int}")) == ("GET", "k")
    assert shapes.conflict(["GET"], route_table.parse_pattern("/a/{n}")) is None  # another kind
