"""Issue 26, item 6: a cold start that talks, ``conduit build --cache``, and a read-only cache.

Before: ~23 s before the first line of a model app; with ``NUMBA_CACHE_DIR`` read-only every
``cache=True`` kernel failed to import ("cannot cache function ...: no locator available").
After: the first line comes before any heavy import, each phase has a timed line, ``conduit build``
fills a cache, and ``conduit run`` with that cache read-only starts, compiles nothing, writes
nothing, and says so in one line.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conduit.server import kernel_cache

ROOT = Path(__file__).resolve().parents[3]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels")]), **extra)
    env.pop("NUMBA_DISABLE_JIT", None)
    return env


def _tree(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_mode)
            for p in sorted(folder.rglob("*"))}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _make_read_only(folder: Path) -> None:
    for path in [*folder.rglob("*"), folder]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _make_writable(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kernels") / "cache"
    done = subprocess.run([sys.executable, "-m", "conduit.cli", "build", "examples.hello:app", "--cache", str(folder)],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "built" in done.stderr.splitlines()[-1]
    yield folder
    _make_writable(folder)


def test_build_fills_the_cache_and_writes_a_manifest(built):
    manifest = json.loads((built / kernel_cache.MANIFEST).read_text())
    assert manifest["target"] == "examples.hello:app"
    assert manifest["kernel_files"] == len(kernel_cache.snapshot(str(built))) > 0
    aot_manifest = json.loads((built / "conduit-aot.json").read_text())  # issue 22: the AOT HTTP kernels
    assert (built / aot_manifest["file"]).is_file()
    assert aot_manifest["exports"] == ["decode_chunked", "match_route", "scan_request_head"]


def test_run_with_a_read_only_cache_compiles_nothing_and_writes_nothing(built, tmp_path):
    _make_read_only(built)
    before = _tree(built)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    port = _free_port()
    started = time.monotonic()
    server = subprocess.Popen([sys.executable, "-m", "conduit.cli", "run", "examples.hello:app", "--port", str(port)],
                              cwd=ROOT, env=_env(NUMBA_CACHE_DIR=str(built), TMPDIR=str(scratch)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        first = server.stderr.readline()
        first_after = time.monotonic() - started
        assert first.startswith("conduit: starting examples.hello:app"), first
        deadline = time.monotonic() + 300
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text == "Hello, world!"
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        # Not communicate(timeout=): it reads the raw pipe and loses what readline() above
        # already buffered (the "imports done" line often arrives with the first one).
        rest = server.stderr.read()
        server.wait(timeout=60)
    lines = [first.strip(), *rest.splitlines()]
    assert server.returncode == 0, rest
    assert _tree(built) == before  # not a byte, not a timestamp, not a mode changed
    said = [line for line in lines if "kernel cache" in line]
    assert len(said) == 1 and "(read-only) covers the app: nothing compiled, nothing written" in said[0], lines
    assert "ahead-of-time kernels loaded from" in said[0], lines  # the HTTP path runs without Numba
    assert any(line.startswith("conduit: imports done in") for line in lines), lines
    assert any(line.startswith("conduit: app imported in") for line in lines), lines
    assert any("[1/2] HTTP/1.1 codec" in line for line in lines), lines
    assert not list(scratch.iterdir()), "the scratch copy is removed at exit"
    print(f"first line after {first_after:.2f} s (process start included)")


def test_prepare_copies_a_read_only_cache_and_reports_a_miss(tmp_path):
    source = tmp_path / "ro"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "f.py311.nbi").write_bytes(b"index")
    _make_read_only(source)
    env = {"NUMBA_CACHE_DIR": str(source)}
    try:
        if "numba" in sys.modules:
            with pytest.raises(RuntimeError, match="Numba is already imported"):
                kernel_cache.prepare(env)
            return
        cache = kernel_cache.prepare(env)  # pragma: no cover - only without numba loaded
    finally:
        _make_writable(source)
    assert cache.read_only and env["NUMBA_CACHE_DIR"] == cache.active != str(source)


def test_report_lines(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    cache = kernel_cache.KernelCache(str(folder), str(folder), False, kernel_cache.snapshot(str(folder)))
    assert kernel_cache.report(cache).startswith(f"kernel cache {folder} covers the app: nothing compiled (")
    (folder / "k.py311.nbi").write_bytes(b"x")
    assert "compiled 1 kernel file(s)" in kernel_cache.report(cache)
    assert kernel_cache.is_read_only(str(folder)) is False
    _make_read_only(folder)
    try:
        assert kernel_cache.is_read_only(str(folder)) is True
    finally:
        _make_writable(folder)
