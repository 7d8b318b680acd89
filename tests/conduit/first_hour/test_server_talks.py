"""A server that talks: one-line bind errors, where it serves, warm-up progress, access log, --version."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conduit.server.binding import describe

ROOT = Path(__file__).resolve().parents[3]
PY = sys.executable


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([PY, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


@pytest.fixture
def busy_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("command", ["conduit run", "app.run()", "conduit mcp --http"])
def test_a_port_in_use_is_one_line_and_exit_status_1(busy_port, command):
    args = {
        "conduit run": ["-m", "conduit.cli", "run", "examples.hello:app", "--port", str(busy_port)],
        "app.run()": ["-c", f"from examples.hello import app; app.run(port={busy_port})"],
        "conduit mcp --http": ["-m", "conduit.cli", "mcp", "examples.mcp.everything:mcp", "--http",
                               "--port", str(busy_port)],
    }[command]
    out = _run(*args)
    assert out.returncode == 1, out.stderr
    assert _errors(out.stderr) == [f"error: 127.0.0.1:{busy_port} is already in use"], out.stderr


def _errors(stderr: str) -> list[str]:
    """The lines of ``stderr`` past ``conduit run``'s start-up progress (``conduit: ...``, issue 26)."""
    lines = stderr.strip().splitlines()
    assert all(line.startswith("conduit: ") for line in lines[:-1]), stderr
    return lines[-1:]


@pytest.mark.parametrize("host, message", [
    ("10.255.255.1", "error: cannot bind 10.255.255.1:8000: that address does not belong to this machine"),
    ("no-such-host.invalid", "error: cannot bind no-such-host.invalid:8000: the host name 'no-such-host.invalid'"
                             " does not resolve"),
])
def test_a_host_that_cannot_be_bound_is_one_line(host, message):
    out = _run("-m", "conduit.cli", "run", "examples.hello:app", "--host", host)
    assert out.returncode == 1
    errors = _errors(out.stderr)
    assert errors[0].startswith(message), out.stderr


@pytest.mark.parametrize("code, port, expected", [
    (errno.EACCES, 80, "permission denied to bind 127.0.0.1:80 (ports below 1024 need root or CAP_NET_BIND_SERVICE)"),
    (errno.EPERM, 8000, "permission denied to bind 127.0.0.1:8000"),
    (errno.EADDRINUSE, 8000, "127.0.0.1:8000 is already in use"),
])
def test_bind_errors_are_described_in_one_line(code, port, expected):
    assert describe(OSError(code, os.strerror(code)), "127.0.0.1", port) == expected
    assert describe(OSError(errno.EADDRINUSE, "x"), "::1", 8000) == "[::1]:8000 is already in use"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(args: list[str], path: str, port: int):
    """Start a server process, GET ``path`` once it answers, stop it; (response, stderr)."""
    proc = subprocess.Popen([PY, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
                time.sleep(0.2)
        time.sleep(0.3)  # let the access line reach stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    return response, stderr


def test_conduit_run_prints_progress_where_it_serves_and_access_lines():
    port = _free_port()
    response, stderr = _serve(["-m", "conduit.cli", "run", "examples.hello:app", "--port", str(port),
                               "--access-log", "--log-level", "warning"], "/users/7", port)
    assert response.json() == {"id": 7, "name": "user-7"}
    lines = stderr.splitlines()
    assert "conduit:   [1/2] HTTP/1.1 codec: " in stderr
    assert "conduit:   [2/2] route table: " in stderr
    assert any(line.startswith("conduit: kernels ready in ") and line.endswith(" s") for line in lines)
    assert f"conduit: serving on http://127.0.0.1:{port} with 1 worker (pid " in stderr
    access = [line for line in lines if '"GET /users/7"' in line]
    assert len(access) == 1, stderr
    assert access[0].startswith('conduit: 127.0.0.1 "GET /users/7" 200 ')
    assert access[0].endswith(" ms") and f" {len(response.content)} B " in access[0]


def test_app_run_prints_too_and_logs_access_when_asked():
    port = _free_port()
    code = f"from examples.hello import app; app.run(port={port}, access_log=True)"
    response, stderr = _serve(["-c", code], "/", port)
    assert response.status_code == 200
    assert f"conduit: serving on http://127.0.0.1:{port} with 1 worker" in stderr
    assert 'conduit: 127.0.0.1 "GET /" 200 ' in stderr


def test_workers_count_is_printed():
    port = _free_port()
    response, stderr = _serve(["-m", "conduit.cli", "run", "examples.hello:app", "--port", str(port),
                               "--workers", "2", "--log-level", "warning"], "/", port)
    assert response.status_code == 200
    assert f"conduit: serving on http://127.0.0.1:{port} with 2 workers" in stderr
    assert stderr.count("kernels ready in") == 1  # warmed once, before the fork


def test_version_and_help_without_rest_markup():
    from conduit import __version__

    version = _run("-m", "conduit.cli", "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"conduit {__version__}"
    for args in ([], ["run"], ["routes"], ["mcp"]):
        out = _run("-m", "conduit.cli", *args, "--help")
        assert out.returncode == 0, out.stderr
        assert "``" not in out.stdout and "`" not in out.stdout, out.stdout
        assert "usage: conduit" in out.stdout
