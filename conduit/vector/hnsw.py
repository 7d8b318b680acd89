"""The HNSW option of VectorStore: an approximate index kept in step with the rows.

``VectorStore(dim, index="hnsw")`` (or ``index=HnswConfig(M=..., ...)``) answers
searches from a :class:`conduit_kernels.hnsw.HnswIndex` whose labels are the
store's row numbers. The store stays the source of truth (its float32 rows,
ids and metadata); the index is derived data, like the int8 codes:

* adds insert the new rows; an upsert tombstones the old node and inserts the
  new vector; a delete tombstones the row's node and relabels the node of the
  row the store moved into the hole (rows stay contiguous);
* metadata filters arrive as the store's row mask and walk the graph keeping
  only allowed rows, or use the exact scan when few rows are allowed (the rule
  lives in :mod:`conduit_kernels.hnsw`);
* ``save`` writes the index beside the store as ``hnsw-<fingerprint>/``, where
  the fingerprint hashes the ids and rows it was built from, inside the store's
  save (one locked commit, :mod:`.persistence`); ``load`` uses that index
  (memory-mapped) only when the loaded rows hash to the same value, and
  otherwise rebuilds it, so an index can never answer for other data. A
  half-written index (a crashed save) is rebuilt too, and so is one whose log
  ends in a torn record; a complete one that fails validation (labels not the
  rows, links out of range, NaN rows) is a :class:`CorruptStoreError`.
* saves are incremental: the new ``hnsw-<fingerprint>/`` hard-links the files of
  the index the store last saved or loaded and adds one log record of the rows
  changed since (see :class:`conduit_kernels.hnsw.HnswIndex`), so adding 1% and
  saving writes about 1% of the graph; the sweep after the commit removes the
  old directory, and the links keep the shared files.

Knows nothing of metadata or HTTP; raises :class:`VectorInputError`.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import orjson

from .errors import CorruptStoreError, VectorInputError

__all__ = ["HnswConfig", "HnswRows", "load_index", "make_index"]

_PREFIX = "hnsw-"
logger = logging.getLogger("conduit.vector")


@dataclass(frozen=True, slots=True)
class HnswConfig:
    """HNSW parameters for ``VectorStore(index=HnswConfig(...))``.

    ``M`` links per node (``2 M`` on the bottom layer), ``ef_construction`` the
    beam width while inserting, ``ef`` while searching (raised to ``k``), ``seed``
    the layer draw. Defaults as hnswlib's usual settings.
    """

    M: int = 16
    ef_construction: int = 200
    ef: int = 64
    seed: int = 0


def make_index(index: Any, dim: int, metric: str, dtype: str, device: str) -> "HnswRows | None":
    """The index a store was asked for: None for ``"exact"``, else an :class:`HnswRows`."""
    if isinstance(index, str) and index == "exact":
        return None
    if isinstance(index, str) and index == "hnsw":
        index = HnswConfig()
    if not isinstance(index, HnswConfig):
        raise VectorInputError("index", f"index must be 'exact', 'hnsw' or an HnswConfig, "
                                        f"got {index!r}")
    if dtype != "float32":
        raise VectorInputError("index", "index='hnsw' keeps float32 rows; use dtype='float32'")
    if device == "cuda":
        raise VectorInputError("index", "index='hnsw' searches on the CPU; use device='cpu' "
                                        "or 'auto'")
    return HnswRows(index, dim, metric)


def fingerprint(ids: list, vectors: np.ndarray) -> str:
    """A hash of the ids and rows an index answers for (blake2b, 128 bits)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(orjson.dumps(ids))
    h.update(np.ascontiguousarray(vectors, dtype=np.float32).data)
    return h.hexdigest()


class HnswRows:
    """An :class:`~conduit_kernels.hnsw.HnswIndex` labelled by store row."""

    def __init__(self, config: HnswConfig, dim: int, metric: str, index: Any = None):
        from conduit_kernels.hnsw import HnswIndex

        self.config = config
        try:
            self.index = index if index is not None else HnswIndex(
                dim, metric, M=config.M, ef_construction=config.ef_construction, ef=config.ef,
                seed=config.seed)
        except ValueError as exc:
            raise VectorInputError("index", str(exc)) from None

    def append(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        self.index.add(vectors, rows)

    def replace(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        self.index.delete(rows)
        self.index.add(vectors, rows)

    def remove(self, row: int, last: int) -> None:
        """Row ``row`` is deleted and the store moves row ``last`` into it."""
        self.index.delete([row])
        if row != last:
            self.index.relabel(last, row)

    def search(self, queries: np.ndarray, k: int, fargs: dict, n: int):
        """``(rows int64[m, k], scores float32[m, k])``, -1 for empty slots."""
        mask = fargs.get("mask")
        if "rows" in fargs:
            mask = np.zeros(n, dtype=np.bool_)
            mask[fargs["rows"]] = True
        return self.index.search_batch(queries, k, mask=mask)

    def save(self, root: Path, ids: list, vectors: np.ndarray) -> "Callable[[], None]":
        """Write the index as ``root/hnsw-<fingerprint>/``; returns the sweep of older
        indexes, which :func:`~.persistence.save_store` runs after its commit, under its lock."""
        name = _PREFIX + fingerprint(ids, vectors)
        self.index.save(root / name)

        def sweep() -> None:
            for entry in root.iterdir():
                if entry.name.startswith(_PREFIX) and entry.name != name:
                    shutil.rmtree(entry, ignore_errors=True)

        return sweep


def load_index(root: Path, ids: list, vectors: np.ndarray, index: Any, dim: int,
               metric: str, mmap: bool) -> "HnswRows | None":
    """The index for a loaded store: the saved one if it matches the rows, else rebuilt.

    ``index=None`` means "as saved": HNSW when an index was saved beside the store.
    An index directory left half-written by a crashed save is ignored (logged) and
    the index rebuilt from the rows; a complete one that fails validation raises
    :class:`CorruptStoreError`.
    """
    from conduit_kernels.hnsw import HnswIndex

    saved = sorted(p for p in root.iterdir() if p.name.startswith(_PREFIX)) if root.is_dir() else []
    if index is None:
        index = "hnsw" if saved else "exact"
    rows = make_index(index, dim, metric, "float32", "cpu")
    if rows is None:
        return None
    match = root / (_PREFIX + fingerprint(ids, vectors))
    loaded = None
    if match.is_dir():
        try:
            loaded = HnswIndex.load(match, mmap=mmap)
        except FileNotFoundError as exc:
            logger.warning("ignoring the partial HNSW index at %s (%s); rebuilding it from the "
                           "stored vectors", match, exc)
        except ValueError as exc:
            raise CorruptStoreError(str(exc)) from None
        if loaded is not None and loaded.log_truncated:
            logger.warning("ignoring the HNSW index at %s, whose log ends in a torn record; "
                           "rebuilding it from the stored vectors", match)
        elif loaded is not None:
            _check_labels(loaded, len(ids), match)
            if loaded.dim == dim and loaded.metric == metric and len(loaded) == len(ids):
                cfg = HnswConfig(loaded.M, loaded.ef_construction, loaded.ef, loaded.seed)
                if index == "hnsw" or index == cfg:
                    return HnswRows(cfg, dim, metric, loaded)
    if len(ids):
        rows.append(np.arange(len(ids), dtype=np.int64), np.asarray(vectors, dtype=np.float32))
    return rows


def _check_labels(loaded: Any, n: int, where: Path) -> None:
    """A store's index labels its live nodes with the rows ``0 .. n-1``, each once."""
    labels = loaded.labels()
    if labels.shape[0] != n or (n and (labels.min() < 0 or labels.max() >= n)) \
            or np.unique(labels).shape[0] != labels.shape[0]:
        raise CorruptStoreError(f"corrupt HNSW index at {where}: its {labels.shape[0]} live labels "
                                f"are not the rows 0..{n - 1}, each once")
