"""Start the official SDK's and FastMCP's servers (tests/conduit/mcp/peers/) for client tests.

``stdio_command(kind)`` is the argv that serves one over stdio; ``http_server(kind)`` runs
one over Streamable HTTP on 127.0.0.1 and yields its ``/mcp`` URL.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

ROOT = pathlib.Path(__file__).resolve().parents[4]
PEERS = pathlib.Path(__file__).parent
SCRIPTS = {"sdk": PEERS / "sdk_server.py", "fastmcp": PEERS / "fastmcp_server.py", "composed": PEERS / "composed_server.py", "proxy": PEERS / "proxy_server.py", "shop": PEERS / "shop_app.py", "model": PEERS / "model_server.py",
           "conduit": ROOT / "examples" / "mcp" / "everything.py", "hostile": PEERS / "hostile_server.py"}


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels")]),
                PYTHONWARNINGS="ignore", FASTMCP_LOG_LEVEL="ERROR")


def stdio_command(kind: str) -> list[str]:
    script = SCRIPTS[kind]
    return [sys.executable, str(script)] + ([] if kind in ("conduit", "hostile", "composed", "proxy", "shop", "model") else ["stdio"])


@contextlib.contextmanager
def http_server(kind: str) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(SCRIPTS[kind]), "http", str(port)], cwd=ROOT, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the {kind} server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)
