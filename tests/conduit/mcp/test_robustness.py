"""No message kills an MCP server: fuzzed JSON in every field, both eras, every transport.

The dispatcher (``Connection.handle``) and the Streamable HTTP endpoint are fuzzed with
hypothesis: a valid message of each kind (request for every method, notification,
response) has one field, at any depth, replaced by an arbitrary JSON value, or the whole
message is arbitrary JSON. Each must be answered with well-formed JSON-RPC (or dropped,
for notifications and stray responses), and the server must answer a ping afterwards.
A few of the same messages then go over real sockets and a real stdio pipe, including
the ones that used to end the process (issue 13).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap
from typing import Any

import orjson
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit import Conduit
from conduit.mcp import Context, MCPServer
from conduit.mcp.protocol.handlers import HANDSHAKE_METHODS, MODERN_METHODS
from conduit.mcp.protocol.dispatcher import Connection
from conduit.testing.client import TestClient

ROOT = pathlib.Path(__file__).resolve().parents[3]
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/logLevel": "debug", "progressToken": 7}
INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
PING = {"jsonrpc": "2.0", "id": "alive", "method": "ping"}
HTTP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}

# JSON values as a transport decodes them (orjson: 64-bit integers, finite floats).
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)


def make_server() -> MCPServer:
    """Every registry kind, with tools that use the context (progress, logs) but never wait on the client."""
    server = MCPServer("fuzz", version="1.0")

    @server.tool()
    def add(a: int, b: int = 1) -> int:
        return a + b

    @server.tool()
    async def chatty(text: str, ctx: Context) -> str:
        await ctx.report_progress(1, 2)
        await ctx.info(text)
        return text

    @server.resource("test://static")
    def static() -> str:
        return "static"

    @server.resource("test://item/{id}")
    def item(id: int) -> str:
        if id > 10:
            raise LookupError(f"no item {id}")
        return f"item {id}"

    @server.prompt()
    def greet(name: str, style: str = "plain") -> str:
        return f"hello {name} ({style})"

    @server.completion("greet", "style")
    def styles(value: str, context: dict[str, str]) -> list[str]:
        return [s for s in ("plain", "fancy") if s.startswith(value)]

    return server


def _params(method: str) -> dict[str, Any]:
    """Valid params for ``method``, so that a fuzzed field is the only thing wrong."""
    return {
        "tools/call": {"name": "chatty", "arguments": {"text": "hi"}},
        "resources/read": {"uri": "test://item/3"},
        "resources/subscribe": {"uri": "test://static"},
        "resources/unsubscribe": {"uri": "test://static"},
        "prompts/get": {"name": "greet", "arguments": {"name": "x"}},
        "completion/complete": {"ref": {"type": "ref/prompt", "name": "greet"},
                                "argument": {"name": "style", "value": "f"}, "context": {"arguments": {}}},
        "logging/setLevel": {"level": "info"},
        "tools/list": {"cursor": "Yzox"},
        "initialize": dict(INIT["params"]),
    }.get(method, {})


HANDSHAKE_TEMPLATES = [{"jsonrpc": "2.0", "id": 1, "method": m, "params": _params(m)} for m in HANDSHAKE_METHODS] + [
    {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1, "reason": "x"}},
    {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 1, "progress": 1}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": "conduit-1", "result": {}},
    {"jsonrpc": "2.0", "id": "conduit-1", "error": {"code": -1, "message": "no"}},
]
# subscriptions/listen streams until the client goes away: it is fuzzed over HTTP only.
MODERN_TEMPLATES = [{"jsonrpc": "2.0", "id": 1, "method": m, "params": {**_params(m), "_meta": dict(META)}}
                    for m in MODERN_METHODS if m != "subscriptions/listen"]


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, prefix + (key,))
    return out


def _replace(message: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    copy = dict(message)
    copy[path[0]] = _replace(copy[path[0]], path[1:], new)
    return copy


@st.composite
def fuzzed(draw, templates: list[dict[str, Any]]) -> Any:
    """A template with one field (any depth) replaced by arbitrary JSON, or a key added."""
    template = draw(st.sampled_from(templates))
    path = draw(st.sampled_from(_paths(template)))
    if draw(st.booleans()) or not path:
        return _replace(template, path, draw(JSON))
    parent = path[:-1]
    target = template
    for key in parent:
        target = target[key]
    key = draw(st.sampled_from(["id", "requestId", "name", "uri", "arguments", "_meta", "cursor", "level",
                                "result", "error", "method", "params", "x"]))
    return _replace(template, parent, {**target, key: draw(JSON)})


def assert_well_formed(answer: Any) -> None:
    """One JSON-RPC 2.0 response: id string/int/null, exactly one of result (object) or error."""
    assert isinstance(answer, dict), answer
    orjson.dumps(answer)  # serialisable as it stands
    assert answer.get("jsonrpc") == "2.0"
    assert "id" in answer and (answer["id"] is None or isinstance(answer["id"], (str, int)))
    assert ("result" in answer) != ("error" in answer), answer
    if "result" in answer:
        assert isinstance(answer["result"], dict)
    else:
        error = answer["error"]
        assert isinstance(error["code"], int) and not isinstance(error["code"], bool)
        assert isinstance(error["message"], str)


def _is_request(message: Any) -> bool:
    return isinstance(message, dict) and "method" in message and "id" in message


async def _dispatch(connection: Connection, message: Any) -> Any:
    """Handle ``message``, then check the connection still answers a ping (handshake) or discover."""
    answer = await connection.handle(message)
    if answer is not None:
        assert_well_formed(answer)
    return answer


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(message=fuzzed(HANDSHAKE_TEMPLATES) | JSON)
def test_dispatcher_handshake_era_survives_any_message(message):
    server = make_server()

    async def go():
        connection = Connection(server)
        assert_well_formed(await connection.handle(dict(INIT)))
        answer = await _dispatch(connection, message)
        if _is_request(message) and answer is None:
            # Only a request that cancelled itself goes unanswered; none of these can.
            raise AssertionError(f"request left unanswered: {message!r}")
        assert (await connection.handle(PING)) == {"jsonrpc": "2.0", "id": "alive", "result": {}}
        connection.close()
    trio.run(go)


@FUZZ
@given(message=fuzzed(MODERN_TEMPLATES) | JSON)
def test_dispatcher_modern_era_survives_any_message(message):
    server = make_server()

    async def go():
        answer = await _dispatch(Connection(server, can_request=False), message)
        if _is_request(message) and answer is None:
            raise AssertionError(f"request left unanswered: {message!r}")
        alive = await Connection(server, can_request=False).handle(
            {"jsonrpc": "2.0", "id": 2, "method": "server/discover", "params": {"_meta": META}})
        assert alive["result"]["resultType"] == "complete"
    trio.run(go)


def _http_answers(response) -> list[Any]:
    """The JSON-RPC messages of one HTTP answer (a JSON body or SSE data lines)."""
    if response.status_code == 202:
        return []
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        return [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
    return [response.json()]


@pytest.fixture(scope="module")
def http_client():
    app = Conduit()
    app.mount_mcp("/mcp", make_server())
    with TestClient(app, base_url="http://localhost") as client:
        session = client.post("/mcp", headers=HTTP_HEADERS, json=INIT).headers["mcp-session-id"]
        yield client, dict(HTTP_HEADERS, **{"mcp-session-id": session, "mcp-protocol-version": "2025-11-25"})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                     HealthCheck.function_scoped_fixture])
@given(message=fuzzed(HANDSHAKE_TEMPLATES + MODERN_TEMPLATES) | JSON, with_session=st.booleans())
def test_streamable_http_survives_any_message(http_client, message, with_session):
    client, session_headers = http_client
    headers = session_headers if with_session else HTTP_HEADERS
    response = client.post("/mcp", headers=headers, content=orjson.dumps(message))
    assert response.status_code != 500, response.text
    for answer in _http_answers(response):
        if "method" in answer:  # a notification or request related to the call (progress, logs)
            continue
        assert_well_formed(answer)
    alive = client.post("/mcp", headers=session_headers, json=PING)
    assert alive.json() == {"jsonrpc": "2.0", "id": "alive", "result": {}}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(fuzzed(HANDSHAKE_TEMPLATES + MODERN_TEMPLATES) | JSON, min_size=1, max_size=4),
       garbage=st.binary(max_size=40))
def test_stdio_transport_survives_any_lines(messages, garbage):
    """serve_streams over in-memory byte streams: fuzzed lines, a line of raw bytes, then a ping."""
    from trio.testing import memory_stream_one_way_pair

    from conduit.mcp.transports.stdio import serve_streams

    lines = [orjson.dumps(INIT)] + [orjson.dumps(m) for m in messages] + [garbage.replace(b"\n", b" "),
                                                                            orjson.dumps(PING)]

    async def go():
        client_send, server_receive = memory_stream_one_way_pair()
        server_send, client_receive = memory_stream_one_way_pair()
        output = bytearray()

        async def read_all():
            while data := await client_receive.receive_some(65536):
                output.extend(data)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_all)
            async with trio.open_nursery() as serving:
                serving.start_soon(serve_streams, make_server(), server_receive, server_send)
                await client_send.send_all(b"\n".join(lines) + b"\n")
                await client_send.aclose()  # EOF: the server finishes in-flight requests and returns
            await server_send.aclose()
        return [orjson.loads(line) for line in bytes(output).splitlines()]

    answers = trio.run(go)
    for answer in answers:
        if "method" in answer:  # progress or log notifications of a fuzzed call
            continue
        assert_well_formed(answer)
    assert {"jsonrpc": "2.0", "id": "alive", "result": {}} in answers


# ------------------------------------------------------------------ real processes
# The messages of issue 13 that used to end a process, and a few more shapes beside them.
KILLERS = [
    {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": [1, 2]}},
    {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": {"a": 1}}},
    {"jsonrpc": "2.0", "id": [1], "result": {}},
    {"jsonrpc": "2.0", "id": {"x": None}, "error": {"code": 1, "message": "m"}},
    {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": ["add"], "arguments": {}}},
    {"jsonrpc": "2.0", "id": 6, "method": "logging/setLevel", "params": {"level": ["debug"]}},
    {"jsonrpc": "2.0", "id": 7, "method": "completion/complete",
     "params": {"ref": {"type": "ref/prompt", "name": {"n": 1}}, "argument": {"name": "style"}}},
    [1, 2, 3],
    "just a string",
]

SERVER_MODULE = textwrap.dedent('''
    import sys
    sys.path[:0] = [{tests!r}]
    from test_robustness import make_server
    mcp = make_server()
''')


def _env(tmp_path: pathlib.Path) -> dict[str, str]:
    (tmp_path / "fuzz_server.py").write_text(SERVER_MODULE.format(tests=str(pathlib.Path(__file__).parent)))
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT), str(ROOT / "kernels")]))


def test_stdio_process_survives_the_killers(tmp_path):
    lines = [orjson.dumps(INIT)] + [orjson.dumps(m) for m in KILLERS] + [b"{not json", orjson.dumps(PING)]
    proc = subprocess.run([sys.executable, "-m", "conduit.mcp.cli", "fuzz_server:mcp"], cwd=tmp_path,
                          env=_env(tmp_path), input=b"\n".join(lines) + b"\n", capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    for answer in answers:
        assert_well_formed(answer)
    by_id = {json.dumps(a["id"]): a for a in answers}
    assert by_id['"alive"']["result"] == {}
    assert by_id["6"]["error"]["code"] == -32602  # a non-string level is a bad parameter
    assert by_id["5"]["error"]["code"] == -32602
    assert by_id["7"]["error"]["code"] == -32602
    assert b"Traceback" not in proc.stderr


@pytest.fixture
def http_process(tmp_path):
    """``conduit mcp fuzz_server:mcp --http --legacy-sse`` as a real process on 127.0.0.1."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "conduit.mcp.cli", "fuzz_server:mcp", "--http", "--legacy-sse",
                             "--port", str(port)], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    import httpx

    try:
        for _ in range(600):
            try:
                httpx.get(url + "/nothing", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stderr.read().decode())
                trio.run(trio.sleep, 0.05)
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(10)


def test_http_process_survives_the_killers(http_process):
    """Streamable HTTP and the legacy HTTP+SSE transport of one real server process."""
    import httpx

    proc, url = http_process
    with httpx.Client(timeout=10) as client:
        session = client.post(url + "/mcp", headers=HTTP_HEADERS, json=INIT).headers["mcp-session-id"]
        headers = dict(HTTP_HEADERS, **{"mcp-session-id": session})
        for message in KILLERS:
            response = client.post(url + "/mcp", headers=headers, content=orjson.dumps(message))
            assert response.status_code in (200, 202, 400), response.text
            for answer in _http_answers(response):
                assert_well_formed(answer)
        assert client.post(url + "/mcp", headers=headers, json=PING).json()["result"] == {}

        with client.stream("GET", url + "/sse", headers={"accept": "text/event-stream"}) as stream:
            lines = stream.iter_lines()
            endpoint = next(line for line in lines if line.startswith("data:"))[5:].strip()
            messages = [INIT] + KILLERS + [PING]
            for message in messages:
                assert client.post(url + endpoint, content=orjson.dumps(message),
                                   headers={"content-type": "application/json"}).status_code == 202
            answers = []
            for line in lines:
                if line.startswith("data:"):
                    answers.append(json.loads(line[5:]))
                    assert_well_formed(answers[-1])
                    if answers[-1].get("id") == "alive":
                        break
        assert proc.poll() is None  # the process is still serving
        assert client.post(url + "/mcp", headers=headers, json=PING).json()["result"] == {}


# ------------------------------------------------------------------ error codes (issue 13)
@pytest.mark.parametrize("params", [{"level": ["debug"]}, {"level": {"x": 1}}, {"level": 3}, {"level": "loud"}, {}])
def test_set_level_with_a_bad_level_is_invalid_params_without_a_traceback(params, caplog):
    async def go():
        connection = Connection(make_server())
        await connection.handle(dict(INIT))
        return await connection.handle({"jsonrpc": "2.0", "id": 3, "method": "logging/setLevel", "params": params})
    with caplog.at_level("DEBUG", logger="conduit.mcp"):
        answer = trio.run(go)
    assert answer["error"]["code"] == -32602
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("uri, refusal", [("test://item/99", "no item 99"), ("test://nothing", "Resource not found")])
def test_refused_resource_reads_are_the_resource_error_without_a_traceback(uri, refusal, caplog):
    async def go():
        connection = Connection(make_server())
        await connection.handle(dict(INIT))
        return await connection.handle({"jsonrpc": "2.0", "id": 4, "method": "resources/read", "params": {"uri": uri}})
    with caplog.at_level("DEBUG", logger="conduit.mcp"):
        answer = trio.run(go)
    assert answer["error"]["code"] == -32602 and answer["error"]["data"] == {"uri": uri}
    assert refusal in answer["error"]["message"]
    assert not [r for r in caplog.records if r.exc_info]


def test_a_resource_bug_is_still_an_internal_error_and_logged(caplog):
    server = make_server()

    @server.resource("test://broken")
    def broken() -> str:
        raise RuntimeError("bug")

    async def go():
        connection = Connection(server)
        await connection.handle(dict(INIT))
        return await connection.handle({"jsonrpc": "2.0", "id": 5, "method": "resources/read",
                                        "params": {"uri": "test://broken"}})
    with caplog.at_level("ERROR", logger="conduit.mcp"):
        answer = trio.run(go)
    assert answer["error"] == {"code": -32603, "message": "Internal error"}
    assert [r for r in caplog.records if r.exc_info]
