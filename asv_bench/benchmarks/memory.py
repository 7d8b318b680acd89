"""What a hello server's memory is made of: RSS after each step of its start, in a fresh process.

Steps: the interpreter; ``import conduit``; ``import numba``; the hello app; loading the
HTTP codec's kernels from Numba's cache (this first kernel load builds Numba's CPU
target context: its typing and lowering registries and LLVM's target machine); the
rest of the app's warm-up (the route table). Each step runs in one subprocess, in
order, so the figures are cumulative RSS (``VmRSS``, MiB). Run directly:
``python -m benchmarks.memory`` from ``asv_bench``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ._servers import PEERS, ROOT

STEPS = ("interpreter", "import conduit", "import numba", "hello app", "HTTP codec kernels", "app warm-up")

_SCRIPT = r"""
import json, sys
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) / 1024 for l in f if l.startswith("VmRSS"))
out = {"interpreter": rss()}
import conduit; out["import conduit"] = rss()
import numba; out["import numba"] = rss()
import hello_conduit; out["hello app"] = rss()
from conduit.http import h1; h1.warmup(); out["HTTP codec kernels"] = rss()
hello_conduit.app.warmup(); out["app warm-up"] = rss()
print(json.dumps(out))
"""


def measure() -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PEERS), str(ROOT), str(ROOT / "kernels")])}
    env.pop("NUMBA_DISABLE_JIT", None)
    done = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True,
                          timeout=600)
    return json.loads(done.stdout.strip().splitlines()[-1])


_AOT_BUILD = r"""
import sys, warnings
warnings.simplefilter("ignore")  # numba.pycc is pending deprecation
from numba.pycc import CC
from conduit_kernels import http1
cc = CC("conduit_aot_probe")
cc.output_dir = sys.argv[1]
cc.export("scan", "i8(u1[::1], i8, i8[::1])")(http1._scan.py_func)
cc.compile()
"""

_AOT_PROBE = r"""
import json, sys, time
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) / 1024 for l in f if l.startswith("VmRSS"))
import numpy as np
if sys.argv[1] == "aot":
    import conduit_aot_probe
    scan = conduit_aot_probe.scan
else:  # the JIT kernel from Numba's cache, as the server calls it
    from conduit_kernels import http1
    scan = http1._scan
head = bytearray(b"GET /users/42 HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n")
out = np.zeros(8 + 4 * 64, np.int64)
assert scan(np.frombuffer(head, np.uint8), len(head), out) == len(head)
started = time.perf_counter()
for _ in range(100_000):
    scan(np.frombuffer(head, np.uint8), len(head), out)
print(json.dumps({"rss_mib": rss(), "numba_loaded": "numba" in sys.modules,
                  "scan_us": (time.perf_counter() - started) / 100_000 * 1e6}))
"""


def aot_probe() -> dict:
    """The head scanner compiled ahead of time with ``numba.pycc`` (pending deprecation), then
    loaded in a fresh process with numpy only: its RSS, whether numba was imported, and
    the cost of one scan (with the ``np.frombuffer`` view an AOT signature needs)."""
    import tempfile

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "kernels")])}
    env.pop("NUMBA_DISABLE_JIT", None)
    with tempfile.TemporaryDirectory(prefix="conduit-aot-") as folder:
        subprocess.run([sys.executable, "-c", _AOT_BUILD, folder], env=env, check=True, capture_output=True,
                       timeout=600)
        results = {}
        for kind in ("aot", "jit"):
            env["PYTHONPATH"] = os.pathsep.join([folder, str(ROOT / "kernels")])
            done = subprocess.run([sys.executable, "-c", _AOT_PROBE, kind], env=env, check=True,
                                  capture_output=True, text=True, timeout=120)
            results[kind] = json.loads(done.stdout.strip().splitlines()[-1])
    return {**results["aot"], "jit_rss_mib": results["jit"]["rss_mib"], "jit_scan_us": results["jit"]["scan_us"]}


class AOTHeadScanner:
    """Is the moonshot (a hello server without Numba) viable? The scanner as an extension."""

    timeout = 900

    def setup_cache(self):
        return aot_probe()

    def track_rss_mib(self, results):
        return results["rss_mib"]

    track_rss_mib.unit = "MiB"

    def track_scan_us(self, results):
        return results["scan_us"]

    track_scan_us.unit = "us"

    def track_jit_rss_mib(self, results):
        return results["jit_rss_mib"]

    track_jit_rss_mib.unit = "MiB"

    def track_jit_scan_us(self, results):
        return results["jit_scan_us"]

    track_jit_scan_us.unit = "us"


class HelloServerMemory:
    timeout = 600
    params = list(STEPS)
    param_names = ["step"]

    def setup_cache(self):
        return measure()

    def track_rss_mib(self, results, step):
        return results[step]

    track_rss_mib.unit = "MiB"


if __name__ == "__main__":
    previous = 0.0
    for step, value in measure().items():
        print(f"{step:20s} {value:7.1f} MiB  (+{value - previous:.1f})")
        previous = value
    probe = aot_probe()
    print(f"AOT head scanner (numba.pycc), numpy only: {probe['rss_mib']:.1f} MiB, numba imported: "
          f"{probe['numba_loaded']}, {probe['scan_us']:.2f} µs per scan; the JIT kernel: "
          f"{probe['jit_rss_mib']:.1f} MiB, {probe['jit_scan_us']:.2f} µs; load average {os.getloadavg()[0]:.1f}")
