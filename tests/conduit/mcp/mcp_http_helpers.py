"""Streamable HTTP requests for the MCP tests that speak raw JSON-RPC with httpx (both eras)."""

from __future__ import annotations

HEADERS = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


def post(client, url, body, token=None, session=None):
    """POST one message, with a bearer ``token`` and an ``Mcp-Session-Id`` when given."""
    headers = dict(HEADERS)
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    if session is not None:
        headers["mcp-session-id"] = session
    return client.post(url, json=body, headers=headers)


def post_modern(client, url, name, arguments, token=None):
    """One stateless 2026-07-28 ``tools/call`` of ``name``, its envelope and headers agreeing."""
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    headers = {"accept": "application/json", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call",
               "mcp-name": name}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": name, "arguments": arguments, "_meta": meta}}
    return client.post(url, json=body, headers=headers)
