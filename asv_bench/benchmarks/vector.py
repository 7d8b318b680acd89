"""Exact top-10 search, dim 384: Conduit's kernels beside numpy, faiss-cpu and hnswlib.

Peers, same data, same run:
* numpy: ``X @ q`` (or ``Q @ X.T``) on pre-normalised rows + ``argpartition`` + sort;
* faiss-cpu ``IndexFlatIP`` (exact) on the same normalised rows;
* hnswlib (approximate, M=16, ef=64; for context only; index built in setup, 10k/100k).
Conduit: ``topk`` / ``topk_batch`` (cosine, cached inverse norms) and the int8 scan.
Data: standard normal float32, fixed seed; 1M x 384 float32 is 1.5 GB.
Kernels are compiled (or loaded from Numba's cache) in ``setup``.

Run (about 5-8 minutes on 2 cores)::

    cd asv_bench && PYTHONPATH=$PWD/..:$PWD/../kernels \
        asv run --python=same --bench 'vector|tfidf' --show-stderr
"""

from __future__ import annotations

import numpy as np

from conduit_kernels.distances import inverse_norms, quantize_int8
from conduit_kernels.topk import topk, topk_batch

DIM = 384
K = 10
SIZES = [10_000, 100_000, 1_000_000]


def make(n: int, m: int = 64):
    rng = np.random.default_rng(42)
    data = rng.standard_normal((n, DIM), dtype=np.float32)
    queries = rng.standard_normal((m, DIM), dtype=np.float32)
    return data, queries


def numpy_topk(normed, q):
    s = normed @ q
    idx = np.argpartition(-s, K)[:K]
    return idx[np.argsort(-s[idx])]


class _Search:
    params = [SIZES]
    param_names = ["n"]
    timeout = 600
    number = 1
    repeat = (3, 10, 30.0)
    warmup_time = 0.5

    def setup(self, n):
        self.data, self.queries = make(n)
        self.inv = inverse_norms(self.data)
        self.normed = self.data * self.inv[:, None]
        self.qn = self.queries / np.linalg.norm(self.queries, axis=1, keepdims=True)
        self.codes = quantize_int8(self.data)
        self.q = self.queries[0]
        self._faiss = None
        self._hnsw = None

    def faiss_index(self):
        if self._faiss is None:
            import faiss

            self._faiss = faiss.IndexFlatIP(DIM)
            self._faiss.add(self.normed)
        return self._faiss

    def hnsw_index(self, n):
        if n > 100_000:
            raise NotImplementedError("hnswlib build at 1M takes too long for this suite")
        import hnswlib

        index = hnswlib.Index(space="ip", dim=DIM)
        index.init_index(max_elements=n, M=16, ef_construction=64, random_seed=1)
        index.add_items(self.normed, np.arange(n))
        index.set_ef(64)
        return index


class TopKSingle(_Search):
    """Latency of one query (ms scale)."""

    def setup(self, n):
        super().setup(n)
        topk(self.data, self.q, K, "cosine", inv_norms=self.inv)
        topk(self.codes, self.q, K, "cosine")

    def time_conduit_float32(self, n):
        topk(self.data, self.q, K, "cosine", inv_norms=self.inv)

    def time_conduit_int8(self, n):
        topk(self.codes, self.q, K, "cosine")

    def time_numpy(self, n):
        numpy_topk(self.normed, self.qn[0])

    def time_faiss(self, n):
        self.faiss_index().search(self.qn[:1], K)

    def track_recall_int8(self, n):
        want = {int(i) for i in numpy_topk(self.normed, self.qn[0])}
        return len(want & set(topk(self.codes, self.q, K, "cosine")[0].tolist())) / K

    track_recall_int8.unit = "recall@10"


class TopKSingleHnsw(_Search):
    params = [SIZES[:2]]

    def setup(self, n):
        super().setup(n)
        self.index = self.hnsw_index(n)

    def time_hnswlib_approx(self, n):
        self.index.knn_query(self.qn[:1], k=K)


class TopKBatch64(_Search):
    """64 queries at once (throughput = 64 / time)."""

    def setup(self, n):
        super().setup(n)
        topk_batch(self.data, self.queries, K, "cosine", inv_norms=self.inv)
        topk_batch(self.codes, self.queries, K, "cosine")
        self.faiss_index()

    def time_conduit_float32(self, n):
        topk_batch(self.data, self.queries, K, "cosine", inv_norms=self.inv)

    def time_conduit_int8(self, n):
        topk_batch(self.codes, self.queries, K, "cosine")

    def time_numpy(self, n):
        s = self.qn @ self.normed.T
        idx = np.argpartition(-s, K, axis=1)[:, :K]
        np.take_along_axis(s, idx, 1).argsort(axis=1)

    def time_faiss(self, n):
        self.faiss_index().search(self.qn, K)


class FilteredSearch(_Search):
    """10% selectivity filter inside the scan, beside the unfiltered scan (100k rows)."""

    params = [[100_000]]

    def setup(self, n):
        super().setup(n)
        rng = np.random.default_rng(1)
        self.mask = rng.random(n) < 0.10
        self.rows = np.flatnonzero(self.mask)
        for kw in ({}, {"mask": self.mask}, {"rows": self.rows}):
            topk(self.data, self.q, K, "cosine", inv_norms=self.inv, **kw)

    def time_unfiltered(self, n):
        topk(self.data, self.q, K, "cosine", inv_norms=self.inv)

    def time_filtered_mask(self, n):
        topk(self.data, self.q, K, "cosine", inv_norms=self.inv, mask=self.mask)

    def time_filtered_rows(self, n):
        topk(self.data, self.q, K, "cosine", inv_norms=self.inv, rows=self.rows)


class StoreSearch:
    """VectorStore.search end to end (validation, kernel, hits) at 1,000 documents."""

    params = [[1_000]]
    param_names = ["n"]

    def setup(self, n):
        from conduit.vector import VectorStore

        data, queries = make(n)
        self.store = VectorStore(DIM, device="cpu")
        self.store.add(list(range(n)), data, [{"group": i % 10} for i in range(n)])
        self.q = queries[0]
        self.store.search(self.q, K)
        self.store.search(self.q, K, filter={"group": 3})

    def time_search(self, n):
        self.store.search(self.q, K)

    def time_search_filtered(self, n):
        self.store.search(self.q, K, filter={"group": 3})


def timeraw_first_search_warm_cache():
    """Import + first search in a fresh interpreter, Numba's cache already warm."""
    return """
import numpy as np
from conduit_kernels.topk import topk
topk(np.ones((100, 8), np.float32), np.ones(8, np.float32), 3, "cosine")
""", """
import numpy as np
from conduit_kernels.topk import topk
topk(np.ones((10, 8), np.float32), np.ones(8, np.float32), 3, "cosine")
"""
