"""Test helpers: drive an app in-process (``TestClient``) or over a real socket (``LiveServer``).

Both run the app on its own trio loop in a background thread, so app state made
at startup (locks, channels, batchers) lives in one loop for the whole test.
"""

from __future__ import annotations

import threading
from typing import Any

import trio

from ..server.loop_thread import LoopThread, app_loop


def TestClient(app, base_url: str = "http://testserver", client: tuple[str, int] = ("testclient", 50000),
               **httpx_options: Any):
    """An ``httpx.Client`` wired to ``app`` in-process (no sockets), through the real server
    connection (:mod:`conduit.testing.transport`): the codec, the limits and the response
    header checks apply as on a socket.

    As in Starlette, both forms work: ``with TestClient(app) as client:`` and a plain
    ``client = TestClient(app)``. The app starts on first use (or on entering the
    ``with`` block): warm-ups and startup hooks run, on a trio loop of its own that
    lives until ``client.close()`` or the end of the ``with`` block, which run the
    shutdown hooks. Streaming responses are collected whole; use :class:`LiveServer`
    for endless streams.
    """
    import httpx

    class _Client(httpx.Client):
        _loop: LoopThread | None = None
        _loop_lock = threading.Lock()

        def _start_app(self) -> LoopThread:
            with self._loop_lock:
                if self._loop is None:
                    self._loop = app_loop(app)  # raises if startup fails; the next request tries again
                return self._loop

        def _stop_app(self) -> None:
            with self._loop_lock:
                loop, self._loop = self._loop, None
            if loop is not None:
                loop.stop()

        def __enter__(self):
            client = super().__enter__()
            self._start_app()
            return client

        def __exit__(self, *exc_info):
            try:
                super().__exit__(*exc_info)
            finally:
                self._stop_app()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._stop_app()

        def websocket_connect(self, path: str, subprotocols: list[str] | None = None,
                              headers: dict[str, str] | None = None):
            """An in-process WebSocket session with the app (use it as a context manager).

            A ``Sec-WebSocket-Key`` or ``Sec-WebSocket-Version`` in ``headers`` replaces the
            handshake's own ("" leaves it out), to test refused handshakes; a refusal raises
            :class:`~conduit.testing.websocket.WebSocketRejected`.
            """
            from .websocket import WebSocketTestSession

            return WebSocketTestSession(app, self._start_app(), path, subprotocols, headers)

    from .transport import ConnectionTransport

    transport = ConnectionTransport(app, None, client)
    http_client = _Client(transport=transport, base_url=base_url, **httpx_options)
    transport.start = http_client._start_app
    return http_client


TestClient.__test__ = False  # not a pytest test class


class LiveServer:
    """The real trio + h11 server on ``127.0.0.1:<ephemeral>`` in a background thread.

    >>> with LiveServer(app) as server:          # doctest: +SKIP
    ...     httpx.get(server.url + "/hello")
    """

    def __init__(self, app, host: str = "127.0.0.1", **server_options: Any):
        self.app = app
        self.host = host
        self.options = server_options
        self.port: int | None = None
        self._loop: LoopThread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> "LiveServer":
        from ..server import serve

        async def main(loop: LoopThread):
            async with trio.open_nursery() as nursery:
                port = await nursery.start(lambda task_status: serve(
                    self.app, self.host, 0, task_status=task_status, **self.options))
                loop.started(port)

        self._loop = LoopThread(main)
        self.port = self._loop.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._loop.stop()
