"""The numba.cuda twins give the CPU kernels' results, checked on the CUDA simulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conduit_kernels.cuda import select_device  # noqa: F401  (imports without a GPU)


def test_cuda_twins_equal_cpu_on_simulator():
    script = Path(__file__).with_name("cuda_sim_checks.py")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert proc.stdout.strip().endswith("ok")


def test_select_device_rules():
    assert select_device("cpu", 1 << 40) == "cpu"
    with pytest.raises(ValueError, match="device must be"):
        select_device("tpu", 0)


def test_explicit_cuda_without_gpu_is_a_clear_error():
    from conduit_kernels.cuda import cuda_available

    if cuda_available():
        pytest.skip("a GPU is present, so the no-GPU refusal cannot happen here (the GPU path itself is checked by scripts/gpu_check.py)")
    with pytest.raises(RuntimeError, match="no GPU"):
        select_device("cuda", 0)
