"""VectorStore: search against numpy, writes, filters, persistence, concurrency, bad input."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from conduit.vector import Hit, VectorInputError, VectorStore

METRICS = ["cosine", "dot", "euclidean", "manhattan"]


@pytest.fixture
def rng():
    return np.random.default_rng(21)


def numpy_ids(data, q, metric, k, allowed=None):
    x, q = data.astype(np.float64), q.astype(np.float64)
    if metric == "cosine":
        s = -(x @ q) / (np.linalg.norm(x, axis=1) * np.linalg.norm(q))
    elif metric == "dot":
        s = -(x @ q)
    elif metric == "euclidean":
        s = ((x - q) ** 2).sum(1)
    else:
        s = np.abs(x - q).sum(1)
    order = np.lexsort((np.arange(len(s)), s))
    if allowed is not None:
        order = order[allowed[order]]
    return order[:k].tolist()


def filled(rng, metric="cosine", n=500, dim=16, dtype="float32"):
    store = VectorStore(dim, metric=metric, dtype=dtype, device="cpu")
    data = rng.standard_normal((n, dim)).astype(np.float32)
    store.add(list(range(n)), data, [{"group": i % 10, "name": f"n{i}", "even": i % 2 == 0}
                                     for i in range(n)])
    return store, data


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_search_matches_numpy(rng, metric, dtype):
    store, data = filled(rng, metric, dtype=dtype)
    queries = rng.standard_normal((5, 16)).astype(np.float32)
    batch = store.search_batch(queries, k=10)
    for q, hits in zip(queries, batch):
        want = numpy_ids(data, q, metric, 10)
        single = store.search(q, k=10)
        assert [h.id for h in single] == want
        assert [h.id for h in hits] == want
        assert all(isinstance(h, Hit) and h.metadata["name"] == f"n{h.id}" for h in hits)
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=store.higher_is_better)


def test_k_equals_size_and_k_one(rng):
    store, data = filled(rng, n=30)
    assert [h.id for h in store.search(data[3], k=30)] == numpy_ids(data, data[3], "cosine", 30)
    assert store.search(data[3], k=1)[0].id == 3


def test_dim_one_and_many_writes(rng):
    store = VectorStore(1, metric="euclidean", device="cpu")
    store.add(["a", "b", "c"], [[1.0], [5.0], [3.0]])
    assert [h.id for h in store.search([4.0], k=3)] == ["b", "c", "a"]
    store.upsert(["b", "d"], [[-10.0], [4.0]], [{"v": 1}, {"v": 2}])
    assert [h.id for h in store.search([4.0], k=2)] == ["d", "c"]
    assert store.delete(["c", "zzz"]) == 1
    assert len(store) == 3 and "c" not in store
    vec, meta = store.get("d")
    assert vec.tolist() == [4.0] and meta == {"v": 2}
    assert store.get("c") is None
    assert [h.id for h in store.search([0.0], k=3)] == ["a", "d", "b"]


def test_delete_moves_rows_consistently(rng):
    store, data = filled(rng, n=100)
    store.delete(list(range(0, 100, 3)))
    keep = [i for i in range(100) if i % 3]
    for q in data[:5]:
        got = [h.id for h in store.search(q, k=8)]
        want = [keep[i] for i in numpy_ids(data[keep], q, "cosine", 8)]
        assert got == want


@pytest.mark.parametrize(
    "flt, pred",
    [
        ({"group": 3}, lambda i: i % 10 == 3),
        ({"group": {"$in": [1, 2]}}, lambda i: i % 10 in (1, 2)),
        ({"group": {"$gte": 2, "$lt": 4}}, lambda i: 2 <= i % 10 < 4),
        ({"group": {"$ne": 0}, "even": True}, lambda i: i % 10 != 0 and i % 2 == 0),
        ({"$or": [{"group": 1}, {"name": "n7"}]}, lambda i: i % 10 == 1 or i == 7),
        ({"$not": {"group": {"$nin": [5]}}}, lambda i: i % 10 == 5),
        ({"missing": 1}, lambda i: False),
        ({"group": 1.0}, lambda i: i % 10 == 1),
        ({"even": 1}, lambda i: False),  # JSON: true is not 1
    ],
)
def test_filters(rng, flt, pred):
    store, data = filled(rng)
    allowed = np.array([pred(i) for i in range(500)])
    for q in data[:3]:
        got = [h.id for h in store.search(q, k=10, filter=flt)]
        assert got == numpy_ids(data, q, "cosine", 10, allowed)
    # filters see writes
    store.upsert([0], data[:1], [{"group": 3, "even": True}])
    assert any(h.id == 0 for h in store.search(data[0], k=5, filter={"group": 3}))


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda s: s.add([1], np.ones((1, 3))), "vectors"),
        (lambda s: s.add([1], [[np.nan] * 4]), "vectors"),
        (lambda s: s.add([1], [[np.inf, 0, 0, 0]]), "vectors"),
        (lambda s: s.add([1], [[1e39, 0, 0, 0]]), "vectors"),  # float32 overflow
        (lambda s: s.add([1], [["a", "b", "c", "d"]]), "vectors"),
        (lambda s: s.add([1, 1], np.ones((2, 4))), "ids"),
        (lambda s: s.add(["a"], np.ones((1, 4))), "ids"),  # already stored
        (lambda s: s.add([True], np.ones((1, 4))), "ids"),
        (lambda s: s.add([1, 2], np.ones((1, 4))), "ids"),
        (lambda s: s.add([9], np.ones((1, 4)), [{"x": object()}]), "metadata"),
        (lambda s: s.add([9], np.ones((1, 4)), ["nope"]), "metadata"),
        (lambda s: s.search(np.ones(4), k=0), "k"),
        (lambda s: s.search(np.ones(4), k="3"), "k"),
        (lambda s: s.search(np.ones(5), k=1), "query"),
        (lambda s: s.search([np.nan] * 4, k=1), "query"),
        (lambda s: s.search(np.ones(4), k=1, filter={"a": {"$gt": "x"}}), "filter"),
        (lambda s: s.search(np.ones(4), k=1, filter={"a": {"$regex": "x"}}), "filter"),
        (lambda s: s.search(np.ones(4), k=1, filter={"$or": {}}), "filter"),
        (lambda s: s.search(np.ones(4), k=1, filter=[1]), "filter"),
        (lambda s: VectorStore(4, metric="hamming"), "metric"),
        (lambda s: VectorStore(0), "dim"),
        (lambda s: VectorStore(4, dtype="float16"), "dtype"),
        (lambda s: VectorStore(4, device="tpu"), "device"),
    ],
)
def test_bad_input_names_field_and_changes_nothing(call, field):
    store = VectorStore(4, device="cpu")
    store.add(["a", "b", "c"], np.eye(3, 4), [{"g": 1}, {"g": 2}, {}])
    before = [h.id for h in store.search(np.ones(4), k=3)]
    with pytest.raises(VectorInputError) as info:
        call(store)
    assert info.value.field == field
    assert len(store) == 3 and [h.id for h in store.search(np.ones(4), k=3)] == before


def test_k_beyond_the_store_or_the_filter_returns_the_hits_there_are():
    """As in Chroma: k larger than the store (or than a filter's matches) is not an error."""
    store = VectorStore(3, device="cpu")
    assert store.search(np.ones(3), k=1) == []
    assert store.search_batch(np.ones((2, 3)), k=5) == [[], []]
    store.add(["a", "b"], np.eye(2, 3), [{"lang": "en"}, {"lang": "fr"}])
    assert [h.id for h in store.search(np.array([1.0, 0.5, 0.0]), k=5)] == ["a", "b"]
    assert [h.id for h in store.search(np.ones(3), k=5, filter={"lang": "fr"})] == ["b"]
    assert [[h.id for h in hits] for hits in store.search_batch(np.eye(2, 3), k=9)] == [["a", "b"], ["b", "a"]]


@pytest.mark.parametrize("mmap", [False, True])
def test_save_load_round_trip(tmp_path, rng, mmap):
    store, data = filled(rng, metric="euclidean", n=200)
    store.delete([5, 6])
    store.save(tmp_path / "s")
    loaded = VectorStore.load(tmp_path / "s", mmap=mmap, device="cpu")
    assert len(loaded) == 198 and loaded.metric == "euclidean"
    for q in data[:3]:
        assert store.search(q, k=7) == loaded.search(q, k=7)
    loaded.add(["new"], data[:1])  # a memory-mapped store copies on write
    assert loaded.search(data[0], k=2)[0].id in (0, "new")
    assert len(VectorStore.load(tmp_path / "s")) == 198  # the file is untouched


def test_crash_mid_save_keeps_previous_copy(tmp_path, rng, monkeypatch):
    from conduit.vector import persistence

    store, data = filled(rng, n=50)
    store.save(tmp_path / "s")
    store.add(["extra"], data[:1])

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(persistence.os, "replace", crash)  # dies before CURRENT moves
    with pytest.raises(OSError, match="simulated"):
        store.save(tmp_path / "s")
    monkeypatch.undo()
    old = VectorStore.load(tmp_path / "s")
    assert len(old) == 50 and "extra" not in old
    store.save(tmp_path / "s")  # the next save succeeds and sweeps debris
    assert len(VectorStore.load(tmp_path / "s")) == 51
    assert sorted(p.name for p in (tmp_path / "s").iterdir())[:2] == [".lock", "CURRENT"]
    assert len(list((tmp_path / "s").iterdir())) == 3  # the lock file, CURRENT, one version


def test_load_missing_is_clear(tmp_path):
    with pytest.raises(VectorInputError, match="no saved store"):
        VectorStore.load(tmp_path / "nothing")


def test_readers_during_writes(rng):
    store = VectorStore(8, device="cpu")
    base = rng.standard_normal((200, 8)).astype(np.float32)
    store.add([f"b{i}" for i in range(200)], base)
    errors = []
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                hits = store.search(base[0], k=5)
                assert hits[0].id == "b0" and len(hits) == 5
                assert all(h.id in ("b0",) or not h.id.startswith("w") or True for h in hits)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(200):
        store.add([f"w{i}"], -base[i % 200: i % 200 + 1])
        if i % 3 == 0:
            store.delete([f"w{i}"])
        store.upsert([f"b{(i % 199) + 1}"], base[(i % 199) + 1:(i % 199) + 2])
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert len(store) == 200 + 200 - 67


def test_integer_ids_beyond_64_bits_are_refused_naming_the_field():
    # Bodies keep big integers exact; ids are persisted and hashed as 64-bit JSON integers.
    store = VectorStore(dim=2)
    with pytest.raises(VectorInputError) as info:
        store.add([10**30], np.ones((1, 2), dtype=np.float32))
    assert info.value.field == "ids" and "64 bits" in str(info.value)
    store.add([2**63 - 1], np.ones((1, 2), dtype=np.float32))
    assert store.search(np.ones(2, dtype=np.float32), k=1)[0].id == 2**63 - 1
