"""A file body by ``os.sendfile``: the kernel copies page cache to socket, no bytes through Python.

Used by the connection for a :class:`~conduit.http.files.FileResponse` on a plain
TCP socket (under TLS the bytes must be encrypted in user space, so the connection
reads the file in chunks instead). Each ``sendfile`` call runs in a worker thread:
it may read the disk, and no disk read blocks the event loop; the socket stays
non-blocking, so a call returns as soon as the socket buffer is full, and the loop
waits for it to drain (at most ``send_timeout`` per wait).
"""

from __future__ import annotations

import os
import socket

import trio

#: Most bytes one call hands the kernel (a thread round trip per call; the socket buffer limits it anyway).
_BLOCK = 8 * 1024 * 1024


class FileShrank(Exception):
    """The file ended (or vanished) before its declared length was sent."""


async def send_file(sock: socket.socket, path: str, offset: int, count: int, send_timeout: float,
                    on_sent) -> None:
    """Send ``count`` bytes of ``path`` from ``offset`` on ``sock``; ``on_sent(n)`` after each call.

    Raises :class:`FileShrank` when the file is shorter than promised (the connection
    must then be aborted), ``OSError`` when the peer is gone, and
    :class:`trio.TooSlowError` when the client stops reading for ``send_timeout``.
    """
    try:
        fd = await trio.to_thread.run_sync(os.open, path, os.O_RDONLY)
    except OSError as exc:
        raise FileShrank(f"{path!r} can no longer be opened: {exc}") from None
    try:
        out = sock.fileno()
        while count > 0:
            try:
                sent = await trio.to_thread.run_sync(os.sendfile, out, fd, offset, min(count, _BLOCK))
            except BlockingIOError:
                with trio.fail_after(send_timeout):
                    await trio.lowlevel.wait_writable(sock)
                continue
            if sent == 0:
                raise FileShrank(f"{path!r} ended {count} bytes short of its declared length")
            on_sent(sent)
            offset += sent
            count -= sent
    finally:
        os.close(fd)


__all__ = ["FileShrank", "send_file"]
