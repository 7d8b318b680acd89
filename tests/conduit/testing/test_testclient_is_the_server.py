"""``TestClient`` runs the real server connection: what passes in-process passes on a socket.

Issue 21's attack "TestClient is not the server": a 3 MB multipart upload to a
default route was 200 in-process and 413 on a socket; a handler's invalid response
header passed through in-process and was a 500 on the server.
"""

from __future__ import annotations

import httpx
import pytest

from conduit import Conduit, Request, Response
from conduit.http.response import StreamingResponse
from conduit.testing import LiveServer, TestClient


def make_app() -> Conduit:
    app = Conduit()

    @app.post("/upload")
    async def upload(request: Request):
        form = await request.form()
        return {"fields": sorted(form.keys())}

    @app.get("/header")
    async def header(value: str):
        return Response(b"ok", headers={"x-echo": value})

    @app.get("/whoami")
    async def whoami(request: Request):
        return {"client": list(request.client), "host": request.headers.get("host"), "url": request.url}

    @app.get("/stream")
    async def stream():
        async def chunks():
            yield "a"
            yield "b"
        return StreamingResponse(chunks())

    return app


@pytest.fixture(scope="module")
def both():
    """The same app in-process and on a socket."""
    app = make_app()
    with TestClient(app) as client, LiveServer(make_app()) as live, httpx.Client(base_url=live.url) as http:
        yield client, http


def test_testclient_3mb_multipart_to_a_default_route_is_413(both):
    for client in both:
        assert client.post("/upload", files={"f": ("a.bin", b"x" * 3_000_000)}).status_code == 413


def test_testclient_invalid_response_header_is_500(both):
    for client in both:
        assert client.get("/header", params={"value": "a\r\nx-evil: 1"}).status_code == 500
        assert client.get("/header", params={"value": "caf\u00e9\u20ac"}).status_code == 500  # not latin-1
        assert client.get("/header", params={"value": "fine"}).headers["x-echo"] == "fine"


def test_testclient_answers_have_the_servers_framing(both):
    in_process, on_socket = (client.get("/stream") for client in both)
    assert in_process.text == on_socket.text == "ab"
    assert in_process.headers["transfer-encoding"] == on_socket.headers["transfer-encoding"] == "chunked"
    for client in both:
        head = client.head("/whoami")
        assert head.content == b"" and int(head.headers["content-length"]) > 0


def test_testclient_keeps_its_api():
    app = make_app()
    with TestClient(app, base_url="http://example.test", client=("10.1.2.3", 4567)) as client:
        seen = client.get("/whoami").json()
    assert seen == {"client": ["10.1.2.3", 4567], "host": "example.test", "url": "http://example.test/whoami"}
    plain = TestClient(app)  # without a with-block, started on first use
    try:
        assert plain.get("/stream").text == "ab"
    finally:
        plain.close()


def test_testclient_refuses_a_request_header_h11_would_not_send():
    with TestClient(make_app()) as client, pytest.raises(httpx.LocalProtocolError):
        client.get("/whoami", headers={"x-bad": "a\x00b"})
