"""The 2024-11-05 HTTP+SSE transport, for old clients.

GET ``/sse`` opens an event stream whose first event, ``endpoint``, names the URL to
POST messages to (``/messages?session_id=...``); every server message (responses
included) then arrives on that stream as a ``message`` event, and each POST is answered
202. The endpoint's gate (:mod:`conduit.mcp.transports.access`) admits both, as it does
for Streamable HTTP:

* a session belongs to the caller that opened the stream: a POST from another token
  that knows the session id is told the session does not exist (404);
* a ``tools/call`` whose tool needs scopes the token lacks is refused before it runs:
  the POST is answered 403 ``insufficient_scope`` with the same body as on Streamable
  HTTP, and, since a 2024-11-05 client reads its answers from the stream, the same
  JSON-RPC error is sent there too;
* each session queues at most ``max_queued`` messages for its stream. A client that
  stops reading fills it; it is then disconnected: the session ends (its calls are
  cancelled, later POSTs get 404), what was queued is dropped with a log line, and the
  stream is cut (at the latest when the server's send timeout expires on the write the
  client does not read). No server task ever waits on a client that does not read;
* open streams are bounded as Streamable HTTP sessions are: ``max_sessions_per_client``
  per caller (else the peer address), 429, and ``max_sessions`` in all, 503.
"""

from __future__ import annotations

import collections
import logging
import secrets
import time
from typing import Any

import trio

from conduit.http.request import ClientDisconnect, Request
from conduit.http.response import EventSourceResponse, Response
from conduit.mcp.guarded import guarded
from conduit.mcp.protocol.dispatcher import Connection
from conduit.mcp.protocol.jsonrpc import REQUEST, MCPError, classify, dumps, error_message, error_reply, parse
from conduit.mcp.transports.access import Caller
from conduit.mcp.transports.sessions import client_key

__all__ = ["mount_legacy", "LegacySession"]

log = logging.getLogger("conduit.mcp.transports.legacy_sse")
_START_GRACE = 60.0  # seconds a stream may take to start before its session is forgotten


class LegacySession:
    """One open ``/sse`` stream: its connection, its owner and its bounded queue of messages."""

    def __init__(self, endpoint: Any, caller: Caller, max_queued: int) -> None:
        self.id = secrets.token_hex(16)
        self.owner = caller.identity
        self.send_channel, self.receive_channel = trio.open_memory_channel[dict[str, Any]](max_queued)
        self.connection = Connection(endpoint.server, session_id=self.id, push=self.deliver, owner=caller.identity)
        self.closed = False
        self.started = False  # the stream's generator ran: its finally will end the session
        self.created = time.monotonic()

    def deliver(self, message: dict[str, Any]) -> None:
        """Queue ``message`` for the stream; a full queue disconnects the client that stopped reading."""
        if self.closed:
            return
        try:
            self.send_channel.send_nowait(message)
        except trio.WouldBlock:
            self.disconnect("the client is not reading its event stream")
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            self.close()

    async def send(self, message: dict[str, Any]) -> None:
        """:meth:`deliver` as the dispatcher's ``send`` (progress, logs, server requests of a call)."""
        self.deliver(message)

    def disconnect(self, reason: str) -> None:
        queued = self.send_channel.statistics().current_buffer_used
        log.warning("MCP legacy SSE session %s disconnected: %s; %d queued messages dropped",
                    self.id, reason, queued)
        self.close()
        self.receive_channel.close()  # frees what was queued; the stream's next read ends it

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.connection.close()
            self.send_channel.close()


def mount_legacy(app: Any, sse_path: str, messages_path: str, endpoint: Any, *, max_queued: int = 256) -> None:
    """Serve the 2024-11-05 transport for ``endpoint`` (an :class:`~conduit.mcp.transports.http.MCPEndpoint`)."""
    if not isinstance(max_queued, int) or isinstance(max_queued, bool) or max_queued < 1:
        raise ValueError(f"legacy_sse_max_queued must be a positive integer, not {max_queued!r}")
    sessions: dict[str, LegacySession] = {}
    owners: dict[str, str] = {}  # session id -> the client key it counts against
    per_client: collections.Counter[str] = collections.Counter()
    table = endpoint.sessions  # the Streamable HTTP bounds apply here too
    last_sweep = [0.0]

    def forget(session: LegacySession) -> None:
        if sessions.pop(session.id, None) is not None:
            client = owners.pop(session.id)
            per_client[client] -= 1
            if per_client[client] <= 0:
                del per_client[client]
        session.close()
        session.receive_channel.close()

    def sweep() -> None:
        """Forget streams whose body never started (the client left before the head was
        written: no generator, no finally), at most once a second."""
        now = time.monotonic()
        if now - last_sweep[0] < 1.0:
            return
        last_sweep[0] = now
        for session in [s for s in sessions.values() if not s.started and now - s.created > _START_GRACE]:
            forget(session)

    async def open_stream(request: Request) -> Response:
        caller, refused = await endpoint.admit(request)
        if refused is not None:
            return refused
        sweep()
        client = client_key(request, caller.identity)
        if table.max_per_client is not None and per_client[client] >= table.max_per_client:
            return Response(f"Too many open streams for this client (at most {table.max_per_client})".encode(),
                            429, {"retry-after": "60"})
        if len(sessions) >= table.max_sessions:
            return Response(b"Too many open streams", 503, {"retry-after": "30"})
        session = LegacySession(endpoint, caller, max_queued)
        sessions[session.id] = session
        owners[session.id] = client
        per_client[client] += 1

        async def events():
            session.started = True
            try:
                yield {"event": "endpoint", "data": f"{messages_path}?session_id={session.id}"}
                async for message in session.receive_channel:
                    yield {"event": "message", "data": dumps(message).decode()}
            except trio.ClosedResourceError:  # disconnected for not reading: end the stream
                return
            finally:
                forget(session)

        return EventSourceResponse(events(), ping_interval=endpoint.sse_ping_interval)

    async def post_message(request: Request) -> Response:
        caller, refused = await endpoint.admit(request)
        if refused is not None:
            return refused
        session = sessions.get(request.query_params.get("session_id", ""))
        # Bound to its opener, as a Streamable HTTP session is: another caller is told it does not exist.
        if session is None or session.closed or session.owner != caller.identity:
            return Response(b"Could not find session", 404)
        try:
            body = await request.body()
        except ClientDisconnect:
            return Response(b"", 400)
        if len(body) > endpoint.max_message_bytes:
            return Response(dumps(error_reply(None, MCPError(
                f"Message larger than {endpoint.max_message_bytes} bytes", code=-32600))), 413,
                media_type="application/json")
        try:
            message = parse(body)
        except MCPError as exc:
            return Response(dumps(error_message(None, exc)), 400, media_type="application/json")
        denied = endpoint.gate.refuse_call(caller, message, endpoint.server.tools) if _is_request(message) else None
        if denied is not None:
            session.deliver(error_message(message["id"], MCPError(denied.message, denied.data, code=-32600)))
            return endpoint.refusal_response(denied, message["id"])

        async def run() -> None:
            response = await session.connection.handle(message, session.send, principal=caller.principal)
            if response is not None:
                session.deliver(response)

        # A system task's exception ends the whole trio run (the HTTP server process):
        # guarded() logs it instead, so one bad message costs nothing but its own answer.
        trio.lowlevel.spawn_system_task(guarded, run)
        return Response(b"Accepted", 202)

    app.add_route(sse_path, open_stream, ["GET"], include_in_schema=False)
    app.add_route(messages_path, post_message, ["POST"], max_body_size=endpoint.max_message_bytes + 1,
                  include_in_schema=False)


def _is_request(message: Any) -> bool:
    """A well-formed request; anything else goes to the dispatcher, which answers it on the stream."""
    try:
        return classify(message) == REQUEST
    except MCPError:
        return False
