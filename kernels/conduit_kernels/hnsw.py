"""HnswIndex: an approximate nearest-neighbour index over the HNSW graph kernels.

Owns the graph arrays (:mod:`conduit_kernels.hnsw_graph` documents them and does
all the work), the labels a search returns, validation of user input, tombstones
and rebuilds, the choice between graph traversal and the exact scan for filtered
searches, and saving/loading. Knows nothing of ids other than int64 labels, nor
of metadata.

* ``add(vectors, labels=None)`` inserts in parallel batches (race-free; see the
  graph module); labels default to ``0, 1, 2, ...`` in insertion order.
* ``delete(labels)`` leaves tombstones: deleted nodes still route searches but
  are never returned. When they reach :data:`REBUILD_FRACTION` of the nodes the
  index is rebuilt from the live rows (labels are kept), so dead nodes stop
  costing memory and search time; ``rebuild()`` does it on demand.
* Filters: ``mask`` is a bool array indexed by *label*. The search traverses the
  whole graph but keeps only allowed nodes; when few nodes are allowed the graph
  walk would visit most of the graph anyway, so below ``exact_below`` allowed
  nodes (default :math:`\\sqrt{ef \\cdot 2M \\cdot n}`, where both costs meet:
  an exact scan reads the allowed rows, a filtered walk of width ``ef`` expands
  about ``ef / selectivity`` nodes of ``2M`` links) the exact top-k scan answers.
* ``save(path)`` writes a directory atomically (a new version directory, then
  ``CURRENT`` replaced with ``os.replace``); ``load(path, mmap=True)`` maps the
  arrays copy-on-write, so a loaded index searches without reading it whole and
  can still be written to (pages are copied privately, never written back).
* Saves are incremental: an index saved or loaded before remembers that version;
  its next save hard-links that version's files (the base arrays and earlier log
  records, never modified) into the new version and writes one log record
  (:mod:`conduit_kernels.hnsw_log`) holding only the rows changed since: the new
  nodes and the link lists insertion rewrote. When the records pass
  :data:`COMPACT_FRACTION` of the base, the save writes a fresh base instead.
  ``load`` maps the base and applies the records in order; a torn or missing
  record ends the log there (logged; ``log_truncated`` is set).

Results: labels ``int64[k]`` and natural scores ``float32[k]`` (as
:func:`conduit_kernels.topk.topk`), best first; when fewer than ``k`` nodes qualify
the tail holds label ``-1`` and score ``-inf`` (similarities) or ``+inf``.

Not thread-safe for writes: run ``add``/``delete``/``rebuild`` under one writer
(concurrent searches are fine, they only read; ``conduit.vector`` uses a
readers-writer lock).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import threading
import uuid
from pathlib import Path

import numpy as np

from . import hnsw_graph as _g
from .hnsw_log import read_record, write_record
from .distances import Metric, resolve_metric
from .npyfile import load_npy
from .topk import MISSING_ID, topk, topk_batch

__all__ = ["COMPACT_FRACTION", "REBUILD_FRACTION", "HnswIndex"]

logger = logging.getLogger("conduit_kernels.hnsw")
#: Log bytes, as a fraction of the base's, past which a save rewrites the base.
COMPACT_FRACTION = 0.2

#: Tombstones, as a fraction of all nodes, that trigger a rebuild in ``delete``.
REBUILD_FRACTION = 0.25
#: Largest insertion batch, as a fraction of the nodes already in the graph.
BATCH_FRACTION = 0.02
_MAX_LEVEL = 31  # reverse-edge keys reserve 6 bits for the layer
_FORMAT = 2
_SCALARS = ("size", "n_upper", "n_deleted", "entry", "max_level", "next_label")
_UPPER = ("upper_links", "upper_count")
_NO_MASK = np.zeros(0, dtype=np.bool_)
_ARRAYS = ("data", "links0", "count0", "levels", "upper_offset", "upper_links", "upper_count",
           "deleted", "labels")


def _positive_int(name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


class _Graph:
    """The arrays of :mod:`conduit_kernels.hnsw_graph`, sized to a capacity."""

    __slots__ = _ARRAYS

    def __init__(self, dim: int, m: int, cap: int, upper_cap: int):
        self.data = np.zeros((cap, dim), dtype=np.float32)
        self.links0 = np.zeros((cap, 2 * m), dtype=np.int32)
        self.count0 = np.zeros(cap, dtype=np.int32)
        self.levels = np.zeros(cap, dtype=np.int32)
        self.upper_offset = np.full(cap, -1, dtype=np.int64)
        self.upper_links = np.zeros((upper_cap, m), dtype=np.int32)
        self.upper_count = np.zeros(upper_cap, dtype=np.int32)
        self.deleted = np.zeros(cap, dtype=np.bool_)
        self.labels = np.zeros(cap, dtype=np.int64)

    def grow(self, cap: int, upper_cap: int) -> None:
        """Reallocate to at least these capacities, keeping the contents."""
        for name in _ARRAYS:
            old = getattr(self, name)
            want = upper_cap if name.startswith("upper_") and name != "upper_offset" else cap
            if old.shape[0] >= want and old.flags.writeable:
                continue
            new = np.zeros((max(want, old.shape[0]),) + old.shape[1:], dtype=old.dtype)
            if name == "upper_offset":
                new[:] = -1
            new[: old.shape[0]] = old
            setattr(self, name, new)


class HnswIndex:
    """An HNSW index over float32 vectors, built and searched by Numba kernels.

    Parameters
    ----------
    dim : int >= 1
    metric : "cosine" | "dot" | "euclidean" | "manhattan" (aliases: ip, l2, l1)
    M : int >= 2
        Links per node on the upper layers (``2 M`` on layer 0). More: better recall,
        more memory, slower build.
    ef_construction : int >= 1
        Beam width while inserting.
    ef : int >= 1
        Default beam width while searching (raised to ``k`` when smaller).
    seed : int
        Seeds the layer draw, so a build is reproducible (and independent of threads).
    """

    def __init__(self, dim: int, metric: str = "cosine", *, M: int = 16,
                 ef_construction: int = 200, ef: int = 64, seed: int = 0):
        self.dim = _positive_int("dim", dim)
        self._metric = resolve_metric(metric)
        self.M = _positive_int("M", M, 2)
        self.ef_construction = _positive_int("ef_construction", ef_construction)
        self.ef = _positive_int("ef", ef)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        self.seed = int(seed)
        self._graph = _Graph(self.dim, self.M, 0, 0)
        self._size = 0  # nodes in use (live + tombstones)
        self._n_upper = 0  # rows of upper_links in use
        self._n_deleted = 0
        self._entry = -1
        self._max_level = -1
        self._next_label = 0
        self._node_of: dict | None = None  # label -> node, built on first need
        self._marks = threading.local()  # visited marks, one pair per searching thread
        self._saved: dict | None = None  # the version last saved or loaded (incremental saves)
        self._touched_links: list = []  # nodes whose layer-0 links changed since then
        self._touched_marks: list = []  # nodes deleted or relabelled since then
        self._touched_up: list = []  # upper_links rows changed since then
        self.log_truncated = False  # load stopped at a torn log record

    # --- properties ---

    @property
    def metric(self) -> str:
        return self._metric.name.lower()

    def __len__(self) -> int:
        """Live (not deleted) vectors."""
        return self._size - self._n_deleted

    @property
    def n_deleted(self) -> int:
        return self._n_deleted

    def __repr__(self) -> str:
        return (f"HnswIndex(dim={self.dim}, metric={self.metric!r}, M={self.M}, "
                f"ef_construction={self.ef_construction}, ef={self.ef}, size={len(self)})")

    def labels(self) -> np.ndarray:
        """The live labels, in node order (int64)."""
        g = self._graph
        return g.labels[: self._size][~g.deleted[: self._size]].copy()

    def nbytes(self) -> int:
        """Bytes held by the arrays in use (vectors and graph)."""
        g, n, u = self._graph, self._size, self._n_upper
        return int(sum(getattr(g, a)[: u if a in ("upper_links", "upper_count") else n].nbytes
                       for a in _ARRAYS))

    # --- input checks ---

    def _rows(self, vectors, name: str) -> np.ndarray:
        arr = np.asarray(vectors)
        if arr.dtype.kind not in "iuf":
            raise ValueError(f"{name} must be numbers, got dtype {arr.dtype}")
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(f"{name} must have shape (n, {self.dim}), got {np.shape(vectors)}")
        if arr.dtype != np.float32 or not arr.flags.c_contiguous:
            with np.errstate(over="ignore"):  # float32 overflow is inf, refused just below
                arr = np.ascontiguousarray(arr, dtype=np.float32)
        cosine = self._metric == Metric.COSINE
        finite, normalised = _g.checked_rows(arr, cosine)
        if not finite:
            raise ValueError(f"{name} must be finite (no NaN or inf)")
        return normalised if cosine else arr

    def _label_map(self) -> dict:
        if self._node_of is None:
            g = self._graph
            live = np.flatnonzero(~g.deleted[: self._size])
            self._node_of = dict(zip(g.labels[live].tolist(), live.tolist()))
        return self._node_of

    def _check_labels(self, labels, n: int) -> np.ndarray:
        if labels is None:
            return np.arange(self._next_label, self._next_label + n, dtype=np.int64)
        arr = np.asarray(labels)
        if arr.ndim != 1 or arr.shape[0] != n or (n and arr.dtype.kind not in "iu"):
            raise ValueError(f"labels must be {n} non-negative integers, got shape {arr.shape}")
        arr = arr.astype(np.int64)
        if n and arr.min() < 0:
            raise ValueError("labels must be non-negative")
        if np.unique(arr).shape[0] != n:
            raise ValueError("duplicate labels in one call")
        taken = [int(x) for x in arr.tolist() if x in self._label_map()]
        if taken:
            raise ValueError(f"labels already in the index: {taken[:5]}")
        return arr

    # --- writes ---

    def add(self, vectors, labels=None) -> np.ndarray:
        """Insert rows ``float32[n, dim]``; returns their labels (int64[n])."""
        arr = self._rows(vectors, "vectors")
        n = arr.shape[0]
        labs = self._check_labels(labels, n)
        if n == 0:
            return labs
        start = self._size
        rng = np.random.default_rng([self.seed, start])
        ml = 1.0 / math.log(self.M)
        levels = np.minimum(
            np.floor(-np.log(1.0 - rng.random(n)) * ml), _MAX_LEVEL).astype(np.int32)
        n_up = int(levels.sum())
        g = self._graph
        if start + n > g.data.shape[0] or self._n_upper + n_up > g.upper_links.shape[0]:
            g.grow(max(start + n, 2 * g.data.shape[0]), max(self._n_upper + n_up,
                                                            2 * g.upper_links.shape[0]))
        nodes = np.arange(start, start + n)
        g.data[nodes] = arr
        g.levels[nodes] = levels
        g.labels[nodes] = labs
        g.deleted[nodes] = False
        g.count0[nodes] = 0
        offsets = self._n_upper + np.cumsum(levels) - levels
        g.upper_offset[nodes] = np.where(levels > 0, offsets, -1)
        g.upper_count[self._n_upper: self._n_upper + n_up] = 0
        self._n_upper += n_up
        self._size += n
        self._next_label = max(self._next_label, int(labs.max()) + 1)
        if self._node_of is not None:
            self._node_of.update(zip(labs.tolist(), nodes.tolist()))
        self._insert(nodes)
        return labs

    def _insert(self, nodes: np.ndarray) -> None:
        """Link ``nodes`` (their rows already written) into the graph, batch by batch."""
        at = 0
        if self._entry < 0:
            self._entry, self._max_level = int(nodes[0]), int(self._graph.levels[nodes[0]])
            at = 1
        built = self._size - (nodes.shape[0] - at)
        metric = int(self._metric)
        while at < nodes.shape[0]:
            size = max(1, min(nodes.shape[0] - at, int(BATCH_FRACTION * built)))
            batch = np.ascontiguousarray(nodes[at: at + size], dtype=np.int64)
            self._entry, self._max_level, targets, layers = _g.insert_batch(
                metric, self._graph, self._entry, self._max_level, batch, self.M,
                self.ef_construction)
            if self._saved is not None and self._size - self._saved["size"] > \
                    COMPACT_FRACTION * self._saved["size"]:
                self._saved = None  # the next save writes a base: stop tracking rows
                self._touched_links, self._touched_marks, self._touched_up = [], [], []
            if self._saved is not None:
                self._touched_links.append(targets[layers == 0])
                up = layers > 0
                self._touched_up.append(self._graph.upper_offset[targets[up]] + layers[up] - 1)
            at += size
            built += size

    def delete(self, labels) -> int:
        """Tombstone the nodes with these labels (unknown labels are ignored).

        Returns how many were deleted; rebuilds when tombstones reach
        :data:`REBUILD_FRACTION` of the nodes.
        """
        arr = np.atleast_1d(np.asarray(labels))
        if arr.size and arr.dtype.kind not in "iu":
            raise ValueError(f"labels must be integers, got dtype {arr.dtype}")
        node_of = self._label_map()
        gone = 0
        for lab in dict.fromkeys(arr.tolist()):
            node = node_of.pop(int(lab), None)
            if node is not None:
                self._graph.deleted[node] = True
                self._touched_marks.append(np.array([node], dtype=np.int64))
                gone += 1
        self._n_deleted += gone
        if self._n_deleted and self._n_deleted >= REBUILD_FRACTION * self._size:
            self.rebuild()
        return gone

    def relabel(self, label: int, new_label: int) -> None:
        """Give the live node ``label`` the label ``new_label`` (not in use)."""
        node_of = self._label_map()
        if label not in node_of:
            raise KeyError(f"label {label} is not in the index")
        if new_label in node_of:
            raise ValueError(f"label {new_label} is already in the index")
        if isinstance(new_label, bool) or not isinstance(new_label, (int, np.integer)) or new_label < 0:
            raise ValueError(f"labels must be non-negative integers, got {new_label!r}")
        node = node_of.pop(label)
        node_of[int(new_label)] = node
        self._graph.labels[node] = new_label
        self._touched_marks.append(np.array([node], dtype=np.int64))
        self._next_label = max(self._next_label, int(new_label) + 1)

    def rebuild(self) -> None:
        """Rebuild the graph from the live rows only (labels kept, tombstones dropped)."""
        g = self._graph
        live = np.flatnonzero(~g.deleted[: self._size])
        data, labels = g.data[live].copy(), g.labels[live].copy()
        fresh = HnswIndex(self.dim, "dot" if self._metric == Metric.COSINE else self.metric,
                          M=self.M, ef_construction=self.ef_construction, ef=self.ef,
                          seed=self.seed)
        fresh.add(data, labels)  # cosine rows are already normalised
        self._graph, self._size, self._n_upper = fresh._graph, fresh._size, fresh._n_upper
        self._entry, self._max_level = fresh._entry, fresh._max_level
        self._n_deleted = 0
        self._node_of = fresh._node_of
        self._saved = None  # every row moved: the next save writes a new base

    # --- search ---

    def _filter(self, mask, exact_below, ef):
        """``(allowed mask for the kernels, eligible nodes for an exact scan or None)``."""
        g, n = self._graph, self._size
        live = len(self)
        if exact_below is None:
            exact_below = math.sqrt(ef * 2 * self.M * max(live, 1))
        if mask is None:
            if live >= exact_below:
                return _NO_MASK, None
            return _NO_MASK, np.flatnonzero(~g.deleted[:n])
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.ndim != 1:
            raise ValueError("mask must be a 1-D bool array indexed by label")
        mask = np.ascontiguousarray(mask)
        labels = g.labels[:n]
        ok = ~g.deleted[:n] & (labels < mask.shape[0])
        ok[ok] = mask[labels[ok]]
        count = int(np.count_nonzero(ok))
        if count >= exact_below and count > 0:
            return mask, None
        return mask, np.flatnonzero(ok)

    def _empty(self, m, k):
        worst = -np.inf if self._metric in (Metric.COSINE, Metric.DOT) else np.inf
        return np.full((m, k), MISSING_ID, np.int64), np.full((m, k), worst, np.float32)

    def search_batch(self, queries, k: int, *, ef: int | None = None, mask=None,
                     exact_below: int | None = None):
        """The approximate ``k`` best labels for each query row.

        Parameters
        ----------
        queries : float32[m, dim]
        k : int >= 1
        ef : int, optional
            Beam width (default: the index's ``ef``; raised to ``k``).
        mask : bool[L], optional
            Only labels ``l`` with ``l < L and mask[l]`` are returned.
        exact_below : int, optional
            Eligible nodes below which the exact scan answers instead of the graph.

        Returns
        -------
        labels : int64[m, k]
        scores : float32[m, k]
        """
        qs = self._rows(queries, "queries")
        k = _positive_int("k", k)
        ef = self.ef if ef is None else _positive_int("ef", ef)
        m = qs.shape[0]
        if m == 0 or len(self) == 0:
            return self._empty(m, k)
        allowed, exact_nodes = self._filter(mask, exact_below, max(ef, k))
        g = self._graph
        if exact_nodes is not None:
            if exact_nodes.shape[0] == 0:
                return self._empty(m, k)
            scan = Metric.DOT if self._metric == Metric.COSINE else self._metric
            data = g.data[: self._size]
            if m == 1:
                nodes, scores = topk(data, qs[0], k, scan, rows=exact_nodes)
                nodes, scores = nodes[None, :], scores[None, :]
            else:
                nodes, scores = topk_batch(data, qs, k, scan, rows=exact_nodes)
            missing = nodes == MISSING_ID
            labels = g.labels[np.where(missing, 0, nodes)]
            labels[missing] = MISSING_ID
            return labels, scores
        args = (int(self._metric), g.data, g.links0, g.count0, g.levels, g.upper_offset,
                g.upper_links, g.upper_count, g.deleted, g.labels, allowed, self._entry,
                self._max_level)
        marks = self._visited_marks()
        if m == 1:
            labels, scores = _g.search_one(*args, qs[0], k, ef, *marks)
            return labels[None, :], scores[None, :]
        return _g.search_batch(*args, qs, k, ef, *marks)

    def _visited_marks(self):
        """This thread's reusable visited marks, sized to the graph's capacity."""
        marks = getattr(self._marks, "pair", None)
        if marks is None or marks[0].shape[1] < self._graph.data.shape[0]:
            marks = self._marks.pair = _g.visited_marks(self._graph.data.shape[0])
        return marks

    def search(self, query, k: int, *, ef: int | None = None, mask=None,
               exact_below: int | None = None):
        """:meth:`search_batch` for one query ``float32[dim]``: ``(int64[k], float32[k])``."""
        q = np.asarray(query)
        if q.ndim != 1:
            raise ValueError(f"query must have shape ({self.dim},), got {q.shape}")
        labels, scores = self.search_batch(q[None, :], k, ef=ef, mask=mask,
                                           exact_below=exact_below)
        return labels[0], scores[0]

    # --- persistence ---

    def _scalars(self) -> dict:
        return {"size": self._size, "n_upper": self._n_upper, "n_deleted": self._n_deleted,
                "entry": self._entry, "max_level": self._max_level,
                "next_label": self._next_label}

    def _write_base(self, tmp: Path) -> dict:
        """Every array in use, one ``.npy`` each: a new base with an empty log."""
        g, total = self._graph, 0
        for a in _ARRAYS:
            used = self._n_upper if a in _UPPER else self._size
            with open(tmp / f"{a}.npy", "wb") as f:
                np.save(f, np.ascontiguousarray(getattr(g, a)[:used]))
                f.flush()
                os.fsync(f.fileno())
                total += f.tell()
        return {"base": self._scalars(), "base_bytes": total, "records": []}

    def _write_increment(self, tmp: Path) -> "dict | None":
        """Link the last version's files into ``tmp`` and add one record of the rows
        changed since; None when a new base is due (or the last version is gone)."""
        s = self._saved
        if s is None or not s["dir"].is_dir() or self._size < s["base"]["size"]:
            return None
        new = np.arange(s["size"], self._size, dtype=np.int64)
        links = np.unique(np.concatenate(self._touched_links + [new]))
        marks = np.unique(np.concatenate(self._touched_marks + [new]))
        ups = np.unique(np.concatenate(
            self._touched_up + [np.arange(s["n_upper"], self._n_upper, dtype=np.int64)]))
        g = self._graph
        rows = {a: ups if a in _UPPER else links if a in ("links0", "count0")
                else marks if a in ("deleted", "labels") else new for a in _ARRAYS}
        guess = sum(r.shape[0] * (8 + getattr(g, a)[:1].nbytes) for a, r in rows.items())
        if s["log_bytes"] + guess > COMPACT_FRACTION * s["base_bytes"]:
            return None  # skips writing a record that would be thrown away
        try:
            for f in [f"{a}.npy" for a in _ARRAYS] + [r["name"] for r in s["records"]]:
                os.link(s["dir"] / f, tmp / f)
        except OSError:  # another file system, or the version was swept meanwhile
            for f in tmp.iterdir():
                f.unlink()
            return None
        name = f"r-{uuid.uuid4().hex}.bin"
        nbytes = write_record(tmp / name, self._scalars(),
                              {a: (r, getattr(g, a)[r]) for a, r in rows.items()})
        if s["log_bytes"] + nbytes > COMPACT_FRACTION * s["base_bytes"]:
            for f in tmp.iterdir():  # the record's headers tipped it over: compact
                f.unlink()
            return None
        return {"base": s["base"], "base_bytes": s["base_bytes"],
                "records": s["records"] + [{"name": name, "bytes": nbytes}]}

    def _remember(self, version: Path, layout: dict) -> None:
        """``version`` now holds this index: the next save may build on it."""
        self._saved = {**layout, "dir": version, "size": self._size, "n_upper": self._n_upper,
                       "log_bytes": sum(r["bytes"] for r in layout["records"])}
        self._touched_links, self._touched_marks, self._touched_up = [], [], []

    def save(self, path: "str | os.PathLike") -> None:
        """Write the index to directory ``path`` atomically (see the module docstring):
        a log record over the version last saved or loaded when it can, else a new base."""
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        name = f"v-{uuid.uuid4().hex}"
        tmp = root / f".tmp-{name}"
        tmp.mkdir()
        try:
            layout = self._write_increment(tmp) or self._write_base(tmp)
            meta = {"format": _FORMAT, "dim": self.dim, "metric": self.metric, "M": self.M,
                    "ef_construction": self.ef_construction, "ef": self.ef, "seed": self.seed,
                    **self._scalars(), **layout}
            with open(tmp / "index.json", "w") as f:
                json.dump(meta, f)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, root / name)
            with open(root / "CURRENT.tmp", "w") as f:
                f.write(name)
                f.flush()
                os.fsync(f.fileno())
            os.replace(root / "CURRENT.tmp", root / "CURRENT")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for entry in root.iterdir():
            if entry.name != name and entry.name.startswith(("v-", ".tmp-v-")):
                shutil.rmtree(entry, ignore_errors=True)
        self._remember(root / name, layout)

    @classmethod
    def load(cls, path: "str | os.PathLike", *, mmap: bool = True) -> "HnswIndex":
        """Load an index saved by :meth:`save`, validated (see :func:`_validate`).

        ``mmap=True`` maps the base arrays copy-on-write instead of reading them
        (rows a log record adds are copied into memory). Raises ``FileNotFoundError``
        when ``path`` holds no complete save (no ``CURRENT``: a save that crashed
        before its commit) and ``ValueError`` naming the problem for a corrupt one.
        A torn log record ends the log (logged, ``log_truncated`` set).
        """
        root = Path(path)
        try:
            name = (root / "CURRENT").read_text().strip()
        except FileNotFoundError:
            raise FileNotFoundError(f"no complete HNSW index at {root} (no CURRENT)") from None
        except (OSError, ValueError) as exc:
            raise ValueError(f"corrupt HNSW index at {root}: unreadable CURRENT ({exc})") from None
        if not name.startswith("v-") or "/" in name or not (root / name).is_dir():
            raise ValueError(f"corrupt HNSW index at {root}: CURRENT names {name!r}, "
                             "which is not a saved version")
        version = root / name
        try:
            meta = json.loads((version / "index.json").read_text())
            if not isinstance(meta, dict):
                raise ValueError("index.json is not an object")
            if meta.get("format") not in (1, _FORMAT):
                raise ValueError(f"unsupported HNSW index format {meta.get('format')!r}")
            index = cls(meta["dim"], meta["metric"], M=meta["M"],
                        ef_construction=meta["ef_construction"], ef=meta["ef"], seed=meta["seed"])
            final = _int_scalars(meta)
            layout = {"base": _int_scalars(meta.get("base", final)),
                      "base_bytes": meta.get("base_bytes", 0), "records": meta.get("records", [])}
            _check_records(layout["records"])
            arrays = {a: load_npy(version / f"{a}.npy", mmap_mode="c" if mmap else None)
                      for a in _ARRAYS}
            g = index._graph
            for a, arr in arrays.items():
                setattr(g, a, np.asarray(arr))
            index._set_scalars(layout["base"])
            problem = _shape_problem(index)
            if problem:
                raise ValueError(f"base: {problem}")
            good = index._apply_records(version, layout["records"])
            if index.log_truncated:
                layout["records"] = good
            elif index._scalars() != final:
                raise ValueError(f"the log ends at {index._scalars()}, index.json says {final}")
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"corrupt HNSW index at {root}: {exc}") from None
        problem = _validate(index)
        if problem:
            raise ValueError(f"corrupt HNSW index at {root}: {problem}")
        index._remember(version, layout)
        return index

    def _set_scalars(self, scalars: dict) -> None:
        self._size, self._n_upper = scalars["size"], scalars["n_upper"]
        self._n_deleted, self._next_label = scalars["n_deleted"], scalars["next_label"]
        self._entry, self._max_level = scalars["entry"], scalars["max_level"]

    def _apply_records(self, version: Path, records: list) -> list:
        """Apply the log records in order; stops at a torn one. Returns those applied."""
        for at, rec in enumerate(records):
            got = read_record(version / rec["name"])
            if got is None or (version / rec["name"]).stat().st_size != rec["bytes"]:
                logger.warning("HNSW log record %s at %s is torn or missing; the index ends at "
                               "the record before it", rec["name"], version)
                self.log_truncated = True
                return records[:at]
            meta, rows = got
            self._apply(_int_scalars(meta), rows, rec["name"])
        return records

    def _apply(self, scalars: dict, rows: dict, where: str) -> None:
        """Write one record's rows into the graph (checked, so a bad record cannot
        write out of bounds or allocate more than it holds)."""
        size, n_up = scalars["size"], scalars["n_upper"]
        if size < self._size or n_up < self._n_upper:
            raise ValueError(f"log record {where} shrinks the index")
        if set(rows) != set(_ARRAYS):
            raise ValueError(f"log record {where} holds {sorted(rows)}, expected {list(_ARRAYS)}")
        g = self._graph
        for a, (idx, vals) in rows.items():
            first, limit = (self._n_upper, n_up) if a in _UPPER else (self._size, size)
            arr = getattr(g, a)
            if idx.dtype != np.int64 or idx.ndim != 1 \
                    or (idx.size and (idx.min() < 0 or idx.max() >= limit)):
                raise ValueError(f"log record {where}: {a} rows out of range")
            if vals.dtype != arr.dtype or vals.shape != idx.shape + arr.shape[1:]:
                raise ValueError(f"log record {where}: {a} values are {vals.dtype}"
                                 f"{list(vals.shape)}, expected {arr.dtype} rows of {arr.shape[1:]}")
            if limit - first > idx.shape[0] or not np.isin(np.arange(first, limit), idx).all():
                raise ValueError(f"log record {where}: {a} lacks some of the rows it adds")
        g.grow(size, n_up)
        for a, (idx, vals) in rows.items():
            getattr(g, a)[idx] = vals
        self._set_scalars(scalars)


def _int_scalars(meta) -> dict:
    if not isinstance(meta, dict):
        raise ValueError("index scalars are not an object")
    scalars = {k: meta[k] for k in _SCALARS}
    if any(isinstance(v, bool) or not isinstance(v, int) for v in scalars.values()):
        raise ValueError(f"index counts must be integers, got {scalars}")
    return scalars


def _check_records(records) -> None:
    """The log list of ``index.json``: record files inside the version, with sizes."""
    if not isinstance(records, list) or not all(
            isinstance(r, dict) and isinstance(r.get("name"), str) and r["name"].startswith("r-")
            and "/" not in r["name"] and isinstance(r.get("bytes"), int) for r in records):
        raise ValueError("index.json records must be [{name: 'r-...', bytes: int}]")


def _shape_problem(index: HnswIndex) -> str | None:
    """Why the arrays lack the shapes and dtypes the scalars promise: the cheap check
    a base gets before its log records are applied (the full one follows)."""
    g, n, u, m = index._graph, index._size, index._n_upper, index.M
    want = {"data": (n, index.dim), "links0": (n, 2 * m), "count0": (n,), "levels": (n,),
            "upper_offset": (n,), "upper_links": (u, m), "upper_count": (u,), "deleted": (n,),
            "labels": (n,)}
    dtypes = {"data": np.float32, "links0": np.int32, "count0": np.int32, "levels": np.int32,
              "upper_offset": np.int64, "upper_links": np.int32, "upper_count": np.int32,
              "deleted": np.bool_, "labels": np.int64}
    for a, shape in want.items():
        arr = getattr(g, a)
        if arr.shape != shape or arr.dtype != dtypes[a]:
            return f"{a} has shape {arr.shape} and dtype {arr.dtype}, expected {shape} {dtypes[a]}"
    return None


def _validate(index: HnswIndex) -> str | None:
    """Why the loaded arrays could not be searched safely (the kernels do not bounds-check).

    Checked: shapes and dtypes; the entry point, link counts, levels and upper-layer
    offsets in range; every used link a node; tombstones counted; live labels
    non-negative, unique and below ``next_label``; ``max_level`` the highest level;
    finite vectors.
    """
    problem = _shape_problem(index)
    if problem:
        return problem
    g, n, u, m = index._graph, index._size, index._n_upper, index.M
    if n == 0:
        return None if index._entry == -1 else "entry point in an empty index"
    if not 0 <= index._entry < n or index._max_level != g.levels[index._entry]:
        return "entry point out of range"
    if g.count0.min() < 0 or g.count0.max() > 2 * m or (u and (g.upper_count.min() < 0
                                                               or g.upper_count.max() > m)):
        return "link counts out of range"
    if g.levels.min() < 0 or g.levels.max() > _MAX_LEVEL:
        return "levels out of range"
    has_up = g.levels > 0
    off = g.upper_offset
    if (off[~has_up] != -1).any() or (has_up.any() and (
            off[has_up].min() < 0 or (off[has_up] + g.levels[has_up]).max() > u)):
        return "upper-layer offsets out of range"
    used0 = np.arange(2 * m)[None, :] < g.count0[:, None]
    used_up = np.arange(m)[None, :] < g.upper_count[:, None]
    for links, used in ((g.links0, used0), (g.upper_links, used_up)):
        vals = links[used]
        if vals.size and (vals.min() < 0 or vals.max() >= n):
            return "links point outside the index"
    if has_up.any():  # a link on layer l must reach a node that has layer l
        lv = g.levels[has_up]
        first = np.repeat(np.cumsum(lv) - lv, lv)
        layer = np.arange(first.shape[0]) - first + 1
        rows = np.repeat(off[has_up], lv) + layer - 1
        used = np.arange(m)[None, :] < g.upper_count[rows][:, None]
        reached = g.levels[g.upper_links[rows][used]]
        if (reached < np.broadcast_to(layer[:, None], used.shape)[used]).any():
            return "an upper-layer link reaches a node below that layer (levels inconsistent)"
    if int(g.deleted.sum()) != index._n_deleted or (g.labels < 0).any():
        return "tombstones or labels inconsistent"
    if index._max_level != int(g.levels.max()):
        return f"max_level {index._max_level} is not the highest node level {int(g.levels.max())}"
    live = g.labels[~g.deleted]
    if np.unique(live).shape[0] != live.shape[0]:
        return "two live nodes share a label"
    if live.shape[0] and index._next_label <= int(live.max()):
        return "next_label is not above every label"
    if not np.isfinite(g.data).all():
        return "vectors hold NaN or inf"
    return None
