"""HNSW graph kernels: layer search, neighbour selection, batched parallel insertion.

Owns the graph as a struct of arrays and the ``@njit`` code that reads and writes it;
knows nothing of files, labels' meaning or validation (:mod:`conduit_kernels.hnsw`
is the Python layer). The algorithm is Malkov & Yashunin's HNSW (arXiv:1603.09320):
greedy descent through the upper layers, a beam search of width ``ef`` on the
bottom layer, neighbours chosen by the diversity heuristic (their Algorithm 4).

The graph (``cap`` node slots, ``M`` links per upper layer, ``M0 = 2 M`` on layer 0)::

    data          float32[cap, dim]  rows (cosine rows are stored normalised)
    links0        int32[cap, M0]     layer-0 neighbours of each node
    count0        int32[cap]         how many of them are set
    levels        int32[cap]         top layer of each node
    upper_offset  int64[cap]         row of layer 1 in ``upper_links`` (-1: none)
    upper_links   int32[u, M]        layer ``l >= 1`` of node ``v`` at row
                                     ``upper_offset[v] + l - 1``
    upper_count   int32[u]
    deleted       bool[cap]          tombstones: traversed, never returned
    labels        int64[cap]         what a search returns for each node

Distances are proxies (lower is better): ``-dot`` for cosine and dot (cosine rows
and queries are normalised first), squared L2 for euclidean, L1 for manhattan.

Parallel insertion, race-free by construction (batched, as in ParlayANN's HNSW,
Dobson et al. 2023): the nodes to insert are split into batches whose size is a
small fraction of the graph already built. For one batch,

1. *search* (``prange`` over the batch): each new node searches the graph as it
   was before the batch (new nodes are not reachable yet: nothing links to them)
   and writes only its own link lists;
2. *link back* (``prange`` over target lists): the reverse edges ``v <- u`` are
   sorted by ``(v, layer)``; each target list is owned by exactly one iteration,
   which appends its incoming edges or, when full, re-selects with the heuristic.

No two threads ever write the same list and no thread reads a list being written,
so no locks or atomics are needed and the graph does not depend on the thread
count or scheduling. Nodes of one batch do not see each other during their own
search; keeping batches below 2% of the graph keeps the quality of sequential
insertion (ParlayANN's measurement, and the recall tests here).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import get_thread_id, prange

from ._jit import inline, kernel, prefetch
from .topk import heap_push, heap_sort

#: Heap slot sentinel (larger than any node id), as in :mod:`conduit_kernels.topk`.
EMPTY = np.int64(2**62)


@inline
def proxy(metric, q, data, r):
    """Proxy distance from vector ``q`` to row ``r`` of ``data`` (lower is closer).

    Rows are indexed in place, never sliced: a slice is a new array whose reference
    count the threads of a parallel build would all update on one shared cache line.
    """
    s = np.float32(0.0)
    if metric <= 1:
        for j in range(q.shape[0]):
            s += q[j] * data[r, j]
        return -s
    if metric == 2:
        for j in range(q.shape[0]):
            t = q[j] - data[r, j]
            s += t * t
        return s
    for j in range(q.shape[0]):
        s += abs(q[j] - data[r, j])
    return s


@inline
def proxy_rows(metric, data, a, b):
    """Proxy distance between rows ``a`` and ``b`` of ``data``."""
    s = np.float32(0.0)
    if metric <= 1:
        for j in range(data.shape[1]):
            s += data[a, j] * data[b, j]
        return -s
    if metric == 2:
        for j in range(data.shape[1]):
            t = data[a, j] - data[b, j]
            s += t * t
        return s
    for j in range(data.shape[1]):
        s += abs(data[a, j] - data[b, j])
    return s


@inline
def _degree(v, lev, count0, upper_count, upper_offset):
    if lev == 0:
        return count0[v]
    return upper_count[upper_offset[v] + lev - 1]


@inline
def _neighbour(v, lev, t, links0, upper_links, upper_offset):
    if lev == 0:
        return links0[v, t]
    return upper_links[upper_offset[v] + lev - 1, t]


@inline
def _eligible(v, deleted, labels, allowed):
    if deleted[v]:
        return False
    if allowed.shape[0] == 0:
        return True
    lab = labels[v]
    return lab < allowed.shape[0] and allowed[lab]


# --- the visited set: one uint16 mark per node and thread, reused across searches ---
# (hnswlib's visited-list pool: a search takes a fresh mark instead of clearing or
# allocating a set; the row is zeroed only when its marks wrap, every 65,535 searches)


@inline
def _new_mark(tags, counter, row):
    """A fresh mark for a search using ``tags[row]``."""
    t = np.int64(counter[row]) + 1
    if t > 65535:
        tags[row, :] = 0
        t = 1
    counter[row] = t
    return np.uint16(t)


# --- the candidate queue: a growable binary min-heap of (distance, node) ---


@inline
def _cand_push(cd, ci, size, d, v):
    pos = size
    while pos > 0:
        parent = (pos - 1) // 2
        if cd[parent] <= d:
            break
        cd[pos] = cd[parent]
        ci[pos] = ci[parent]
        pos = parent
    cd[pos] = d
    ci[pos] = v


@inline
def _cand_pop(cd, ci, size):
    """Remove the root of a heap of ``size`` (> 0) items; the caller decrements size."""
    last = size - 1
    d, v = cd[last], ci[last]
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= last:
            break
        if child + 1 < last and cd[child + 1] < cd[child]:
            child += 1
        if cd[child] >= d:
            break
        cd[pos] = cd[child]
        ci[pos] = ci[child]
        pos = child
    cd[pos] = d
    ci[pos] = v


@kernel(fastmath=True)
def search_layer(metric, data, q, ep, lev, ef, links0, count0, upper_links, upper_count,
                 upper_offset, deleted, labels, allowed, tags, counter, row):
    """Beam search of width ``ef`` on layer ``lev`` from node ``ep``.

    Every node is traversed; only eligible ones (not deleted, allowed by the label
    mask ``allowed``, empty for all) enter the result heap. ``tags[row]``
    (uint16[>= nodes]) and ``counter[row]`` are this thread's visited marks.
    Returns the result max-heap ``(proxies float32[ef], nodes int64[ef])``,
    unsorted, sentinel-padded.
    """
    mark = _new_mark(tags, counter, row)
    seen = tags[row]
    seen[ep] = mark
    fresh = np.empty(links0.shape[1], dtype=np.int64)
    cd = np.empty(256, dtype=np.float32)
    ci = np.empty(256, dtype=np.int64)
    hd = np.full(ef, np.inf, dtype=np.float32)
    hi = np.full(ef, EMPTY, dtype=np.int64)
    found = 0
    d = proxy(metric, q, data, ep)
    _cand_push(cd, ci, 0, d, ep)
    n_cand = 1
    if _eligible(ep, deleted, labels, allowed):
        heap_push(hd, hi, d, ep)
        found = 1
    while n_cand > 0:
        dc = cd[0]
        c = ci[0]
        if found >= ef and dc > hd[0]:
            break
        _cand_pop(cd, ci, n_cand)
        n_cand -= 1
        # unvisited neighbours first, their rows prefetched, then scored
        n_fresh = 0
        for t in range(_degree(c, lev, count0, upper_count, upper_offset)):
            v = _neighbour(c, lev, t, links0, upper_links, upper_offset)
            if seen[v] != mark:
                seen[v] = mark
                fresh[n_fresh] = v
                n_fresh += 1
                prefetch(data, v)
        for t in range(n_fresh):
            v = fresh[t]
            dv = proxy(metric, q, data, v)
            if found < ef or dv < hd[0]:
                if n_cand == cd.shape[0]:
                    cd2 = np.empty(2 * n_cand, dtype=np.float32)
                    ci2 = np.empty(2 * n_cand, dtype=np.int64)
                    cd2[:n_cand] = cd
                    ci2[:n_cand] = ci
                    cd, ci = cd2, ci2
                _cand_push(cd, ci, n_cand, dv, v)
                n_cand += 1
                if _eligible(v, deleted, labels, allowed):
                    heap_push(hd, hi, dv, v)
                    if found < ef:
                        found += 1
    return hd, hi


@kernel
def checked_rows(arr, normalise):
    """``(all finite, normalised rows)`` for float32 ``arr[m, dim]``: with ``normalise`` the
    rows divided by their norm (a zero row stays zero), else an empty array; the query
    check and cosine normalisation in
    one pass, where numpy's ``isfinite``/``norm``/``where`` cost more than a search of a
    small graph."""
    m, dim = arr.shape
    # a new array (empty unless normalising): ``arr`` may be read-only (a mapped file)
    out = np.empty((m if normalise else 0, dim), dtype=np.float32)
    for i in range(m):
        s = np.float32(0.0)
        for j in range(dim):
            v = arr[i, j]
            if not np.isfinite(v):
                return False, out
            s += v * v
        if normalise:
            norm = np.sqrt(s)
            for j in range(dim):
                out[i, j] = arr[i, j] / norm if s > 0 else np.float32(0.0)
    return True, out


@kernel(fastmath=True)
def _greedy(metric, data, q, ep, lev, links0, count0, upper_links, upper_count, upper_offset):
    """Walk layer ``lev`` to a local minimum of the distance to ``q`` (ef = 1)."""
    best = ep
    best_d = proxy(metric, q, data, ep)
    moved = True
    while moved:
        moved = False
        here = best
        for t in range(_degree(here, lev, count0, upper_count, upper_offset)):
            v = _neighbour(here, lev, t, links0, upper_links, upper_offset)
            d = proxy(metric, q, data, v)
            if d < best_d:
                best_d = d
                best = v
                moved = True
    return best


@inline
def _decode(metric, labels, hd, hi, k, out_l, out_s):
    """Nodes -> labels, proxies -> natural scores; empty slots -> -1 and -inf / +inf."""
    for t in range(k):
        if hi[t] == EMPTY:
            out_l[t] = -1
            out_s[t] = -np.inf if metric <= 1 else np.inf
        else:
            out_l[t] = labels[hi[t]]
            d = hd[t]
            if metric <= 1:
                out_s[t] = -d
            elif metric == 2:
                out_s[t] = np.sqrt(max(d, np.float32(0.0)))
            else:
                out_s[t] = d


@kernel(fastmath=True)
def _search_into(metric, data, links0, count0, levels, upper_offset, upper_links, upper_count,
                 deleted, labels, allowed, entry, max_level, q, k, ef, out_l, out_s, tags, counter,
                 row):
    ep = entry
    for lev in range(max_level, 0, -1):
        ep = _greedy(metric, data, q, ep, lev, links0, count0, upper_links, upper_count,
                     upper_offset)
    hd, hi = search_layer(metric, data, q, ep, 0, max(ef, k), links0, count0, upper_links,
                          upper_count, upper_offset, deleted, labels, allowed, tags, counter, row)
    heap_sort(hd, hi)
    _decode(metric, labels, hd, hi, k, out_l, out_s)


@kernel(fastmath=True)
def search_one(metric, data, links0, count0, levels, upper_offset, upper_links, upper_count,
               deleted, labels, allowed, entry, max_level, q, k, ef, tags, counter):
    """The ``k`` best eligible nodes for ``q``: ``(labels int64[k], scores float32[k])``.

    Scores are natural (similarity for cosine/dot, distance otherwise); empty slots
    hold label -1 and score -inf (similarities) or +inf (distances). ``tags``
    (uint16[threads, >= nodes]) and ``counter`` (int64[threads]) are the caller's
    visited marks (:func:`visited_marks`); this call uses row 0.
    """
    out_l = np.empty(k, dtype=np.int64)
    out_s = np.empty(k, dtype=np.float32)
    _search_into(metric, data, links0, count0, levels, upper_offset, upper_links, upper_count,
                 deleted, labels, allowed, entry, max_level, q, k, ef, out_l, out_s, tags, counter, 0)
    return out_l, out_s


@kernel(parallel=True, fastmath=True)
def search_batch(metric, data, links0, count0, levels, upper_offset, upper_links, upper_count,
                 deleted, labels, allowed, entry, max_level, qs, k, ef, tags, counter):
    """:func:`search_one` for each row of ``qs``, in parallel over the queries (each
    worker thread uses its own row of the visited marks)."""
    m = qs.shape[0]
    out_l = np.empty((m, k), dtype=np.int64)
    out_s = np.empty((m, k), dtype=np.float32)
    for t in prange(m):
        _search_into(metric, data, links0, count0, levels, upper_offset, upper_links,
                     upper_count, deleted, labels, allowed, entry, max_level, qs[t], k, ef,
                     out_l[t], out_s[t], tags, counter, get_thread_id())
    return out_l, out_s


@kernel(fastmath=True)
def _select(metric, data, cand_d, cand_i, m_max, out):
    """Diversity heuristic over candidates sorted by ascending distance; returns the count.

    A candidate is kept when it is closer to the base than to every neighbour kept so
    far, which keeps links pointing in different directions (HNSW, Algorithm 4).
    """
    kept = 0
    for t in range(cand_i.shape[0]):
        c = cand_i[t]
        good = True
        for s in range(kept):
            if proxy_rows(metric, data, c, out[s]) < cand_d[t]:
                good = False
                break
        if good:
            out[kept] = c
            kept += 1
            if kept == m_max:
                break
    return kept


@kernel(parallel=True, fastmath=True)
def _search_new(metric, data, links0, count0, levels, upper_offset, upper_links, upper_count,
                deleted, labels, entry, max_level, batch, m, ef_construction, tags, counter):
    """Phase 1 of a batch: each new node finds and writes its own out-links.

    A new node keeps ``M`` links on every layer (as hnswlib); layer-0 lists hold up
    to ``2 M`` once reverse edges arrive.
    """
    no_filter = np.zeros(0, dtype=np.bool_)
    for t in prange(batch.shape[0]):
        u = batch[t]
        q = data[u]
        top = min(levels[u], max_level)
        ep = entry
        for lev in range(max_level, top, -1):
            ep = _greedy(metric, data, q, ep, lev, links0, count0, upper_links, upper_count,
                         upper_offset)
        for lev in range(top, -1, -1):
            hd, hi = search_layer(metric, data, q, ep, lev, ef_construction, links0, count0,
                                  upper_links, upper_count, upper_offset, deleted, labels,
                                  no_filter, tags, counter, get_thread_id())
            heap_sort(hd, hi)
            n_found = 0
            while n_found < hd.shape[0] and hi[n_found] != EMPTY:
                n_found += 1
            if n_found == 0:
                continue
            if lev == 0:
                count0[u] = _select(metric, data, hd[:n_found], hi[:n_found], m, links0[u])
            else:
                r = upper_offset[u] + lev - 1
                upper_count[r] = _select(metric, data, hd[:n_found], hi[:n_found], m,
                                         upper_links[r])
            ep = hi[0]


@kernel(parallel=True, fastmath=True)
def _link_back(metric, data, links0, count0, upper_offset, upper_links, upper_count, targets,
               layers, sources, starts, m):
    """Phase 2 of a batch: append reverse edges; one iteration owns each target list.

    ``targets``/``layers``/``sources`` are the reverse edges sorted by (target, layer);
    ``starts`` delimits the runs that share a target list.
    """
    for g in prange(starts.shape[0] - 1):
        a, b = starts[g], starts[g + 1]
        v = targets[a]
        lev = layers[a]
        if lev == 0:
            row = links0[v]
            n_old = count0[v]
            m_max = 2 * m
        else:
            r = upper_offset[v] + lev - 1
            row = upper_links[r]
            n_old = upper_count[r]
            m_max = m
        n_all = n_old + b - a
        if n_all <= m_max:
            for t in range(a, b):
                row[n_old + t - a] = sources[t]
            new_count = n_all
        else:
            cand = np.empty(n_all, dtype=np.int64)
            cand[:n_old] = row[:n_old]
            cand[n_old:] = sources[a:b]
            dist = np.empty(n_all, dtype=np.float32)
            for t in range(n_all):
                dist[t] = proxy_rows(metric, data, v, cand[t])
            order = np.argsort(dist, kind="mergesort")
            new_count = _select(metric, data, dist[order], cand[order], m_max, row)
        if lev == 0:
            count0[v] = new_count
        else:
            upper_count[upper_offset[v] + lev - 1] = new_count


@kernel
def _reverse_edges(links0, count0, levels, upper_offset, upper_links, upper_count, batch,
                   max_level):
    """Every reverse edge of a batch, sorted by (target, layer), and the run starts."""
    total = 0
    for u in batch:
        total += count0[u]
        for lev in range(1, min(levels[u], max_level) + 1):
            total += upper_count[upper_offset[u] + lev - 1]
    keys = np.empty(total, dtype=np.int64)
    targets = np.empty(total, dtype=np.int64)
    layers = np.empty(total, dtype=np.int64)
    sources = np.empty(total, dtype=np.int32)
    e = 0
    for u in batch:
        for lev in range(0, min(levels[u], max_level) + 1):
            if lev == 0:
                row = links0[u, : count0[u]]
            else:
                r = upper_offset[u] + lev - 1
                row = upper_links[r, : upper_count[r]]
            for v in row:
                keys[e] = np.int64(v) * 64 + lev
                targets[e] = v
                layers[e] = lev
                sources[e] = u
                e += 1
    order = np.argsort(keys, kind="mergesort")
    keys, targets, layers, sources = keys[order], targets[order], layers[order], sources[order]
    n_runs = 1 if total else 0
    for t in range(1, total):
        if keys[t] != keys[t - 1]:
            n_runs += 1
    starts = np.empty(n_runs + 1, dtype=np.int64)
    g = 0
    for t in range(total):
        if t == 0 or keys[t] != keys[t - 1]:
            starts[g] = t
            g += 1
    starts[n_runs] = total
    return targets, layers, sources, starts


def visited_marks(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Fresh visited marks for searches over ``nodes`` node slots: ``(tags
    uint16[threads, nodes], counter int64[threads])``, one row per Numba worker thread.
    A caller reuses them across searches (one pair per calling thread)."""
    threads = numba.config.NUMBA_NUM_THREADS
    return np.zeros((threads, max(nodes, 1)), dtype=np.uint16), np.zeros(threads, dtype=np.int64)


def insert_batch(metric, graph, entry, max_level, batch, m, ef_construction):
    """Insert the nodes ``batch`` (int64, rows already in ``graph.data``) into ``graph``.

    ``graph`` is any object with the arrays named in the module docstring. Returns the
    new ``(entry, max_level)`` and the link lists of older nodes the batch may have
    rewritten, as ``(targets, layers)`` (what an incremental save must record); the
    caller inserts the very first node by itself.
    """
    g = graph
    tags, counter = visited_marks(g.data.shape[0])
    _search_new(metric, g.data, g.links0, g.count0, g.levels, g.upper_offset, g.upper_links,
                g.upper_count, g.deleted, g.labels, entry, max_level, batch, m, ef_construction,
                tags, counter)
    targets, layers, sources, starts = _reverse_edges(
        g.links0, g.count0, g.levels, g.upper_offset, g.upper_links, g.upper_count, batch,
        max_level)
    if starts.shape[0] > 1:
        _link_back(metric, g.data, g.links0, g.count0, g.upper_offset, g.upper_links,
                   g.upper_count, targets, layers, sources, starts, m)
    top = int(batch[np.argmax(g.levels[batch])])
    if g.levels[top] > max_level:
        return top, int(g.levels[top]), targets, layers
    return entry, max_level, targets, layers
