"""CPU vs CUDA-simulator equality checks, run by test_topk_cuda.py in a subprocess.

``NUMBA_ENABLE_CUDASIM=1`` swaps ``numba.cuda`` for the simulator at import, for
the whole process, so these checks never run inside the main pytest process.
Sizes are tiny: the simulator runs every GPU thread as a Python thread.
"""

from __future__ import annotations

import os
import sys

import numpy as np

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", "run with NUMBA_ENABLE_CUDASIM=1"

from conduit_kernels.cuda import select_device, to_device, topk_batch_cuda, topk_cuda  # noqa: E402
from conduit_kernels.distances import inverse_norms, quantize_int8  # noqa: E402
from conduit_kernels.topk import topk, topk_batch  # noqa: E402

METRICS = ["cosine", "dot", "euclidean", "manhattan"]


def same(a, b, what):
    ids_a, sc_a = a
    ids_b, sc_b = b
    if not np.array_equal(ids_a, ids_b):
        raise AssertionError(f"{what}: ids differ\ncpu={ids_a}\ngpu={ids_b}")
    np.testing.assert_allclose(sc_a, sc_b, rtol=1e-5, atol=1e-5, err_msg=what)


def main() -> int:
    rng = np.random.default_rng(11)
    # small integers: every proxy is exact on both devices, so ties are real ties;
    # queries have four +-1 entries (norm 2, so a normalised query stays exact)
    data = rng.integers(-3, 4, size=(80, 6)).astype(np.float32)
    data[5] = 0  # a zero row
    queries = np.zeros((3, 6), np.float32)
    for q in queries:
        q[rng.choice(6, 4, replace=False)] = rng.choice([-1.0, 1.0], 4)
    mask = rng.random(80) < 0.3
    dev = to_device(data)
    for metric in METRICS:
        for k in (1, 7, 80, 90):  # k = size and k > size included
            same(topk_batch(data, queries, k, metric), topk_batch_cuda(data, queries, k, metric),
                 f"batch {metric} k={k}")
        same(topk(data, queries[0], 7, metric), topk_cuda(data, queries[0], 7, metric),
             f"single {metric}")
        same(topk_batch(data, queries, 5, metric, mask=mask),
             topk_batch_cuda(data, queries, 5, metric, mask=mask), f"mask {metric}")
        rows = np.flatnonzero(mask)[::2]
        same(topk(data, queries[1], 5, metric, rows=rows),
             topk_cuda(data, queries[1], 5, metric, rows=rows), f"rows {metric}")
        same(topk(data, queries[2], 4, metric),
             topk_cuda(data, queries[2], 4, metric, device_data=dev,
                       device_inv_norms=to_device(inverse_norms(data))), f"resident {metric}")
        codes = quantize_int8(data)
        same(topk(codes, queries[0], 6, metric), topk_cuda(codes, queries[0], 6, metric),
             f"int8 {metric}")
    empty = np.zeros((0, 6), np.float32)
    same(topk(empty, queries[0], 3, "dot"), topk_cuda(empty, queries[0], 3, "dot"), "empty")
    one_dim = rng.integers(-5, 6, size=(40, 1)).astype(np.float32)
    same(topk(one_dim, np.ones(1, np.float32), 5, "euclidean"),
         topk_cuda(one_dim, np.ones(1, np.float32), 5, "euclidean"), "dim 1")
    # "auto" never picks the simulator; "cuda" is honoured (the simulator counts as a GPU)
    assert select_device("auto", 1 << 40) == "cpu"
    assert select_device("cuda", 0) == "cuda"
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
