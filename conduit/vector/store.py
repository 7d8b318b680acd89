"""VectorStore: vectors with ids and JSON metadata, exact top-k search over the kernels.

Owns: rows (a growable float32 matrix, with an int8 scan copy for ``dtype="int8"``),
the id <-> row maps, metadata, cached norms, the readers-writer lock and the
choice of device. Validation lives here; the kernels see clean arrays only.
Knows nothing of HTTP (errors are :class:`VectorInputError`, which carries 422).

Rows stay contiguous: ``delete`` moves the last row into the hole, so the order
of rows (the tie-break among equal scores) is not insertion order after deletes.

``dtype="int8"`` scans int8 codes (a quarter of the bytes) for ``max(2k, k + 32)``
candidates, then re-scores those exactly from the float32 rows, so recall stays
at (or next to) 1.0 while the scan reads 4x fewer bytes; the codes are rebuilt
after writes, on the next search. Numba has no CPU float16 arithmetic, hence int8.
``dtype="binary"`` does the same with one sign bit per dimension (32x fewer bytes,
:mod:`conduit_kernels.binary`): a popcount Hamming scan picks ``max(32k, 256)``
candidates and the float32 re-score orders them.

``index="hnsw"`` keeps an approximate HNSW graph in step with the rows and answers
searches from it; :mod:`.hnsw` owns that, this module only notifies it of writes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import orjson

from conduit_kernels.distances import (
    Metric,
    higher_is_better,
    inverse_norms,
    quantize_int8,
    resolve_metric,
)
from conduit_kernels.binary import hamming_candidates, hamming_candidates_batch, quantize_binary
from conduit_kernels.topk import MISSING_ID, topk, topk_batch

from ._rwlock import RWLock
from .errors import VectorInputError
from .filters import MetadataColumns, compile_filter, validate_filter
from .hnsw import load_index, make_index
from .persistence import DTYPES as _DTYPES

__all__ = ["Hit", "VectorStore"]

_DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the stored id, the metric's score, the stored metadata."""

    id: Any
    score: float
    metadata: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"id": self.id, "score": self.score, "metadata": self.metadata}


#: Integer ids are stored, hashed and persisted as 64-bit JSON integers.
_ID_MIN, _ID_MAX = -2**63, 2**64 - 1


def _check_id(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, int, np.integer)):
        raise VectorInputError("ids", f"ids must be strings or integers, got {value!r}")
    if isinstance(value, str) and not value:
        raise VectorInputError("ids", "ids must not be empty strings")
    if isinstance(value, int) and not _ID_MIN <= value <= _ID_MAX:
        raise VectorInputError("ids", f"integer ids must fit in 64 bits, got one of {len(str(abs(value)))} digits")
    return int(value) if isinstance(value, np.integer) else value


def _check_metadata(meta: Any, i: int) -> dict:
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise VectorInputError("metadata", f"metadata[{i}] must be an object, got {type(meta).__name__}")
    try:
        return orjson.loads(orjson.dumps(meta))  # a JSON-able, private copy
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise VectorInputError("metadata", f"metadata[{i}] is not JSON-serialisable: {exc}") from None


class VectorStore:
    """An in-memory vector store with exact search.

    Parameters
    ----------
    dim : int >= 1
    metric : "cosine" | "dot" | "euclidean" | "manhattan" (aliases: ip, l2, l1)
    dtype : "float32" | "int8" | "binary" (an int8 or sign-bit scan for candidates,
        then an exact float32 re-score of them; the float32 rows are kept)
    device : "auto" | "cpu" | "cuda"; "auto" uses CUDA only with a GPU and a store
        large enough to pay for the transfer (the rows stay on the GPU between searches)
    index : "exact" | "hnsw" | :class:`~conduit.vector.hnsw.HnswConfig`; "hnsw" answers
        searches from an approximate HNSW graph kept beside the rows (see :mod:`.hnsw`)
    """

    def __init__(self, dim: int, metric: str = "cosine", dtype: str = "float32",
                 device: str = "auto", index: Any = "exact"):
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise VectorInputError("dim", f"dim must be a positive integer, got {dim!r}")
        try:
            self._metric = resolve_metric(metric)
        except ValueError as exc:
            raise VectorInputError("metric", str(exc)) from None
        if dtype == "float16":
            raise VectorInputError("dtype", "float16 storage is not supported (Numba has no CPU "
                                            "float16 arithmetic); use dtype='int8'")
        if dtype not in _DTYPES:
            raise VectorInputError("dtype", f"dtype must be one of {_DTYPES}, got {dtype!r}")
        if device not in _DEVICES:
            raise VectorInputError("device", f"device must be one of {_DEVICES}, got {device!r}")
        self.dim = int(dim)
        self.dtype = dtype
        self.device = device
        self._lock = RWLock()
        self._cache_lock = threading.Lock()
        self._vectors = np.empty((0, self.dim), dtype=np.float32)
        self._inv = np.empty(0, dtype=np.float32)
        self._sq = np.empty(0, dtype=np.float32)
        self._n = 0
        self._ids: list = []
        self._row: dict = {}
        self._metadata: list[dict] = []
        self._version = 0
        self._columns = MetadataColumns()
        self._codes = None  # (version, Int8Matrix | BinaryMatrix)
        self._gpu = None  # (version, device rows, device inverse norms)
        self._ann = make_index(index, self.dim, self.metric, dtype, device)

    # --- properties ---

    @property
    def metric(self) -> str:
        return self._metric.name.lower()

    def __len__(self) -> int:
        return self._n

    def __contains__(self, id: Any) -> bool:
        return id in self._row

    def __repr__(self) -> str:
        return f"VectorStore(dim={self.dim}, metric={self.metric!r}, dtype={self.dtype!r}, size={self._n})"

    @property
    def index(self) -> str:
        """``"exact"`` or ``"hnsw"``: what answers searches."""
        return "exact" if self._ann is None else "hnsw"

    @property
    def ids(self) -> list:
        """A snapshot of the stored ids, in row order."""
        with self._lock.read():
            return list(self._ids)

    # --- validation ---

    def _check_vectors(self, vectors: Any, name: str = "vectors") -> np.ndarray:
        try:
            arr = np.asarray(vectors)
        except (ValueError, TypeError):
            raise VectorInputError(name, "must be a (ragged-free) array of numbers") from None
        if arr.dtype == object or arr.dtype.kind not in "iuf" or arr.dtype == np.bool_:
            raise VectorInputError(name, f"must contain numbers, got dtype {arr.dtype}")
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise VectorInputError(name, f"expected vectors of dimension {self.dim}, got shape "
                                         f"{np.asarray(vectors).shape}")
        with np.errstate(over="ignore"):  # overflow to inf is reported just below
            arr = np.ascontiguousarray(arr, dtype=np.float32)
        if not np.isfinite(arr).all():
            raise VectorInputError(name, "vectors must be finite (no NaN or inf, "
                                         "including float32 overflow)")
        return arr

    def _check_batch(self, ids, vectors, metadata):
        if isinstance(ids, (str, bytes, int, np.integer)):
            raise VectorInputError("ids", "ids must be a list (use a one-element list for one vector)")
        ids = [_check_id(i) for i in ids]
        arr = self._check_vectors(vectors)
        if len(ids) != arr.shape[0]:
            raise VectorInputError("ids", f"{len(ids)} ids for {arr.shape[0]} vectors")
        if len(set(ids)) != len(ids):
            raise VectorInputError("ids", "duplicate ids in one call")
        if metadata is None:
            metas = [{} for _ in ids]
        else:
            metas = list(metadata)
            if len(metas) != len(ids):
                raise VectorInputError("metadata", f"{len(metas)} metadata entries for {len(ids)} ids")
            metas = [_check_metadata(m, i) for i, m in enumerate(metas)]
        return ids, arr, metas

    def _check_k(self, k: Any) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise VectorInputError("k", f"k must be an integer, got {k!r}")
        if k < 1:
            raise VectorInputError("k", f"k must be >= 1, got {k}")
        # More than the store holds is not an error (as in Chroma): the hits there are come back.
        return int(min(k, self._n))

    # --- writes ---

    def _grow(self, extra: int) -> None:
        need = self._n + extra
        cap = self._vectors.shape[0]
        if need <= cap and self._vectors.flags.writeable:
            return
        new_cap = max(need, 2 * cap, 16)
        for name in ("_vectors", "_inv", "_sq"):
            old = getattr(self, name)
            new = np.empty((new_cap,) + old.shape[1:], dtype=np.float32)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)

    def _write_rows(self, rows: np.ndarray, arr: np.ndarray) -> None:
        self._vectors[rows] = arr
        sq = np.einsum("ij,ij->i", arr, arr, dtype=np.float32)
        self._sq[rows] = sq
        self._inv[rows] = inverse_norms(arr)

    def _bump(self) -> None:
        self._version += 1

    def add(self, ids: Sequence, vectors: Any, metadata: Sequence[dict] | None = None) -> None:
        """Add new vectors; an id already stored is an error (use :meth:`upsert`)."""
        ids, arr, metas = self._check_batch(ids, vectors, metadata)
        with self._lock.write():
            taken = [i for i in ids if i in self._row]
            if taken:
                raise VectorInputError("ids", f"ids already stored (use upsert): {taken[:5]}")
            self._append(ids, arr, metas)

    def _append(self, ids, arr, metas) -> None:
        self._grow(len(ids))
        rows = np.arange(self._n, self._n + len(ids))
        self._write_rows(rows, arr)
        for i, row in zip(ids, rows.tolist()):
            self._row[i] = row
        self._ids.extend(ids)
        self._metadata.extend(metas)
        self._n += len(ids)
        if self._ann is not None:
            self._ann.append(rows, arr)
        self._bump()

    def upsert(self, ids: Sequence, vectors: Any, metadata: Sequence[dict] | None = None) -> None:
        """Insert new ids and replace the vector and metadata of stored ones."""
        ids, arr, metas = self._check_batch(ids, vectors, metadata)
        with self._lock.write():
            old = [j for j, i in enumerate(ids) if i in self._row]
            if old:
                self._grow(0)  # a memory-mapped store becomes writable here
                rows = np.array([self._row[ids[j]] for j in old], dtype=np.int64)
                self._write_rows(rows, arr[old])
                if self._ann is not None:
                    self._ann.replace(rows, arr[old])
                for j, row in zip(old, rows.tolist()):
                    self._metadata[row] = metas[j]
            new = [j for j, i in enumerate(ids) if i not in self._row]
            if new:
                self._append([ids[j] for j in new], arr[new], [metas[j] for j in new])
            self._bump()

    def delete(self, ids: Iterable) -> int:
        """Delete stored ids (unknown ids are ignored); returns how many were deleted."""
        ids = [_check_id(i) for i in ([ids] if isinstance(ids, (str, int)) else ids)]
        with self._lock.write():
            gone = 0
            for i in dict.fromkeys(ids):
                row = self._row.pop(i, None)
                if row is None:
                    continue
                self._grow(0)
                last = self._n - 1
                if self._ann is not None:
                    self._ann.remove(row, last)
                if row != last:
                    moved = self._ids[last]
                    for arr in (self._vectors, self._inv, self._sq):
                        arr[row] = arr[last]
                    self._ids[row] = moved
                    self._metadata[row] = self._metadata[last]
                    self._row[moved] = row
                self._ids.pop()
                self._metadata.pop()
                self._n -= 1
                gone += 1
            if gone:
                self._bump()
            return gone

    # --- reads ---

    def get(self, id: Any) -> tuple[np.ndarray, dict] | None:
        """``(vector copy, metadata copy)`` for a stored id, else None."""
        with self._lock.read():
            row = self._row.get(id)
            if row is None:
                return None
            return self._vectors[row].copy(), dict(self._metadata[row])

    def _filter_args(self, filter: Any) -> dict:
        if filter is None:
            return {}
        validate_filter(filter)
        mask = compile_filter(filter, self._metadata, self._version, self._columns)
        if mask.sum() * 2 < self._n:  # sparse: visit only the allowed rows
            return {"rows": np.flatnonzero(mask)}
        return {"mask": mask}

    def _quantized(self):
        """The int8 or binary codes of the rows, rebuilt on the first search after a write."""
        with self._cache_lock:
            if self._codes is None or self._codes[0] != self._version:
                rows = self._vectors[: self._n]
                codes = (quantize_int8(rows) if self.dtype == "int8" else
                         quantize_binary(rows, normalise=self._metric == Metric.COSINE))
                self._codes = (self._version, codes)
            return self._codes[1]

    def _use_gpu(self) -> bool:
        if self.device == "cpu":
            return False
        try:
            from conduit_kernels.cuda import select_device
        except ImportError:
            if self.device == "cuda":
                raise VectorInputError("device", "device='cuda' needs the numba-cuda package") from None
            return False
        try:
            return select_device(self.device, self._n * self.dim * 4) == "cuda"
        except RuntimeError as exc:
            raise VectorInputError("device", str(exc)) from None

    def _search_rows(self, queries: np.ndarray, k: int, fargs: dict):
        """Kernel dispatch: ``(row ids int64[m, k'], scores float32[m, k'])``."""
        data = self._vectors[: self._n]
        inv, sq = self._inv[: self._n], self._sq[: self._n]
        if self._ann is not None:
            return self._ann.search(queries, k, fargs, self._n)
        if self._use_gpu():
            from conduit_kernels.cuda import to_device, topk_batch_cuda

            with self._cache_lock:
                if self._gpu is None or self._gpu[0] != self._version:
                    self._gpu = (self._version, to_device(data), to_device(inv))
                _, dev_rows, dev_inv = self._gpu
            return topk_batch_cuda(data, queries, k, self._metric, inv_norms=inv,
                                   device_data=dev_rows, device_inv_norms=dev_inv, **fargs)
        if self.dtype == "binary":
            codes = self._quantized()
            pool = min(self._n, max(32 * k, 256))
            if queries.shape[0] == 1:
                cand = hamming_candidates(codes, queries[0], pool, **fargs)[None, :]
            else:
                cand = hamming_candidates_batch(codes, queries, pool, **fargs)
            return self._rescore(queries, cand, k)
        if self.dtype == "int8":
            kc = min(self._n, max(2 * k, k + 32))
            codes = self._quantized()
            if queries.shape[0] == 1:
                cand = topk(codes, queries[0], kc, self._metric, **fargs)[0][None, :]
            else:
                cand = topk_batch(codes, queries, kc, self._metric, **fargs)[0]
            return self._rescore(queries, cand, k)
        if queries.shape[0] == 1:
            ids, scores = topk(data, queries[0], k, self._metric, inv_norms=inv, **fargs)
            return ids[None, :], scores[None, :]
        return topk_batch(data, queries, k, self._metric, inv_norms=inv, sq_norms=sq, **fargs)

    def _rescore(self, queries: np.ndarray, cand: np.ndarray, k: int):
        """Exact float32 scores for int8 candidates; best first, ties by lower row."""
        m = queries.shape[0]
        out_ids = np.full((m, k), MISSING_ID, dtype=np.int64)
        out_scores = np.full((m, k), np.nan, dtype=np.float32)
        for qi in range(m):
            rows = cand[qi][cand[qi] != MISSING_ID]
            # the float32 kernel over the candidate rows: the exact path's own formula
            ids, scores = topk(self._vectors[: self._n], queries[qi], min(k, len(rows)) or 1,
                               self._metric, inv_norms=self._inv[: self._n], rows=rows)
            take = min(k, len(rows))
            out_ids[qi, :take] = ids[:take]
            out_scores[qi, :take] = scores[:take]
        return out_ids, out_scores

    def _hits(self, rows: np.ndarray, scores: np.ndarray) -> list[Hit]:
        return [Hit(self._ids[r], float(s), dict(self._metadata[r]))
                for r, s in zip(rows.tolist(), scores.tolist()) if r != MISSING_ID]

    def search(self, query: Any, k: int = 10, filter: dict | None = None) -> list[Hit]:
        """The ``k`` best stored vectors for ``query``, best first.

        ``filter``: a metadata filter (see :mod:`conduit.vector.filters`). Fewer
        than ``k`` hits come back when the store holds fewer rows or fewer rows
        match the filter (an empty store gives ``[]``); ``k < 1`` is an error.
        """
        q = self._check_vectors(query, "query")
        if q.shape[0] != 1:
            raise VectorInputError("query", "search takes one vector; use search_batch for several")
        return self.search_batch(q, k, filter)[0]

    def search_batch(self, queries: Any, k: int = 10, filter: dict | None = None) -> list[list[Hit]]:
        """:meth:`search` for each row of ``queries`` (one filter for all)."""
        qs = self._check_vectors(queries, "queries")
        with self._lock.read():
            k = self._check_k(k)
            fargs = self._filter_args(filter)
            if k == 0 or ("rows" in fargs and fargs["rows"].size == 0):
                return [[] for _ in range(qs.shape[0])]
            rows, scores = self._search_rows(qs, k, fargs)
            return [self._hits(rows[i], scores[i]) for i in range(qs.shape[0])]

    @property
    def higher_is_better(self) -> bool:
        return higher_is_better(self._metric)

    # --- persistence (conduit.vector.persistence does the file work) ---

    def save(self, path: str) -> None:
        """Write the store to directory ``path`` atomically; saves to one path from any
        thread or process are serialised by a lock file (see :mod:`.persistence`)."""
        from .persistence import save_store

        with self._lock.read():
            ann, ids, rows = self._ann, self._ids, self._vectors[: self._n]
            save_store(path, self._state(),
                       None if ann is None else (lambda root: ann.save(root, ids, rows)))

    @classmethod
    def load(cls, path: str, *, mmap: bool | None = None, device: str = "auto",
             index: Any = None) -> "VectorStore":
        """Load a store saved by :meth:`save`; ``mmap`` maps the rows read-only from disk
        (the default for files over 256 MB), copying them on the first write.

        ``index``: None keeps the saved choice (an HNSW index saved beside the rows is
        memory-mapped when it matches them, rebuilt otherwise); or as in the constructor.

        A save that is inconsistent or damaged raises
        :class:`~conduit.vector.errors.CorruptStoreError` here, never at search time."""
        from .persistence import load_store

        def read_index(root, state, vectors):
            return load_index(root, state["ids"], vectors, index, state["dim"], state["metric"],
                              bool(mmap) or mmap is None)

        # validated (raises CorruptStoreError); the index is read under the store's lock
        state, vectors, ann = load_store(path, mmap=mmap, read_index=read_index)
        store = cls(state["dim"], state["metric"], state["dtype"], device)
        n = len(state["ids"])
        store._vectors = vectors
        store._n = n
        store._ids = list(state["ids"])
        store._row = {i: r for r, i in enumerate(store._ids)}
        store._metadata = list(state["metadata"])
        store._inv = inverse_norms(vectors) if n else np.empty(0, np.float32)
        store._sq = (np.einsum("ij,ij->i", vectors, vectors, dtype=np.float32) if n
                     else np.empty(0, np.float32))
        store._ann = ann
        return store

    def _state(self) -> dict:
        return {
            "dim": self.dim, "metric": self.metric, "dtype": self.dtype,
            "ids": self._ids, "metadata": self._metadata, "vectors": self._vectors[: self._n],
        }
