"""conduit_kernels works without any of the web or ML stack installed."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BLOCKED = ["trio", "h11", "onnxruntime", "sklearn", "conduit", "httpx", "orjson", "scipy"]

SMOKE = """
import numpy as np
from conduit_kernels import build_route_table, match_route
t = build_route_table([(["GET"], "/users/:id")])
w = t.new_work()
assert match_route(t.table, b"/users/7", t.method_id("GET"), w) == (0, 0)
assert bytes(b"/users/7"[w[0]:w[1]]) == b"7"
print("ok")
"""


def test_kernels_import_with_web_and_ml_packages_blocked():
    # A meta-path finder that refuses the blocked packages proves that no module of
    # conduit_kernels imports them, even indirectly.
    blocker = (
        "import sys, importlib.abc\n"
        f"BLOCKED = {BLOCKED!r}\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ImportError(f'{name} is blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "kernels")}
    out = subprocess.run([sys.executable, "-c", blocker + SMOKE], capture_output=True, text=True,
                         env=env, cwd=ROOT / "kernels")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@pytest.mark.slow
def test_kernels_install_into_a_clean_virtualenv(tmp_path):
    """pip install kernels/ into a fresh venv (numpy + numba only) and run the smoke test."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", str(ROOT / "kernels")],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-2000:]
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True, check=True).stdout.lower()
    for package in ("trio", "h11", "onnxruntime", "scikit-learn"):
        assert f"{package}==" not in listed
    out = subprocess.run([str(python), "-c", SMOKE], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
