"""The supervisor picks Numba's TBB layer even where the tbb wheel's library is not on the loader path.

A cached parallel kernel starts the threading layer as it loads, so an ML app's warm-up in
the supervisor started GNU OpenMP and ``conduit run --workers 2`` refused to fork: the pip
``tbb`` wheel puts ``libtbb.so.12`` in ``<prefix>/lib``, which the loader does not search.
"""

import subprocess
import sys

import pytest

SCRIPT = """
import numba, numpy as np
from conduit.server.workers import fork_safety_problem, prefer_fork_safe_threading

prefer_fork_safe_threading()

@numba.njit(parallel=True)
def total(a):
    s = 0.0
    for i in numba.prange(a.size):
        s += a[i]
    return s

assert total(np.ones(10_000)) == 10_000.0
print(numba.threading_layer(), fork_safety_problem())
"""


def test_a_parallel_kernel_after_the_choice_runs_on_tbb_and_forking_is_safe():
    from importlib import metadata

    try:
        metadata.distribution("tbb")
    except metadata.PackageNotFoundError:
        pytest.skip("the tbb wheel is not installed (the test extra installs it)")
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["tbb", "None"]
