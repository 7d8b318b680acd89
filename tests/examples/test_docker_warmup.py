"""The Docker image's build-time warm-up compiles every kernel the demo needs.

The test runs the Dockerfile's own warm-up command with a fresh ``NUMBA_CACHE_DIR``,
notes Numba's cache index files, then starts the demo server the way the image's
``CMD`` does, sends it a request per capability, stops it, and checks that the cache
gained or changed no index file: neither the start nor a first request compiled
anything. (Before this guard the warm-up missed the HTTP head scanner and
``check_finite``, so every container compiled them again at start.)
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # two cold starts of the demo: minutes on a busy machine


def dockerfile_warmup(cache: Path | None = None) -> list[str]:
    """The argv of the Dockerfile's ``RUN conduit build ...`` line (``--cache`` moved to ``cache``)."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if re.match(r"RUN conduit build ", line)]
    assert len(lines) == 1, "the Dockerfile should have one conduit build line"
    argv = shlex.split(lines[0][len("RUN "):])
    if cache is not None:
        argv[argv.index("--cache") + 1] = str(cache)
    return [sys.executable, "-m", "conduit.cli", *argv[1:]]


def cache_index(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*.nbi")}


def exercise(url: str) -> None:
    assert httpx.get(url + "/users/7").json() == {"id": 7, "name": "user-7"}
    assert httpx.post(url + "/models/iris", json={"rows": [[5.1, 3.5, 1.4, 0.2]]}).json()["predictions"] == [0]
    assert httpx.post(url + "/models/iris", json={"rows": [[None, 3.5, 1.4, 0.2]]}).status_code == 422
    assert httpx.get(url + "/search", params={"q": "route kernel"}).json()["hits"]
    assert httpx.post(url + "/ask", json={"question": "How are routes matched?"}).status_code == 200
    assert httpx.get(url + "/ready").status_code == 200


def test_after_the_warmup_the_demo_starts_and_serves_without_compiling(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    warm = subprocess.run(dockerfile_warmup(tmp_path / "numba"), cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert warm.returncode == 0, warm.stderr
    before = cache_index(tmp_path / "numba")
    assert before, "the warm-up wrote no cache at all"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "conduit.cli", "run", "examples.demo:app", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
                time.sleep(0.5)
        exercise(f"http://127.0.0.1:{port}")
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=120)
    assert server.returncode == 0, stderr
    after = cache_index(tmp_path / "numba")
    new = sorted(set(after) - set(before))
    changed = sorted(name for name in before if after.get(name) != before[name])
    assert not new and not changed, f"compiled after the warm-up: new {new}, changed {changed}"
