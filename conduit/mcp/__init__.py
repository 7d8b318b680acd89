"""Model Context Protocol servers for Conduit.

Layering: ``protocol/`` is the sans-IO core: ``jsonrpc`` (framing, errors), ``eras``
(the two protocol eras), ``dispatcher`` (one ``Connection`` per client), ``handlers``,
``context``, ``paging`` and ``request_state``. ``tasks/`` holds the task records and
the bounded table (``records``) and running tools as tasks (``runner``).
``transports/`` moves messages: ``stdio`` (trio), ``http`` (Streamable HTTP on a
Conduit app), ``legacy_sse`` (2024-11-05 HTTP+SSE), with ``sessions``, ``store``,
``security`` and ``params`` (``Mcp-Param-*`` headers) beside them. At the top:
``server`` (the decorator registry), ``schema``/``content`` (pure data) and ``auth``
(the OAuth 2.1 resource server the transports consult), ``middleware/`` (wrapping callables
around each request: caching, rate limits, request logs) and ``tool_search`` (BM25 over a
large catalogue, ``MCPServer(tool_search=True)``). ``client/`` is the other side:
:class:`Client` (loaded on first use, as it brings httpx and anyio).
``import conduit`` never imports this package; it is loaded on first use.
"""

from conduit.mcp.content import (
    AudioContent, EmbeddedResource, ImageContent, Message, ResourceLink, TextContent, ToolResult, audio,
    embedded_resource, image, resource_link, text,
)
from conduit.mcp.auth import AccessToken, InvalidToken, JWTVerifier, ResourceServer
from conduit.mcp.protocol.context import Context, InputRequest
from conduit.mcp.protocol.jsonrpc import MCPError
from conduit.mcp.middleware import RATE_LIMITED, RateLimit, RequestLog, ResponseCache
from conduit.mcp.schema import Field
from conduit.mcp.server import MCPServer, ToolAnnotations
from conduit.mcp.transports.store import MemorySessionStore, RedisSessionStore, SessionStore, StoreError

__all__ = [
    "MCPServer", "Context", "InputRequest", "MCPError", "Field", "ToolAnnotations", "ToolResult", "Message",
    "TextContent", "ImageContent", "AudioContent", "EmbeddedResource", "ResourceLink",
    "text", "image", "audio", "embedded_resource", "resource_link",
    "AccessToken", "InvalidToken", "JWTVerifier", "ResourceServer",
    "SessionStore", "MemorySessionStore", "RedisSessionStore", "StoreError",
    "ResponseCache", "RateLimit", "RequestLog", "RATE_LIMITED", "Client",
]


def __getattr__(name: str) -> object:
    if name == "Client":  # httpx and anyio load only for programs that use the client
        from conduit.mcp.client import Client
        return Client
    raise AttributeError(f"module 'conduit.mcp' has no attribute {name!r}")
