"""HnswIndex: recall against the exact scan, filters, tombstones, rebuild, save/load, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit_kernels import HnswIndex
from conduit_kernels.topk import topk_batch

METRICS = ["cosine", "dot", "euclidean", "manhattan"]
N, DIM, K = 3000, 24, 10


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(14)
    return (rng.standard_normal((N, DIM)).astype(np.float32),
            rng.standard_normal((40, DIM)).astype(np.float32))


@pytest.fixture(scope="module")
def built(data):
    x, _ = data
    index = HnswIndex(DIM, "cosine", M=12, ef_construction=100, ef=64)
    index.add(x)
    return index


def recall(got, want):
    return np.mean([len(set(g.tolist()) & set(w.tolist())) / want.shape[1]
                    for g, w in zip(got, want)])


@pytest.mark.parametrize("metric", METRICS)
def test_recall_against_exact_scan(data, metric):
    x, q = data
    index = HnswIndex(DIM, metric, M=12, ef_construction=100, ef=64)
    labels = index.add(x)
    assert labels.tolist() == list(range(N)) and len(index) == N
    got, scores = index.search_batch(q, K)
    want, want_scores = topk_batch(x, q, K, metric)
    assert recall(got, want) >= 0.95
    higher = metric in ("cosine", "dot")
    assert all((np.diff(s) <= 1e-6 if higher else np.diff(s) >= -1e-6).all() for s in scores)
    # where the answer is right, its score is the exact one
    same = got == want
    np.testing.assert_allclose(scores[same], want_scores[same], rtol=1e-4, atol=1e-4)


def test_single_equals_batch(built, data):
    _, q = data
    labels, scores = built.search_batch(q, K)
    for i in range(5):
        one, one_scores = built.search(q[i], K)
        assert one.tolist() == labels[i].tolist()
        np.testing.assert_array_equal(one_scores, scores[i])


def test_larger_ef_does_not_lower_recall(built, data):
    x, q = data
    want, _ = topk_batch(x, q, K, "cosine")
    low = recall(built.search_batch(q, K, ef=10)[0], want)
    high = recall(built.search_batch(q, K, ef=200)[0], want)
    assert high >= low and high >= 0.99


def test_build_is_the_same_for_any_thread_count(data):
    """Batched insertion writes each list from one thread: the graph cannot depend on scheduling."""
    x, _ = data
    graphs = []
    before = numba.get_num_threads()
    try:
        for threads in (1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(threads)
            index = HnswIndex(DIM, "euclidean", M=8, ef_construction=40, seed=3)
            index.add(x[:1500])
            graphs.append(index._graph)
    finally:
        numba.set_num_threads(before)
    for name in ("links0", "count0", "upper_links", "upper_count", "levels"):
        np.testing.assert_array_equal(getattr(graphs[0], name), getattr(graphs[1], name))


def test_incremental_adds_and_custom_labels(data):
    x, q = data
    index = HnswIndex(DIM, "euclidean", M=12, ef_construction=100)
    for start in range(0, N, 700):  # several add calls, labels offset by 10_000
        index.add(x[start:start + 700], np.arange(start, min(N, start + 700)) + 10_000)
    got, _ = index.search_batch(q, K)
    want, _ = topk_batch(x, q, K, "euclidean")
    assert recall(got - 10_000, want) >= 0.95
    assert index.add(x[:2]).tolist() == [10_000 + N, 10_001 + N]  # defaults continue after


def test_filtered_traversal_returns_only_allowed(built, data):
    x, q = data
    mask = np.random.default_rng(2).random(N) < 0.3
    got, _ = built.search_batch(q, K, mask=mask, exact_below=0)  # force the graph walk
    assert mask[got].all()
    want, _ = topk_batch(x, q, K, "cosine", mask=mask)
    assert recall(got, want) >= 0.9


def test_selective_filter_falls_back_to_exact_scan(built, data):
    x, q = data
    mask = np.zeros(N, dtype=bool)
    mask[[5, 77, 901, 2000, 2999]] = True
    got, scores = built.search_batch(q, K, mask=mask)  # 5 rows: below the default threshold
    want, want_scores = topk_batch(x, q, K, "cosine", mask=mask)
    assert got.tolist() == want.tolist()
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5)
    assert (got[:, 5:] == -1).all() and np.isneginf(scores[:, 5:]).all()


def test_mask_shorter_than_labels_excludes_the_rest(built, data):
    _, q = data
    got, _ = built.search(q[0], K, mask=np.ones(100, dtype=bool))
    assert (got < 100).all()


def test_delete_tombstones_then_rebuild(data):
    x, q = data
    index = HnswIndex(DIM, "euclidean", M=12, ef_construction=100)
    index.add(x)
    gone = np.arange(0, N, 10)  # 10%: tombstones only
    assert index.delete(gone) == gone.size and index.delete(gone) == 0
    assert index.n_deleted == gone.size and len(index) == N - gone.size
    got, _ = index.search_batch(q, K)
    assert not np.isin(got, gone).any()
    alive = np.ones(N, bool)
    alive[gone] = False
    want, _ = topk_batch(x, q, K, "euclidean", mask=alive)
    assert recall(got, want) >= 0.95
    more = np.arange(1, N, 5)  # past REBUILD_FRACTION: rebuilt from the live rows
    index.delete(more)
    alive[more] = False
    assert index.n_deleted == 0 and len(index) == alive.sum()
    got, _ = index.search_batch(q, K)
    assert alive[got].all()
    want, _ = topk_batch(x, q, K, "euclidean", mask=alive)
    assert recall(got, want) >= 0.95
    assert sorted(index.labels().tolist()) == np.flatnonzero(alive).tolist()


def test_relabel(built):
    index = HnswIndex(4, "euclidean")
    index.add(np.eye(4, dtype=np.float32))
    index.delete([1])
    index.relabel(3, 1)
    assert index.search(np.array([0, 0, 0, 1], np.float32), 1)[0].tolist() == [1]
    with pytest.raises(KeyError, match="label 3"):
        index.relabel(3, 7)
    with pytest.raises(ValueError, match="already"):
        index.relabel(0, 2)


def test_empty_index_and_k_beyond_size():
    index = HnswIndex(3, "cosine")
    labels, scores = index.search(np.ones(3, np.float32), 4)
    assert labels.tolist() == [-1] * 4 and np.isneginf(scores).all()
    index.add(np.eye(3, dtype=np.float32))
    labels, scores = index.search(np.array([1, 0, 0], np.float32), 5)
    assert labels.tolist()[:3] == [0, 1, 2] and labels.tolist()[3:] == [-1, -1]
    assert scores[0] == pytest.approx(1.0)


@pytest.mark.parametrize("mmap", [True, False])
def test_save_load_round_trip(tmp_path, built, data, mmap):
    _, q = data
    built.save(tmp_path / "idx")
    built.save(tmp_path / "idx")  # a second save replaces the first
    assert len([p for p in (tmp_path / "idx").iterdir() if p.name.startswith("v-")]) == 1
    loaded = HnswIndex.load(tmp_path / "idx", mmap=mmap)
    assert repr(loaded) == repr(built)
    a, sa = built.search_batch(q, K)
    b, sb = loaded.search_batch(q, K)
    assert a.tolist() == b.tolist()
    np.testing.assert_array_equal(sa, sb)
    loaded.add(q[:3])  # a mapped index is copy-on-write: still writable
    assert loaded.search(q[0], 1)[0].tolist() == [N]
    again = HnswIndex.load(tmp_path / "idx", mmap=mmap)  # the file did not change
    assert again.search_batch(q, K)[0].tolist() == a.tolist()


def _version(root: Path) -> Path:
    return root / (root / "CURRENT").read_text()


@pytest.mark.parametrize("damage", ["entry", "link", "shape", "missing", "format", "current"])
def test_load_rejects_corrupt_index(tmp_path, built, damage):
    root = tmp_path / "idx"
    built.save(root)
    v = _version(root)
    meta = json.loads((v / "index.json").read_text())
    if damage == "entry":
        meta["entry"] = N + 5
    elif damage == "format":
        meta["format"] = 99
    elif damage == "link":
        links = np.load(v / "links0.npy")
        links[0, 0] = N + 1
        np.save(v / "links0.npy", links)
    elif damage == "shape":
        np.save(v / "count0.npy", np.load(v / "count0.npy")[:-1])
    elif damage == "missing":
        (v / "upper_links.npy").unlink()
    else:
        (root / "CURRENT").write_text("v-nothing")
    (v / "index.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="HNSW index"):
        HnswIndex.load(root)


@pytest.mark.parametrize("kwargs, message", [
    ({"dim": 0}, "dim"), ({"M": 1}, "M"), ({"ef": 0}, "ef"), ({"ef_construction": -1}, "ef_construction"),
    ({"metric": "hamming"}, "unknown metric"), ({"seed": 1.5}, "seed"),
])
def test_constructor_rejects_bad_parameters(kwargs, message):
    args = {"dim": 4, **kwargs}
    with pytest.raises(ValueError, match=message):
        HnswIndex(**args)


def test_bad_input_raises_and_leaves_the_index_unchanged(built, data):
    x, q = data
    size = len(built)
    cases = [
        (lambda: built.add(x[:2, :5]), "shape"),
        (lambda: built.add(np.full((1, DIM), np.nan)), "finite"),
        (lambda: built.add(np.array([["a"] * DIM])), "numbers"),
        (lambda: built.add(x[:2], [1, 2]), "already"),
        (lambda: built.add(x[:2], [N + 50, N + 50]), "duplicate"),
        (lambda: built.add(x[:2], [-1, N + 60]), "non-negative"),
        (lambda: built.add(x[:2], [N + 70]), "labels"),
        (lambda: built.search(q[0], 0), "k"),
        (lambda: built.search(q[0], True), "k"),
        (lambda: built.search(q[0][:3], 2), "shape"),
        (lambda: built.search(q[:2], 2), "shape"),
        (lambda: built.search(q[0], 2, ef=0), "ef"),
        (lambda: built.search(q[0], 2, mask=np.ones(N)), "bool"),
        (lambda: built.delete(["a"]), "integers"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    assert len(built) == size


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 60), k=st.integers(1, 70), metric=st.sampled_from(METRICS),
       seed=st.integers(0, 2**16))
def test_small_indexes_answer_like_the_exact_scan(n, k, metric, seed):
    """Tiny indexes: the exact fallback equals topk; the walk gives valid, sorted, unique labels."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5)).astype(np.float32)
    index = HnswIndex(5, metric, M=4, ef_construction=20, seed=seed)
    index.add(x)
    q = rng.standard_normal(5).astype(np.float32)
    labels, _ = index.search(q, k)  # tiny: the exact scan answers
    assert labels.tolist() == topk_batch(x, q[None, :], k, metric)[0][0].tolist()
    walked, scores = index.search(q, k, ef=64, exact_below=0)  # the graph walk
    real = walked[walked >= 0]
    assert len(set(real.tolist())) == real.size <= min(n, k) and (real < n).all()
    assert (walked[real.size:] == -1).all()
    finite = scores[: real.size]
    assert (np.diff(finite) <= 1e-6).all() if metric in ("cosine", "dot") else (
        np.diff(finite) >= -1e-6).all()


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_read_only_rows_and_queries(data, metric):
    # a memory-mapped store hands the index read-only arrays (the query check must copy)
    x, q = data
    rows, queries = x[:500].copy(), q[:3].copy()
    rows.flags.writeable = False
    queries.flags.writeable = False
    index = HnswIndex(DIM, metric, M=8, ef_construction=50)
    index.add(rows)
    got, _ = index.search_batch(queries, K)
    want, _ = topk_batch(rows, queries, K, metric)
    assert recall(got, want) >= 0.9
    with pytest.raises(ValueError, match="finite"):
        bad = queries.copy()
        bad[0, 0] = np.nan
        bad.flags.writeable = False
        index.search(bad[0], K)
