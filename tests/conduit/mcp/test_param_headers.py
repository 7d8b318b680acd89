"""``Mcp-Param-*`` headers from ``x-mcp-header`` (SEP-2243): registration rules, the header check
(table and hypothesis), and the real server through the official SDK client and raw httpx."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conduit.mcp import MCPServer
from conduit.mcp.protocol.jsonrpc import HeaderMismatch
from conduit.mcp.transports.params import check_param_headers, header_params


def schema_with(prop: dict) -> dict:
    return {"type": "object", "properties": {"p": prop}}


@pytest.mark.parametrize("prop,message", [
    ({"type": "string", "x-mcp-header": ""}, "non-empty string"),
    ({"type": "string", "x-mcp-header": 7}, "non-empty string"),
    ({"type": "string", "x-mcp-header": None}, "non-empty string"),
    ({"type": "string", "x-mcp-header": "Has Space"}, "not a valid HTTP header name"),
    ({"type": "string", "x-mcp-header": "Co:lon"}, "not a valid HTTP header name"),
    ({"type": "string", "x-mcp-header": "Ünicode"}, "not a valid HTTP header name"),
    ({"type": "string", "x-mcp-header": "Ctl\x01"}, "not a valid HTTP header name"),
    ({"type": "object", "x-mcp-header": "Obj"}, "type string, number, integer or boolean"),
    ({"type": "array", "x-mcp-header": "Arr"}, "type string, number, integer or boolean"),
    ({"type": "null", "x-mcp-header": "Nul"}, "type string, number, integer or boolean"),
])
def test_invalid_annotations_fail_registration_naming_tool_and_property(prop, message):
    mcp = MCPServer("bad")
    with pytest.raises(ValueError, match=message) as caught:
        mcp.add_tool(lambda **kw: "x", name="routed", input_schema=schema_with(prop))
    assert "tool 'routed', property 'p'" in str(caught.value)


def test_duplicate_header_names_are_refused_case_insensitively():
    schema = {"type": "object", "properties": {"a": {"type": "string", "x-mcp-header": "Region"},
                                               "b": {"type": "string", "x-mcp-header": "region"}}}
    with pytest.raises(ValueError, match="repeats the one on property 'a'"):
        header_params("t", schema)


SPEC = header_params("t", {"type": "object", "properties": {
    "region": {"type": "string", "x-mcp-header": "Region"},
    "count": {"type": "integer", "x-mcp-header": "Count"},
    "ratio": {"type": "number", "x-mcp-header": "Ratio"},
    "debug": {"type": "boolean", "x-mcp-header": "Debug"},
    "free": {"type": "string"}}})


def b64(text: str) -> str:
    return "=?base64?" + base64.b64encode(text.encode()).decode() + "?="


CASES = [  # (arguments, headers, accepted)
    ({"region": "us-west1"}, {"mcp-param-region": "us-west1"}, True),
    ({"region": "us-west1"}, {"mcp-param-region": "  us-west1  "}, True),  # OWS is not part of the value
    ({"region": "Hello, 世界"}, {"mcp-param-region": b64("Hello, 世界")}, True),
    ({"region": "SGVsbG8="}, {"mcp-param-region": "SGVsbG8="}, True),  # no wrapper: literal
    ({"region": "=?base64?SGVsbG8="}, {"mcp-param-region": "=?base64?SGVsbG8="}, True),  # no suffix: literal
    ({"region": "Hello"}, {"mcp-param-region": "=?base64?SGVsbG8?="}, False),  # bad padding
    ({"region": "Hello"}, {"mcp-param-region": "=?base64?SGVs!!!bG8=?="}, False),  # bad alphabet
    ({"region": "us-west1"}, {}, False),  # omitted while the body has it
    ({}, {"mcp-param-region": "us-west1"}, False),  # present while the body lacks it
    ({"region": None}, {}, True),  # null: no header
    ({"region": "a"}, {"mcp-param-region": "b"}, False),
    ({"count": 42}, {"mcp-param-count": "42"}, True),
    ({"count": 42}, {"mcp-param-count": "42.0"}, True),
    ({"count": 42}, {"mcp-param-count": "43"}, False),
    ({"count": 42}, {"mcp-param-count": "forty-two"}, False),
    ({"ratio": 3.14159}, {"mcp-param-ratio": "3.14159"}, True),
    ({"ratio": 3.14159}, {"mcp-param-ratio": "nan"}, False),
    ({"debug": True}, {"mcp-param-debug": "true"}, True),
    ({"debug": False}, {"mcp-param-debug": "false"}, True),
    ({"debug": False}, {"mcp-param-debug": "False"}, False),
    ({"free": "anything"}, {}, True),  # not annotated: not checked
]


@pytest.mark.parametrize("arguments,headers,accepted", CASES)
def test_header_check_table(arguments, headers, accepted):
    if accepted:
        check_param_headers(SPEC, arguments, headers)
    else:
        with pytest.raises(HeaderMismatch) as caught:
            check_param_headers(SPEC, arguments, headers)
        assert caught.value.code == -32020 and "Mcp-Param-" in caught.value.message


def client_encoding(value: str) -> str:
    """How a client writes a string value (SEP-2243 value encoding)."""
    safe = all(0x20 <= ord(c) <= 0x7E for c in value) and value == value.strip()
    return value if safe and not value.startswith("=?base64?") else b64(value)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_any_string_round_trips_and_any_other_string_is_refused(value, other):
    headers = {"mcp-param-region": client_encoding(value)}
    check_param_headers(SPEC, {"region": value}, headers)
    if other != value:
        with pytest.raises(HeaderMismatch):
            check_param_headers(SPEC, {"region": other}, headers)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-(2 ** 53), max_value=2 ** 53), st.booleans())
def test_numbers_and_booleans_round_trip(number, flag):
    check_param_headers(SPEC, {"count": number, "debug": flag},
                        {"mcp-param-count": str(number), "mcp-param-debug": "true" if flag else "false"})


# ------------------------------------------------------------------ the real server
def test_sdk_client_mirrors_the_header_and_raw_requests_are_checked(everything):
    import anyio
    import httpx
    from mcp import Client

    from conduit import Conduit
    from conduit.testing.client import LiveServer

    tool = everything.mcp.tools["test_header_params"]
    assert tool.wire["inputSchema"]["properties"]["region"]["x-mcp-header"] == "Region"
    app = Conduit()
    app.mount_mcp("/mcp", everything.mcp)
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}

    def raw(client, url, region, header):
        headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28",
                   "mcp-method": "tools/call", "mcp-name": "test_header_params"}
        if header is not None:
            headers["mcp-param-region"] = header
        return client.post(url, headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "test_header_params", "arguments": {"region": region}, "_meta": meta}})

    with LiveServer(app) as server:
        url = server.url + "/mcp"

        async def main():
            async with Client(url, mode="2026-07-28") as client:
                await client.list_tools()  # the SDK learns x-mcp-header from the tool list
                result = await client.call_tool("test_header_params", {"region": "eu-north 1", "query": "q"})
                assert result.content[0].text == "region=eu-north 1 query=q"

        anyio.run(main)
        with httpx.Client(timeout=30) as client:
            ok = raw(client, url, "us-west1", "us-west1")
            assert ok.status_code == 200 and ok.json()["result"]["content"][0]["text"].startswith("region=us-west1")
            for header in (None, "us-east1", "=?base64?SGVsbG8?="):
                refused = raw(client, url, "us-west1", header)
                assert refused.status_code == 400 and refused.json()["error"]["code"] == -32020
            assert raw(client, url, "us-west1", "us-west1").status_code == 200  # still serving
