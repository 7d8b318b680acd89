"""One prepared check of the GPU paths on a real NVIDIA GPU: the numba.cuda top-k twins and
ONNX Runtime's CUDA provider.

    PYTHONPATH=.:kernels python3 scripts/gpu_check.py [OUT_DIR]

On a machine without a GPU it says so and exits 0, measuring nothing (no GPU figure is
ever claimed from a CPU run).

1. Equality with the CPU kernels: exact on small-integer data (every score exact on
   both devices, so ties are real ties and must break the same way), and on random
   float32 data (ids equal wherever the CPU's k-th and (k+1)-th scores are apart).
2. Timings, dim 384, top-10: CPU ``topk``/``topk_batch`` beside the GPU twins with
   the rows resident on the device (the store's setting), 100k and 1M rows.
3. ONNX Runtime: a LogisticRegression exported with skl2onnx, run by ``OnnxModel`` with
   ``providers=["CUDAExecutionProvider"]`` (needs ``onnxruntime-gpu``: ``conduit[ml-gpu]``)
   beside the CPU provider: equal outputs, and rows/s for a 4096-row batch on each.
Prints a table and writes ``gpu_check.json`` to OUT_DIR when given.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
from numba import cuda

from conduit_kernels.cuda import cuda_available, to_device, topk_batch_cuda, topk_cuda
from conduit_kernels.distances import inverse_norms, quantize_int8
from conduit_kernels.topk import topk, topk_batch

METRICS = ["cosine", "dot", "euclidean", "manhattan"]
#: GPU_CHECK_SMALL=1 shrinks every size, for a smoke run on the CUDA simulator.
SMALL = bool(os.environ.get("GPU_CHECK_SMALL"))


def exact_ties() -> list[str]:
    rng = np.random.default_rng(11)
    n = 300 if SMALL else 5000
    data = rng.integers(-3, 4, size=(n, 16)).astype(np.float32)
    queries = np.zeros((8, 16), np.float32)
    for q in queries:
        q[rng.choice(16, 4, replace=False)] = rng.choice([-1.0, 1.0], 4)
    mask = rng.random(n) < 0.3
    failures = []
    for metric in METRICS:
        cases = {
            "batch": (topk_batch(data, queries, 10, metric), topk_batch_cuda(data, queries, 10, metric)),
            "mask": (topk_batch(data, queries, 10, metric, mask=mask),
                     topk_batch_cuda(data, queries, 10, metric, mask=mask)),
            "single": (topk(data, queries[0], 10, metric), topk_cuda(data, queries[0], 10, metric)),
            "int8": (topk(quantize_int8(data), queries[1], 10, metric),
                     topk_cuda(quantize_int8(data), queries[1], 10, metric)),
        }
        for name, (cpu, gpu) in cases.items():
            if not np.array_equal(cpu[0], gpu[0]):
                failures.append(f"exact {metric} {name}")
    return failures


def random_agreement(n: int = 200_000, dim: int = 384, k: int = 10) -> dict:
    rng = np.random.default_rng(5)
    if SMALL:
        n, dim = 500, 8
    data = rng.standard_normal((n, dim), dtype=np.float32)
    queries = rng.standard_normal((4 if SMALL else 16, dim), dtype=np.float32)
    out = {}
    for metric in METRICS:
        cpu_ids, cpu_scores = topk_batch(data, queries, k + 1, metric)
        gpu_ids, _ = topk_batch_cuda(data, queries, k, metric)
        separated = np.abs(cpu_scores[:, k - 1] - cpu_scores[:, k]) > 1e-4 * np.abs(cpu_scores[:, k - 1]).clip(1)
        same = np.array([set(c[:k]) == set(g) for c, g in zip(cpu_ids, gpu_ids)])
        out[metric] = {"queries": len(queries), "separated": int(separated.sum()),
                       "agree_where_separated": int((same & separated).sum())}
    return out


def best(fn, repeat: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def timings(dim: int = 384, k: int = 10) -> list[dict]:
    rng = np.random.default_rng(7)
    rows = []
    if SMALL:
        dim = 8
    for n in (200, 400) if SMALL else (100_000, 1_000_000):
        data = rng.standard_normal((n, dim), dtype=np.float32)
        query = rng.standard_normal(dim, dtype=np.float32)
        queries = rng.standard_normal((4 if SMALL else 64, dim), dtype=np.float32)
        inv = inverse_norms(data)
        dev, dev_inv = to_device(data), to_device(inv)
        resident = {"device_data": dev, "device_inv_norms": dev_inv}
        cpu_one = best(lambda: topk(data, query, k, "cosine", inv_norms=inv))
        gpu_one = best(lambda: (topk_cuda(data, query, k, "cosine", inv_norms=inv, **resident), cuda.synchronize()))
        cpu_batch = best(lambda: topk_batch(data, queries, k, "cosine", inv_norms=inv), repeat=3)
        gpu_batch = best(lambda: (topk_batch_cuda(data, queries, k, "cosine", inv_norms=inv, **resident),
                                  cuda.synchronize()))
        rows.append({"rows": n, "cpu_single_ms": cpu_one * 1e3, "gpu_single_ms": gpu_one * 1e3,
                     "cpu_batch64_qps": len(queries) / cpu_batch, "gpu_batch64_qps": len(queries) / gpu_batch})
        del dev, dev_inv
    return rows


def onnx_cuda(rows: int = 4096) -> dict:
    """ONNX Runtime's CUDA provider beside its CPU provider on one exported model."""
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        return {"skipped": "onnxruntime has no CUDAExecutionProvider here (install conduit[ml-gpu], "
                           "onnxruntime-gpu, instead of onnxruntime)"}
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    from conduit.ml import OnnxModel

    rng = np.random.default_rng(3)
    X = rng.standard_normal((rows, 64)).astype(np.float32)
    estimator = LogisticRegression(max_iter=500).fit(X[:2000], X[:2000, 0] > 0)
    blob = to_onnx(estimator, X[:1], options={"zipmap": False}).SerializeToString()
    cpu = OnnxModel(blob, providers=["CPUExecutionProvider"])
    gpu = OnnxModel(blob, providers=["CUDAExecutionProvider"])
    equal = bool(np.array_equal(cpu.predict(X), gpu.predict(X)))
    cpu_s = best(lambda: cpu.predict(X))
    gpu_s = best(lambda: gpu.predict(X))
    return {"provider": gpu.provider, "fell_back": bool(getattr(gpu, "fell_back", False)), "labels_equal": equal,
            "rows": rows, "cpu_rows_per_s": rows / cpu_s, "gpu_rows_per_s": rows / gpu_s}


def main() -> int:
    if not cuda_available():
        print("no GPU on this machine (numba.cuda sees no CUDA device): nothing was run or measured, "
              "and no GPU figure is claimed")
        return 0
    name = getattr(cuda.get_current_device(), "name", b"simulator")
    report = {"gpu": name.decode() if isinstance(name, bytes) else str(name), "cpu_threads": os.cpu_count()}
    report["exact_tie_failures"] = exact_ties()
    report["random_agreement"] = random_agreement()
    report["timings"] = timings()
    report["onnxruntime_cuda"] = onnx_cuda()
    print(json.dumps(report, indent=2))
    print(f"\n{'rows':>9} {'CPU 1q ms':>10} {'GPU 1q ms':>10} {'CPU b64 q/s':>12} {'GPU b64 q/s':>12}")
    for r in report["timings"]:
        print(f"{r['rows']:>9} {r['cpu_single_ms']:>10.2f} {r['gpu_single_ms']:>10.2f} "
              f"{r['cpu_batch64_qps']:>12.0f} {r['gpu_batch64_qps']:>12.0f}")
    if len(sys.argv) > 1:
        with open(os.path.join(sys.argv[1], "gpu_check.json"), "w") as f:
            json.dump(report, f, indent=2)
    onnx = report["onnxruntime_cuda"]
    print(f"\nONNX Runtime: {json.dumps(onnx)}")
    return 1 if report["exact_tie_failures"] or onnx.get("labels_equal") is False else 0


if __name__ == "__main__":
    sys.exit(main())
