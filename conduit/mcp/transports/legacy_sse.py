"""The 2024-11-05 HTTP+SSE transport, for old clients.

GET ``/sse`` opens an event stream whose first event, ``endpoint``, names the URL to
POST messages to (``/messages?session_id=...``); every server message (responses
included) then arrives on that stream as a ``message`` event, and each POST is answered
202. The same Host/Origin and bearer checks as Streamable HTTP apply.
"""

from __future__ import annotations

import secrets
from typing import Any

import trio

from conduit.http.request import Request
from conduit.http.response import EventSourceResponse, Response
from conduit.mcp.protocol.jsonrpc import MCPError, dumps, error_message, parse
from conduit.mcp.guarded import guarded
from conduit.mcp.protocol.dispatcher import Connection

__all__ = ["mount_legacy"]


def mount_legacy(app: Any, sse_path: str, messages_path: str, endpoint: Any) -> None:
    streams: dict[str, tuple[Connection, trio.MemorySendChannel]] = {}

    async def open_stream(request: Request) -> Response:
        _, refused = await endpoint._refuse(request)
        if refused is not None:
            return refused
        session_id = secrets.token_hex(16)
        send_channel, receive_channel = trio.open_memory_channel[dict[str, Any]](256)

        def push(message: dict[str, Any]) -> None:
            try:
                send_channel.send_nowait(message)
            except (trio.WouldBlock, trio.ClosedResourceError):
                pass

        connection = Connection(endpoint.server, session_id=session_id, push=push)
        streams[session_id] = (connection, send_channel)

        async def events():
            try:
                yield {"event": "endpoint", "data": f"{messages_path}?session_id={session_id}"}
                async for message in receive_channel:
                    yield {"event": "message", "data": dumps(message).decode()}
            finally:
                streams.pop(session_id, None)
                connection.close()
                receive_channel.close()

        return EventSourceResponse(events(), ping_interval=endpoint.sse_ping_interval)

    async def post_message(request: Request) -> Response:
        _, refused = await endpoint._refuse(request)
        if refused is not None:
            return refused
        entry = streams.get(request.query_params.get("session_id", ""))
        if entry is None:
            return Response(b"Could not find session", 404)
        connection, send_channel = entry
        try:
            message = parse(await request.body())
        except MCPError as exc:
            return Response(dumps(error_message(None, exc)), 400, media_type="application/json")

        async def related(item: dict[str, Any]) -> None:
            await send_channel.send(item)

        async def run() -> None:
            try:
                response = await connection.handle(message, related)
                if response is not None:
                    await send_channel.send(response)
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                pass

        # A system task's exception ends the whole trio run (the HTTP server process):
        # guarded() logs it instead, so one bad message costs nothing but its own answer.
        trio.lowlevel.spawn_system_task(guarded, run)
        return Response(b"Accepted", 202)

    app.add_route(sse_path, open_stream, ["GET"])
    app.add_route(messages_path, post_message, ["POST"])
