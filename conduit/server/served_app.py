"""What the server needs of the app it serves, as a typed protocol.

The server reads the app's limits, hands each request to the app's lifecycle and
flips one drain flag; it probes for nothing (no ``getattr`` with a default). A
:class:`~conduit.Conduit` app satisfies :class:`ServedApp`; so must anything else
served (a test double, a wrapper).
"""

from __future__ import annotations

from typing import Any, Protocol

from ..http.request import Request
from ..http.response import Response


class ServedLifecycle(Protocol):
    """The request path a connection calls (:class:`conduit.lifecycle.RequestLifecycle`)."""

    async def handle_without_deadline(self, request: Request) -> Response: ...

    async def deadline_response(self, request: Request) -> Response: ...

    def invalid_response(self, request: Request, problem: Exception) -> Response: ...


class ServedApp(Protocol):
    """An app the server can serve."""

    #: The app's limits (``Conduit(max_body_size=...)``); server options override them.
    max_body_size: int
    handler_timeout: float
    websocket_max_message_size: int
    #: Whether any WebSocket route exists (upgrades are looked at only then).
    has_websockets: bool
    #: The one drain flag: set while the server shuts down (``/ready`` turns 503, responses
    #: say ``Connection: close``, WebSockets close with 1001).
    draining: bool
    #: The admission gate the server installs for its config (or None).
    admission: Any
    state: Any
    router: Any
    middleware: list[Any]
    lifecycle: ServedLifecycle

    async def startup(self, progress: Any = None) -> None: ...

    async def shutdown(self) -> None: ...

    async def handle_websocket(self, websocket: Any) -> None: ...

    def configure_limits(self, *, max_body_size: int | None = None, handler_timeout: float | None = None,
                         websocket_max_message_size: int | None = None) -> dict[str, Any]: ...


__all__ = ["ServedApp", "ServedLifecycle"]
