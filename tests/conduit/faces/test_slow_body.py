"""A body trickling in past the handler deadline is a 504 on every face on a socket.

The app's handler deadline covers reading the body. The native server used to answer
408 when that deadline passed during a body read (its body-silence timer took the
phase), while an ASGI face answered 504: the same client got two answers.
"""

from __future__ import annotations

import socket
import time

import pytest

from face_app import HANDLER_TIMEOUT


def test_slow_body_past_the_handler_deadline(face):
    if face.url is None:
        pytest.skip("the in-process TestClient reads a request body whole before sending it: no trickle")
    host, port = face.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        end = time.monotonic() + 4 * HANDLER_TIMEOUT
        data = b""
        while b"\r\n" not in data and time.monotonic() < end:
            sock.settimeout(0.5)
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                sock.sendall(b"x")  # a byte now and then: never silent for the body timeout
                continue
            if not chunk:
                break
            data += chunk
    assert data.split(b" ", 2)[1] == b"504", data[:200]
