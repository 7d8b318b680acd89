"""The ``TestClient``'s httpx transport: each request goes through the real server connection.

A request is written as HTTP/1.1 bytes (h11 on the client side) into one end of a
``trio.testing.memory_stream_pair``; the other end is served by the server's own
:class:`~conduit.server.connection.HTTPConnection`, as a socket would be. So an
in-process test passes through the codec (head parsing, body framing, response
header validation), the app's limits and its deadline exactly as production does:
a body over the limit is a 413 here too, and a bad response header a 500.

The exchange runs on the app's loop thread; one connection per request, closed
once the response is whole (background tasks have run by then, as on a socket
whose client waits for the connection to close). A response cut short (a stream
whose iterator failed) raises ``httpx.RemoteProtocolError``, as httpx does on a
socket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import h11
import httpx
import trio
import trio.testing

from ..server.config import ServerConfig
from ..server.connection import HTTPConnection
from ..server.loop_thread import LoopThread

_READ_SIZE = 64 * 1024


class ConnectionTransport(httpx.BaseTransport):
    """An httpx transport that serves each request with ``HTTPConnection`` over memory streams.

    ``start()`` returns the running :class:`~conduit.server.loop_thread.LoopThread`
    (the app started on it); ``client`` is the peer address the app sees.
    """

    def __init__(self, app: Any, start: Callable[[], LoopThread], client: tuple[str, int],
                 config: ServerConfig | None = None) -> None:
        self.app = app
        self.start = start
        self.client = client
        self.config = config or ServerConfig()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        loop = self.start()
        body = request.read()
        status, headers, content = loop.call(self._exchange, request.method.encode("ascii"),
                                             request.url.raw_path, list(request.headers.raw), body)
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def _exchange(self, method: bytes, target: bytes, headers: list, body: bytes):
        client = h11.Connection(h11.CLIENT)
        try:
            data = client.send(h11.Request(method=method, target=target, headers=headers))
            if body:
                data += client.send(h11.Data(data=body))
            data += client.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc)) from None
        server_end, client_end = trio.testing.memory_stream_pair()
        connection = HTTPConnection(server_end, self.app, self.config, self.client)
        failure: httpx.TransportError | None = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(connection.serve)
            try:
                await client_end.send_all(data)
                answer = await _read_response(client, client_end)
            except httpx.TransportError as exc:  # raised past the nursery, not in a group
                failure = exc
            finally:
                await client_end.aclose()  # the connection sees end-of-stream and finishes
        if failure is not None:
            raise failure
        return answer


async def _read_response(client: h11.Connection, stream: trio.abc.Stream):
    status, headers, chunks = 0, [], []
    while True:
        try:
            event = client.next_event()
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc)) from None
        if event is h11.NEED_DATA:
            try:
                client.receive_data(await stream.receive_some(_READ_SIZE))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                client.receive_data(b"")
        elif isinstance(event, h11.Response):
            status, headers = event.status_code, list(event.headers)
        elif isinstance(event, h11.Data):
            chunks.append(bytes(event.data))
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            return status, headers, b"".join(chunks)
        # an InformationalResponse (100 Continue) is skipped


__all__ = ["ConnectionTransport"]
