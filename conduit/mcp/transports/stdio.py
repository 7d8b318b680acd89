"""The stdio transport: one JSON-RPC message per line on stdin/stdout (trio).

stdout carries protocol messages only (logs go to stderr); the server exits when stdin
reaches EOF, after in-flight requests finish (bounded by ``grace_seconds``). Each
request runs in its own task so a tool waiting on the client (sampling, elicitation)
never blocks the reader that will deliver the client's answer. A line longer than
``max_message_bytes`` is discarded with a -32600 error; malformed JSON gets -32700;
the server keeps reading after either.

Who is calling: the local user, unless the server is given ``auth`` (a
:class:`~conduit.mcp.auth.ResourceServer` or a token/verifier, as on HTTP). Then the
access token comes from the environment (``MCP_ACCESS_TOKEN``, or ``token=``), as MCP
asks of stdio servers, and is checked once, at start, by the same gate as every HTTP
transport (:mod:`conduit.mcp.transports.access`); a refused token stops the server before
it reads a message, and the token's scopes apply to every tool call.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from typing import Any

import trio

from conduit.mcp.protocol.jsonrpc import InternalError, InvalidRequest, MCPError, dumps, error_message, is_id, parse
from conduit.mcp.protocol.dispatcher import Connection
from conduit.mcp.protocol.lines import OVERSIZED, LineFramer
from conduit.mcp.transports.access import ANONYMOUS, Caller, Gate, Refusal

__all__ = ["serve_stdio", "run_stdio", "serve_streams", "stdio_caller", "TOKEN_ENV"]

log = logging.getLogger("conduit.mcp.transports.stdio")
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
TOKEN_ENV = "MCP_ACCESS_TOKEN"


async def stdio_caller(auth: Any = None, token: str | None = None) -> Caller:
    """Who a stdio server serves: anyone without ``auth``, else the holder of the environment's token.

    Raises :class:`PermissionError` naming the reason when the gate refuses the token.
    """
    if auth is None:
        return ANONYMOUS
    verdict = await Gate(auth=auth).admit_token(token if token is not None else os.environ.get(TOKEN_ENV))
    if isinstance(verdict, Refusal):
        raise PermissionError(f"MCP stdio server refused its access token ({TOKEN_ENV}): {verdict.message}")
    return verdict


async def serve_streams(server: Any, receive: trio.abc.ReceiveStream, send: trio.abc.SendStream, *,
                        max_message_bytes: int = MAX_MESSAGE_BYTES, grace_seconds: float = 5.0,
                        caller: Caller = ANONYMOUS) -> None:
    """Serve ``server`` over a pair of byte streams until ``receive`` reaches EOF, for ``caller``."""
    out_send, out_receive = trio.open_memory_channel[bytes](1024)

    async def writer() -> None:
        async with out_receive:
            async for data in out_receive:
                try:
                    await send.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return

    async def write(message: dict[str, Any]) -> None:
        await out_send.send(dumps(message) + b"\n")

    def push(message: dict[str, Any]) -> None:
        try:
            out_send.send_nowait(dumps(message) + b"\n")
        except (trio.WouldBlock, trio.ClosedResourceError):
            pass

    connection = Connection(server, push=push, owner=caller.identity, principal=caller.principal)

    async def handle(message: Any) -> None:
        # Connection.handle answers every request itself; this guard is for the transport's
        # own bugs: an exception here would end the nursery and, with it, the process.
        try:
            response = await connection.handle(message, write)
            if response is not None:
                await write(response)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except Exception:
            log.exception("MCP message failed on stdio")
            if isinstance(message, dict) and is_id(message.get("id")) and "method" in message:
                await write(error_message(message["id"], InternalError("Internal error")))

    async with trio.open_nursery() as outer:
        outer.start_soon(writer)
        background = trio.CancelScope()

        async def run_background() -> None:
            with background:
                async with trio.open_nursery() as nursery:
                    server._background_started = False
                    server.start_background(nursery.start_soon)
                    await trio.sleep_forever()

        outer.start_soon(run_background)
        async with trio.open_nursery() as requests:
            framer = LineFramer(max_message_bytes)
            while True:
                try:
                    chunk = await receive.receive_some(65536)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    chunk = b""
                if not chunk:
                    break
                for line in framer.feed(chunk):
                    if line is OVERSIZED:
                        await write(error_message(None, InvalidRequest(
                            f"Message larger than {max_message_bytes} bytes")))
                        continue
                    try:
                        message = parse(line)
                    except MCPError as exc:
                        await write(error_message(None, exc))
                        continue
                    # Lifecycle messages, notifications and responses are handled
                    # in order, inline; other requests run concurrently.
                    if isinstance(message, dict) and "id" in message and \
                            message.get("method") not in (None, "initialize"):
                        requests.start_soon(handle, message)
                    else:
                        await handle(message)
            # stdin closed: let in-flight requests finish, then stop.
            requests.cancel_scope.deadline = trio.current_time() + grace_seconds
        connection.close()
        background.cancel()
        await out_send.aclose()


async def serve_stdio(server: Any, *, auth: Any = None, token: str | None = None, **options: Any) -> None:
    """Serve ``server`` on this process's stdin/stdout; ``auth``/``token``: see the module docstring."""
    caller = await stdio_caller(auth, token)
    if server.tool_search is not None:  # kernels load before the first message is read
        server.tool_search.warm()
    stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
    stdout = trio.lowlevel.FdStream(sys.stdout.fileno())
    await serve_streams(server, stdin, stdout, caller=caller, **options)


def run_stdio(server: Any, **options: Any) -> None:
    """Run ``server`` on this process's stdin/stdout until stdin closes (``mcp.run_stdio()`` calls this)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    try:
        trio.run(functools.partial(serve_stdio, server, **options))
    except PermissionError as exc:  # a refused token: say why on stderr and exit 1, no traceback
        raise SystemExit(str(exc)) from None
