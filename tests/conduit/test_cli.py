"""The conduit command: route table printing and target loading errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


# Serving (until SIGTERM, exit 0), its output and its errors: tests/conduit/first_hour/test_server_talks.py.
