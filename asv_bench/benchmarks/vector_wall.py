"""Exact search at the memory wall and past it, and filtered search (issue 23), in one process.

Data: a generated clustered set, 100,000 x 384 float32 rows around 1,000 Gaussian
centres (seed 23), normalised; 200 queries drawn from the same centres. Peers in
the same process, alternating rounds (5 rounds x 40 queries; the figure is the
median over rounds of each round's median wall time per query):

* ``numpy``: ``X @ q`` on the normalised rows + ``argpartition`` + sort of the 10
  (the one-query peer for every metric: on normalised rows all four rank alike
  except manhattan, which numpy has no matrix-vector form for);
* Conduit ``topk`` (float32, each metric), and the binary path ``VectorStore``
  takes for ``dtype="binary"``: ``hamming_candidates`` (pool ``max(32k, 256)``)
  then ``topk`` over the pool; its recall@10 is against the exact float32 answer.

Filtered search (1% and 0.1% of rows allowed, a random mask), on a 50,000 x 128
clustered set (cosine, M=16, ef_construction=200, ef=64): ``HnswIndex.search`` with
the mask (it estimates the allowed count and answers from an exact scan of the
allowed rows below ``sqrt(ef * 2M * n)``, from the graph above), beside hnswlib's
``filter=`` and faiss ``IndexHNSWFlat`` with an ``IDSelectorBitmap``; latency over
the unfiltered HNSW query of the same library; recall@10 against exact ground truth
(50 queries; time: 3 alternating rounds of 20, hnswlib's Python filter being slow).

Run all of it, printed as markdown rows with the 1-minute load average (about 2-3
minutes on 2 idle cores)::

    PYTHONPATH=$PWD:$PWD/kernels python asv_bench/benchmarks/vector_wall.py
"""

from __future__ import annotations

import os
import time

import numpy as np

N, DIM, CENTRES, N_QUERIES, K = 100_000, 384, 1_000, 200, 10
ROUNDS, PER_ROUND = 5, 40
METRICS = ("cosine", "dot", "euclidean", "manhattan")
F_N, F_DIM, SELECTIVITIES = 50_000, 128, (0.01, 0.001)


def clustered(n, dim, centres, n_queries, seed=23):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim)).astype(np.float32)
    rows = c[rng.integers(0, centres, n)] + 0.6 * rng.standard_normal((n, dim), dtype=np.float32)
    qs = c[rng.integers(0, centres, n_queries)]
    qs = qs + 0.6 * rng.standard_normal(qs.shape, dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    return rows, qs


def numpy_topk(rows, q, k=K):
    s = rows @ q
    idx = np.argpartition(-s, k)[:k]
    return idx[np.argsort(-s[idx])]


def alternate(contenders: dict, queries, rounds=ROUNDS, per_round=PER_ROUND) -> dict:
    """Median over rounds of each round's median seconds per query, contenders alternating."""
    per = {name: [] for name in contenders}
    for r in range(rounds):
        batch = queries[(r * per_round) % len(queries):][:per_round]
        for name, fn in contenders.items():
            times = []
            for q in batch:
                start = time.perf_counter()
                fn(q)
                times.append(time.perf_counter() - start)
            per[name].append(float(np.median(times)))
    return {name: float(np.median(v)) for name, v in per.items()}


def recall(got, truth):
    return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(got, truth)]))


def wall():
    """Single-query exact search: float32 per metric and binary + rerank, beside numpy."""
    from conduit_kernels.binary import hamming_candidates, quantize_binary
    from conduit_kernels.topk import topk

    rows, qs = clustered(N, DIM, CENTRES, N_QUERIES)
    inv = np.ones(N, np.float32)
    codes = quantize_binary(rows, normalise=True)
    pool = max(32 * K, 256)

    def binary(q):
        return topk(rows, q, K, "cosine", inv_norms=inv, rows=hamming_candidates(codes, q, pool))[0]

    contenders = {"numpy": lambda q: numpy_topk(rows, q)}
    for m in METRICS:
        contenders[m] = (lambda q, m=m: topk(rows, q, K, m, inv_norms=inv if m == "cosine" else None))
    contenders["binary"] = binary
    for fn in contenders.values():
        fn(qs[0])  # compile / load from cache
    load = os.getloadavg()[0]
    times = alternate(contenders, qs)
    truth = [numpy_topk(rows, q) for q in qs]
    return {"times": times, "load": load, "binary_recall": recall([binary(q) for q in qs], truth),
            "fp32_bytes": rows.nbytes, "binary_bytes": codes.nbytes}


def filtered():
    """1% and 0.1% filters: Conduit HNSW (exact fallback), hnswlib filter=, faiss IDSelector."""
    import hnswlib

    from conduit_kernels.hnsw import HnswIndex

    rows, qs = clustered(F_N, F_DIM, 200, N_QUERIES, seed=24)
    ours = HnswIndex(F_DIM, "cosine", M=16, ef_construction=200, ef=64)
    ours.add(rows)
    peer = hnswlib.Index("ip", F_DIM)
    peer.init_index(F_N, M=16, ef_construction=200, random_seed=0)
    peer.add_items(rows)
    peer.set_ef(64)
    try:
        import faiss
    except ImportError:  # faiss-cpu is optional in the bench extra
        faiss = None
    if faiss is not None:
        fidx = faiss.IndexHNSWFlat(F_DIM, 16, faiss.METRIC_INNER_PRODUCT)
        fidx.hnsw.efConstruction = 200
        fidx.add(rows)
        fidx.hnsw.efSearch = 64
    rng = np.random.default_rng(5)
    out = {"load": os.getloadavg()[0], "rows": {}}
    base = {"conduit": lambda q: ours.search(q, K),
            "hnswlib": lambda q: peer.knn_query(q, k=K)}
    if faiss is not None:
        base["faiss"] = lambda q: fidx.search(q[None, :], K)
    for fn in base.values():
        fn(qs[0])
    unfiltered = alternate(base, qs)
    for sel in SELECTIVITIES:
        mask = rng.random(F_N) < sel
        allowed = np.flatnonzero(mask)
        truth = [allowed[numpy_topk(rows[allowed], q, min(K, len(allowed)))] for q in qs]
        contenders = {"conduit": lambda q: ours.search(q, K, mask=mask)[0],
                      "hnswlib": lambda q: peer.knn_query(q, k=K, filter=lambda i: mask[i])[0][0]}
        if faiss is not None:
            params = faiss.SearchParametersHNSW(
                sel=faiss.IDSelectorBitmap(np.packbits(mask, bitorder="little")), efSearch=64)
            contenders["faiss"] = lambda q: fidx.search(q[None, :], K, params=params)[1][0]
        # hnswlib calls its Python filter once per visited node: 30-130 ms a query at these
        # selectivities, so recall is taken over 50 queries and time over 3 rounds of 20
        got = {name: [fn(q) for q in qs[:50]] for name, fn in contenders.items()}
        times = alternate(contenders, qs, rounds=3, per_round=20)
        out["rows"][sel] = {name: {"us": times[name] * 1e6, "over": times[name] / unfiltered[name],
                                   "recall": recall(got[name], truth[:50])}
                               for name in contenders}
    return out


class ExactAtTheMemoryWall:
    """asv face of :func:`wall` (one measurement, several tracked figures)."""

    timeout = 900

    def setup_cache(self):
        return wall()

    def track_float32_cosine_speed_over_numpy(self, cache):
        return cache["times"]["numpy"] / cache["times"]["cosine"]

    def track_binary_speed_over_numpy(self, cache):
        return cache["times"]["numpy"] / cache["times"]["binary"]

    def track_binary_recall_at_10(self, cache):
        return cache["binary_recall"]

    def track_load_average(self, cache):
        return cache["load"]

    track_float32_cosine_speed_over_numpy.unit = "x numpy's speed"
    track_binary_speed_over_numpy.unit = "x numpy's speed"
    track_binary_recall_at_10.unit = "recall@10"
    track_load_average.unit = "load"


class FilteredRecall:
    """asv face of :func:`filtered`."""

    timeout = 900
    params = [list(SELECTIVITIES)]
    param_names = ["selectivity"]

    def setup_cache(self):
        return filtered()

    def track_recall_at_10(self, cache, selectivity):
        return cache["rows"][selectivity]["conduit"]["recall"]

    def track_latency_over_unfiltered(self, cache, selectivity):
        return cache["rows"][selectivity]["conduit"]["over"]

    track_recall_at_10.unit = "recall@10"
    track_latency_over_unfiltered.unit = "x the unfiltered query"


def main():
    w = wall()
    t, load = w["times"], w["load"]
    print(f"| exact one query, {N // 1000}k x {DIM} clustered | time | x numpy | load |")
    print("|---|---|---|---|")
    for name in ("numpy",) + METRICS + ("binary",):
        extra = ""
        if name == "binary":
            extra = (f" (recall@10 {w['binary_recall']:.3f}; codes {w['binary_bytes'] / 2**20:.1f}"
                     f" MiB vs float32 {w['fp32_bytes'] / 2**20:.1f} MiB)")
        label = name if name in ("numpy", "binary") else f"conduit float32 {name}"
        print(f"| {label}{extra} | {t[name] * 1e3:.3f} ms | {t['numpy'] / t[name]:.2f}x | "
              f"{load:.2f} |")
    f = filtered()
    print()
    print(f"| filtered, {F_N // 1000}k x {F_DIM} clustered | selectivity | µs | x unfiltered |"
          " recall@10 | load |")
    print("|---|---|---|---|---|---|")
    for sel, row in f["rows"].items():
        for name, v in row.items():
            print(f"| {name} | {sel:.1%} | {v['us']:.0f} | {v['over']:.2f}x | {v['recall']:.3f} |"
                  f" {f['load']:.2f} |")


if __name__ == "__main__":
    main()
