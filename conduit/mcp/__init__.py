"""Model Context Protocol servers for Conduit.

Layering: ``jsonrpc`` (framing, errors) and ``schema``/``content`` (pure data) at the
bottom; ``server`` (decorator registry) and ``protocol``/``handlers``/``eras`` (the
sans-IO dispatcher, both protocol eras) above them; transports on top: ``stdio``
(trio), ``http`` (Streamable HTTP on a Conduit app), ``legacy_sse`` (2024-11-05
HTTP+SSE). Beside the dispatcher: ``tasks`` (task records and the bounded table, sans-IO)
and ``task_runner`` (running tools as tasks, the ``tasks/*`` methods), ``params``
(``Mcp-Param-*`` headers), ``auth`` (the OAuth 2.1 resource server the HTTP transport
consults); ``sessions`` (the bounded session table) and ``store``
(the key/value store sessions are shared through between processes) serve ``http``.
``import conduit`` never imports this package; it is loaded on first use.
"""

from conduit.mcp.content import (
    AudioContent, EmbeddedResource, ImageContent, Message, ResourceLink, TextContent, ToolResult, audio,
    embedded_resource, image, resource_link, text,
)
from conduit.mcp.auth import AccessToken, InvalidToken, JWTVerifier, ResourceServer
from conduit.mcp.context import Context, InputRequest
from conduit.mcp.jsonrpc import MCPError
from conduit.mcp.schema import Field
from conduit.mcp.server import MCPServer, ToolAnnotations
from conduit.mcp.store import MemorySessionStore, RedisSessionStore, SessionStore, StoreError

__all__ = [
    "MCPServer", "Context", "InputRequest", "MCPError", "Field", "ToolAnnotations", "ToolResult", "Message",
    "TextContent", "ImageContent", "AudioContent", "EmbeddedResource", "ResourceLink",
    "text", "image", "audio", "embedded_resource", "resource_link",
    "AccessToken", "InvalidToken", "JWTVerifier", "ResourceServer",
    "SessionStore", "MemorySessionStore", "RedisSessionStore", "StoreError",
]
