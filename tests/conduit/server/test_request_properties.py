"""Property tests: no request path or header set crashes a connection handler.

Every generated request goes over a real socket; whatever it is, the server
answers with a status below 500 (or closes), logs no crash, and keeps serving.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit import Conduit, Request
from conduit.middleware import CORS, GZip, RequestID, SecurityHeaders, TrustedHosts
from conduit.testing.client import LiveServer

from _raw_http import exchange, get


def _app() -> Conduit:
    app = Conduit()
    app.add_middleware(RequestID())
    app.add_middleware(TrustedHosts(["*"]))
    app.add_middleware(SecurityHeaders())
    app.add_middleware(CORS(["*"]))
    app.add_middleware(GZip())

    @app.get("/")
    async def index():
        return "ok"

    @app.get("/users/{id:int}")
    async def user(id: int):
        return {"id": id}

    @app.get("/files/{rest:path}")
    async def files(rest: str, request: Request):
        return {"rest": rest, "q": dict(request.query_params), "n": len(request.headers)}

    return app


@pytest.fixture(scope="module")
def server():
    with LiveServer(_app(), head_timeout=2.0, body_timeout=2.0) as live:
        yield live


path_bytes = st.binary(min_size=0, max_size=200).map(
    lambda b: b"/" + bytes(c for c in b if c not in b" \r\n"))
header_names = st.binary(min_size=1, max_size=30)
header_values = st.binary(max_size=200)
settings_ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _check(server, data: bytes, caplog) -> None:
    with caplog.at_level(logging.ERROR):
        response = exchange(server.port, data, deadline=10)
    assert response.status is None or response.status < 500 or response.status in (501, 505), response
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not crashes, [r.getMessage() for r in crashes]


@settings_
@given(path=path_bytes, query=st.binary(max_size=100))
def test_any_path_and_query(server, path, query, caplog):
    query = bytes(c for c in query if c not in b" \r\n#")
    target = path + (b"?" + query if query else b"")
    _check(server, b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", caplog)


@settings_
@given(headers=st.lists(st.tuples(header_names, header_values), max_size=20))
def test_any_headers(server, headers, caplog):
    lines = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    _check(server, b"GET /files/a/b HTTP/1.1\r\nHost: t\r\n" + lines + b"Connection: close\r\n\r\n", caplog)


@settings_
@given(head=st.binary(max_size=300))
def test_any_bytes_as_a_request(server, head, caplog):
    _check(server, head + b"\r\n\r\n", caplog)


def test_still_serving_after_the_properties(server):
    assert get(server.port).status == 200
