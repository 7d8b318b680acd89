"""What a client transport is to :class:`~conduit.mcp.client.session.Client`, and back.

A transport moves whole JSON-RPC messages and knows nothing of MCP methods: the session
hands it a message (with the HTTP headers the era asks for) and gets every incoming
message through :class:`Sink`. A failure that belongs to one request (an HTTP error on
its POST) goes to ``Sink.request_failed``; the end of the connection to ``connection_lost``.
"""

from __future__ import annotations

import abc
from typing import Any, Protocol

import anyio.abc

__all__ = ["Sink", "ClientTransport", "BearerToken"]


class Sink(Protocol):
    async def receive(self, message: Any) -> None: ...

    def request_failed(self, request_id: Any, error: BaseException) -> None: ...

    def connection_lost(self, error: BaseException) -> None: ...


class ClientTransport(abc.ABC):
    """One connection to one server; the session owns exactly one."""

    #: set by the session after ``initialize``: handshake-era HTTP repeats it in a header
    protocol_version: str | None = None
    #: whether ``send``'s headers reach the server (Streamable HTTP)
    carries_headers = False

    @abc.abstractmethod
    async def start(self, task_group: anyio.abc.TaskGroup, sink: Sink) -> None:
        """Connect, and deliver every incoming message to ``sink`` from tasks in ``task_group``."""

    @abc.abstractmethod
    async def send(self, message: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        """Send one message; ``headers`` are HTTP headers (ignored off HTTP)."""

    def cancel(self, request_id: Any) -> None:
        """Stop waiting for ``request_id`` at the transport level (HTTP: drop its POST)."""

    def session_started(self) -> None:
        """The handshake finished: HTTP opens its notification stream here."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Disconnect; never raises, never blocks for long."""


class BearerToken:
    """An OAuth 2.1 access token: a string, or a (sync or async) function returning the current one.

    A function is asked again after a 401, so a client may refresh its token there (RFC 6750).
    """

    def __init__(self, token: Any) -> None:
        if token is not None and not isinstance(token, str) and not callable(token):
            raise TypeError(f"auth must be a bearer token string or a function returning one, not {token!r}")
        self._source = token
        self._current: str | None = token if isinstance(token, str) else None

    @property
    def refreshable(self) -> bool:
        return callable(self._source)

    async def header(self, refresh: bool = False) -> dict[str, str]:
        if self._source is None:
            return {}
        if callable(self._source) and (refresh or self._current is None):
            value = self._source()
            if hasattr(value, "__await__"):
                value = await value
            if not isinstance(value, str) or not value:
                raise TypeError(f"the auth function returned {value!r}, not a token string")
            self._current = value
        return {"authorization": f"Bearer {self._current}"}
