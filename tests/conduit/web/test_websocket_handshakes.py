"""Opening handshakes an attacker sends (RFC 6455 §4.2.1): each gets a clear HTTP answer.

A version other than 13 is 426 with ``Sec-WebSocket-Version: 13`` (§4.4); a missing
version or key, or a key that is not 16 bytes in base64, is 400; never a
"connection handler crashed" traceback, at most one short log line per bad
request, and the server keeps serving. Over a real socket to Conduit's server, and
sans-IO against the rule function itself.
"""

from __future__ import annotations

import base64
import logging
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from conduit import Conduit, LiveServer, WebSocket
from conduit.http.datastructures import Headers
from conduit.http.websocket_handshake import handshake_problem

NONCE = "dGhlIHNhbXBsZSBub25jZQ=="


def make_app() -> Conduit:
    app = Conduit()

    @app.websocket("/ws")
    async def hello(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text("hello")

    return app


@pytest.fixture(scope="module")
def server():
    with LiveServer(make_app()) as live:
        yield live


def handshake(server, lines: list[bytes], request_line: bytes = b"GET /ws HTTP/1.1") -> tuple[int, bytes]:
    """Send one raw handshake; the status and head of the answer."""
    head = [request_line, b"host: 127.0.0.1", *lines]
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            piece = sock.recv(4096)
            assert piece, f"the server closed without answering {lines}"
            data += piece
    answer = data.partition(b"\r\n\r\n")[0]
    return int(answer.split(b" ", 2)[1]), answer.lower()


UPGRADE = [b"upgrade: websocket", b"connection: Upgrade"]


def still_serving(server) -> None:
    with connect(f"ws://127.0.0.1:{server.port}/ws", open_timeout=30) as ws:
        assert ws.recv(timeout=30) == "hello"


def test_handshake_version_8_is_426_with_sec_websocket_version_13(server):
    status, head = handshake(server, [*UPGRADE, b"sec-websocket-key: " + NONCE.encode(),
                                      b"sec-websocket-version: 8"])
    assert status == 426
    assert b"\r\nsec-websocket-version: 13" in head
    assert b"connection: close" in head
    still_serving(server)


@pytest.mark.parametrize("lines", [[b"sec-websocket-key: " + NONCE.encode()],
                                   [b"sec-websocket-version: 13"],
                                   []], ids=["missing version", "missing key", "missing both"])
def test_handshake_missing_version_or_key_is_400(server, lines):
    assert handshake(server, [*UPGRADE, *lines])[0] == 400
    still_serving(server)


@pytest.mark.parametrize("key", [b"abc", b"A" * 23 + b"=", b"A" * 24, b"!" * 24, b"AAAAAAAAAAAAAAAAAAAAA===",
                                 base64.b64encode(b"x" * 15), base64.b64encode(b"x" * 32)])
def test_handshake_key_not_16_base64_bytes_is_400_not_101(server, key):
    assert handshake(server, [*UPGRADE, b"sec-websocket-key: " + key, b"sec-websocket-version: 13"])[0] == 400


def test_handshake_repeated_key_or_no_connection_upgrade_is_400(server):
    key = b"sec-websocket-key: " + NONCE.encode()
    assert handshake(server, [*UPGRADE, key, key, b"sec-websocket-version: 13"])[0] == 400
    assert handshake(server, [b"upgrade: websocket", key, b"sec-websocket-version: 13"])[0] == 400
    assert handshake(server, [*UPGRADE, key, b"sec-websocket-version: 13"],
                     request_line=b"GET /ws HTTP/1.0")[0] == 400


def test_bad_handshakes_log_one_short_line_and_no_traceback(server, caplog):
    caplog.set_level(logging.DEBUG)
    bad = [[b"sec-websocket-key: " + NONCE.encode(), b"sec-websocket-version: 8"],
           [b"sec-websocket-version: 13"], [b"sec-websocket-key: abc", b"sec-websocket-version: 13"]]
    for lines in bad * 5:
        handshake(server, [*UPGRADE, *lines])
    still_serving(server)
    records = [r for r in caplog.records if r.name.startswith("conduit")]
    assert not any("crashed" in r.getMessage() for r in records)
    assert not any(r.exc_info for r in records)
    assert len(records) <= len(bad) * 5
    assert all(len(r.getMessage()) < 300 for r in records)


header_value = st.one_of(
    st.sampled_from(["13", "8", "", " 13 ", "13, 8", "websocket", "Upgrade", "upgrade, keep-alive", NONCE,
                     NONCE[:-2], NONCE + "=", "AAAAAAAAAAAAAAAAAAAAAA==", "\u00ff" * 24]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=40))
HANDSHAKE_NAMES = ["upgrade", "connection", "sec-websocket-key", "sec-websocket-version",
                   "sec-websocket-protocol", "sec-websocket-extensions", "origin"]
handshake_headers = st.lists(st.tuples(st.sampled_from(HANDSHAKE_NAMES), header_value), max_size=8)


def _ok(headers: list[tuple[str, str]]) -> Headers:
    return Headers([(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headers=handshake_headers)
def test_hypothesis_handshake_headers_each_get_a_clear_http_answer(server, headers):
    lines = [b"upgrade: websocket"] + [f"{n}: {v.strip()}".encode("latin-1") for n, v in headers]
    try:
        status, head = handshake(server, lines)
    except UnicodeEncodeError:
        return
    if any(n == "upgrade" for n, _ in headers):  # a second Upgrade header may not name websocket
        assert status in (101, 400, 426)
    else:
        expected = handshake_problem("GET", "1.1", _ok([("upgrade", "websocket"),
                                                        *[(n, v.strip()) for n, v in headers]]))
        assert status == (101 if expected is None else expected.status)
    if status == 426:
        assert b"sec-websocket-version: 13" in head


def test_the_server_keeps_serving_after_the_hypothesis_handshakes(server):
    still_serving(server)


@given(headers=handshake_headers)
def test_handshake_rules_never_raise_and_name_the_problem(headers):
    problem = handshake_problem("GET", "1.1", _ok(headers))
    if problem is not None:
        assert problem.status in (400, 426)
        assert problem.detail
        assert (problem.status == 426) == ("sec-websocket-version" in problem.headers)


def test_handshake_rules_accept_the_rfc_sample():
    headers = _ok([("upgrade", "websocket"), ("connection", "keep-alive, Upgrade"),
                   ("sec-websocket-key", NONCE), ("sec-websocket-version", "13")])
    assert handshake_problem("GET", "1.1", headers) is None
    assert handshake_problem("POST", "1.1", headers).status == 400


def test_admission_refuses_a_handshake_with_503_like_a_request():
    # The memory guard (far below this process's RSS) refuses everything: the handshake gets
    # the same 503 and Retry-After as an HTTP request, and the handler never runs.
    with LiveServer(make_app(), max_memory="1MB") as server:
        with pytest.raises(InvalidStatus) as refused:
            connect(f"ws://127.0.0.1:{server.port}/ws", open_timeout=30)
        assert refused.value.response.status_code == 503
        assert refused.value.response.headers["retry-after"]
