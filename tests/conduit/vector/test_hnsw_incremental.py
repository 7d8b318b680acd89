"""Incremental HNSW saves (issue 23): O(added) bytes, the same graph, crash-safe logs.

A save over a version saved or loaded before hard-links that version's files and
writes one checksummed log record of the changed rows; load applies the records.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit.vector import CorruptStoreError, HnswConfig, VectorStore
from conduit_kernels.hnsw import _ARRAYS, COMPACT_FRACTION, HnswIndex
from conduit_kernels.hnsw_log import read_record, write_record

DIM = 8


def rows(start: int, n: int) -> np.ndarray:
    """Row ``i`` is a distinct, deterministic vector (so a search for it finds it)."""
    i = np.arange(start, start + n, dtype=np.float32)[:, None]
    return np.hstack([i, np.sin(i * np.arange(1, DIM, dtype=np.float32))]).astype(np.float32)


def grown(path: Path, n: int, config=HnswConfig(M=8, ef_construction=40)) -> VectorStore:
    store = VectorStore(DIM, metric="euclidean", device="cpu", index=config)
    store.add([f"g-{i}" for i in range(n)], rows(0, n))
    store.save(path)
    return store


def index_dir(path: Path) -> Path:
    (root,) = [p for p in path.iterdir() if p.name.startswith("hnsw-")]
    return root


def version(path: Path) -> Path:
    root = index_dir(path)
    return root / (root / "CURRENT").read_text().strip()


def inodes(path: Path) -> set[int]:
    return {f.stat().st_ino for f in path.rglob("*") if f.is_file()}


def written_bytes(path: Path, before: set[int]) -> int:
    """Bytes of the index files a save created (hard links to older files are free)."""
    return sum(f.stat().st_size for f in index_dir(path).rglob("*")
               if f.is_file() and f.stat().st_ino not in before)


def graph_equal(a: HnswIndex, b: HnswIndex) -> None:
    assert (a._size, a._n_upper, a._entry, a._max_level, a._n_deleted) == \
        (b._size, b._n_upper, b._entry, b._max_level, b._n_deleted)
    for name in _ARRAYS:
        used = a._n_upper if name in ("upper_links", "upper_count") else a._size
        assert np.array_equal(getattr(a._graph, name)[:used], getattr(b._graph, name)[:used]), name


def test_adding_one_percent_writes_o_added_bytes_and_loads_the_same_graph(tmp_path):
    path = tmp_path / "s"
    n, added = 20_000, 200
    grown(path, n)
    base = sum(f.stat().st_size for f in version(path).iterdir())
    store = VectorStore.load(path)
    before = inodes(path)
    store.add([f"g-{i}" for i in range(n, n + added)], rows(n, added))
    store.save(path)
    new = written_bytes(path, before)
    idx = store._ann.index  # the in-memory graph the save wrote
    node_bytes = sum(getattr(idx._graph, a)[:1].nbytes for a in _ARRAYS if not a.startswith("upper"))
    # each new node rewrites the layer-0 lists of up to 2M old neighbours: O(added), bounded
    assert new < 10 * added * node_bytes
    assert new < base / 10
    loaded = VectorStore.load(path)
    graph_equal(loaded._ann.index, idx)
    q = rows(n - 50, 100) + 0.25
    assert [[h.id for h in hits] for hits in loaded.search_batch(q, k=10)] == \
        [[h.id for h in hits] for hits in store.search_batch(q, k=10)]


def test_incremental_save_results_equal_a_full_save(tmp_path):
    grown(tmp_path / "a", 300)
    inc = VectorStore.load(tmp_path / "a")
    inc.add(["x", "y"], rows(1000, 2))
    inc.delete(["g-3"])
    inc.save(tmp_path / "a")
    assert len(json.loads((version(tmp_path / "a") / "index.json").read_text())["records"]) == 1
    full = VectorStore.load(tmp_path / "a", mmap=False)
    full._ann.index._saved = None  # forces a new base
    full.save(tmp_path / "b")
    assert json.loads((version(tmp_path / "b") / "index.json").read_text())["records"] == []
    graph_equal(VectorStore.load(tmp_path / "a")._ann.index,
                VectorStore.load(tmp_path / "b")._ann.index)


def test_log_past_the_compaction_fraction_writes_a_new_base(tmp_path):
    path = tmp_path / "s"
    grown(path, 600)
    store = VectorStore.load(path)
    seen_records = []
    for i in range(40):
        store.add([f"n-{i}"], rows(5000 + i, 1))
        store.save(path)
        meta = json.loads((version(path) / "index.json").read_text())
        seen_records.append(len(meta["records"]))
        assert sum(r["bytes"] for r in meta["records"]) <= COMPACT_FRACTION * meta["base_bytes"]
    assert max(seen_records) >= 1 and 0 in seen_records[1:]  # logs grew, then compacted
    loaded = VectorStore.load(path)
    assert len(loaded) == 640
    assert loaded.search(rows(5039, 1)[0], k=1)[0].id == "n-39"


def _record(path: Path) -> Path:
    (rec,) = [r["name"] for r in json.loads((version(path) / "index.json").read_text())["records"]]
    return version(path) / rec


def _one_increment(tmp_path) -> Path:
    path = tmp_path / "s"
    grown(path, 200)
    store = VectorStore.load(path)
    store.add(["x"], rows(900, 1))
    store.save(path)
    return path


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "missing"])
def test_torn_hnsw_log_record_is_detected_and_the_index_rebuilt_with_a_log_line(
        tmp_path, caplog, damage):
    path = _one_increment(tmp_path)
    rec = _record(path)
    raw = rec.read_bytes()
    if damage == "truncated":
        rec.write_bytes(raw[: len(raw) // 2])
    elif damage == "flipped byte":
        rec.write_bytes(raw[:-10] + bytes([raw[-10] ^ 0xFF]) + raw[-9:])
    else:
        rec.unlink()
    plain = HnswIndex.load(index_dir(path))
    assert plain.log_truncated and len(plain) == 200  # truncated to the last good record
    with caplog.at_level(logging.WARNING):
        store = VectorStore.load(path)
    assert "torn" in caplog.text and str(index_dir(path)) in caplog.text
    assert len(store) == 201 and store.search(rows(900, 1)[0], k=1)[0].id == "x"
    store.save(path)  # the rebuilt index is saved whole
    assert json.loads((version(path) / "index.json").read_text())["records"] == []
    assert VectorStore.load(path).search(rows(900, 1)[0], k=1)[0].id == "x"


def _forge(path: Path, change) -> None:
    """Rewrite the log record with valid length and checksum but hostile contents."""
    rec = _record(path)
    meta, recorded = read_record(rec)
    change(meta, recorded)
    write_record(rec, meta, recorded)
    index = version(path) / "index.json"
    doc = json.loads(index.read_text())
    doc["records"][0]["bytes"] = rec.stat().st_size
    index.write_text(json.dumps(doc))


def _set_rows(name, value):
    def change(meta, recorded):
        idx, vals = recorded[name]
        recorded[name] = (np.full_like(idx, value), vals)
    return change


@pytest.mark.parametrize("change, message", [
    (_set_rows("links0", 10**9), "rows out of range"),
    (_set_rows("count0", -1), "rows out of range"),
    (lambda m, r: m.update(size=10**10), "lacks some of the rows"),
    (lambda m, r: m.update(size=3), "shrinks"),
    (lambda m, r: r.pop("labels"), "expected"),
    (lambda m, r: r.update(data=(r["data"][0], r["data"][1].astype(np.float64))), "values are"),
    (lambda m, r: m.update(entry="x"), "integers"),
])
def test_hostile_hnsw_log_record_is_a_corrupt_store_error(tmp_path, change, message):
    path = _one_increment(tmp_path)
    _forge(path, change)
    with pytest.raises(CorruptStoreError, match=message):
        VectorStore.load(path)


def test_hnsw_log_record_naming_a_path_outside_the_version_is_refused(tmp_path):
    path = _one_increment(tmp_path)
    index = version(path) / "index.json"
    doc = json.loads(index.read_text())
    doc["records"][0]["name"] = "r-../../../etc/passwd"
    index.write_text(json.dumps(doc))
    with pytest.raises(CorruptStoreError, match="records must be"):
        VectorStore.load(path)


OPS = st.lists(st.one_of(st.tuples(st.just("add"), st.integers(1, 30)),
                         st.tuples(st.just("delete"), st.integers(0, 200)),
                         st.tuples(st.just("save"), st.just(0))), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS, mmap=st.booleans())
def test_add_delete_save_load_sequences_give_the_never_saved_graph(tmp_path_factory, ops, mmap):
    path = tmp_path_factory.mktemp("h")
    ref = HnswIndex(DIM, "euclidean", M=4, ef_construction=16)
    live = HnswIndex(DIM, "euclidean", M=4, ef_construction=16)
    at = 0
    for op, arg in ops + [("save", 0)]:
        if op == "add":
            for index in (ref, live):
                index.add(rows(at, arg))
            at += arg
        elif op == "delete":
            assert ref.delete([arg]) == live.delete([arg])
        else:
            live.save(path)
            live = HnswIndex.load(path, mmap=mmap)
            graph_equal(live, ref)
    if len(ref):
        q = rows(0, 5) + 0.5
        for got, want in zip(live.search_batch(q, 5, ef=64), ref.search_batch(q, 5, ef=64)):
            assert np.array_equal(got, want)


GROWER = """
import sys
import numpy as np
sys.path[:0] = [sys.argv[3]]
from test_hnsw_incremental import rows
from conduit.vector import VectorStore
path, rounds = sys.argv[1], int(sys.argv[2])
store = VectorStore.load(path)
n = len(store)
print("ready", flush=True)
for r in range(rounds):
    store.add([f"g-{n + r}"], rows(n + r, 1))
    store.save(path)
"""


def check_grown(path: Path) -> int:
    store = VectorStore.load(path, device="cpu")
    n = len(store)
    assert store.index == "hnsw" and store.ids == [f"g-{i}" for i in range(n)]
    for i in (0, n // 2, n - 1):
        assert store.search(rows(i, 1)[0], k=1)[0].id == f"g-{i}"
    return n


def test_kill_9_during_incremental_hnsw_saves_leaves_a_loadable_store(tmp_path, caplog):
    path = tmp_path / "s"
    grown(path, 150)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    rng = random.Random(23)
    sizes = []
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", GROWER, str(path), "100000",
                                 str(Path(__file__).parent)], env=env, stdout=subprocess.PIPE)
        try:
            assert proc.stdout.readline().strip() == b"ready"
            time.sleep(rng.uniform(0.05, 0.6))  # lands anywhere in a save
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            proc.stdout.close()
        with caplog.at_level(logging.WARNING):
            sizes.append(check_grown(path))
    assert sizes == sorted(sizes) and sizes[-1] > 150  # saves committed between the kills
    assert "torn" not in caplog.text and "partial" not in caplog.text  # commits are whole
    store = VectorStore.load(path)
    saved = store._ann.index._saved  # the committed version, its log intact
    assert all(read_record(saved["dir"] / r["name"]) is not None for r in saved["records"])
    n = len(store)
    store.add([f"g-{n}"], rows(n, 1))
    store.save(path)  # sweeps what the killed saves left
    assert check_grown(path) == n + 1
    assert len([p for p in path.iterdir() if p.name.startswith(("hnsw-", ".tmp-", "v-"))]) == 2
