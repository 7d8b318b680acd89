"""Issue 26, item 10: an API reference of every public name, built from docstrings, never stale.

Before: no reference. After: docs/api.md lists every name in ``conduit.__all__`` and
``conduit_kernels.__all__`` with its signature and docstring; this test fails when a public
name has no docstring (or ``#:`` comment) or when the page no longer matches the code.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import conduit
import conduit_kernels

ROOT = Path(__file__).resolve().parents[1]


def _script():
    """scripts/api_reference.py as a namespace (its ``build`` is what the test checks)."""
    return SimpleNamespace(**runpy.run_path(str(ROOT / "scripts" / "api_reference.py")))


def test_every_public_name_has_documentation():
    page, missing = _script().build()
    assert missing == [], f"public names without a docstring: {missing}"
    for package in (conduit, conduit_kernels):
        for name in package.__all__:
            assert f"### `{name}" in page, name


def test_the_reference_page_is_up_to_date():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels")]))
    done = subprocess.run([sys.executable, "scripts/api_reference.py", "--check"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_an_undocumented_name_is_caught(monkeypatch):
    script = _script()

    def undocumented():
        pass

    monkeypatch.setattr(conduit, "undocumented", undocumented, raising=False)
    monkeypatch.setattr(conduit, "__all__", [*conduit.__all__, "undocumented"])
    _, missing = script.build()
    assert missing == ["conduit.undocumented"]
