"""VectorStore(dtype="binary"): sign-code scan + float32 re-score, against exact ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from conduit.vector import VectorInputError, VectorStore

from test_store import numpy_ids  # the one exact reference (tests are not a package)

METRICS = ["cosine", "dot", "euclidean", "manhattan"]


@pytest.fixture
def rng():
    return np.random.default_rng(23)


def clustered(rng, n, dim, clusters=200, spread=0.6):
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    rows = centres[rng.integers(0, clusters, n)]
    rows += spread * rng.standard_normal((n, dim)).astype(np.float32)
    queries = centres[rng.integers(0, clusters, 40)]
    queries = queries + spread * rng.standard_normal(queries.shape).astype(np.float32)
    return rows, queries


def exact_ids(data, q, metric, k, allowed=None):
    """Exact ground truth (float64), ties by the lower row: test_store's reference."""
    return numpy_ids(data, q, metric, k, allowed)


@pytest.mark.parametrize("metric", METRICS)
def test_recall_at_10_against_exact_on_clustered_rows(rng, metric):
    data, queries = clustered(rng, 20_000, 128)
    store = VectorStore(128, metric=metric, dtype="binary", device="cpu")
    store.add(list(range(len(data))), data)
    single = [[h.id for h in store.search(q, k=10)] for q in queries]
    batch = [[h.id for h in hits] for hits in store.search_batch(queries, k=10)]
    assert single == batch
    hits = sum(len(set(got) & set(exact_ids(data, q, metric, 10)))
               for got, q in zip(single, queries))
    assert hits / (10 * len(queries)) >= 0.99


def test_scores_are_exact_float32_scores_best_first(rng):
    data, queries = clustered(rng, 3_000, 64)
    store = VectorStore(64, dtype="binary", device="cpu")
    store.add(list(range(len(data))), data)
    hits = store.search(queries[0], k=10)
    q = queries[0] / np.linalg.norm(queries[0])
    for h in hits:
        row = data[h.id] / np.linalg.norm(data[h.id])
        assert h.score == pytest.approx(float(row @ q), abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_small_store_returns_everything_it_holds(rng):
    data = rng.standard_normal((7, 5)).astype(np.float32)
    store = VectorStore(5, metric="euclidean", dtype="binary", device="cpu")
    store.add(list("abcdefg"), data)
    got = [h.id for h in store.search(data[2], k=50)]
    assert got == [list("abcdefg")[i] for i in exact_ids(data, data[2], "euclidean", 7)]


@pytest.mark.parametrize("every", [2, 100, 1000])
def test_filtered_search_equals_exact_over_the_matching_rows(rng, every):
    data, queries = clustered(rng, 5_000, 32)
    store = VectorStore(32, dtype="binary", device="cpu")
    store.add(list(range(len(data))), data, [{"g": i % every} for i in range(len(data))])
    allowed = np.arange(len(data)) % every == 0
    for q in queries[:5]:
        got = [h.id for h in store.search(q, k=10, filter={"g": 0})]
        want = exact_ids(data, q, "cosine", 10, allowed)
        assert all(allowed[i] for i in got) and len(got) == len(want)
        assert len(set(got) & set(want)) >= min(9, len(want))


def test_writes_rebuild_the_codes(rng):
    data, _ = clustered(rng, 2_000, 16)
    store = VectorStore(16, dtype="binary", device="cpu")
    store.add(list(range(len(data))), data)
    far = np.full(16, 50.0, np.float32)
    assert store.search(far, k=1)[0].id != "new"
    store.add(["new"], far)
    assert store.search(far, k=1)[0].id == "new"
    store.upsert([5], -far)
    assert store.search(-far, k=1)[0].id == 5
    store.delete(["new"])
    assert "new" not in [h.id for h in store.search(far, k=10)]


def test_save_and_load_round_trip_keeps_binary(rng, tmp_path):
    data, queries = clustered(rng, 4_000, 48)
    store = VectorStore(48, metric="dot", dtype="binary", device="cpu")
    store.add(list(range(len(data))), data, [{"i": i} for i in range(len(data))])
    store.save(str(tmp_path / "s"))
    loaded = VectorStore.load(str(tmp_path / "s"), device="cpu")
    assert loaded.dtype == "binary" and len(loaded) == len(data)
    for q in queries[:5]:
        assert [h.to_dict() for h in loaded.search(q, k=10)] == \
            [h.to_dict() for h in store.search(q, k=10)]


def test_binary_with_hnsw_index_is_refused():
    with pytest.raises(VectorInputError, match="float32"):
        VectorStore(8, dtype="binary", index="hnsw")


def test_unknown_dtype_lists_binary():
    with pytest.raises(VectorInputError, match="binary"):
        VectorStore(8, dtype="bits")
