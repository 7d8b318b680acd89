"""The sans-IO MCP dispatcher: one :class:`Connection` per client, both protocol eras.

A transport decodes a message and calls ``await connection.handle(message, send)``;
it gets back the response dict for a request (``None`` for notifications, responses
and cancelled requests). ``send`` carries messages *related* to that request (progress,
logs, server-to-client requests) — a transport writes them to stdout or to the
request's SSE stream. Unrelated notifications (list changes, resource updates) go to
``connection.push`` when a transport attached one (stdio, the HTTP GET stream).

Eras (see :mod:`conduit.mcp.protocol.eras`): a connection that received ``initialize`` speaks
the handshake era; a request carrying the 2026-07-28 ``_meta`` envelope (or a modern-only
method) is handled statelessly, its capabilities and log level read from that envelope.
No socket, stream or clock is touched here; trio is used only for cancel scopes and events.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from conduit.mcp.protocol import handlers
from conduit.mcp.protocol.call import Call, Send
from conduit.mcp.protocol.eras import HANDSHAKE_VERSIONS, META_SERVER_INFO, check_modern_envelope, is_modern_request
from conduit.mcp.protocol.inputs import InputRequired
from conduit.mcp.protocol.jsonrpc import (
    NOTIFICATION, REQUEST, RESPONSE, InternalError, InvalidParams, InvalidRequest, MCPError, MethodNotFound,
    classify, error_message, error_reply, is_id, notification_message, request_message, result_message,
)
from conduit.mcp.transports.params import check_param_headers
from conduit.mcp.protocol.request_state import RequestStateError, binding_digest

__all__ = ["Connection", "Call", "Send"]

log = logging.getLogger("conduit.mcp")
Push = Callable[[dict[str, Any]], None]

# Methods whose 2026-07-28 results carry caching hints (SEP-2549).
_CACHEABLE = frozenset({"tools/list", "prompts/list", "resources/list", "resources/templates/list",
                        "resources/read", "server/discover"})
# Methods that may answer input_required (SEP-2322), and the param naming their target.
_MRTR_TARGET = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


async def _drop(message: dict[str, Any]) -> None:
    return None


class _Pending:
    __slots__ = ("event", "response")

    def __init__(self) -> None:
        self.event = trio.Event()
        self.response: dict[str, Any] | None = None


class Connection:
    """Protocol state of one client (a stdio pipe, one HTTP session, or one stateless exchange)."""

    def __init__(self, server: Any, *, session_id: str | None = None, push: Push | None = None,
                 can_request: bool = True, owner: str | None = None, principal: Any = None) -> None:
        self.server = server
        self.session_id = session_id
        # Who opened this connection (transports.access.Caller.identity): its sessions and tasks
        # belong to it. ``principal`` is the token a transport verified once for the whole
        # connection (stdio); HTTP passes each request's own to handle().
        self.owner = owner
        self.principal = principal
        self.initialized = False
        self.protocol_version: str | None = None
        self.client_capabilities: dict[str, Any] = {}
        self.client_info: dict[str, Any] | None = None
        self.log_level: str | None = "debug"  # handshake era: everything until logging/setLevel
        self.subscriptions: set[str] = set()
        self.can_request = can_request
        self._pending: dict[Any, _Pending] = {}
        self._inflight: dict[Any, Call] = {}
        self._next_id = 0
        self._push: Push | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        if push is not None:
            self.attach(push)

    # ---------------------------------------------------------------- unrelated notifications
    def attach(self, push: Push) -> None:
        """Route list-change and resource-update notifications to ``push`` (sync, non-blocking)."""
        self._push = push
        self._token = trio.lowlevel.current_trio_token()
        self.server.add_listener(self._on_server_event)

    def detach(self) -> None:
        self._push = None
        self.server.remove_listener(self._on_server_event)

    def close(self) -> None:
        """Forget the client: detach, cancel in-flight requests and tasks, fail pending server requests."""
        self.detach()
        self.server.tasks.forget_connection(self)
        for call in list(self._inflight.values()):
            if call.cancel_scope is not None:
                call.cancel_scope.cancel()
        for pending in self._pending.values():
            pending.response = {"error": {"code": -32000, "message": "Connection closed"}}
            pending.event.set()

    def _on_server_event(self, method: str, params: dict[str, Any]) -> None:
        # May be called from any thread (a sync tool, a timer): hop onto the trio loop.
        if not self.initialized or self._push is None or self._token is None:
            return
        if method == "notifications/resources/updated" and params.get("uri") not in self.subscriptions:
            return
        message = notification_message(method, params)
        push = self._push
        try:
            self._token.run_sync_soon(push, message)
        except trio.RunFinishedError:
            pass

    # ---------------------------------------------------------------- server -> client requests
    async def request(self, method: str, params: dict[str, Any], send: Send) -> dict[str, Any]:
        """Send a request to the client (handshake era) and wait for its result."""
        if not self.can_request:
            raise MCPError(f"{method} needs a server-to-client channel, which this stateless connection lacks")
        self._next_id += 1
        request_id = f"conduit-{self._next_id}"
        pending = self._pending[request_id] = _Pending()
        try:
            await send(request_message(request_id, method, params))
            await pending.event.wait()
        finally:
            self._pending.pop(request_id, None)
        response = pending.response or {}
        if "error" in response:
            error = response["error"] if isinstance(response["error"], dict) else {}
            code = error.get("code")
            raise MCPError(str(error.get("message", "client error")), error.get("data"),
                           code=code if is_id(code) and isinstance(code, int) else -32603)
        result = response.get("result")
        return result if isinstance(result, dict) else {}

    # ---------------------------------------------------------------- incoming
    async def handle(self, message: Any, send: Send = _drop, *,
                     headers: Any = None, principal: Any = None) -> dict[str, Any] | None:
        """Handle one decoded message; return the JSON-RPC response for a request.

        ``headers`` (HTTP only) is a case-insensitive mapping checked against the body in
        the 2026-07-28 era (``MCP-Protocol-Version``, ``Mcp-Method``, ``Mcp-Name``).
        """
        try:
            kind = classify(message)
        except MCPError as exc:
            return error_reply(message, exc)
        if kind is RESPONSE:
            # A stray response (unknown or malformed id) is dropped: nothing waits for it.
            response_id = message["id"]
            pending = self._pending.get(response_id) if is_id(response_id) else None
            if pending is not None:
                pending.response = message
                pending.event.set()
            return None
        if kind is NOTIFICATION:
            try:
                self._on_notification(message)
            except Exception:  # a notification is never answered; a bug here must not kill the reader
                log.exception("MCP notification %r failed", message.get("method"))
            return None
        assert kind is REQUEST
        return await self.handle_request(message, send, headers=headers, principal=principal)

    async def handle_request(self, message: dict[str, Any], send: Send = _drop, *,
                             headers: Any = None, principal: Any = None) -> dict[str, Any] | None:
        """:meth:`handle` for a message already classified as a request."""
        request_id = message["id"]
        method = message["method"]
        params = message.get("params") or {}
        try:
            if self.server.startup_pending:  # a proxy connects to its remote before its first answer
                await self.server.ensure_started()
            modern = not self.initialized and is_modern_request(method, params, headers)
            call = Call(self, request_id, method, params, send, modern)
            call.principal = principal if principal is not None else self.principal
            if modern:
                result = await self._modern(call, headers)
            else:
                result = await self._handshake(call)
        except MCPError as exc:
            return error_message(request_id, exc)
        except InputRequired as exc:  # raised outside an MRTR-capable method: a protocol error
            return error_message(request_id, InvalidRequest(f"{method} cannot ask for client input: {exc}"))
        except Exception:
            log.exception("MCP handler for %s failed", method)
            return error_message(request_id, InternalError("Internal error"))
        if result is None:  # cancelled by the client: no response (MCP cancellation utility)
            return None
        return result_message(request_id, result)

    def _on_notification(self, message: dict[str, Any]) -> None:
        method = message["method"]
        params = message.get("params") or {}
        if method == "notifications/cancelled":
            request_id = params.get("requestId")
            call = self._inflight.get(request_id) if is_id(request_id) else None
            if call is not None and call.method != "initialize" and call.cancel_scope is not None:
                call.cancel_scope.cancel()
        # notifications/progress, roots/list_changed and unknown notifications need no action.

    async def _run(self, call: Call, handler: Callable[[Call], Awaitable[dict[str, Any]]]) -> dict[str, Any] | None:
        previous = self._inflight.get(call.request_id)
        self._inflight[call.request_id] = call
        try:
            with trio.CancelScope() as scope:
                call.cancel_scope = scope
                return await self.server.middleware.wrap(handler)(call)
            return None
        finally:
            if previous is None:
                self._inflight.pop(call.request_id, None)
            else:
                self._inflight[call.request_id] = previous

    async def _handshake(self, call: Call) -> dict[str, Any] | None:
        spec = handlers.HANDSHAKE_METHODS.get(call.method)
        if spec is None:
            raise MethodNotFound(f"Method not found: {call.method}")
        if call.method == "initialize":
            if self.initialized:
                raise InvalidRequest("initialize was already received on this connection")
            return self._initialize(call.params)
        if not self.initialized and call.method != "ping":
            raise InvalidRequest(f"Received {call.method} before initialize")
        handler, capability = spec
        if capability is not None and not self.server.has_capability(capability):
            raise MethodNotFound(f"Method not found: {call.method} (the server has no {capability})")
        return await self._run(call, handler)

    def _initialize(self, params: dict[str, Any]) -> dict[str, Any]:
        requested = params.get("protocolVersion")
        if not isinstance(requested, str):
            raise InvalidParams("initialize needs a protocolVersion string")
        # Version negotiation: echo a version we speak, else offer our latest (lifecycle spec).
        self.protocol_version = requested if requested in HANDSHAKE_VERSIONS else HANDSHAKE_VERSIONS[0]
        caps = params.get("capabilities")
        self.client_capabilities = caps if isinstance(caps, dict) else {}
        info = params.get("clientInfo")
        self.client_info = info if isinstance(info, dict) else None
        self.initialized = True
        result: dict[str, Any] = {"protocolVersion": self.protocol_version,
                                  "capabilities": self.server.capabilities(),
                                  "serverInfo": self.server.server_info}
        if self.server.instructions:
            result["instructions"] = self.server.instructions
        return result

    async def _modern(self, call: Call, headers: Any) -> dict[str, Any] | None:
        check_modern_envelope(call.method, call.params, headers)
        if headers is not None and call.method == "tools/call":
            tool = self.server.tools.get(call.params.get("name"))
            if tool is not None and tool.param_headers:  # SEP-2243 Mcp-Param-* (HTTP only)
                check_param_headers(tool.param_headers, call.params.get("arguments"), headers)
        spec = handlers.MODERN_METHODS.get(call.method)
        if spec is None:
            raise MethodNotFound(f"Method not found: {call.method}")
        handler, capability = spec
        if capability is not None and not self.server.has_capability(capability):
            raise MethodNotFound(f"Method not found: {call.method} (the server has no {capability})")
        target_key = _MRTR_TARGET.get(call.method)
        binding = None
        if target_key is not None:
            binding = self._load_round(call, target_key)
        try:
            result = await self._run(call, handler)
        except InputRequired as exc:
            if binding is None:
                raise
            payload = {"r": {**call.responses}, "s": call.state}
            result = {"resultType": "input_required",
                      "inputRequests": {k: r.to_dict() for k, r in exc.requests.items()},
                      "requestState": self.server.state_signer.sign(binding, payload)}
        if result is None:
            return None
        result.setdefault("resultType", "complete")
        if call.method in _CACHEABLE:
            result.setdefault("ttlMs", self.server.cache_ttl_ms)
            result.setdefault("cacheScope", self.server.cache_scope)
        meta = result.get("_meta")
        result["_meta"] = {**meta, META_SERVER_INFO: self.server.server_info} if isinstance(meta, dict) \
            else {META_SERVER_INFO: self.server.server_info}
        return result

    def _load_round(self, call: Call, target_key: str) -> str:
        """Verify requestState and merge inputResponses for a multi-round-trip request."""
        params = call.params
        binding = binding_digest(call.method, params.get(target_key), params.get("arguments"))
        if "inputResponses" in params:
            responses = params["inputResponses"]
            if not isinstance(responses, dict) or not all(isinstance(v, dict) for v in responses.values()):
                raise InvalidParams("inputResponses must be an object mapping keys to result objects")
        else:
            responses = {}
        if "requestState" in params:
            try:
                payload = self.server.state_signer.verify(params["requestState"], binding)
            except RequestStateError as exc:
                raise InvalidParams(f"Invalid requestState: {exc}") from None
            prior = payload.get("r")
            call.responses.update(prior if isinstance(prior, dict) else {})
            state = payload.get("s")
            call.state.update(state if isinstance(state, dict) else {})
        call.responses.update(responses)
        return binding


