"""HNSW beside hnswlib on a small clustered set, in one process (issue 23).

30,000 x 128 float32 rows around 100 Gaussian centres (seed 23), 1,000 queries from the
same centres, euclidean, M=16, ef_construction=200, both libraries built from the same
rows in ``setup_cache``. Measured in CPU time, not wall time (the project machine is
shared: wall time swung 2x between runs of the same code): the calling thread's CPU
time for single queries (three alternating rounds, median), the whole process's for
builds and batches (both libraries use threads; Conduit's idle workers do not spin).
Reported as ratios to hnswlib in the same process; ``track_load_average`` records the
1-minute load. The larger
curves (100k x 384, 1M x 128, usearch and faiss too) are ``hnsw.py``.

Before/after a kernel change: run this suite with ``PYTHONPATH`` pointing at each tree
(``git archive <commit> | tar -x -C /tmp/old``; ``PYTHONPATH=/tmp/old:/tmp/old/kernels``).
"""

from __future__ import annotations

import os
import time

import numpy as np

N, DIM, N_QUERIES, EFS = 30_000, 128, 1_000, (32, 64)


def _data():
    rng = np.random.default_rng(23)
    centres = rng.standard_normal((100, DIM)).astype(np.float32) * 3
    rows = (centres[rng.integers(0, 100, N)] + rng.standard_normal((N, DIM))).astype(np.float32)
    queries = (centres[rng.integers(0, 100, N_QUERIES)]
               + rng.standard_normal((N_QUERIES, DIM))).astype(np.float32)
    return rows, queries


def _recall(labels, truth):
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(labels, truth)]))


class HnswBesideHnswlib:
    timeout = 1200
    params = [list(EFS)]
    param_names = ["ef"]

    def setup_cache(self):
        import hnswlib

        from conduit_kernels.hnsw import HnswIndex

        rows, queries = _data()
        dist = (queries ** 2).sum(1)[:, None] - 2 * queries @ rows.T + (rows ** 2).sum(1)[None, :]
        truth = np.argsort(dist, axis=1)[:, :10]
        ours = HnswIndex(DIM, "euclidean", M=16, ef_construction=200)
        start = time.process_time()
        ours.add(rows)
        build_ours = time.process_time() - start
        peer = hnswlib.Index("l2", DIM)
        peer.init_index(N, M=16, ef_construction=200, random_seed=0)
        start = time.process_time()
        peer.add_items(rows)
        build_peer = time.process_time() - start
        out = {"build": build_ours / build_peer, "load": os.getloadavg()[0]}
        for ef in EFS:
            peer.set_ef(ef)
            ours.search_batch(queries[:10], 10, ef=ef)
            single = {"ours": [], "peer": []}
            for _ in range(3):  # alternating rounds
                start = time.thread_time()
                for q in queries[:300]:
                    ours.search(q, 10, ef=ef)
                single["ours"].append(time.thread_time() - start)
                start = time.thread_time()
                for q in queries[:300]:
                    peer.knn_query(q, k=10)
                single["peer"].append(time.thread_time() - start)
            start = time.process_time()
            labels, _ = ours.search_batch(queries, 10, ef=ef)
            batch_ours = time.process_time() - start
            start = time.process_time()
            peer_labels, _ = peer.knn_query(queries, k=10)
            batch_peer = time.process_time() - start
            out[ef] = {"recall": _recall(labels, truth), "recall_peer": _recall(peer_labels, truth),
                       "single": np.median(single["peer"]) / np.median(single["ours"]),
                       "single_us": np.median(single["ours"]) / 300 * 1e6,
                       "batch": batch_peer / batch_ours}
        return out

    def track_build_time_over_hnswlib(self, cache, ef):
        return cache["build"]

    def track_single_query_speed_over_hnswlib(self, cache, ef):
        return cache[ef]["single"]

    def track_single_query_microseconds(self, cache, ef):
        return cache[ef]["single_us"]

    def track_batch_qps_over_hnswlib(self, cache, ef):
        return cache[ef]["batch"]

    def track_recall_at_10(self, cache, ef):
        return cache[ef]["recall"]

    def track_recall_at_10_hnswlib(self, cache, ef):
        return cache[ef]["recall_peer"]

    def track_load_average(self, cache, ef):
        return cache["load"]

    track_build_time_over_hnswlib.unit = "x hnswlib's time"
    track_single_query_speed_over_hnswlib.unit = "x hnswlib's speed"
    track_single_query_microseconds.unit = "CPU us"
    track_batch_qps_over_hnswlib.unit = "x hnswlib's queries per CPU second"
    track_recall_at_10.unit = "recall@10"
    track_recall_at_10_hnswlib.unit = "recall@10"
    track_load_average.unit = "load"
