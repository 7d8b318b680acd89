"""A retiring server (a recycled worker) keeps its idle keep-alive connections for one more request.

Closing an idle keep-alive connection at once loses a request the client is sending on
it at that moment; so a retiring server answers the next request of each idle
connection, with ``Connection: close``, and only then closes it (a shutdown, by
contrast, closes idle connections at once: test_lifecycle).
"""

from __future__ import annotations

import socket

import trio

from conduit import Conduit
from conduit.server import serve


def _response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b"ok"):
        piece = sock.recv(4096)
        if not piece:
            break
        data += piece
    return data


def test_a_retiring_server_answers_the_next_request_on_an_idle_connection_with_connection_close():
    app = Conduit(openapi_url=None, docs_url=None)

    @app.get("/")
    async def index():
        return "ok"

    answers: list[bytes] = []

    def client(port: int, retire: trio.Event, token) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
            answers.append(_response(sock))
            trio.from_thread.run_sync(retire.set, trio_token=token)  # the connection is idle now
            trio.from_thread.run(trio.sleep, 0.5, trio_token=token)  # the server is retiring meanwhile
            sock.sendall(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
            answers.append(_response(sock))
            answers.append(sock.recv(4096))  # then the server closes: end of stream

    async def main():
        retire = trio.Event()
        with trio.fail_after(60):
            await serving(retire)

    async def serving(retire: trio.Event):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(lambda task_status: serve(
                app, "127.0.0.1", 0, retire_trigger=retire, keepalive_timeout=20, task_status=task_status))
            nursery.start_soon(trio.to_thread.run_sync, client, port, retire, trio.lowlevel.current_trio_token())
        # serve() returned: it retired once its last connection closed

    trio.run(main)
    first, second, end = answers
    assert first.startswith(b"HTTP/1.1 200") and b"connection: close" not in first.lower()
    assert second.startswith(b"HTTP/1.1 200") and b"connection: close" in second.lower()
    assert end == b""
