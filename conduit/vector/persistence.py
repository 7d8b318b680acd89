"""Saving and loading a VectorStore: numpy files + JSON, atomic, optionally memory-mapped.

Layout of a saved store (a directory)::

    path/CURRENT            the name of the live version directory, e.g. "v-1f3a..."
    path/v-<uuid>/vectors.npy   float32[n, dim]
    path/v-<uuid>/store.json    {"format": 1, "dim", "metric", "dtype", "ids", "metadata"}

A save writes a new version directory, fsyncs its files and the directory, then
replaces ``CURRENT`` with ``os.replace`` (atomic on POSIX) and only then removes
older versions. A crash at any point leaves ``CURRENT`` naming a complete copy:
the previous one, or the new one. Leftover ``.tmp-*`` / stale versions are
swept by the next save.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .errors import VectorInputError

__all__ = ["load_store", "save_store"]

FORMAT = 1
MMAP_MIN_BYTES = 256 << 20


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


def save_store(path: "str | os.PathLike", state: dict[str, Any]) -> None:
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
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


def load_store(path: "str | os.PathLike", mmap: bool | None = None) -> tuple[dict, np.ndarray]:
    root = Path(path)
    try:
        name = (root / "CURRENT").read_text().strip()
    except FileNotFoundError:
        raise VectorInputError("path", f"no saved store at {root} (missing CURRENT)") from None
    version = root / name
    if not name.startswith("v-") or not version.is_dir():
        raise VectorInputError("path", f"corrupt store at {root}: CURRENT names {name!r}")
    state = orjson.loads((version / "store.json").read_bytes())
    if state.get("format") != FORMAT:
        raise VectorInputError("path", f"unsupported store format {state.get('format')!r}")
    file = version / "vectors.npy"
    if mmap is None:
        mmap = file.stat().st_size >= MMAP_MIN_BYTES
    vectors = np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
    return state, vectors
