"""An MCP client: :class:`Client` over stdio, Streamable HTTP and the 2024-11-05 HTTP+SSE.

``session`` holds the protocol (eras, requests, callbacks); ``stdio`` and
``streamable_http`` move the messages; ``errors`` draws what can go wrong.
"""

from conduit.mcp.client.base import ClientTransport
from conduit.mcp.client.errors import (
    AuthenticationError, ClientError, InputRoundsExceeded, RequestTimeout, SessionExpired, TransportError,
)
from conduit.mcp.client.session import Client

__all__ = ["Client", "ClientTransport", "ClientError", "TransportError", "AuthenticationError", "SessionExpired",
           "RequestTimeout", "InputRoundsExceeded"]
