"""Handshake-era Streamable HTTP requests for the MCP tests that speak raw JSON-RPC with httpx."""

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
