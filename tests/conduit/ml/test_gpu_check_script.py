"""scripts/gpu_check.py on a machine without a GPU: it says so, measures nothing, exits 0."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_gpu_check_without_a_gpu_says_so_and_exits_cleanly():
    from conduit_kernels.cuda import cuda_available

    if cuda_available():
        pytest.skip("this machine has a GPU: the script runs its full check there (minutes), not as a test")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "kernels")])}
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py")], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no GPU on this machine" in done.stdout and "no GPU figure is claimed" in done.stdout
    assert "rows/s" not in done.stdout and "q/s" not in done.stdout
