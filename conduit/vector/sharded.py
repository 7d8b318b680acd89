"""ShardedVectorStore: a VectorStore split over Ray actors, one shard per actor.

A store larger than one machine's memory is split into shards; each shard is a
Ray actor holding an ordinary :class:`~conduit.vector.store.VectorStore` (exact
or HNSW), placed wherever the Ray cluster has room. This module owns routing,
fan-out and the merge; the shards own their rows, filters and files.

* Writes are routed by a stable hash of the id (CRC-32 of its JSON encoding, the
  same in every process, unlike Python's salted ``hash``), so an id always lives
  on one shard. Input is validated here, before any shard is touched, and an
  ``add`` checks every shard for taken ids first, so a bad call changes nothing.
* Searches go to every shard at once (each returns its own top ``k`` for the same
  filter); :func:`conduit_kernels.merge.merge_topk` merges them on the caller.
  With exact shards the answer equals one unsharded exact store's.
* ``save(path)`` has every shard save itself to ``path/shard-<i>`` (the path must be
  reachable from the actors' machines: a local disk for one machine, a shared file
  system otherwise), then writes ``path/sharded.json`` atomically; ``load`` starts
  one actor per shard and each loads its own directory.

Ray is an optional extra (``pip install conduit[ray]``) imported on first use.
The caller starts or joins the cluster (``ray.init``) and decides where it listens;
this class never starts one (Ray's own default would listen on the node's
external address).
"""

from __future__ import annotations

import json
import os
import threading
import zlib
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import orjson

from .errors import VectorInputError
from .filters import validate_filter
from .store import Hit, VectorStore

__all__ = ["ShardedVectorStore"]

_FORMAT = 1
_MANIFEST = "sharded.json"


def _ray():
    try:
        import ray
    except ImportError:
        raise ImportError("ShardedVectorStore needs Ray: pip install 'conduit[ray]'") from None
    if not ray.is_initialized():
        raise RuntimeError("ShardedVectorStore needs a Ray cluster: call ray.init(...) first "
                           "(see docs/vector.md for a loopback-only local cluster)")
    return ray


def _own(arr: np.ndarray) -> np.ndarray:
    """A writable copy: Ray hands actors read-only views of the arrays it ships, and a
    read-only array is another Numba type (another compile of every kernel it meets)."""
    return np.array(arr, dtype=np.float32, copy=True)


class _Shard:
    """The actor body: one VectorStore and the calls the client makes on it."""

    def __init__(self, dim: int, metric: str, dtype: str, index: Any, path: str | None = None):
        if path is None:
            self.store = VectorStore(dim, metric, dtype, device="cpu", index=index)
        else:
            self.store = VectorStore.load(path, device="cpu")

    def taken(self, ids: list) -> list:
        return [i for i in ids if i in self.store]

    def add(self, ids, vectors, metadata) -> None:
        self.store.add(ids, _own(vectors), metadata)

    def upsert(self, ids, vectors, metadata) -> None:
        self.store.upsert(ids, _own(vectors), metadata)

    def delete(self, ids) -> int:
        return self.store.delete(ids)

    def get(self, id):
        return self.store.get(id)

    def size(self) -> int:
        return len(self.store)

    def describe(self) -> dict:
        return {"dim": self.store.dim, "metric": self.store.metric, "dtype": self.store.dtype,
                "index": self.store.index, "size": len(self.store)}

    def search(self, queries: np.ndarray, k: int, filter: dict | None):
        """Up to ``k`` hits per query as ``(ids, scores float32[m, k], metadata)``."""
        m = queries.shape[0]
        k = min(k, len(self.store))
        if k == 0:
            return [[] for _ in range(m)], np.zeros((m, 0), np.float32), [[] for _ in range(m)]
        hits = self.store.search_batch(_own(queries), k, filter)
        worst = -np.inf if self.store.higher_is_better else np.inf
        scores = np.full((m, k), worst, dtype=np.float32)
        for q, row in enumerate(hits):
            scores[q, : len(row)] = [h.score for h in row]
        return ([[h.id for h in row] for row in hits], scores,
                [[h.metadata for h in row] for row in hits])

    def save(self, path: str) -> None:
        self.store.save(path)


_ACTOR = None


def _actor_class(ray):
    global _ACTOR
    if _ACTOR is None:
        _ACTOR = ray.remote(_Shard)
    return _ACTOR


def shard_of(id: Any, shards: int) -> int:
    """The shard an id lives on: CRC-32 of its JSON encoding, modulo the shard count."""
    return zlib.crc32(orjson.dumps(id)) % shards


class ShardedVectorStore:
    """A vector store split over ``shards`` Ray actors; the API of :class:`VectorStore`.

    Parameters
    ----------
    dim, metric, dtype, index
        As :class:`VectorStore` (every shard gets the same settings).
    shards : int >= 1
    actor_options : dict, optional
        Passed to each actor's ``.options(...)`` (``num_cpus``, ``resources``,
        ``scheduling_strategy``, ...), to place shards on the machines you want.
    """

    def __init__(self, dim: int, metric: str = "cosine", *, shards: int = 2,
                 dtype: str = "float32", index: Any = "exact",
                 actor_options: dict | None = None, _paths: Sequence[str] | None = None):
        if isinstance(shards, bool) or not isinstance(shards, (int, np.integer)) or shards < 1:
            raise VectorInputError("shards", f"shards must be a positive integer, got {shards!r}")
        # validates dim, metric, dtype and index exactly as a shard will, before any actor starts
        self._checker = VectorStore(dim, metric, dtype, device="cpu", index=index)
        ray = _ray()
        actor = _actor_class(ray).options(**(actor_options or {}))
        self.dim, self.metric, self.dtype = self._checker.dim, self._checker.metric, dtype
        self._index = self._checker.index
        self._write_lock = threading.Lock()
        if _paths is None:
            self._actors = [actor.remote(self.dim, self.metric, dtype, index)
                            for _ in range(int(shards))]
        else:
            self._actors = [actor.remote(self.dim, self.metric, dtype, index, p) for p in _paths]
        self._get = ray.get

    # --- properties ---

    @property
    def shards(self) -> int:
        return len(self._actors)

    @property
    def index(self) -> str:
        return self._index

    @property
    def higher_is_better(self) -> bool:
        return self._checker.higher_is_better

    def __len__(self) -> int:
        return sum(self._get([a.size.remote() for a in self._actors]))

    def __contains__(self, id: Any) -> bool:
        return self.get(id) is not None

    def __repr__(self) -> str:
        return (f"ShardedVectorStore(dim={self.dim}, metric={self.metric!r}, "
                f"shards={self.shards}, index={self.index!r})")

    # --- routing ---

    def _split(self, ids: list) -> list[list[int]]:
        """Positions of ``ids`` per shard."""
        parts: list[list[int]] = [[] for _ in self._actors]
        for pos, i in enumerate(ids):
            parts[shard_of(i, len(self._actors))].append(pos)
        return parts

    def _write(self, method: str, ids: Sequence, vectors: Any, metadata) -> None:
        ids, arr, metas = self._checker._check_batch(ids, vectors, metadata)
        parts = self._split(ids)
        with self._write_lock:
            if method == "add":
                taken = [i for found in self._get([
                    a.taken.remote([ids[p] for p in part])
                    for a, part in zip(self._actors, parts) if part]) for i in found]
                if taken:
                    raise VectorInputError("ids", f"ids already stored (use upsert): {taken[:5]}")
            self._get([getattr(a, method).remote([ids[p] for p in part], arr[part],
                                                 [metas[p] for p in part])
                       for a, part in zip(self._actors, parts) if part])

    # --- writes ---

    def add(self, ids: Sequence, vectors: Any, metadata: Sequence[dict] | None = None) -> None:
        """Add new vectors; an id already stored (on its shard) is an error."""
        self._write("add", ids, vectors, metadata)

    def upsert(self, ids: Sequence, vectors: Any, metadata: Sequence[dict] | None = None) -> None:
        """Insert new ids and replace the vector and metadata of stored ones."""
        self._write("upsert", ids, vectors, metadata)

    def delete(self, ids: Iterable) -> int:
        """Delete stored ids (unknown ids are ignored); returns how many were deleted."""
        from .store import _check_id

        ids = [_check_id(i) for i in ([ids] if isinstance(ids, (str, int)) else ids)]
        parts = self._split(ids)
        with self._write_lock:
            return sum(self._get([a.delete.remote([ids[p] for p in part])
                                  for a, part in zip(self._actors, parts) if part]))

    # --- reads ---

    def get(self, id: Any) -> tuple[np.ndarray, dict] | None:
        """``(vector, metadata)`` for a stored id, else None."""
        return self._get(self._actors[shard_of(id, len(self._actors))].get.remote(id))

    def search(self, query: Any, k: int = 10, filter: dict | None = None) -> list[Hit]:
        """The ``k`` best stored vectors over all shards, best first (see VectorStore)."""
        q = self._checker._check_vectors(query, "query")
        if q.shape[0] != 1:
            raise VectorInputError("query", "search takes one vector; use search_batch for several")
        return self.search_batch(q, k, filter)[0]

    def search_batch(self, queries: Any, k: int = 10, filter: dict | None = None) -> list[list[Hit]]:
        """:meth:`search` for each row of ``queries``: every shard searched at once, then merged."""
        from conduit_kernels.merge import merge_topk

        qs = self._checker._check_vectors(queries, "queries")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise VectorInputError("k", f"k must be a positive integer, got {k!r}")
        if filter is not None:
            validate_filter(filter)
        parts = self._get([a.search.remote(qs, int(k), filter) for a in self._actors])
        scores = np.concatenate([p[1] for p in parts], axis=1)
        if scores.shape[1] == 0:  # every shard empty
            return [[] for _ in range(qs.shape[0])]
        # k beyond the store is not an error (as in VectorStore and Chroma): the hits there are
        positions, best = merge_topk(scores, min(int(k), scores.shape[1]), self.higher_is_better)
        out = []
        for q in range(qs.shape[0]):
            flat_ids = [i for p in parts for i in p[0][q]]
            flat_meta = [md for p in parts for md in p[2][q]]
            # sentinel-padded columns have no id: map positions through each shard's width
            offsets, col = [], 0
            for p in parts:
                width = p[1].shape[1]
                offsets.append((col, width, len(p[0][q])))
                col += width
            hits = []
            for pos, score in zip(positions[q].tolist(), best[q].tolist()):
                if pos < 0:
                    break
                index = _column_to_item(offsets, pos)
                if index is not None:
                    hits.append(Hit(flat_ids[index], float(score), flat_meta[index]))
            out.append(hits)
        return out

    # --- persistence ---

    def save(self, path: "str | os.PathLike") -> None:
        """Every shard saves to ``path/shard-<i>``; then ``path/sharded.json`` is replaced."""
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        with self._write_lock:
            self._get([a.save.remote(str((root / f"shard-{i}").resolve()))
                       for i, a in enumerate(self._actors)])
            manifest = {"format": _FORMAT, "dim": self.dim, "metric": self.metric,
                        "dtype": self.dtype, "index": self.index, "shards": self.shards}
            tmp = root / f"{_MANIFEST}.tmp"
            with open(tmp, "w") as f:
                json.dump(manifest, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, root / _MANIFEST)

    @classmethod
    def load(cls, path: "str | os.PathLike", *, actor_options: dict | None = None
             ) -> "ShardedVectorStore":
        """Start one actor per saved shard, each loading its own directory."""
        root = Path(path)
        try:
            manifest = json.loads((root / _MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise VectorInputError("path", f"no sharded store at {root}: {exc}") from None
        if manifest.get("format") != _FORMAT:
            raise VectorInputError("path", f"unsupported sharded store format "
                                           f"{manifest.get('format')!r}")
        shards = int(manifest["shards"])
        paths = [str((root / f"shard-{i}").resolve()) for i in range(shards)]
        missing = [p for p in paths if not (Path(p) / "CURRENT").is_file()]
        if missing:
            raise VectorInputError("path", f"corrupt sharded store at {root}: missing {missing}")
        store = cls(manifest["dim"], manifest["metric"], shards=shards, dtype=manifest["dtype"],
                    index=manifest["index"], actor_options=actor_options, _paths=paths)
        store._get([a.size.remote() for a in store._actors])  # surface load errors here
        return store


def _column_to_item(offsets: list, pos: int) -> int | None:
    """Column of the concatenated score matrix -> index into the flattened id list."""
    item = 0
    for start, width, real in offsets:
        if pos < start + width:
            local = pos - start
            return item + local if local < real else None
        item += real
    return None
