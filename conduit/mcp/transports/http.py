"""Streamable HTTP transport for MCP, mounted on a Conduit app (both protocol eras).

``mount(app, "/mcp", server)`` registers POST/GET/DELETE on the path:

* POST carries one JSON-RPC message. A request is answered with JSON when its final
  response is the first thing the server has to say, otherwise with an SSE stream that
  carries the progress/log notifications and server-to-client requests first, so none
  is ever dropped. Notifications and responses are acknowledged 202.
* GET (handshake era, with a session) opens the standalone SSE stream for list-change
  and resource-update notifications; ``Last-Event-ID`` resumes a stream from the
  session's event log.
* DELETE ends a session.

Handshake-era requests need ``Mcp-Session-Id`` after ``initialize`` (400 when missing,
404 when unknown); 2026-07-28 requests are stateless and their envelope is checked
against the ``MCP-Protocol-Version``/``Mcp-Method``/``Mcp-Name`` headers. With
``stateless=True`` no session is ever created (any replica can answer any request);
progress and logs still arrive on each request's own SSE response.
Host/Origin checks and optional bearer auth run before anything else.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from conduit.http.json_body import URLENCODED, is_json_media, media_type, refusal as media_refusal
from conduit.http.request import ClientDisconnect, Request
from conduit.http.response import EventSourceResponse, JSONResponse, Response
from conduit.mcp.guarded import guarded
from conduit.options import check_options
from conduit.mcp.protocol.eras import LATEST_HANDSHAKE, SUPPORTED_VERSIONS, is_modern_request
from conduit.mcp.protocol.jsonrpc import (
    MCPError, classify, dumps, error_reply, parse,
)
from conduit.mcp.protocol.dispatcher import Connection
from conduit.mcp.auth import PRM_WELL_KNOWN, ResourceServer
from conduit.mcp.transports.access import Caller, Gate, Refusal
from conduit.mcp.transports.security import HostPolicy
from conduit.mcp.transports.sessions import STATEFUL_METHODS, Session, SessionRefused, SessionTable, client_key
from conduit.mcp.transports.store import SessionStore

__all__ = ["mount", "MCPEndpoint"]

log = logging.getLogger("conduit.mcp.transports.http")
_JSON = "application/json"
_SESSION_NOT_FOUND = -32001


def _rpc_error(status: int, code: int, message: str, request_id: Any = None,
               headers: dict[str, str] | None = None, data: Any = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    body = {"jsonrpc": "2.0", "id": request_id, "error": error}
    return Response(dumps(body), status, headers, media_type=_JSON)


def refusal_response(refusal: Refusal, request_id: Any = None) -> Response:
    """The HTTP answer to a :class:`~conduit.mcp.transports.access.Refusal`, for every HTTP transport."""
    return _rpc_error(refusal.status, -32600, refusal.message, request_id, refusal.headers or None, refusal.data)


class MCPEndpoint:
    """The HTTP handlers of one mounted MCP server (one per ``mount`` call)."""

    def __init__(self, server: Any, *, stateless: bool = False,
                 allowed_hosts: list[str] | None = None, allowed_origins: list[str] | None = None,
                 auth: str | Callable[[str], bool | Awaitable[bool]] | ResourceServer | None = None,
                 resource_metadata: str | None = None, session_idle_timeout: float = 1800.0,
                 max_sessions: int = 10000, max_sessions_per_client: int | None = 100,
                 session_evict_idle_after: float = 60.0, session_store: SessionStore | None = None,
                 max_message_bytes: int = 4 * 1024 * 1024, sse_ping_interval: float = 15.0,
                 stream_silent_after: float = 0.25) -> None:
        self.server = server
        self.stateless = stateless
        self.gate = Gate(hosts=HostPolicy(allowed_hosts, allowed_origins), auth=auth,
                         resource_metadata=resource_metadata)
        self.resource_server = self.gate.resource_server
        self.sessions = SessionTable(session_idle_timeout, max_sessions, max_per_client=max_sessions_per_client,
                                     evict_idle_after=session_evict_idle_after, store=session_store)
        self._key_shared = not self.sessions.shared
        self.max_message_bytes = max_message_bytes
        self.sse_ping_interval = sse_ping_interval
        if isinstance(stream_silent_after, bool) or not isinstance(stream_silent_after, (int, float)) \
                or not stream_silent_after >= 0:
            raise ValueError(f"stream_silent_after must be a number of seconds >= 0, not {stream_silent_after!r}")
        self.stream_silent_after = float(stream_silent_after)

    # ------------------------------------------------------------ gatekeeping
    async def admit(self, request: Request) -> tuple[Caller, Response | None]:
        """``(caller, None)`` to go on, else ``(ANONYMOUS, refusal)``: the gate's verdict, for every HTTP transport."""
        verdict = await self.gate.admit(request.headers)
        if isinstance(verdict, Refusal):
            return Caller(), refusal_response(verdict)
        if not self.server._background_started:
            self.server.start_background()
        if not self._key_shared:
            await self._share_state_key()
        return verdict, None

    refusal_response = staticmethod(refusal_response)

    async def _share_state_key(self) -> None:
        """Every process on one shared store signs requestState with one key (first one wins)."""
        import os

        store = self.sessions.store
        await store.add("state-secret", os.urandom(32))
        key = await store.get("state-secret")
        if key:
            self.server.state_signer.use_shared_key(key)
            self._key_shared = True

    async def _session(self, request: Request, caller: Caller,
                       session_id: str | None = None) -> tuple[Session | None, Response | None]:
        if session_id is None:
            session_id = request.headers.get("mcp-session-id")
        if session_id is None:
            return None, _rpc_error(400, -32600, "Bad Request: missing Mcp-Session-Id header")
        session = await self.sessions.get(session_id.strip(), self.server)
        # A session belongs to the identity that opened it (MCP security best practices:
        # bind sessions to the user); another identity is told it does not exist.
        if session is None or session.connection.owner != caller.identity:
            return None, _rpc_error(404, _SESSION_NOT_FOUND, "Session not found")
        return session, None

    # ------------------------------------------------------------ POST
    async def post(self, request: Request) -> Response:
        caller, refused = await self.admit(request)
        if refused is not None:
            return refused
        principal = caller.principal
        # The one body rule (conduit.http.json_body): JSON types, none, or a form type whose body is JSON.
        media = media_type(request.headers.get("content-type"))
        if media and not is_json_media(media) and media != URLENCODED:
            return _rpc_error(415, -32600, f"Unsupported Media Type: {media_refusal(media)}")
        try:
            body = await request.body()
        except ClientDisconnect:
            return Response(b"", 400)
        if len(body) > self.max_message_bytes:
            return _rpc_error(413, -32600, f"Message larger than {self.max_message_bytes} bytes "
                              "(raise it with app.mount_mcp(..., max_message_bytes=))")
        message: Any = None
        parsed = False
        try:
            message = parse(body)
            parsed = True
            kind = classify(message)
        except MCPError as exc:
            if media == URLENCODED and not parsed:  # a real form, not curl -d with JSON
                return _rpc_error(415, -32600, f"Unsupported Media Type: {media_refusal(media, form_body=True)}")
            return Response(dumps(error_reply(message, exc)), 400, media_type=_JSON)
        headers = request.headers
        version = headers.get("mcp-protocol-version")
        session_id = headers.get("mcp-session-id")
        has_session = session_id is not None
        if kind != "request":
            if has_session and not self.stateless:
                session, missing = await self._session(request, caller, session_id)
                if missing is not None:
                    return missing
                await session.connection.handle(message, principal=principal)
            return Response(b"", 202)
        method = message["method"]
        params = message.get("params") or {}
        if not isinstance(params, dict):
            params = {}
        denied = self.gate.refuse_call(caller, message, self.server.tools)
        if denied is not None:  # RFC 6750 §3.1 / MCP scope challenge: 403 before running anything
            return refusal_response(denied, message.get("id"))
        if not has_session and is_modern_request(method, params, headers):
            connection = Connection(self.server, can_request=False, owner=caller.identity)
            return await self._answer(connection, message, headers, modern=True, principal=principal,
                                      watch_disconnect=_accepts_stream(headers))
        if version is not None and version.strip() not in SUPPORTED_VERSIONS:
            return _rpc_error(400, -32600, f"Bad Request: unsupported MCP-Protocol-Version {version!r}",
                              message.get("id"))
        if method == "initialize" and not has_session:
            connection = Connection(self.server, can_request=not self.stateless, owner=caller.identity)
            if self.stateless:
                return await self._answer(connection, message, None, principal=principal)
            client = client_key(request, caller.identity)
            try:
                await self.sessions.admit(client)
            except SessionRefused as refusal:
                return _rpc_error(refusal.status, -32600, refusal.message, message.get("id"),
                                  headers={"retry-after": str(refusal.retry_after)})
            response_message = await connection.handle(message, principal=principal)
            extra = {}
            if response_message is not None and "result" in response_message:
                session = await self.sessions.create(connection, client)
                extra["mcp-session-id"] = session.id
            return Response(dumps(response_message), 200, extra, media_type=_JSON)
        if self.stateless:
            connection = Connection(self.server, can_request=False, owner=caller.identity)
            connection.initialized = True
            connection.protocol_version = version.strip() if version else LATEST_HANDSHAKE
            return await self._answer(connection, message, None, principal=principal,
                                      watch_disconnect=_accepts_stream(headers))
        session, missing = await self._session(request, caller, session_id)
        if missing is not None:
            return missing
        await self.sessions.mark_used(session)
        response = await self._answer(session.connection, message, None, session=session, principal=principal)
        if method in STATEFUL_METHODS:
            await self.sessions.save(session)
        return response

    async def _answer(self, connection: Connection, message: dict[str, Any], headers: Any, *,
                      modern: bool = False, session: Session | None = None, principal: Any = None,
                      watch_disconnect: bool = False) -> Response:
        """Run one request; JSON if the final response comes first, else an SSE stream."""
        request_id = message["id"]
        if not _may_emit(self.server, message):
            if watch_disconnect and _may_run_long(self.server, message):
                return await self._answer_silent(connection, message, headers, modern, principal)
            response = await connection.handle_request(message, headers=headers, principal=principal)
            return self._json(response, modern)
        send_channel, receive_channel = trio.open_memory_channel[dict[str, Any] | None](64)
        cancel = trio.CancelScope()

        async def related(item: dict[str, Any]) -> None:
            await send_channel.send(item)

        async def run() -> None:
            response = None
            try:
                with cancel:
                    response = await connection.handle_request(message, related, headers=headers,
                                                               principal=principal)
            finally:
                try:
                    send_channel.send_nowait(response)
                except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
                    pass
                send_channel.close()

        trio.lowlevel.spawn_system_task(guarded, run)
        first: dict[str, Any] | None = None
        said_something = False
        if watch_disconnect:  # without a session a silent call is cancelled only through a stream (_answer_silent)
            with trio.move_on_after(self.stream_silent_after):
                first = await receive_channel.receive()
                said_something = True
        else:
            first = await receive_channel.receive()
            said_something = True
        if said_something and (first is None or (first.get("id") == request_id
                                                 and ("result" in first or "error" in first))):
            receive_channel.close()
            if first is None:
                return Response(b"", 202)
            return self._json(first, modern)
        stream_id = session.new_stream() if session is not None else None

        async def events():
            seq = 0
            try:
                item: dict[str, Any] | None = first
                if not said_something:  # the stream is open; the call's first message is still to come
                    try:
                        item = await receive_channel.receive()
                    except trio.EndOfChannel:
                        return
                while item is not None:
                    data = dumps(item).decode()
                    seq += 1
                    if session is not None and stream_id is not None:
                        yield {"id": await self.sessions.record(session, stream_id, seq, data.encode()),
                               "data": data}
                    else:
                        yield {"data": data}
                    if item.get("id") == request_id and ("result" in item or "error" in item):
                        return
                    try:
                        item = await receive_channel.receive()
                    except trio.EndOfChannel:
                        return
            finally:
                # The client went away (or we are done): stop the handler, free the channel.
                cancel.cancel()
                receive_channel.close()

        return EventSourceResponse(events(), ping_interval=self.sse_ping_interval)

    async def _answer_silent(self, connection: Connection, message: dict[str, Any], headers: Any, modern: bool,
                             principal: Any) -> Response:
        """A call that says nothing before its answer and that no session can cancel.

        Without a session (2026-07-28, a stateless mount) a client cancels by closing the
        connection, and the server notices that only while it streams a response. So the
        call runs in its own task: answered with JSON when it finishes within
        ``stream_silent_after`` seconds, else with an SSE stream whose closing cancels it.
        """
        done, answer, cancel = trio.Event(), [], trio.CancelScope()

        async def run() -> None:
            try:
                with cancel:
                    answer.append(await connection.handle_request(message, headers=headers, principal=principal))
            finally:
                done.set()

        trio.lowlevel.spawn_system_task(guarded, run)
        with trio.move_on_after(self.stream_silent_after):
            await done.wait()
        if done.is_set():
            return self._json(answer[0] if answer else None, modern)

        async def events():
            try:
                await done.wait()
                if answer and answer[0] is not None:
                    yield {"data": dumps(answer[0]).decode()}
            finally:
                cancel.cancel()  # the client went away (or we are done): stop the call

        return EventSourceResponse(events(), ping_interval=self.sse_ping_interval)

    def _json(self, response: dict[str, Any] | None, modern: bool) -> Response:
        if response is None:
            return Response(b"", 202)
        status = 200
        if "error" in response:
            code = response["error"].get("code")
            status = MCPError("", code=code).http_status if modern else (400 if code in (-32700, -32600) else 200)
        return Response(dumps(response), status, media_type=_JSON)

    # ------------------------------------------------------------ GET
    async def get(self, request: Request) -> Response:
        caller, refused = await self.admit(request)
        if refused is not None:
            return refused
        if self.stateless:
            return Response(b"", 405, {"allow": "POST"})
        accept = request.headers.get("accept") or ""
        if "text/event-stream" not in accept and "*/*" not in accept:
            return _rpc_error(406, -32600, "Not Acceptable: GET needs Accept: text/event-stream")
        session, missing = await self._session(request, caller)
        if missing is not None:
            return missing
        last_event_id = request.headers.get("last-event-id")
        replay: list[tuple[str, bytes]] = []
        if last_event_id:
            replay = await self.sessions.replay_after(session, last_event_id.strip()) or []
        if session.standalone is not None and not replay:
            return _rpc_error(409, -32600, "Conflict: this session already has a GET stream")
        send_channel, receive_channel = trio.open_memory_channel[dict[str, Any]](256)
        connection = session.connection

        def push(message: dict[str, Any]) -> None:
            try:
                send_channel.send_nowait(message)
            except (trio.WouldBlock, trio.ClosedResourceError):
                pass

        session.standalone = send_channel
        connection.attach(push)
        stream_id = session.new_stream()

        async def events():
            seq = 0
            try:
                for event_id, data in replay:
                    yield {"id": event_id, "data": data.decode()}
                async for item in receive_channel:
                    seq += 1
                    data = dumps(item)
                    yield {"id": await self.sessions.record(session, stream_id, seq, data), "data": data.decode()}
            finally:
                if session.standalone is send_channel:
                    session.standalone = None
                    connection.detach()
                receive_channel.close()

        return EventSourceResponse(events(), ping_interval=self.sse_ping_interval)

    # ------------------------------------------------------------ DELETE
    async def delete(self, request: Request) -> Response:
        caller, refused = await self.admit(request)
        if refused is not None:
            return refused
        if self.stateless:
            return Response(b"", 405, {"allow": "POST"})
        session, missing = await self._session(request, caller)
        if missing is not None:
            return missing
        await self.sessions.remove(session.id)
        return Response(b"", 200)


def _accepts_stream(headers: Any) -> bool:
    return "text/event-stream" in (headers.get("accept") or "")


def _may_run_long(server: Any, message: dict[str, Any]) -> bool:
    """Whether a call may wait long enough to be worth cancelling: an async tool (a sync one cannot be stopped)."""
    if message["method"] != "tools/call":
        return False
    name = (message.get("params") or {}).get("name")
    tool = server.tools.get(name) if isinstance(name, str) else None
    return tool is not None and tool.is_async


def _may_emit(server: Any, message: dict[str, Any]) -> bool:
    """Whether handling ``message`` might send something before its response (needs SSE)."""
    method = message["method"]
    params = message.get("params") or {}
    name = params.get("name")
    if not isinstance(name, str):
        return method in ("resources/read", "subscriptions/listen")
    if method == "tools/call":
        tool = server.tools.get(name)
        return tool is not None and tool.signature.context_param is not None
    if method == "prompts/get":
        prompt = server.prompts.get(name)
        return prompt is not None and prompt.context_param is not None
    if method == "resources/read":
        return True
    # tasks/result (2025-11-25) carries the task's own requests to the client on its stream.
    return method in ("subscriptions/listen", "tasks/result")


#: The keywords ``app.mount_mcp`` passes on to :class:`MCPEndpoint`.
_ENDPOINT_OPTIONS = tuple(n for n in inspect.signature(MCPEndpoint.__init__).parameters if n not in ("self", "server"))


def mount(app: Any, path: str, server: Any, *, legacy_sse: bool = False, legacy_sse_path: str = "/sse",
          legacy_messages_path: str = "/messages", legacy_sse_max_queued: int = 256,
          **options: Any) -> MCPEndpoint:
    """Serve ``server`` over Streamable HTTP at ``path`` on ``app``; returns the endpoint.

    Options: ``stateless``, ``allowed_hosts``, ``allowed_origins``, ``auth`` (a token or a
    verifier), ``resource_metadata``, ``session_idle_timeout``, ``max_sessions``,
    ``max_sessions_per_client`` (429 beyond it), ``session_evict_idle_after``,
    ``session_store`` (a :class:`~conduit.mcp.transports.store.SessionStore`; Redis to share sessions
    between processes), ``max_message_bytes``, ``sse_ping_interval``; ``legacy_sse=True`` also serves the
    2024-11-05 HTTP+SSE transport at ``legacy_sse_path``/``legacy_messages_path``, each of its
    sessions queuing at most ``legacy_sse_max_queued`` messages for a client that does not read.
    """
    check_options(options, _ENDPOINT_OPTIONS + ("legacy_sse", "legacy_sse_path", "legacy_messages_path"),
                  "app.mount_mcp")
    endpoint = MCPEndpoint(server, **options)
    if endpoint.resource_server is not None:
        mount_metadata(app, endpoint.resource_server)
    # JSON-RPC over one path is described by the MCP schema and the server's tools/list,
    # not by OpenAPI (whose operations cannot say "a session header, except on initialize").
    route_options = {"max_body_size": endpoint.max_message_bytes + 1, "include_in_schema": False}
    app.add_route(path, endpoint.post, ["POST"], **route_options)
    app.add_route(path, endpoint.get, ["GET"], include_in_schema=False)
    app.add_route(path, endpoint.delete, ["DELETE"], include_in_schema=False)
    if legacy_sse:
        from conduit.mcp.transports.legacy_sse import mount_legacy
        mount_legacy(app, legacy_sse_path, legacy_messages_path, endpoint, max_queued=legacy_sse_max_queued)
    if server.tool_search is not None:  # kernels load before the server accepts connections
        app.add_warmup(server.tool_search.warm, name=f"MCP tool search of {server.name!r}")
    app.state.mcp_endpoints = getattr(app.state, "mcp_endpoints", []) + [endpoint]
    return endpoint




def mount_metadata(app: Any, resource_server: ResourceServer) -> None:
    """Serve RFC 9728 metadata at the path-specific well-known URI, and at the root one once per app."""
    document = dumps(resource_server.metadata())

    async def metadata(request: Request) -> Response:
        return Response(document, 200, {"cache-control": "max-age=3600"}, media_type=_JSON)

    app.add_route(resource_server.metadata_path, metadata, ["GET"])
    if resource_server.metadata_path != PRM_WELL_KNOWN and not getattr(app.state, "mcp_prm_root", False):
        app.state.mcp_prm_root = True
        app.add_route(PRM_WELL_KNOWN, metadata, ["GET"])
