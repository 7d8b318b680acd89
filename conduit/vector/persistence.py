"""Saving and loading a VectorStore: numpy files + JSON, atomic, locked, validated.

Layout of a saved store (a directory)::

    path/.lock                  the lock file (flock): saves exclusive, loads shared
    path/CURRENT                the name of the live version directory, e.g. "v-1f3a..."
    path/v-<uuid>/vectors.npy   float32[n, dim]
    path/v-<uuid>/store.json    {"format": 1, "dim", "metric", "dtype", "ids", "metadata"}

A save takes the exclusive lock, writes the derived index (``hnsw-<fingerprint>/``,
see :mod:`.hnsw`) if the store has one, writes a new version directory, fsyncs its
files and the directory, replaces ``CURRENT`` with ``os.replace`` (atomic on POSIX)
and only then removes older versions, superseded indexes and debris of crashed
saves, still under the lock: vectors, metadata and index are one commit. ``flock``
locks belong to an open file description, so two threads of one process exclude
each other exactly as two processes do: concurrent saves to one path are
serialised, and no save can sweep a version another one is writing. A load holds
the shared lock while it reads ``CURRENT`` and opens the files (the index's too),
so it never sees a version being written or removed (a memory-mapped file stays
readable after its directory is removed: POSIX keeps unlinked open files).
A crash at any point leaves ``CURRENT`` naming a complete copy.

A load validates everything before a store is built (:func:`validate_state`):
a corrupt or hand-edited save raises :class:`CorruptStoreError` naming the file
and the problem, instead of failing later, at search time.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import orjson
from conduit_kernels.npyfile import load_npy

from .errors import CorruptStoreError, VectorInputError

__all__ = ["DTYPES", "load_store", "save_store", "validate_state"]

FORMAT = 1
MMAP_MIN_BYTES = 256 << 20
LOCK_NAME = ".lock"
_METRICS = ("cosine", "dot", "euclidean", "manhattan")
#: The storage types a store may declare (the store accepts the same).
DTYPES = ("float32", "int8", "binary")


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


@contextmanager
def _locked(root: Path, exclusive: bool) -> Iterator[None]:
    """Hold ``root/.lock``; a reader of a directory it cannot write goes unlocked."""
    try:
        fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except PermissionError:
        if exclusive:
            raise
        fd = -1  # read-only media: nobody can be saving there
    try:
        if fd >= 0:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        if fd >= 0:
            os.close(fd)  # closing the descriptor releases the lock


def save_store(path: "str | os.PathLike", state: dict[str, Any],
               write_index: "Callable[[Path], Callable[[], None]] | None" = None) -> None:
    """Write ``state`` as the new current version of the store at ``path``.

    ``write_index(root)``, when given, writes derived data beside the versions (the
    HNSW index) under the same exclusive lock, *before* the commit, and returns the
    sweep to run *after* it: a crash before the commit leaves the old version and its
    index, a crash after it the new version and its index.
    """
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root, exclusive=True):
        sweep_index = write_index(root) if write_index is not None else None
        name = f"v-{uuid.uuid4().hex}"
        tmp = root / f".tmp-{name}"
        tmp.mkdir()
        try:
            with open(tmp / "vectors.npy", "wb") as f:
                np.save(f, np.ascontiguousarray(state["vectors"], dtype=np.float32))
                f.flush()
                os.fsync(f.fileno())
            meta = {k: state[k] for k in ("dim", "metric", "dtype", "ids", "metadata")}
            _write_file(tmp / "store.json", orjson.dumps({"format": FORMAT, **meta}))
            _fsync_path(tmp)
            os.rename(tmp, root / name)
            _write_file(root / "CURRENT.tmp", name.encode())
            os.replace(root / "CURRENT.tmp", root / "CURRENT")
            _fsync_path(root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for entry in root.iterdir():  # the old copies, and debris of crashed saves
            if entry.name != name and (entry.name.startswith("v-") or entry.name.startswith(".tmp-")):
                shutil.rmtree(entry, ignore_errors=True)
        if sweep_index is not None:
            sweep_index()


def _corrupt(where: Path, message: str) -> CorruptStoreError:
    return CorruptStoreError(f"corrupt store at {where}: {message}")


def validate_state(state: Any, vectors: Any, where: Path) -> None:
    """Raise :class:`CorruptStoreError` unless ``store.json`` and ``vectors.npy`` agree.

    Checked: the JSON is an object with every key; ``dim`` a positive int,
    ``metric``/``dtype`` known; ``ids`` a list of unique strings/integers;
    ``metadata`` a list of objects, one per id; the vectors float32
    ``[len(ids), dim]`` and finite.
    """
    if not isinstance(state, dict):
        raise _corrupt(where, "store.json is not a JSON object")
    missing = [k for k in ("dim", "metric", "dtype", "ids", "metadata") if k not in state]
    if missing:
        raise _corrupt(where, f"store.json lacks {missing}")
    dim, ids, metadata = state["dim"], state["ids"], state["metadata"]
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise _corrupt(where, f"dim must be a positive integer, got {dim!r}")
    if state["metric"] not in _METRICS:
        raise _corrupt(where, f"unknown metric {state['metric']!r}")
    if state["dtype"] not in DTYPES:
        raise _corrupt(where, f"unknown dtype {state['dtype']!r}")
    if not isinstance(ids, list) or not isinstance(metadata, list):
        raise _corrupt(where, "ids and metadata must be lists")
    if any(isinstance(i, bool) or not isinstance(i, (str, int)) or i == "" for i in ids):
        raise _corrupt(where, "ids must be non-empty strings or integers")
    if len(set(ids)) != len(ids):
        raise _corrupt(where, "duplicate ids")
    if len(metadata) != len(ids):
        raise _corrupt(where, f"{len(metadata)} metadata entries for {len(ids)} ids")
    if not all(isinstance(m, dict) for m in metadata):
        raise _corrupt(where, "every metadata entry must be an object")
    if vectors.dtype != np.float32 or vectors.ndim != 2:
        raise _corrupt(where, f"vectors.npy holds {vectors.dtype}{list(vectors.shape)}, "
                              "expected float32[n, dim]")
    if vectors.shape != (len(ids), dim):
        raise _corrupt(where, f"vectors.npy has shape {vectors.shape}, expected "
                              f"({len(ids)}, {dim}) for {len(ids)} ids of dimension {dim}")
    if not np.isfinite(vectors).all():
        raise _corrupt(where, "vectors.npy holds NaN or inf")


def _read_vectors(file: Path, mmap: bool | None) -> np.ndarray:
    try:
        if mmap is None:
            mmap = file.stat().st_size >= MMAP_MIN_BYTES
        return load_npy(file, mmap_mode="r" if mmap else None)
    except FileNotFoundError:
        raise _corrupt(file.parent, "vectors.npy is missing") from None
    except (ValueError, EOFError, OSError) as exc:  # truncated, not .npy, pickled objects
        raise _corrupt(file.parent, f"vectors.npy is unreadable ({exc})") from None


def load_store(path: "str | os.PathLike", mmap: bool | None = None,
               read_index: "Callable[[Path, dict, np.ndarray], Any] | None" = None,
               ) -> tuple[dict, np.ndarray, Any]:
    """Read and validate the current version: ``(state dict, vectors float32[n, dim], index)``.

    ``read_index(root, state, vectors)``, when given, reads derived data beside the
    version under the same shared lock (so no save can sweep it mid-read); ``index``
    is what it returns (None without it).
    """
    root = Path(path)
    if not (root / "CURRENT").is_file():
        raise VectorInputError("path", f"no saved store at {root} (missing CURRENT)")
    with _locked(root, exclusive=False):
        try:
            name = (root / "CURRENT").read_bytes().decode("ascii").strip()
        except UnicodeDecodeError:
            raise _corrupt(root, "CURRENT is not the name of a version") from None
        version = root / name
        if not name.startswith("v-") or "/" in name or not version.is_dir():
            raise _corrupt(root, f"CURRENT names {name!r}, which is not a saved version")
        try:
            state = orjson.loads((version / "store.json").read_bytes())
        except FileNotFoundError:
            raise _corrupt(version, "store.json is missing") from None
        except orjson.JSONDecodeError as exc:
            raise _corrupt(version, f"store.json is not valid JSON ({exc})") from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            fmt = state.get("format") if isinstance(state, dict) else None
            raise _corrupt(version, f"unsupported store format {fmt!r}")
        vectors = _read_vectors(version / "vectors.npy", mmap)
        validate_state(state, vectors, version)
        index = read_index(root, state, vectors) if read_index is not None else None
    return state, vectors, index
