"""A stdio MCP server behind a resource server, for tests/conduit/mcp/test_transport_access.py.

Its token comes from ``MCP_ACCESS_TOKEN``: ``reader`` holds scope ``mcp``, ``admin`` also
``admin``; any other token (or none) is refused before the server reads a message.
``echo`` may be called twice a minute per principal (``RateLimit`` middleware).
"""

from __future__ import annotations

from conduit.mcp import AccessToken, MCPServer, RateLimit, ResourceServer

mcp = MCPServer("guarded-stdio")
mcp.add_middleware(RateLimit, rate=None, tools={"echo": (2, 60)})


@mcp.tool(scopes=["admin"])
def admin_tool() -> str:
    return "admin work done"


@mcp.tool()
def echo(text: str) -> str:
    return text


def verify(token: str) -> AccessToken | None:
    scopes = {"reader": {"mcp"}, "admin": {"mcp", "admin"}}.get(token)
    return AccessToken(subject=token, scopes=frozenset(scopes)) if scopes else None


if __name__ == "__main__":
    mcp.run_stdio(auth=ResourceServer("https://mcp.example.test/mcp", ["https://auth.example.test"], verify))
