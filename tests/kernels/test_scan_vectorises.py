"""The exact scan's dot product vectorises (issue 23): fastmath's ``reassoc`` lets LLVM
split the reduction into SIMD lanes; without it the loop stays one float at a time and
the one-query scan falls off the memory wall. The generated code of the serial scan
is compiled afresh (an empty Numba cache, in a subprocess, since code loaded from the
cache cannot be inspected) and must hold packed FMA or multiply instructions."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

PROBE = """
import re, numpy as np
import importlib
T = importlib.import_module("conduit_kernels.topk")  # the module, not the lazily exported function
X = np.ones((64, 384), np.float32)
T.topk(X, np.ones(384, np.float32), 5, "dot")
asm = "\\n".join(T._topk_one_serial.inspect_asm().values())
print(len(re.findall(r"\\bv?(fmadd\\w*ps|mulps)\\s+[^\\n]*[xyz]mm", asm)))
"""


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                    reason="the check reads x86 assembly")
def test_float32_dot_scan_is_vectorised(tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=300, env={**os.environ,
                                           "NUMBA_CACHE_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip().splitlines()[-1]) > 0, "no packed multiply in the scan"
