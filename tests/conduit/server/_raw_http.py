"""Raw-socket helpers for server tests: send exact bytes, read one response or a close."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field


@dataclass
class RawResponse:
    status: int | None  # None: the server closed without answering
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    closed: bool = False


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def read_response(sock: socket.socket, deadline: float = 10.0) -> RawResponse:
    """Read one response (Content-Length framed or until close); 1xx answers are skipped."""
    end = time.monotonic() + deadline
    buffer = b""
    while True:
        while b"\r\n\r\n" not in buffer:
            if time.monotonic() > end:
                raise TimeoutError(f"no response head in {deadline} s; got {buffer[:200]!r}")
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                if not buffer:
                    return RawResponse(None, closed=True)
                raise AssertionError(f"connection closed inside a response head: {buffer[:200]!r}")
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200:
            buffer = rest
            continue
        break
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return RawResponse(status, headers, rest[:length])


def wait_closed(sock: socket.socket, timeout: float = 5.0) -> bool:
    """Whether the server closes the connection within ``timeout`` (extra bytes are ignored)."""
    sock.settimeout(timeout)
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except (socket.timeout, TimeoutError):
        return False
    return False


def exchange(port: int, data: bytes, deadline: float = 10.0) -> RawResponse:
    """Send ``data`` on a fresh connection; the response, and whether the server then closed."""
    sock = connect(port, deadline)
    try:
        sock.sendall(data)
        response = read_response(sock, deadline)
        if response.status is not None:
            response.closed = wait_closed(sock, 3.0)
        return response
    finally:
        sock.close()


def get(port: int, path: str = "/", headers: str = "") -> RawResponse:
    data = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n".encode()
    return exchange(port, data)
