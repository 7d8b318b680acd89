"""The conduit command: route table printing, target loading errors, and serving."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def conduit(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "conduit.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, **kwargs)


def test_routes_prints_the_table():
    out = conduit("routes", "examples.hello:app")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["METHOD", "PATTERN", "HANDLER", "PARAMETERS"]
    assert any(l.split()[:3] == ["GET", "/users/{id:int}", "examples.hello.get_user"] and l.endswith("id: int")
               for l in lines)
    assert any(l.split()[:2] == ["GET", "/files/*path"] and l.endswith("path: str") for l in lines)


def test_bad_targets_fail_clearly():
    assert "expected MODULE:ATTRIBUTE" in conduit("routes", "examples.hello").stderr
    assert "cannot import module 'nope_nope'" in conduit("routes", "nope_nope:app").stderr
    assert "has no attribute 'missing'" in conduit("routes", "examples.hello:missing").stderr


def test_run_serves_until_sigterm():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "conduit.cli", "run", "examples.hello:app",
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/users/5", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
                time.sleep(0.1)
        assert response.json() == {"id": 5, "name": "user-5"}
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
