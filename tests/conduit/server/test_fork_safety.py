"""The supervisor refuses to fork after a parallel kernel ran on GNU OpenMP (children would die)."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = """
import numpy as np
from numba import njit, prange
from numba.np.ufunc import omppool
from conduit.server.workers import fork_safety_problem

assert fork_safety_problem() is None  # nothing parallel has run yet

@njit(parallel=True)
def total(x):
    s = 0.0
    for i in prange(x.shape[0]):
        s += x[i]
    return s

total(np.ones(1000))
print(getattr(omppool, "openmp_vendor", "GNU"))
print(fork_safety_problem())
"""


def test_fork_safety_problem_names_gnu_openmp_and_the_fix():
    env = dict(os.environ, NUMBA_THREADING_LAYER="omp")
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    vendor, problem = out.stdout.strip().splitlines()[-2:]
    if vendor == "GNU":
        assert "GNU OpenMP" in problem and "conduit[workers]" in problem and "--no-preload" in problem
    else:  # Intel OpenMP survives fork
        assert problem == "None"
