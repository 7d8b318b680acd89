"""Issue 25: MCP middleware (``mcp.add_middleware``) and the three built in.

In-process through the sans-IO dispatcher for the rules, and on the real server over
127.0.0.1 with the official SDK client and httpx for what a client sees. Attacks named
after them: a cache must never answer one caller with another's result, nor one set of
arguments with another's (hypothesis over arbitrary JSON arguments), nor skip a tool's
scope check; a rate-limited caller must not slow or block the others.
"""

from __future__ import annotations

import contextlib
import logging

import anyio
import httpx
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit import Conduit
from conduit.mcp import MCPError, MCPServer, RateLimit, RequestLog, ResponseCache
from conduit.mcp.auth import AccessToken, ResourceServer
from conduit.mcp.protocol.dispatcher import Connection
from conduit.testing.client import LiveServer
from mcp_http_helpers import INIT, post_modern
from test_robustness import HANDSHAKE_TEMPLATES, JSON as ANY_JSON, PING, assert_well_formed, fuzzed
from test_robustness import make_server as robust_server

mcp_sdk = pytest.importorskip("mcp", reason="mcp is in the test extra (./dev test installs it)")


def make_server(**options) -> tuple[MCPServer, list]:
    mcp = MCPServer("mw", sync_in_thread=False, **options)
    runs: list = []

    @mcp.tool(read_only=True)
    def lookup(key: str, extra: dict | None = None) -> str:
        runs.append(("lookup", key))
        return f"value of {key}"

    @mcp.tool(read_only=True, scopes=["secret"])
    def secret(key: str) -> str:
        runs.append(("secret", key))
        return f"secret {key}"

    @mcp.tool()
    def write(key: str) -> str:
        runs.append(("write", key))
        return f"wrote {key}"

    @mcp.tool(read_only=True)
    def flaky(key: str) -> str:
        runs.append(("flaky", key))
        raise ValueError("backend down")

    @mcp.tool(read_only=True)
    def echo(arguments: dict) -> str:
        runs.append(("echo", arguments))
        import json
        return json.dumps(arguments, sort_keys=True)

    @mcp.resource("data://config")
    def config() -> str:
        runs.append(("config",))
        return "config body"

    return mcp, runs


def call(name: str, arguments: dict, request_id: int = 1) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


def authed_app(mcp: MCPServer) -> Conduit:
    """``mcp`` mounted behind a resource server whose every token is its own subject."""
    app = Conduit()
    app.mount_mcp("/mcp", mcp, auth=ResourceServer("https://mcp.example.test/mcp", ["https://auth.example.test"],
                                                   lambda t: AccessToken(subject=t, scopes=frozenset({"mcp"}))))
    return app


@contextlib.asynccontextmanager
async def sdk_client(url: str, token: str):
    """The official SDK client over Streamable HTTP with a bearer token (handshake era)."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    with anyio.fail_after(30):
        http_client = httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=30)
        async with http_client, Client(streamable_http_client(url, http_client=http_client),
                                        mode="legacy") as client:
            yield client


async def opened(mcp: MCPServer, **options) -> Connection:
    connection = Connection(mcp, **options)
    await connection.handle(INIT)
    return connection


# ------------------------------------------------------------------ the chain
def test_middleware_wraps_each_request_first_added_outermost():
    mcp, _ = make_server()
    seen: list = []

    def outer(next_handler):
        async def handler(request):
            seen.append(("outer in", request.method))
            result = await next_handler(request)
            seen.append(("outer out", request.method))
            return result
        return handler

    def inner(next_handler):
        async def handler(request):
            seen.append(("inner", request.method, request.params.get("name"), request.principal, request.session))
            return await next_handler(request)
        return handler

    mcp.add_middleware(outer)
    mcp.add_middleware(inner)

    async def go():
        connection = await opened(mcp, session_id="s-1")
        answer = await connection.handle(call("lookup", {"key": "a"}))
        assert answer["result"]["content"][0]["text"] == "value of a"

    trio.run(go)
    assert seen == [("outer in", "tools/call"), ("inner", "tools/call", "lookup", None, "s-1"),
                    ("outer out", "tools/call")]


def test_middleware_may_answer_or_refuse_without_the_handler():
    mcp, runs = make_server()

    class Gatekeeper:
        def __init__(self, refused: str) -> None:
            self.refused = refused

        def __call__(self, next_handler):
            async def handler(request):
                if request.params.get("name") == self.refused:
                    raise MCPError("not today", {"tool": self.refused}, code=-32000)
                if request.method == "ping":
                    return {"pong": True}
                return await next_handler(request)
            return handler

    mcp.add_middleware(Gatekeeper, refused="write")  # a class with its options, as app.add_middleware takes

    async def go():
        connection = await opened(mcp)
        refused = await connection.handle(call("write", {"key": "a"}))
        assert refused["error"] == {"code": -32000, "message": "not today", "data": {"tool": "write"}}
        assert (await connection.handle({"jsonrpc": "2.0", "id": 2, "method": "ping"}))["result"] == {"pong": True}

    trio.run(go)
    assert runs == []


def test_add_middleware_refuses_what_is_not_middleware():
    mcp, _ = make_server()

    async def looks_like_a_handler(request):
        return {}

    with pytest.raises(TypeError, match="async function"):
        mcp.add_middleware(looks_like_a_handler)
    with pytest.raises(TypeError, match="next handler"):
        mcp.add_middleware(42)
    with pytest.raises(TypeError, match="options go with a class"):
        mcp.add_middleware(RequestLog(), level=logging.DEBUG)
    with pytest.raises(TypeError, match="cannot create the middleware ResponseCache"):
        mcp.add_middleware(ResponseCache, colour="blue")


# ------------------------------------------------------------------ ResponseCache
def test_response_cache_answers_repeated_read_only_calls_from_memory():
    mcp, runs = make_server()
    cache = ResponseCache(ttl_seconds=60)
    mcp.add_middleware(cache)

    async def go():
        connection = await opened(mcp)
        first = await connection.handle(call("lookup", {"key": "a", "extra": {"x": 1, "y": 2}}, 1))
        again = await connection.handle(call("lookup", {"extra": {"y": 2, "x": 1}, "key": "a"}, 2))  # key order
        assert again["result"] == first["result"] and again["id"] == 2
        await connection.handle(call("lookup", {"key": "b"}, 3))  # other arguments: a miss
        await connection.handle(call("write", {"key": "a"}, 4))  # not read-only: never cached
        await connection.handle(call("write", {"key": "a"}, 5))
        for i in (6, 7):  # a tool error is not remembered
            assert (await connection.handle(call("flaky", {"key": "a"}, i)))["result"]["isError"] is True
        for i in (8, 9):
            read = await connection.handle({"jsonrpc": "2.0", "id": i, "method": "resources/read",
                                            "params": {"uri": "data://config"}})
            assert read["result"]["contents"][0]["text"] == "config body"

    trio.run(go)
    assert runs == [("lookup", "a"), ("lookup", "b"), ("write", "a"), ("write", "a"), ("flaky", "a"),
                    ("flaky", "a"), ("config",)]
    assert cache.hits == 2 and len(cache) == 3


def test_response_cache_entries_expire_and_stay_bounded():
    mcp, runs = make_server()
    cache = ResponseCache(ttl_seconds=0.05, max_entries=2)
    mcp.add_middleware(cache)

    async def go():
        connection = await opened(mcp)
        await connection.handle(call("lookup", {"key": "a"}))
        await trio.sleep(0.1)  # past the TTL: the next call runs the tool again
        await connection.handle(call("lookup", {"key": "a"}))
        for key in "bcd":
            await connection.handle(call("lookup", {"key": key}))
        assert len(cache) == 2

    trio.run(go)
    assert [key for _, key in runs] == ["a", "a", "b", "c", "d"]


def test_response_cache_does_not_keep_large_answers():
    mcp, runs = make_server()
    mcp.add_middleware(ResponseCache(max_entry_bytes=10))

    async def go():
        connection = await opened(mcp)
        for request_id in (1, 2):  # "value of a-long-key" is 19 characters: over the bound, run twice
            await connection.handle(call("lookup", {"key": "a-long-key"}, request_id))
        for request_id in (3, 4):  # "value of a" is 10: kept, run once
            await connection.handle(call("lookup", {"key": "a"}, request_id))

    trio.run(go)
    assert runs == [("lookup", "a-long-key"), ("lookup", "a-long-key"), ("lookup", "a")]


def test_response_cache_never_serves_one_callers_answer_to_another():
    mcp, runs = make_server()
    mcp.add_middleware(ResponseCache())

    async def go():
        alice = await opened(mcp, owner="principal:alice")
        bob = await opened(mcp, owner="principal:bob")
        await alice.handle(call("lookup", {"key": "a"}))
        await bob.handle(call("lookup", {"key": "a"}))
        await alice.handle(call("lookup", {"key": "a"}))

    trio.run(go)
    assert runs == [("lookup", "a"), ("lookup", "a")]  # one run per caller, the repeat answered from memory


def test_response_cache_hit_still_checks_the_tools_scopes():
    mcp, runs = make_server()
    mcp.add_middleware(ResponseCache())
    full = AccessToken(subject="u", scopes=frozenset({"secret"}), claims={"iss": "i"})
    reduced = AccessToken(subject="u", scopes=frozenset(), claims={"iss": "i"})  # same user, a narrower token

    async def go():
        connection = await opened(mcp)
        assert "result" in await connection.handle(call("secret", {"key": "k"}), principal=full)
        refused = await connection.handle(call("secret", {"key": "k"}, 2), principal=reduced)
        assert refused["error"]["code"] == -32600 and "Insufficient scope" in refused["error"]["message"]

    trio.run(go)
    assert runs == [("secret", "k")]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=6),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                max_size=3), max_leaves=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arguments=st.lists(st.dictionaries(st.text(max_size=4), JSON, max_size=3), min_size=2, max_size=5))
def test_response_cache_never_answers_other_arguments(arguments):
    """Whatever the arguments, a cached answer is exactly what running the tool gives."""
    mcp, _ = make_server()
    mcp.add_middleware(ResponseCache())
    import json

    async def go():
        connection = await opened(mcp)
        for round_ in range(2):
            for i, value in enumerate(arguments):
                answer = await connection.handle(call("echo", {"arguments": value}, i))
                assert answer["result"]["content"][0]["text"] == json.dumps(value, sort_keys=True)

    trio.run(go)


def test_response_cache_refuses_bad_settings():
    with pytest.raises(ValueError, match="ttl_seconds"):
        ResponseCache(ttl_seconds=0)
    with pytest.raises(ValueError, match="max_entries"):
        ResponseCache(max_entries=0)
    with pytest.raises(ValueError, match="max_entry_bytes"):
        ResponseCache(max_entry_bytes=0)


# ------------------------------------------------------------------ RateLimit
def test_rate_limit_refuses_with_32029_and_retry_advice_per_caller_and_per_tool():
    mcp, runs = make_server()
    mcp.add_middleware(RateLimit, rate=3, period=60, tools={"write": (1, 60)})

    async def go():
        alice = await opened(mcp, owner="principal:alice")
        bob = await opened(mcp, owner="principal:bob")
        assert "result" in await alice.handle(call("write", {"key": "1"}))
        tool_limited = await alice.handle(call("write", {"key": "2"}))
        assert tool_limited["error"]["code"] == -32029
        data = tool_limited["error"]["data"]
        assert data["scope"] == "tool" and data["tool"] == "write" and data["retryAfterMs"] > 0
        assert data["limit"] == 1 and data["periodSeconds"] == 60.0
        assert "result" in await alice.handle(call("lookup", {"key": "a"}))
        caller_limited = await alice.handle(call("lookup", {"key": "b"}))  # the 4th request of alice: over 3
        assert caller_limited["error"]["code"] == -32029 and caller_limited["error"]["data"]["scope"] == "caller"
        assert "retry in" in caller_limited["error"]["message"]
        # Bob has his own buckets.
        assert "result" in await bob.handle(call("write", {"key": "3"}))

    trio.run(go)
    assert [key for name, key in runs if name == "write"] == ["1", "3"]


def test_rate_limit_is_429_on_the_modern_era_and_an_error_for_the_sdk_client():
    mcp, _ = make_server()
    mcp.add_middleware(RateLimit(rate=None, tool_rate=(2, 60)))
    app = authed_app(mcp)

    async def sdk(url: str) -> None:
        async with sdk_client(url, "sdk-user") as client:
            for key in "ab":
                assert (await client.call_tool("lookup", {"key": key})).content[0].text == f"value of {key}"
            with pytest.raises(mcp_sdk.MCPError) as refused:
                await client.call_tool("lookup", {"key": "c"})
            assert refused.value.error.code == -32029
            assert refused.value.error.data["retryAfterMs"] > 0

    with LiveServer(app) as server, httpx.Client(timeout=30) as client:
        url = server.url + "/mcp"
        anyio.run(sdk, url)
        statuses = [post_modern(client, url, "lookup", {"key": "x"}, "modern-user").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert post_modern(client, url, "lookup", {"key": "x"}, "modern-user").json()["error"]["code"] == -32029


def test_rate_limit_refuses_bad_settings():
    for bad in ({"rate": 0}, {"period": 0}, {"burst": -1}, {"tools": {"x": 5}}, {"tool_rate": (1, "s")}):
        with pytest.raises(ValueError, match="RateLimit"):
            RateLimit(**bad)


# ------------------------------------------------------------------ RequestLog
def test_request_log_writes_one_structured_record_per_request(caplog):
    mcp, _ = make_server()
    mcp.add_middleware(RequestLog)
    caplog.set_level(logging.INFO, logger="conduit.mcp.requests")

    async def go():
        connection = await opened(mcp, session_id="s-9", owner="principal:carol")
        await connection.handle(call("lookup", {"key": "a"}))
        await connection.handle(call("flaky", {"key": "a"}, 2))
        await connection.handle(call("missing", {}, 3))

    trio.run(go)
    records = [r for r in caplog.records if r.name == "conduit.mcp.requests"]
    assert [(r.mcp_method, r.mcp_target, r.mcp_outcome) for r in records] == [
        ("tools/call", "lookup", "ok"), ("tools/call", "flaky", "tool_error"), ("tools/call", "missing", "error")]
    assert all(r.mcp_caller == "principal:carol" and r.mcp_session == "s-9" for r in records)
    assert [r.mcp_error_code for r in records] == [None, None, -32602]
    assert all(isinstance(r.mcp_duration_ms, float) for r in records)  # the field is recorded
    assert records[0].getMessage().startswith("mcp tools/call lookup ok ")


def test_middleware_over_streamable_http_sees_the_verified_principal_and_session():
    """The SDK client over the real server: the middleware gets the token's principal and the session."""
    mcp, _ = make_server()
    seen: list = []

    def record(next_handler):
        async def handler(request):
            seen.append((request.method, getattr(request.principal, "subject", None), request.session, request.owner))
            return await next_handler(request)
        return handler

    mcp.add_middleware(record)
    app = authed_app(mcp)

    async def sdk(url: str) -> None:
        async with sdk_client(url, "dana") as client:
            await client.call_tool("lookup", {"key": "a"})

    with LiveServer(app) as server:
        anyio.run(sdk, server.url + "/mcp")
    calls = [entry for entry in seen if entry[0] == "tools/call"]
    assert len(calls) == 1
    method, subject, session, owner = calls[0]
    assert subject == "dana" and session is not None and owner.startswith("principal:")
    assert "dana" in owner


# ------------------------------------------------------------------ any message, every middleware
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=fuzzed(HANDSHAKE_TEMPLATES) | ANY_JSON)
def test_the_built_in_middleware_survive_any_message(drawn):
    """The robustness fuzzer's messages through a server with all three built in: well-formed
    answers, never an internal error (a middleware that trips on odd params would be one)."""
    server = robust_server()
    server.add_middleware(RequestLog)
    server.add_middleware(RateLimit, rate=10**6, period=1, tool_rate=(10**6, 1))
    server.add_middleware(ResponseCache)

    async def go():
        connection = Connection(server)
        await connection.handle(dict(INIT))
        answer = await connection.handle(drawn)
        if answer is not None:
            assert_well_formed(answer)
            assert answer.get("error", {}).get("code") != -32603, answer
        assert (await connection.handle(PING))["result"] == {}
        connection.close()

    trio.run(go)
