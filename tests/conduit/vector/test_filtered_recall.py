"""Filtered search holds recall at 1% and 0.1% selectivity (issue 23), against exact ground truth.

The HNSW index estimates how many rows a filter allows (the mask is evaluated
first) and answers from an exact scan of those rows below ``sqrt(ef * 2M * n)``,
from the filtered graph walk above it; both routes are checked here, through the
store (``index="hnsw"`` and the binary codes) and through the index itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from conduit.vector import VectorStore
from conduit_kernels.hnsw import HnswIndex

N, DIM, K = 20_000, 48, 10


@pytest.fixture(scope="module")
def clustered():
    rng = np.random.default_rng(31)
    centres = rng.standard_normal((100, DIM)).astype(np.float32)
    rows = centres[rng.integers(0, 100, N)] + 0.6 * rng.standard_normal((N, DIM), dtype=np.float32)
    queries = centres[rng.integers(0, 100, 30)] + 0.6 * rng.standard_normal((30, DIM),
                                                                              dtype=np.float32)
    return rows, queries


@pytest.fixture(scope="module")
def hnsw_store(clustered):
    rows, _ = clustered
    store = VectorStore(DIM, index="hnsw", device="cpu")
    store.add(list(range(N)), rows, [{"bucket": i % 1000} for i in range(N)])
    return store


@pytest.fixture(scope="module")
def index(clustered):
    rows, _ = clustered
    built = HnswIndex(DIM, "cosine", M=16, ef_construction=100, ef=64)
    built.add(rows)
    return built


def exact(rows, q, allowed):
    x = rows[allowed] / np.linalg.norm(rows[allowed], axis=1, keepdims=True)
    s = x @ (q / np.linalg.norm(q))
    return set(allowed[np.argsort(-s, kind="stable")[:K]].tolist())


def recall(got_sets, want_sets):
    return np.mean([len(g & w) / len(w) for g, w in zip(got_sets, want_sets)])


# 1% of rows: buckets 0..9 of 1000; 0.1%: bucket 0
SELECTIVITIES = {"1%": {"bucket": {"$lt": 10}}, "0.1%": {"bucket": 0}}


@pytest.mark.parametrize("name", list(SELECTIVITIES))
def test_hnsw_store_filtered_recall_holds(clustered, hnsw_store, name):
    rows, queries = clustered
    spec = SELECTIVITIES[name]
    allowed = np.flatnonzero(np.array([
        (i % 1000 < 10) if name == "1%" else (i % 1000 == 0) for i in range(N)]))
    got = [{h.id for h in hnsw_store.search(q, k=K, filter=spec)} for q in queries]
    assert all(g <= set(allowed.tolist()) for g in got)
    assert recall(got, [exact(rows, q, allowed) for q in queries]) >= 0.95


@pytest.mark.parametrize("name", list(SELECTIVITIES))
def test_binary_store_filtered_recall_holds(clustered, name):
    rows, queries = clustered
    store = VectorStore(DIM, dtype="binary", device="cpu")
    store.add(list(range(N)), rows, [{"bucket": i % 1000} for i in range(N)])
    allowed = np.flatnonzero((np.arange(N) % 1000 < 10) if name == "1%" else
                             (np.arange(N) % 1000 == 0))
    got = [{h.id for h in store.search(q, k=K, filter=SELECTIVITIES[name])} for q in queries]
    assert recall(got, [exact(rows, q, allowed) for q in queries]) >= 0.95


@pytest.mark.parametrize("selectivity", [0.01, 0.001])
@pytest.mark.parametrize("route", ["estimate", "graph walk"])
def test_hnsw_index_filtered_recall_holds_on_both_routes(clustered, index, selectivity, route):
    rows, queries = clustered
    mask = np.random.default_rng(4).random(N) < selectivity
    allowed = np.flatnonzero(mask)
    exact_below = None if route == "estimate" else 0  # 0 forces the filtered graph walk
    got = [set(index.search(q, K, mask=mask, exact_below=exact_below)[0].tolist()) - {-1}
           for q in queries[:10]]
    assert all(g <= set(allowed.tolist()) for g in got)
    assert recall(got, [exact(rows, q, allowed) for q in queries[:10]]) >= 0.95
