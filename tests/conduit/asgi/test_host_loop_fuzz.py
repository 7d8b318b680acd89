"""Arbitrary ASGI requests straight on the host's asyncio loop (no trio thread): every one is
answered once with a status, a body limit holds however the body is cut into messages, a
client gone mid-body gets nothing, and the app keeps serving."""

from __future__ import annotations

import asyncio

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit import Conduit, Request

LIMIT = 64


def _app() -> Conduit:
    app = Conduit(handler_timeout=0.5, openapi_url=None, docs_url=None)

    @app.get("/hello")
    async def hello():
        return {"hello": "world"}

    @app.get("/items/{item_id:int}")
    async def item(item_id: int, q: str = ""):
        return {"id": item_id, "q": q}

    @app.post("/echo", max_body_size=LIMIT)
    async def echo(request: Request):
        return {"bytes": len(await request.body())}

    @app.post("/json")
    async def json_body(payload: dict):
        return {"keys": len(payload)}

    @app.get("/slow")
    async def slow():
        await anyio.sleep(5)

    @app.get("/fails")
    async def fails():
        raise RuntimeError("boom")

    return app


@pytest.fixture(scope="module")
def served():
    app = _app()
    loop = asyncio.new_event_loop()
    yield app, loop
    loop.close()
    app._asgi._stop_loop()


async def _call(app, method: str, raw_path: bytes, query: bytes, headers, chunks, disconnect: bool):
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    if disconnect:
        messages = messages[:-1] + [{"type": "http.disconnect"}]
    sent = []

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # no more messages: wait, as a server does until the client goes

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": raw_path.decode("latin-1"), "raw_path": raw_path,
             "query_string": query, "headers": headers, "client": ("127.0.0.1", 1), "scheme": "http",
             "http_version": "1.1"}
    await asyncio.wait_for(app(scope, receive, send), 10)
    return sent


def _answered_once(sent) -> int:
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, sent
    assert 200 <= starts[0]["status"] <= 599
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert bodies and not bodies[-1].get("more_body", False)
    return starts[0]["status"]


header_name = st.binary(min_size=1, max_size=12).map(bytes.lower)
headers = st.lists(st.tuples(header_name, st.binary(max_size=40)), max_size=6)
paths = st.one_of(st.sampled_from([b"/hello", b"/items/7", b"/items/x", b"/echo", b"/json", b"/fails", b"/nope"]),
                  st.binary(max_size=40).map(lambda b: b"/" + b))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "PUT", "HEAD", "OPTIONS", "DELETE", "BREW"]), raw_path=paths,
       query=st.binary(max_size=30), extra=headers,
       chunks=st.lists(st.binary(max_size=50), min_size=1, max_size=6))
def test_any_request_on_the_host_loop_is_answered_once_and_the_app_keeps_serving(served, method, raw_path,
                                                                                  query, extra, chunks):
    app, loop = served
    sent = loop.run_until_complete(_call(app, method, raw_path, query, extra, chunks, disconnect=False))
    _answered_once(sent)
    ok = loop.run_until_complete(_call(app, "GET", b"/hello", b"", [], [b""], disconnect=False))
    assert _answered_once(ok) == 200


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=8))
def test_the_route_limit_holds_however_the_body_is_cut(served, chunks):
    app, loop = served
    sent = loop.run_until_complete(_call(app, "POST", b"/echo", b"", [], chunks, disconnect=False))
    status = _answered_once(sent)
    total = sum(map(len, chunks))
    assert status == (200 if total <= LIMIT else 413)


def test_a_client_gone_mid_body_gets_no_answer_and_the_app_serves_on(served):
    app, loop = served
    sent = loop.run_until_complete(_call(app, "POST", b"/echo", b"", [(b"content-length", b"60")],
                                         [b"x" * 10, b"y" * 10], disconnect=True))
    assert sent == []
    ok = loop.run_until_complete(_call(app, "GET", b"/hello", b"", [], [b""], disconnect=False))
    assert _answered_once(ok) == 200


def test_a_handler_past_the_deadline_on_the_host_loop_is_504(served):
    app, loop = served
    sent = loop.run_until_complete(_call(app, "GET", b"/slow", b"", [], [b""], disconnect=False))
    assert _answered_once(sent) == 504


def test_a_failing_handler_on_the_host_loop_is_a_generic_500(served):
    app, loop = served
    sent = loop.run_until_complete(_call(app, "GET", b"/fails", b"", [], [b""], disconnect=False))
    assert _answered_once(sent) == 500
    assert b"boom" not in b"".join(m.get("body", b"") for m in sent)


def test_this_app_runs_on_the_host_loop(served):
    app, loop = served
    loop.run_until_complete(_call(app, "GET", b"/hello", b"", [], [b""], disconnect=False))
    assert app._asgi.placement.runs_on_host()
