"""The ASGI face writes its response head with the codec's one rule, and closes streams on every path.

Issue 21's attack "response framing is written three times": ``asgi.py`` had its own
framing set that sent Content-Length on a 204, and never closed a streaming iterator.
Here the face is driven in-process on trio (the path a trio ASGI server takes).
"""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
import trio
from hypothesis import given, settings

from conduit import Conduit, Response
from conduit.http.h1.writer import CHUNKED, UNFRAMED, ResponseHeaderError, header_pairs, response_head
from conduit.http.response import StreamingResponse


@settings(max_examples=300, deadline=None)
@given(headers=st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=4),
       status=st.sampled_from([200, 204, 304, 404, 99, 1000]), body=st.sampled_from([0, 5, UNFRAMED, CHUNKED]))
def test_asgi_head_and_wire_head_accept_and_refuse_the_same_headers(headers, status, body):
    try:
        wire, _ = response_head(status, headers, b"conduit", body, False)
    except ResponseHeaderError:
        with pytest.raises(ResponseHeaderError):
            header_pairs(status, headers, body)
        return
    pairs = header_pairs(status, headers, body)
    on_the_wire = [line.partition(b": ") for line in wire.split(b"\r\n")[1:] if line]
    expected = [(name.lower(), value) for name, _, value in on_the_wire
                if name.lower() not in (b"date", b"server", b"connection")]
    assert pairs == expected
    if status in (204, 304):
        assert all(name != b"content-length" for name, _ in pairs)


def _app(closed: list[str]) -> Conduit:
    app = Conduit(openapi_url=None, docs_url=None)

    @app.get("/empty")
    async def empty():
        return Response(b"", status_code=204)

    @app.get("/hello")
    async def hello():
        return {"hello": "world"}

    @app.get("/bad")
    async def bad():
        return Response(b"x", headers={"bad name": "v"})

    @app.get("/bad-status")
    async def bad_status():
        return Response(b"x", status_code=99)

    @app.get("/stream")
    async def stream():
        async def chunks():
            try:
                for i in range(1000):
                    yield f"{i}\n"
            finally:
                closed.append("stream")
        return StreamingResponse(chunks())

    return app


async def _call(app: Conduit, method: str, path: str, fail_on_body: bool = False) -> list[dict]:
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if messages:
            return messages.pop(0)
        await trio.sleep_forever()

    async def send(message):
        if fail_on_body and message["type"] == "http.response.body" and len(sent) > 2:
            raise OSError("the client went away")
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"host", b"test")], "client": ("127.0.0.1", 1), "http_version": "1.1"}
    try:
        await app(scope, receive, send)
    except OSError:
        pass
    return sent


def _headers(start: dict) -> dict:
    return {name: value for name, value in start["headers"]}


def test_asgi_204_has_no_content_length():
    closed: list[str] = []
    sent = trio.run(_call, _app(closed), "GET", "/empty")
    assert sent[0]["status"] == 204
    assert b"content-length" not in _headers(sent[0])
    assert sent[1]["body"] == b""


def test_asgi_head_keeps_the_gets_content_length():
    app = _app([])
    whole = trio.run(_call, app, "GET", "/hello")
    head = trio.run(_call, app, "HEAD", "/hello")
    assert _headers(head[0])[b"content-length"] == _headers(whole[0])[b"content-length"] == str(
        len(whole[1]["body"])).encode()
    assert head[1]["body"] == b""


@pytest.mark.parametrize("path", ["/bad", "/bad-status"])
def test_asgi_invalid_response_head_is_500(path):
    sent = trio.run(_call, _app([]), "GET", path)
    assert sent[0]["status"] == 500
    assert b"bad name" not in b"".join(name for name, _ in sent[0]["headers"])


def test_asgi_closes_the_stream_when_send_fails():
    closed: list[str] = []
    sent = trio.run(_call, _app(closed), "GET", "/stream", True)
    assert sent[0]["status"] == 200
    assert closed == ["stream"]


def test_asgi_closes_the_stream_that_ends():
    closed: list[str] = []
    sent = trio.run(_call, _app(closed), "GET", "/stream")
    assert sent[-1] == {"type": "http.response.body", "body": b""}
    assert closed == ["stream"]


def test_asgi_client_gone_mid_body_gets_no_answer_and_the_app_lives():
    app = Conduit(openapi_url=None, docs_url=None)

    @app.post("/echo")
    async def echo(request):
        return {"bytes": len(await request.body())}

    async def main() -> tuple[list, list]:
        gone: list[dict] = []
        messages = [{"type": "http.request", "body": b"x" * 10, "more_body": True}, {"type": "http.disconnect"}]

        async def receive():
            return messages.pop(0)

        async def send(message):
            gone.append(message)

        scope = {"type": "http", "method": "POST", "path": "/echo", "raw_path": b"/echo", "query_string": b"",
                 "headers": [(b"content-length", b"100")], "client": ("127.0.0.1", 1)}
        await app(scope, receive, send)
        return gone, await _call(app, "GET", "/nope")

    gone, after = trio.run(main)
    assert gone == []
    assert after[0]["status"] == 404
