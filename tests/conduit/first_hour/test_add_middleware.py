"""``add_middleware``: a class with keyword options (Starlette's form), an instance, or a function."""

from __future__ import annotations

import pytest

from conduit import CORS, Conduit, TestClient
from conduit.middleware import after_response, before_request

ORIGIN = {"origin": "https://app.example.com"}


def _app() -> Conduit:
    app = Conduit()

    @app.get("/")
    def hello():
        return "hello"
    return app


def _allow_origin(app: Conduit) -> str | None:
    with TestClient(app) as client:
        return client.get("/", headers=ORIGIN).headers.get("access-control-allow-origin")


def test_a_class_with_keyword_options():
    app = _app()
    app.add_middleware(CORS, allow_origins=["https://app.example.com"])
    assert _allow_origin(app) == "https://app.example.com"


def test_a_class_alone_uses_its_defaults():
    app = _app()
    app.add_middleware(CORS)  # no origin allowed by default: the call goes through, without CORS headers
    assert _allow_origin(app) is None


def test_an_instance_and_hook_functions():
    app = _app()
    app.add_middleware(CORS(allow_origins=["*"]))
    seen = []
    app.add_middleware(before_request(lambda request: seen.append(request.path)))

    def stamp(request, response):
        response.set_header("x-stamp", "1")
    app.add_middleware(after_response(stamp))
    with TestClient(app) as client:
        response = client.get("/", headers=ORIGIN)
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-stamp"] == "1" and seen == ["/"]


def test_constructor_and_route_lists_take_classes_too():
    app = Conduit(middleware=[CORS])
    assert isinstance(app.middleware[0], CORS)

    @app.get("/one", middleware=[CORS])
    def one():
        return "one"
    with pytest.raises(TypeError, match="add_middleware expects"):
        app.add_route("/two", lambda: "two", middleware=[42])
    assert [route.pattern for route in app.router.routes if route.pattern in ("/one", "/two")] == ["/one"]


async def _handler(request):
    return "not a middleware"


class NotCallable:
    pass


@pytest.mark.parametrize("args, kwargs, message", [
    ((42,), {}, "got 42"),
    (("CORS",), {}, "got 'CORS'"),
    ((CORS(),), {"allow_origins": ["*"]}, "options go with a class"),
    ((NotCallable,), {}, "instances are not callable"),
    ((CORS,), {"allow_origin": ["*"]}, "cannot create the middleware CORS"),
    ((_handler,), {}, "looks like a handler"),
])
def test_anything_else_is_refused_at_the_call(args, kwargs, message):
    app = _app()
    with pytest.raises(TypeError, match=message) as info:
        app.add_middleware(*args, **kwargs)
    assert "add_middleware" in str(info.value) or "cannot create" in str(info.value)
    assert app.middleware == []  # nothing half-added
