"""Stores with an HNSW index against races, kill -9 and hostile files (issue 23).

Every save (vectors, metadata, HNSW) is one locked commit; a crash leaves the old or
the new store loadable; a damaged file is a CorruptStoreError naming the problem,
never a crash, a hang or a huge allocation.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit.vector import CorruptStoreError, VectorInputError, VectorStore

DIM = 4


def tagged(tag: int) -> VectorStore:
    """An HNSW store whose every row says which writer saved it: ``tag`` rows of value ``tag``."""
    store = VectorStore(DIM, metric="euclidean", device="cpu", index="hnsw")
    store.add([f"{tag}-{i}" for i in range(tag)], np.full((tag, DIM), tag, np.float32),
              [{"tag": tag}] * tag)
    return store


def check_whole(path: Path) -> int:
    """Load ``path``, assert it is one writer's complete copy with its index; return the tag."""
    store = VectorStore.load(path, device="cpu")
    tag = len(store)
    assert store.index == "hnsw"
    assert store.ids == [f"{tag}-{i}" for i in range(tag)]
    hits = store.search(np.full(DIM, tag, np.float32), k=tag)
    assert sorted(h.id for h in hits) == sorted(store.ids)
    assert all(h.metadata == {"tag": tag} for h in hits)
    return tag


WRITER = """
import sys
import numpy as np
from conduit.vector import VectorStore
path, tags, rounds = sys.argv[1], [int(t) for t in sys.argv[2].split(",")], int(sys.argv[3])
stores = []
for tag in tags:
    store = VectorStore({dim}, metric="euclidean", device="cpu", index="hnsw")
    store.add([f"{{tag}}-{{i}}" for i in range(tag)], np.full((tag, {dim}), tag, np.float32),
              [{{"tag": tag}}] * tag)
    stores.append(store)
print("ready", flush=True)
for r in range(rounds):
    stores[r % len(stores)].save(path)
""".format(dim=DIM)


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def _index_dirs(path: Path) -> list[str]:
    return [p.name for p in path.iterdir() if p.name.startswith("hnsw-")]


def test_racing_hnsw_saves_from_threads_and_processes_never_destroy_the_store(tmp_path):
    path = tmp_path / "s"
    tagged(1).save(path)  # also compiles the kernels before any thread races
    rounds = 8
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(tag), str(rounds)],
                              env=_env(), stdout=subprocess.DEVNULL) for tag in (5, 6)]
    errors: list[BaseException] = []

    def save_loop(tag: int) -> None:
        store = tagged(tag)
        try:
            for _ in range(rounds):
                store.save(path)
                check_whole(path)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=save_loop, args=(tag,)) for tag in (2, 3)]
    for t in threads:
        t.start()
    seen = set()
    deadline = time.monotonic() + 120
    while (any(t.is_alive() for t in threads) or any(p.poll() is None for p in procs)) \
            and time.monotonic() < deadline:
        seen.add(check_whole(path))
    for t in threads:
        t.join(timeout=60)
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert not errors, errors
    assert check_whole(path) in {2, 3, 5, 6}
    assert seen <= {1, 2, 3, 5, 6}
    assert len([p for p in path.iterdir() if p.name.startswith(("v-", ".tmp-"))]) == 1
    assert len(_index_dirs(path)) == 1  # superseded indexes swept under the lock


def test_kill_9_during_hnsw_save_loop_leaves_a_loadable_store(tmp_path):
    path = tmp_path / "s"
    tagged(1).save(path)
    rng = random.Random(23)
    tags_seen = set()
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "7,9", "100000"],
                                env=_env(), stdout=subprocess.PIPE)
        try:
            assert proc.stdout.readline().strip() == b"ready"
            time.sleep(rng.uniform(0.0, 0.3))  # lands anywhere in a save
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            proc.stdout.close()
        tags_seen.add(check_whole(path))  # the old or the new copy, with a usable index
    assert tags_seen <= {1, 7, 9}
    tagged(2).save(path)  # the next save sweeps what the killed ones left
    assert check_whole(path) == 2
    assert len(_index_dirs(path)) == 1
    assert not [p for p in path.iterdir() if p.name.startswith(".tmp-")]


def saved(tmp_path, n: int = 40) -> Path:
    rng = np.random.default_rng(23)
    store = VectorStore(DIM, device="cpu", index="hnsw")
    store.add([f"d{i}" for i in range(n)], rng.standard_normal((n, DIM)), [{"i": i} for i in range(n)])
    store.save(tmp_path / "s")
    return tmp_path / "s"


def index_version(path: Path) -> Path:
    (root,) = [p for p in path.iterdir() if p.name.startswith("hnsw-")]
    return root / (root / "CURRENT").read_text().strip()


def test_leftover_partial_hnsw_index_is_ignored_and_rebuilt_with_a_log_line(tmp_path, caplog):
    path = saved(tmp_path)
    root = index_version(path).parent
    (root / "CURRENT").unlink()  # a save that crashed before the index's commit
    q = np.ones(DIM, np.float32)
    with caplog.at_level(logging.WARNING, logger="conduit.vector"):
        store = VectorStore.load(path)
    assert "partial HNSW index" in caplog.text and str(root) in caplog.text
    assert store.index == "hnsw" and len(store) == 40
    exact = VectorStore.load(path, index="exact")
    assert [h.id for h in store.search(q, k=5)] == [h.id for h in exact.search(q, k=5)]
    store.save(path)
    assert VectorStore.load(path).index == "hnsw"


def test_stray_index_debris_of_a_crashed_save_is_ignored_and_swept(tmp_path):
    path = saved(tmp_path)
    debris = path / ("hnsw-" + "0" * 32)
    (debris / ".tmp-v-dead").mkdir(parents=True)
    (debris / ".tmp-v-dead" / "data.npy").write_bytes(b"\x93NUMPY half")
    assert len(VectorStore.load(path)) == 40
    VectorStore.load(path).save(path)
    assert not debris.exists()


def _rewrite(path: Path, array: str, change) -> None:
    file = index_version(path) / f"{array}.npy"
    arr = np.load(file)
    change(arr)
    np.save(file, arr)


def _meta(path: Path, **changes) -> None:
    file = index_version(path) / "index.json"
    meta = json.loads(file.read_text())
    meta.update(changes)
    file.write_text(json.dumps(meta))


def _huge_header(file: Path, shape: tuple, descr: str = "<f4") -> None:
    with open(file, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": False, "shape": shape})
        f.write(b"\0" * 64)


def _set(arr, index, value):
    arr[index] = value


HNSW_DAMAGE = [
    ("hnsw labels duplicated", lambda p: _rewrite(p, "labels", lambda a: _set(a, 1, a[0])),
     "share a label|not the rows"),
    ("hnsw label out of range", lambda p: _rewrite(p, "labels", lambda a: _set(a, 0, 10**6)),
     "not the rows|next_label"),
    ("hnsw negative label", lambda p: _rewrite(p, "labels", lambda a: _set(a, 0, -3)), "labels"),
    ("hnsw NaN row", lambda p: _rewrite(p, "data", lambda a: _set(a, 3, np.nan)), "NaN"),
    ("hnsw neighbour id out of range", lambda p: _rewrite(p, "links0", lambda a: _set(a, (0, 0), 10**6)),
     "links point outside"),
    ("hnsw levels inconsistent", lambda p: _meta(p, max_level=7), "max_level|entry point"),
    ("hnsw level too high", lambda p: _rewrite(p, "levels", lambda a: _set(a, 0, 99)), "levels"),
    ("hnsw link count too large", lambda p: _rewrite(p, "count0", lambda a: _set(a, 0, 999)),
     "link counts"),
    ("hnsw counts not integers", lambda p: _meta(p, size="40"), "integers"),
    ("hnsw npy header declares 10^10 rows",
     lambda p: _huge_header(index_version(p) / "data.npy", (10**10, DIM)), "declares shape"),
    ("hnsw npy of objects", lambda p: _huge_header(index_version(p) / "labels.npy", (40,), "|O"),
     "objects|header"),
    ("hnsw truncated npy", lambda p: (index_version(p) / "links0.npy").write_bytes(
        (index_version(p) / "links0.npy").read_bytes()[:-7]), "declares shape"),
]


@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize("what, damage, message", HNSW_DAMAGE, ids=[d[0] for d in HNSW_DAMAGE])
def test_damaged_hnsw_index_is_a_corrupt_store_error(tmp_path, what, damage, message, mmap):
    path = saved(tmp_path)
    damage(path)
    with pytest.raises(CorruptStoreError, match=message) as info:
        VectorStore.load(path, mmap=mmap)
    assert "HNSW index" in str(info.value) and info.value.field == "path"


@pytest.mark.parametrize("mmap", [False, True])
def test_npy_header_declaring_10_to_the_10_rows_is_corrupt_store_error(tmp_path, mmap):
    path = saved(tmp_path)
    version = path / (path / "CURRENT").read_text().strip()
    _huge_header(version / "vectors.npy", (10**10, DIM))  # 149 GiB declared, 64 bytes held
    with pytest.raises(CorruptStoreError, match=r"declares shape \(10000000000, 4\)"):
        VectorStore.load(path, mmap=mmap)


# --- mutation fuzzing: any damage to any file is a clean error or a correct load ---

MUTATIONS = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 0.999)),
    st.tuples(st.just("flip"), st.floats(0.0, 0.999), st.integers(1, 255)),
    st.tuples(st.just("header"), st.sampled_from(["shape", "descr", "fortran"]),
              st.sampled_from([(10**10, 4), (0,), (7, 5, 3), (2**63 - 1,), "<f8", ">f4", "<i8", True])),
)


def _mutate(file: Path, mutation: tuple) -> None:
    data = file.read_bytes()
    if mutation[0] == "truncate":
        file.write_bytes(data[: int(len(data) * mutation[1])])
    elif mutation[0] == "flip":
        at = int(len(data) * mutation[1])
        file.write_bytes(data[:at] + bytes([data[at] ^ mutation[2]]) + data[at + 1:])
    else:  # rewrite one header field of a .npy file
        if file.suffix != ".npy":
            return
        _, key, value = mutation
        arr = np.load(file)
        header = {"descr": np.lib.format.dtype_to_descr(arr.dtype), "fortran_order": False,
                  "shape": arr.shape}
        if key == "shape" and isinstance(value, tuple):
            header["shape"] = value
        elif key == "descr" and isinstance(value, str):
            header["descr"] = value
        elif key == "fortran" and value is True:
            header["fortran_order"] = True
        with open(file, "wb") as f:
            np.lib.format.write_array_header_1_0(f, header)
            f.write(arr.tobytes())


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return saved(tmp_path_factory.mktemp("pristine"))


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name != ".lock")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choice=st.integers(0, 10**6), mutation=MUTATIONS, mmap=st.booleans())
def test_mutated_store_files_load_correctly_or_raise_corrupt_store_error(tmp_path_factory, pristine,
                                                                         choice, mutation, mmap):
    import shutil

    path = tmp_path_factory.mktemp("m") / "s"
    shutil.copytree(pristine, path)
    files = _files(path)
    _mutate(files[choice % len(files)], mutation)
    try:
        store = VectorStore.load(path, mmap=mmap)
    except CorruptStoreError as exc:
        assert str(exc).strip()
        return
    except VectorInputError as exc:  # CURRENT itself destroyed: "no saved store"
        assert "no saved store" in str(exc)
        return
    # a mutation the validators accept must still give a searchable store
    q = np.ones(DIM, np.float32)
    hits = store.search(q, k=5)
    assert 1 <= len(hits) <= 5 and all(h.id in store for h in hits)
