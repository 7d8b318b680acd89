"""Approximate top-10 search under asv: HNSW in Conduit's kernels beside hnswlib, usearch, faiss.

The measurement is :func:`hnsw_curve.measure` (its docstring describes data, settings
and peers); it runs once per size in ``setup_cache`` (building four indexes is far too
slow to repeat per sample) and each figure is reported as a ``track_`` value, so one
``asv run`` gives the whole table. Sizes come from ``CONDUIT_HNSW_SIZES``
(default ``100000x384,1000000x128``; the 2-core project machine used
``100000x384,300000x128``, see docs/benchmarks.md). The plot comes from running
``hnsw_curve.py`` as a script.

Run::

    cd asv_bench && CONDUIT_HNSW_SIZES=100000x384 PYTHONPATH=$PWD/..:$PWD/../kernels \\
        asv run --python=same -b hnsw --show-stderr
"""

from __future__ import annotations

import os

from .hnsw_curve import EF_SWEEP, LIBRARIES, measure

SIZES = os.environ.get("CONDUIT_HNSW_SIZES", "100000x384,1000000x128").split(",")
NAMES = [lib.name for lib in LIBRARIES]


class HnswCurve:
    params = [SIZES, NAMES, list(EF_SWEEP)]
    param_names = ["size", "library", "ef"]
    timeout = 7200

    def setup_cache(self):
        out = {}
        for size in SIZES:
            n, dim = (int(v) for v in size.lower().split("x"))
            out[size] = measure(n, dim)
        return out

    @staticmethod
    def _point(cache, size, library, ef):
        return next(p for p in cache[size][library]["curve"] if p["ef"] == ef)

    def track_recall_at_10(self, cache, size, library, ef):
        return self._point(cache, size, library, ef)["recall"]

    def track_queries_per_second_single(self, cache, size, library, ef):
        return self._point(cache, size, library, ef)["qps_single"]

    def track_queries_per_second_batch(self, cache, size, library, ef):
        return self._point(cache, size, library, ef)["qps_batch"]

    def track_build_seconds(self, cache, size, library, ef):
        return cache[size][library]["build_s"]

    def track_index_mebibytes(self, cache, size, library, ef):
        return cache[size][library]["bytes"] / 2**20

    track_recall_at_10.unit = "recall@10"
    track_queries_per_second_single.unit = "queries/s"
    track_queries_per_second_batch.unit = "queries/s"
    track_build_seconds.unit = "seconds"
    track_index_mebibytes.unit = "MiB"
