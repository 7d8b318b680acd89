"""VectorStore(index="hnsw"): the same API as the exact store, answers close to it."""

from __future__ import annotations

import numpy as np
import pytest

from conduit.vector import HnswConfig, Hit, VectorInputError, VectorStore

N, DIM = 2000, 16


@pytest.fixture
def rng():
    return np.random.default_rng(140)


def pair(rng, metric="cosine", config="hnsw"):
    data = rng.standard_normal((N, DIM)).astype(np.float32)
    ids = [f"d{i}" for i in range(N)]
    meta = [{"group": i % 10, "n": i} for i in range(N)]
    stores = VectorStore(DIM, metric, device="cpu"), VectorStore(DIM, metric, device="cpu",
                                                                index=config)
    for store in stores:
        store.add(ids, data, meta)
    return stores, data


def recall(a, b):
    return np.mean([len({h.id for h in x} & {h.id for h in y}) / len(x) for x, y in zip(a, b)])


@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean", "manhattan"])
def test_hnsw_store_finds_what_the_exact_store_finds(rng, metric):
    (exact, approx), _ = pair(rng, metric, HnswConfig(M=12, ef_construction=100, ef=64))
    assert approx.index == "hnsw" and exact.index == "exact"
    queries = rng.standard_normal((20, DIM)).astype(np.float32)
    got, want = approx.search_batch(queries, k=10), exact.search_batch(queries, k=10)
    assert recall(want, got) >= 0.95
    hit = got[0][0]
    assert isinstance(hit, Hit) and hit.metadata["n"] == int(hit.id[1:])
    assert [h.id for h in approx.search(queries[0], k=10)] == [h.id for h in got[0]]


def test_filters_apply_to_hnsw_results(rng):
    (exact, approx), _ = pair(rng)
    q = rng.standard_normal(DIM).astype(np.float32)
    for spec in ({"group": 3}, {"n": {"$lt": 40}}, {"group": {"$in": [1, 2, 3, 4, 5, 6]}}):
        got = approx.search(q, k=10, filter=spec)
        want = exact.search(q, k=10, filter=spec)
        assert recall([want], [got]) >= 0.9
        assert all(exact.get(h.id) is not None for h in got)
    assert all(h.metadata["group"] == 3 for h in approx.search(q, k=10, filter={"group": 3}))
    assert approx.search(q, k=5, filter={"group": 99}) == []


def test_writes_keep_the_index_in_step(rng):
    (exact, approx), data = pair(rng, "euclidean")
    doomed = [f"d{i}" for i in range(0, N, 3)]  # past the rebuild fraction
    for store in (exact, approx):
        assert store.delete(doomed) == len(doomed)
    new = rng.standard_normal((3, DIM)).astype(np.float32) * 5
    for store in (exact, approx):
        store.upsert(["d1", "fresh"], new[:2], [{"group": -1}, {"group": -2}])
    assert len(approx) == len(exact) == N - len(doomed) + 1
    assert approx.search(new[0], k=1)[0].id == "d1"
    assert approx.search(new[1], k=1)[0].id == "fresh"
    assert approx.search(data[1], k=1)[0].id != "d1"  # the old vector is gone
    queries = rng.standard_normal((20, DIM)).astype(np.float32)
    got = approx.search_batch(queries, k=10)
    assert not {h.id for hits in got for h in hits} & set(doomed)
    assert recall(exact.search_batch(queries, k=10), got) >= 0.95


def test_save_load_round_trip(tmp_path, rng):
    (_, approx), _ = pair(rng)
    approx.delete(["d5", "d6"])
    queries = rng.standard_normal((10, DIM)).astype(np.float32)
    before = [[h.id for h in hits] for hits in approx.search_batch(queries, k=10)]
    approx.save(tmp_path / "s")
    approx.save(tmp_path / "s")
    assert len([p for p in (tmp_path / "s").iterdir() if p.name.startswith("hnsw-")]) == 1
    loaded = VectorStore.load(tmp_path / "s")
    assert loaded.index == "hnsw"
    assert [[h.id for h in hits] for hits in loaded.search_batch(queries, k=10)] == before
    assert VectorStore.load(tmp_path / "s", index="exact").index == "exact"
    loaded.add(["new"], queries[:1])
    assert loaded.search(queries[0], k=1)[0].id == "new"


def test_load_rebuilds_an_index_that_does_not_match_the_rows(tmp_path, rng):
    """An exact store saved over an HNSW one leaves a stale index: it must not answer."""
    (_, approx), _ = pair(rng)
    approx.save(tmp_path / "s")
    other = VectorStore(DIM, device="cpu")
    other.add(["x", "y", "z"], rng.standard_normal((3, DIM)))
    other.save(tmp_path / "s")  # the old hnsw-<fingerprint> directory stays
    loaded = VectorStore.load(tmp_path / "s")
    assert loaded.index == "hnsw" and len(loaded) == 3
    q = rng.standard_normal(DIM).astype(np.float32)
    assert [h.id for h in loaded.search(q, k=3)] == [h.id for h in other.search(q, k=3)]


@pytest.mark.parametrize("kwargs, message", [
    ({"index": "ivf"}, "index must be"),
    ({"index": "hnsw", "dtype": "int8"}, "float32"),
    ({"index": "hnsw", "device": "cuda"}, "CPU"),
    ({"index": HnswConfig(M=1)}, "M must be"),
])
def test_bad_index_options(kwargs, message):
    with pytest.raises(VectorInputError, match=message) as info:
        VectorStore(DIM, **kwargs)
    assert info.value.field == "index"
