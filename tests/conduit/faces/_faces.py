"""Serve an app through each face — native server, uvicorn, granian, TestClient — for one table of cases.

``serve_face(face, target)`` is a context manager yielding a :class:`Face`; its
``client()`` is a real ``httpx.Client`` to that face. ``target`` is ``module:attribute``,
importable from this folder, so another table (WebSocket rows) can bring its own app.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pathlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from conduit.testing.client import LiveServer, TestClient

HERE = pathlib.Path(__file__).parent
FACES = ("native", "uvicorn", "granian", "testclient")
#: The faces that are ASGI server processes (hypercorn is served too, outside FACES).
ASGI_SERVERS = ("uvicorn", "granian", "hypercorn")
#: Seconds a server process gets to warm its kernels and listen.
START_TIMEOUT = 120.0


@dataclass
class Face:
    name: str
    #: ``http://127.0.0.1:PORT`` for a face on a socket; None for the TestClient.
    url: str | None
    #: The app object, for the faces that run in this process (native, testclient).
    app: Any = None
    #: The TestClient itself (its ``websocket_connect`` too), for the testclient face.
    testclient: Any = None

    @contextlib.contextmanager
    def client(self, **options: Any) -> Iterator[httpx.Client]:
        if self.testclient is not None:
            yield self.testclient
            return
        with httpx.Client(base_url=self.url, timeout=options.pop("timeout", 30), **options) as client:
            yield client


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    return getattr(importlib.import_module(module), attribute)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _command(face: str, target: str, port: int) -> list[str]:
    if face == "uvicorn":
        return [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port),
                "--lifespan", "on", "--log-level", "warning"]
    if face == "hypercorn":  # beside the table's FACES, for the WebSocket rows
        return [sys.executable, "-m", "hypercorn", target, "--bind", f"127.0.0.1:{port}"]
    return [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--log-level", "warning", target]


@contextlib.contextmanager
def _process(face: str, target: str) -> Iterator[Face]:
    port = _free_port()
    paths = [str(HERE), *sys.path]  # this checkout's conduit first, as in the test process
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
    process = subprocess.Popen(_command(face, target, port), env=env, cwd=HERE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    raise RuntimeError(f"{face} exited with {process.returncode} before listening") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{face} did not listen within {START_TIMEOUT} s") from None
                time.sleep(0.1)
        yield Face(face, url)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextlib.contextmanager
def serve_face(face: str, target: str) -> Iterator[Face]:
    """``target`` (``module:attribute``) served through ``face`` until the block ends."""
    if face in ASGI_SERVERS:
        with _process(face, target) as served:
            yield served
        return
    app = _load(target)
    if face == "native":
        with LiveServer(app) as live:
            yield Face(face, live.url, app=app)
        return
    with TestClient(app) as client:
        yield Face(face, None, app=app, testclient=client)
