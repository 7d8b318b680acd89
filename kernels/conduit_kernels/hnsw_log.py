"""Records of an incremental HNSW save: the rows that changed since the last save.

One record is one file, written once and never changed::

    b"CDHNSWR1" | payload length (u64 little-endian) | blake2b-128 of payload | payload

The payload is an uncompressed ``.npz`` (no pickles): ``meta`` (the index's
scalars after this save, JSON bytes) and, per graph array, ``<array>.rows``
(int64 row numbers) and ``<array>.vals`` (those rows' new contents). A record
whose length or checksum does not match (a torn or damaged file) reads as None,
so the loader can stop at the last good record. Knows nothing of the graph's
meaning; :mod:`conduit_kernels.hnsw` builds and applies records.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["read_record", "write_record"]

MAGIC = b"CDHNSWR1"
_HEAD = struct.Struct("<8sQ16s")


def write_record(file: Path, meta: dict, rows: dict[str, tuple[np.ndarray, np.ndarray]]) -> int:
    """Write and fsync one record; returns the bytes written."""
    arrays = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    for name, (idx, vals) in rows.items():
        arrays[f"{name}.rows"] = np.ascontiguousarray(idx, dtype=np.int64)
        arrays[f"{name}.vals"] = np.ascontiguousarray(vals)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    payload = buf.getvalue()
    digest = hashlib.blake2b(payload, digest_size=16).digest()
    with open(file, "wb") as f:
        f.write(_HEAD.pack(MAGIC, len(payload), digest))
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    return _HEAD.size + len(payload)


def read_record(file: Path) -> "tuple[dict, dict[str, tuple[np.ndarray, np.ndarray]]] | None":
    """``(meta, {array: (rows, vals)})``, or None when the file is missing, torn or
    fails its checksum. Raises ``ValueError`` for an intact record that is not one."""
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        return None
    if len(raw) < _HEAD.size:
        return None
    magic, length, digest = _HEAD.unpack_from(raw)
    payload = raw[_HEAD.size:]
    if magic != MAGIC or length != len(payload) \
            or hashlib.blake2b(payload, digest_size=16).digest() != digest:
        return None
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("meta").tobytes())
    except (KeyError, ValueError, OSError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise ValueError(f"HNSW log record {file.name} is not a record ({exc})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"HNSW log record {file.name}: meta is not an object")
    rows = {}
    for key in arrays:
        name, _, part = key.rpartition(".")
        if part == "rows":
            if f"{name}.vals" not in arrays:
                raise ValueError(f"HNSW log record {file.name}: {name} has rows but no values")
            rows[name] = (arrays[key], arrays[f"{name}.vals"])
    return meta, rows
