"""Routing through the app: typed params, conversions, registration errors, 404/405/HEAD/OPTIONS."""

from __future__ import annotations

import uuid

import pytest

from conduit import Conduit, Request, Response, RouteError, TestClient


def make_app() -> Conduit:
    app = Conduit()

    @app.get("/users/new")
    async def new_user():
        return {"route": "new"}

    @app.get("/users/:id")
    async def user(id: int):
        return {"route": "user", "id": id}

    @app.delete("/users/:id")
    async def delete_user(id: str):
        return {"deleted": id}

    @app.get("/orders/{order:int}")
    async def order(order):
        return {"order": order, "type": type(order).__name__}

    @app.get("/scores/{value:float}")
    def score(value: float):
        return {"value": value}

    @app.get("/things/{key:uuid}")
    async def thing(key: uuid.UUID):
        return {"key": str(key), "version": key.version}

    @app.get("/files/{rest:path}")
    async def files(rest: str):
        return {"rest": rest}

    @app.get("/static/*path")
    async def static(path):
        return {"path": path}

    @app.route("/multi", methods=["GET", "POST", "PUT"])
    async def multi(request: Request):
        return {"method": request.method}

    @app.post("/echo/:name")
    async def echo(name: str, request):
        return {"name": name, "body": (await request.body()).decode()}

    @app.get("/text")
    def text():
        return "plain"

    @app.get("/raw")
    def raw():
        return b"\x00\x01"

    @app.get("/nothing")
    async def nothing():
        return None

    @app.get("/custom")
    async def custom():
        return Response("made", status_code=201, headers={"x-made": "yes"}, media_type="text/x-custom")

    return app


@pytest.fixture(scope="module")
def client():
    with TestClient(make_app()) as c:
        yield c


@pytest.mark.parametrize("path,status,body", [
    ("/users/new", 200, {"route": "new"}),
    ("/users/17", 200, {"route": "user", "id": 17}),
    ("/orders/5", 200, {"order": 5, "type": "int"}),
    ("/scores/2.5", 200, {"value": 2.5}),
    ("/things/123e4567-e89b-42d3-a456-426614174000", 200,
     {"key": "123e4567-e89b-42d3-a456-426614174000", "version": 4}),
    ("/files/a/b/c.txt", 200, {"rest": "a/b/c.txt"}),
    ("/static/css/site.css", 200, {"path": "css/site.css"}),
    ("/files/a%20b%2Fc", 200, {"rest": "a b/c"}),
    ("/multi", 200, {"method": "GET"}),
])
def test_matches_and_conversions(client, path, status, body):
    response = client.get(path)
    assert response.status_code == status
    assert response.json() == body


def test_annotation_conversion_failure_is_422_naming_the_parameter(client):
    response = client.get("/users/abc")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["status"] == 422 and error["type"] == "unprocessable_entity"
    assert error["detail"][0]["loc"] == ["path", "id"]
    assert "'abc' is not a valid int" in error["detail"][0]["msg"]


@pytest.mark.parametrize("path", ["/orders/abc", "/orders/1.5", "/scores/x", "/things/not-a-uuid"])
def test_pattern_type_mismatch_is_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"


def test_unknown_path_is_json_404(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": {"status": 404, "type": "not_found",
                                         "detail": "no route matches '/nowhere'", "request_id": None}}


def test_wrong_method_is_405_with_allow(client):
    response = client.patch("/users/3")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, DELETE, OPTIONS"
    assert response.json()["error"]["type"] == "method_not_allowed"


def test_head_is_served_by_get_without_body(client):
    response = client.head("/users/9")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(b'{"route":"user","id":9}'))


def test_automatic_options(client):
    response = client.options("/multi")
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, HEAD, POST, PUT, OPTIONS"
    assert client.options("/nowhere").status_code == 404


def test_static_beats_param_but_param_serves_other_methods(client):
    assert client.get("/users/new").json() == {"route": "new"}
    assert client.delete("/users/new").json() == {"deleted": "new"}


def test_percent_encoded_slash_stays_in_the_segment(client):
    assert client.delete("/users/a%2Fb").json() == {"deleted": "a/b"}
    assert client.get("/users%2Fnew").status_code == 404


def test_request_injection_and_body(client):
    response = client.post("/echo/bob", content=b"hi there")
    assert response.json() == {"name": "bob", "body": "hi there"}


@pytest.mark.parametrize("path,status,ctype,content", [
    ("/text", 200, "text/plain; charset=utf-8", b"plain"),
    ("/raw", 200, "application/octet-stream", b"\x00\x01"),
    ("/nothing", 204, None, b""),
    ("/custom", 201, "text/x-custom; charset=utf-8", b"made"),
])
def test_return_values(client, path, status, ctype, content):
    response = client.get(path)
    assert response.status_code == status
    assert response.headers.get("content-type") == ctype
    assert response.content == content


# ------------------------------------------------------------ registration

def test_ambiguous_routes_name_both():
    app = Conduit()
    app.get("/posts/:id")(lambda id: id)

    def by_slug(slug):
        return slug

    with pytest.raises(RouteError, match=r"ambiguous routes: GET '/posts/:id' .* and GET '/posts/:slug' \(.*by_slug\)"):
        app.get("/posts/:slug")(by_slug)


def test_duplicate_route():
    app = Conduit(openapi_url=None, docs_url=None)

    @app.get("/a")
    def a():
        return 1

    with pytest.raises(RouteError, match="duplicate routes: GET '/a'"):
        app.route("/a", methods=["POST", "GET"])(a)
    # the failed registration left nothing behind
    assert [r.pattern for r in app.router.routes] == ["/a"]


@pytest.mark.parametrize("pattern,message", [
    ("/users/{id", "unclosed"),
    ("/users/{}", "empty parameter name"),
    ("/a/:x/:x", "repeated"),
    ("/f/*rest/x", "must be the last segment"),
    ("/u/{id:number}", "unknown parameter type"),
    ("nope", "starting with '/'"),
])
def test_malformed_patterns_name_the_route(pattern, message):
    app = Conduit()

    def handler(**kwargs):
        return kwargs

    with pytest.raises(RouteError, match=message) as info:
        app.get(pattern)(handler)
    assert repr(pattern) in str(info.value)


def test_handler_must_accept_path_params():
    app = Conduit()
    with pytest.raises(RouteError, match=r"path parameters \['id'\] are missing"):
        app.get("/u/:id")(lambda: None)


def test_unbindable_parameter_fails_at_registration():
    app = Conduit()
    with pytest.raises(RouteError, match="parameter 'mystery' cannot be bound"):
        app.get("/u")(lambda mystery: None)


def test_sync_handler_can_run_inline():
    import threading

    app = Conduit()
    main_thread = {}

    @app.get("/inline", run_in_thread=False)
    def inline():
        return {"thread": threading.current_thread().name}

    @app.get("/threaded")
    def threaded():
        return {"thread": threading.current_thread().name}

    with TestClient(app) as client:
        loop_thread = client.get("/inline").json()["thread"]
        worker_thread = client.get("/threaded").json()["thread"]
    assert loop_thread == "conduit-test-loop"
    assert worker_thread != loop_thread
