"""VectorStore.save/load: concurrent saves never destroy the store; corrupt saves fail on load."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import orjson
import pytest

from conduit.vector import CorruptStoreError, VectorInputError, VectorStore

DIM = 4


def tagged(tag: int) -> VectorStore:
    """A store whose every row says which writer saved it: ``tag`` rows of value ``tag``."""
    store = VectorStore(DIM, metric="euclidean", device="cpu")
    store.add([f"{tag}-{i}" for i in range(tag)], np.full((tag, DIM), tag, np.float32),
              [{"tag": tag}] * tag)
    return store


def check_whole(path: Path) -> int:
    """Load ``path`` and assert it is one writer's complete copy; return the tag."""
    store = VectorStore.load(path, device="cpu")
    tag = len(store)
    assert store.ids == [f"{tag}-{i}" for i in range(tag)]
    got = store.get(f"{tag}-0")
    assert got is not None and (got[0] == tag).all() and got[1] == {"tag": tag}
    return tag


WRITER = """
import sys
import numpy as np
from conduit.vector import VectorStore
path, tag, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = VectorStore({dim}, metric="euclidean", device="cpu")
store.add([f"{{tag}}-{{i}}" for i in range(tag)], np.full((tag, {dim}), tag, np.float32),
          [{{"tag": tag}}] * tag)
for _ in range(rounds):
    store.save(path)
""".format(dim=DIM)


def test_racing_saves_from_threads_and_processes_never_destroy_the_store(tmp_path):
    path = tmp_path / "s"
    tagged(1).save(path)
    rounds = 12
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(tag), str(rounds)], env=env)
             for tag in (5, 6)]
    errors: list[BaseException] = []

    def save_loop(tag: int) -> None:
        store = tagged(tag)
        try:
            for _ in range(rounds):
                store.save(path)
                check_whole(path)  # a load after each save
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=save_loop, args=(tag,)) for tag in (2, 3)]
    for t in threads:
        t.start()
    seen = set()
    while any(t.is_alive() for t in threads) or any(p.poll() is None for p in procs):
        seen.add(check_whole(path))  # readers never see a half-written version
    for t in threads:
        t.join()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert not errors, errors
    assert check_whole(path) in {2, 3, 5, 6}
    assert seen <= {1, 2, 3, 5, 6}
    versions = [p.name for p in path.iterdir() if p.name.startswith(("v-", ".tmp-"))]
    assert len(versions) == 1  # old copies swept, no debris


# --- corrupt saves: each raises CorruptStoreError on load, naming the problem ---


def saved(tmp_path) -> Path:
    store = VectorStore(DIM, device="cpu")
    store.add(["a", "b", "c"], np.arange(12, dtype=np.float32).reshape(3, DIM), [{"x": 1}] * 3)
    store.save(tmp_path / "s")
    return tmp_path / "s"


def version(path: Path) -> Path:
    return path / (path / "CURRENT").read_text().strip()


def edit_json(path: Path, **changes) -> None:
    file = version(path) / "store.json"
    state = orjson.loads(file.read_bytes())
    state.update(changes)
    file.write_bytes(orjson.dumps(state))


def truncate_vectors(path: Path) -> None:
    file = version(path) / "vectors.npy"
    file.write_bytes(file.read_bytes()[:-10])


def replace_vectors(array: np.ndarray):
    def change(path: Path) -> None:
        np.save(version(path) / "vectors.npy", array)
    return change


CORRUPTIONS = [
    ("metadata shorter than ids", lambda p: edit_json(p, metadata=[{}, {}]), "2 metadata entries for 3 ids"),
    ("wrong dimension", lambda p: edit_json(p, dim=5), r"expected \(3, 5\)"),
    ("more ids than rows", lambda p: edit_json(p, ids=["a", "b", "c", "d"], metadata=[{}] * 4),
     r"expected \(4, 4\)"),
    ("duplicate ids", lambda p: edit_json(p, ids=["a", "a", "c"]), "duplicate ids"),
    ("bad id type", lambda p: edit_json(p, ids=["a", None, "c"]), "ids must be"),
    ("metadata not objects", lambda p: edit_json(p, metadata=[1, 2, 3]), "metadata entry"),
    ("unknown metric", lambda p: edit_json(p, metric="hamming"), "unknown metric"),
    ("unknown dtype", lambda p: edit_json(p, dtype="float16"), "unknown dtype"),
    ("dim not an int", lambda p: edit_json(p, dim="4"), "dim must be"),
    ("missing key", lambda p: (version(p) / "store.json").write_bytes(b'{"format": 1, "dim": 4}'), "lacks"),
    ("not json", lambda p: (version(p) / "store.json").write_bytes(b"{oops"), "not valid JSON"),
    ("json not an object", lambda p: (version(p) / "store.json").write_bytes(b"[1]"), "format"),
    ("missing store.json", lambda p: (version(p) / "store.json").unlink(), "store.json is missing"),
    ("future format", lambda p: edit_json(p, format=99), "unsupported store format 99"),
    ("truncated vector file", truncate_vectors, "vectors.npy is unreadable"),
    ("missing vector file", lambda p: (version(p) / "vectors.npy").unlink(), "vectors.npy is missing"),
    ("vectors not npy", lambda p: (version(p) / "vectors.npy").write_bytes(b"garbage"), "unreadable"),
    ("float64 vectors", replace_vectors(np.zeros((3, DIM))), "float64"),
    ("vectors of wrong rank", replace_vectors(np.zeros(12, np.float32)), "expected float32"),
    ("NaN in vectors", replace_vectors(np.full((3, DIM), np.nan, np.float32)), "NaN or inf"),
    ("pickled objects", replace_vectors(np.array([[object()]] * 3, dtype=object)), "unreadable"),
    ("CURRENT names nothing", lambda p: (p / "CURRENT").write_text("v-gone"), "not a saved version"),
    ("CURRENT escapes", lambda p: (p / "CURRENT").write_text("../elsewhere"), "not a saved version"),
]


@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize("what, corrupt, message", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_corrupt_save_fails_on_load_with_a_clear_error(tmp_path, what, corrupt, message, mmap):
    path = saved(tmp_path)
    assert len(VectorStore.load(path, mmap=mmap)) == 3
    corrupt(path)
    with pytest.raises(CorruptStoreError, match=message) as info:
        VectorStore.load(path, mmap=mmap)
    assert isinstance(info.value, VectorInputError) and info.value.field == "path"
    assert str(path) in str(info.value)


def test_missing_store_is_not_called_corrupt(tmp_path):
    with pytest.raises(VectorInputError, match="no saved store") as info:
        VectorStore.load(tmp_path / "nothing")
    assert not isinstance(info.value, CorruptStoreError)
