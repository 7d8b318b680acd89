"""A connected TCP socket as a trio ``Stream``, without trio's per-call wrappers.

``trio.SocketStream`` runs every ``send``/``recv`` through its conflict detector
and ``_nonblocking_helper`` (several Python frames per call); on a WebSocket
that is a large share of each message. :class:`RawSocketStream` makes the same
non-blocking calls on the stdlib socket the HTTP connection already uses, waits
with ``trio.lowlevel.wait_readable``/``wait_writable`` only when the kernel says
so (or, after a read that drained the kernel's buffer, waits before the next
read instead of a ``recv`` bound to fail), and yields to other tasks every few reads that did not block (fairness, as
in :class:`~conduit.server.connection.HTTPConnection`). Closing is the wrapped
stream's. One reader and one writer at a time: the WebSocket's reader task and
its send lock guarantee that.
"""

from __future__ import annotations

import socket

import trio

#: Reads that return data without blocking, in a row, before the reader yields.
READS_PER_YIELD = 4
#: Sends that complete without blocking, in a row, before the sender yields.
SENDS_PER_YIELD = 4


class RawSocketStream(trio.abc.Stream):
    """``stream``'s socket ``sock`` (a non-blocking stdlib socket) as a Stream."""

    def __init__(self, stream: trio.abc.Stream, sock: socket.socket):
        self._stream = stream
        self._sock = sock
        self._closed = False
        self._reads = 0
        self._sends = 0
        #: The last read took less than asked: the kernel's buffer is empty, so the
        #: next recv() would fail (a client waiting for our answer sends nothing yet).
        self._drained = False

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._closed:
            raise trio.ClosedResourceError("the stream is closed")
        if self._reads >= READS_PER_YIELD:
            self._reads = 0
            await trio.lowlevel.checkpoint()
        sock = self._sock
        size = max_bytes or 65536
        if self._drained:  # wait first instead of a recv() bound to fail
            self._reads = 0
            await trio.lowlevel.wait_readable(sock)
        while True:
            try:
                data = sock.recv(size)
            except BlockingIOError:
                self._reads = 0
                await trio.lowlevel.wait_readable(sock)
                continue
            except OSError as exc:
                raise trio.BrokenResourceError(f"the socket failed: {exc}") from exc
            self._reads += 1
            self._drained = len(data) < size
            return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._closed:
            raise trio.ClosedResourceError("the stream is closed")
        # A checkpoint as trio's streams give one: cancellation always, a yield to the
        # other tasks every few sends that did not block (a handler that only sends).
        self._sends += 1
        if self._sends >= SENDS_PER_YIELD:
            self._sends = 0
            await trio.lowlevel.checkpoint()
        else:
            await trio.lowlevel.checkpoint_if_cancelled()
        sock = self._sock
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            raise trio.BrokenResourceError(f"the socket failed: {exc}") from exc
        if sent == len(data):  # the common case: one call, no memoryview
            return
        view = memoryview(data)[sent:]
        while view:
            try:
                sent = sock.send(view)
            except BlockingIOError:
                self._sends = 0
                await trio.lowlevel.wait_writable(sock)
                continue
            except OSError as exc:
                raise trio.BrokenResourceError(f"the socket failed: {exc}") from exc
            view = view[sent:]

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.wait_writable(self._sock)

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        self._closed = True
        await self._stream.aclose()


__all__ = ["RawSocketStream"]
