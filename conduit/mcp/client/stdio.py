"""The client side of stdio: spawn the server command, one JSON message per line.

The child's stdout carries protocol messages only; a line that is not JSON is logged and
skipped (servers that print banners exist). A line longer than ``max_message_bytes`` is
dropped whole, so a runaway child cannot grow the client's memory. Closing sends EOF on
the child's stdin, then terminates it, then kills it, each after a short grace period.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import anyio.abc

from conduit.mcp.client.base import ClientTransport, Sink
from conduit.mcp.client.errors import TransportError
from conduit.mcp.protocol.jsonrpc import MCPError, dumps, parse
from conduit.mcp.protocol.lines import OVERSIZED, LineFramer

__all__ = ["StdioTransport"]

log = logging.getLogger("conduit.mcp.client")
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class StdioTransport(ClientTransport):
    def __init__(self, command: str | Sequence[str], *, env: Mapping[str, str] | None = None,
                 cwd: str | None = None, stderr: Any = None, max_message_bytes: int = MAX_MESSAGE_BYTES,
                 grace_seconds: float = 2.0) -> None:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not argv or not all(isinstance(a, str) for a in argv):
            raise ValueError(f"a stdio MCP server needs a command (a string or a list of strings), not {command!r}")
        self.argv = argv
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.stderr = stderr
        self.max_message_bytes = max_message_bytes
        self.grace_seconds = grace_seconds
        self.process: anyio.abc.Process | None = None
        self._lock = anyio.Lock()

    async def start(self, task_group: anyio.abc.TaskGroup, sink: Sink) -> None:
        try:
            self.process = await anyio.open_process(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                    stderr=self.stderr, env=self.env, cwd=self.cwd)
        except OSError as exc:
            raise TransportError(f"could not start the MCP server {self.argv[0]!r}: {exc}") from exc
        task_group.start_soon(self._read, sink)

    async def _read(self, sink: Sink) -> None:
        assert self.process is not None and self.process.stdout is not None
        framer = LineFramer(self.max_message_bytes)
        try:
            async for chunk in self.process.stdout:
                for line in framer.feed(chunk):
                    if line is OVERSIZED:
                        log.warning("MCP server sent a line over %d bytes; dropped", self.max_message_bytes)
                    else:
                        await self._deliver(line, sink)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        code = self.process.returncode
        sink.connection_lost(TransportError(
            f"the MCP server process {self.argv[0]!r} closed its stdout" + (f" (exit code {code})" if code else "")))

    @staticmethod
    async def _deliver(line: bytes, sink: Sink) -> None:
        try:
            message = parse(line)
        except MCPError:
            log.warning("MCP server wrote a line that is not JSON: %r", line[:200])
            return
        await sink.receive(message)

    async def send(self, message: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        if self.process is None or self.process.stdin is None:
            raise TransportError("the stdio transport is not connected")
        try:
            async with self._lock:
                await self.process.stdin.send(dumps(message) + b"\n")
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            raise TransportError(f"the MCP server process {self.argv[0]!r} is gone: {exc}") from exc

    async def aclose(self) -> None:
        process = self.process
        if process is None:
            return
        with anyio.CancelScope(shield=True):
            if process.stdin is not None:
                try:
                    await process.stdin.aclose()
                except (anyio.BrokenResourceError, OSError):
                    pass
            for stop in (None, process.terminate, process.kill):
                if stop is not None:
                    try:
                        stop()
                    except ProcessLookupError:
                        break
                with anyio.move_on_after(self.grace_seconds):
                    await process.wait()
                    break
            try:
                await process.aclose()
            except (OSError, anyio.BrokenResourceError):
                pass
