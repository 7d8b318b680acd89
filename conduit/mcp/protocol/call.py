"""``Call``: one request in flight, as handlers and ``Context`` see it.

Its own module so that the handlers, the paging helper, the task runner and
``Context`` can name the type without importing the dispatcher that calls them
(the dispatcher imports this module, never the other way round). A call reaches
its connection only through the attributes it reads (``server``, the negotiated
version, capabilities and log level, ``request``), so ``connection`` is typed
loosely here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from conduit.mcp.protocol.eras import (
    LOG_LEVELS, META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_LOG_LEVEL, META_PROTOCOL_VERSION,
)
from conduit.mcp.protocol.inputs import InputRequest, InputRequired

__all__ = ["Call", "Send"]

Send = Callable[[dict[str, Any]], Awaitable[None]]


class Call:
    """One request in flight: what handlers and :class:`~conduit.mcp.protocol.context.Context` see."""

    __slots__ = ("connection", "request_id", "method", "params", "meta", "progress_token", "send", "modern",
                 "protocol_version", "client_capabilities", "client_info", "log_level", "responses", "state",
                 "cancel_scope", "principal", "task", "begin_task", "caller")

    def __init__(self, connection: Any, request_id: Any, method: str, params: dict[str, Any],
                 send: Send, modern: bool) -> None:
        self.connection = connection
        self.request_id = request_id
        self.method = method
        self.params = params
        meta = params.get("_meta")
        self.meta: dict[str, Any] = meta if isinstance(meta, dict) else {}
        self.progress_token = self.meta.get("progressToken")
        self.send = send
        self.modern = modern
        self.responses: dict[str, Any] = {}
        self.state: dict[str, Any] = {}
        self.cancel_scope: trio.CancelScope | None = None
        self.principal: Any = None  # the verified access token, when the transport checked one
        self.caller: str | None = None  # who is calling, as middleware key it (computed once, on first use)
        self.task: Any = None  # (TaskManager, live task) while this call runs as a task
        self.begin_task: Callable[[], Call] | None = None  # set for a tool that may turn into a task
        if modern:
            self.protocol_version = self.meta.get(META_PROTOCOL_VERSION)
            caps = self.meta.get(META_CLIENT_CAPABILITIES)
            self.client_capabilities = caps if isinstance(caps, dict) else {}
            self.client_info = self.meta.get(META_CLIENT_INFO)
            level = self.meta.get(META_LOG_LEVEL)
            # Absent or not a level this server knows: no logs at all.
            self.log_level = level if isinstance(level, str) and level in LOG_LEVELS else None
        else:
            self.protocol_version = connection.protocol_version
            self.client_capabilities = connection.client_capabilities
            self.client_info = connection.client_info
            self.log_level = connection.log_level

    def with_send(self, send: Send) -> Call:
        """The same request answering through ``send`` (a task's surface), its state shared.

        The task runner builds its calls here rather than importing this module, which
        dispatches into it.
        """
        other = Call(self.connection, self.request_id, self.method, self.params, send, self.modern)
        other.principal = self.principal
        other.state = self.state  # ctx.state gathered in earlier input rounds stays visible
        return other

    @property
    def server(self) -> Any:
        return self.connection.server

    @property
    def session(self) -> str | None:
        """The session id (None on stdio and for stateless requests), as middleware sees it."""
        return self.connection.session_id

    @property
    def owner(self) -> str | None:
        """Who the transport's gate says is calling (``transports.access.Caller.identity``)."""
        return self.connection.owner

    @property
    def cancelled(self) -> bool:
        return self.cancel_scope is not None and self.cancel_scope.cancel_called

    async def gather_inputs(self, requests: dict[str, InputRequest]) -> dict[str, dict[str, Any]]:
        if self.task is not None:  # inside a task: park in input_required until the client answers
            manager, live = self.task
            return await manager.gather_inputs(live, requests)
        if self.modern:
            missing = {k: r for k, r in requests.items() if k not in self.responses}
            if missing:
                raise InputRequired(missing)
            return {k: self.responses[k] for k in requests}
        results: dict[str, dict[str, Any]] = {}

        async def ask(key: str, request: InputRequest) -> None:
            results[key] = await self.connection.request(request.method, request.params, self.send)

        async with trio.open_nursery() as nursery:
            for key, request in requests.items():
                nursery.start_soon(ask, key, request)
        return results
