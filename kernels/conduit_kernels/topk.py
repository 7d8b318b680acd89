"""Exact top-k search: fused scoring + bounded-heap selection, one query or a batch.

Owns: the bounded heap (shared, as plain functions, with the CUDA twins), the
fused scan kernels, the selection kernel that follows a BLAS block product, and
the Python layer that validates input and decodes results. Knows metrics only
through :mod:`conduit_kernels.distances`.

Strategy
--------
* One query: the rows are split into chunks scanned in parallel (``prange``);
  each chunk scores its rows and keeps a bounded max-heap of its ``k`` best
  ``(proxy, id)`` pairs, so no score vector is ever materialised; the chunk heaps
  are merged at the end. A scan is memory bound, so int8 codes (1 byte per value)
  scan faster than float32 rows.
* A batch: cosine, dot and euclidean use ``queries @ block.T`` (BLAS) over blocks
  of rows that fit in cache, then a parallel selection kernel (one query per
  thread) folds each block into per-query heaps. Manhattan has no BLAS form and
  runs the fused scan with one query per thread.
* Filtering happens inside the scan: a boolean ``mask`` over rows (rows outside it
  are never read) or an int64 ``rows`` allow-list (only those rows are visited).

Results: ids ``int64[k]`` and natural scores ``float32[k]``, best first, ties
broken by the lower id. Where fewer than ``k`` rows qualify the tail holds the
sentinels id ``-1`` and score ``-inf`` (similarities) or ``+inf`` (distances).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from ._jit import inline, kernel
from .distances import (
    Int8Matrix,
    Metric,
    inverse_norms,
    prepare_query,
    proxy_to_score,
    resolve_metric,
    row_proxy,
)

__all__ = ["MISSING_ID", "topk", "topk_batch"]

#: Id of an empty result slot.
MISSING_ID = -1
#: Internal id of an empty heap slot: larger than any row id, so a real row with an
#: equal (infinite) proxy still wins the tie-break.
_EMPTY = np.int64(2**62)

# Score-tile size (queries x rows) per BLAS block in the batch path. Large tiles on
# purpose: OpenBLAS's and Numba's thread pools spin after each call, and switching
# between them every few MB cost 4-10x on 2 cores (measured: 4096-row blocks 412 ms,
# 65536-row blocks 129 ms, for 64 x 200k x 384).
_TILE_ELEMENTS = 1 << 22


# --- the bounded heap: plain functions, compiled for the CPU here and for CUDA in cuda/ ---


def _heap_push_py(hd, hi, d, i):
    """Offer ``(d, i)`` to the max-heap ``(hd, hi)`` (worst at the root); keeps the k best."""
    k = hd.shape[0]
    if d > hd[0] or (d == hd[0] and i >= hi[0]):
        return
    pos = 0
    while True:
        left = 2 * pos + 1
        if left >= k:
            break
        right = left + 1
        child = left
        if right < k and (hd[right] > hd[left] or (hd[right] == hd[left] and hi[right] > hi[left])):
            child = right
        if hd[child] > d or (hd[child] == d and hi[child] > i):
            hd[pos] = hd[child]
            hi[pos] = hi[child]
            pos = child
        else:
            break
    hd[pos] = d
    hi[pos] = i


def _heap_sort_py(hd, hi):
    """Turn the heap into ascending ``(d, i)`` order in place (heap sort)."""
    k = hd.shape[0]
    for end in range(k - 1, 0, -1):
        d, i = hd[end], hi[end]
        hd[end], hi[end] = hd[0], hi[0]
        pos = 0
        while True:
            left = 2 * pos + 1
            if left >= end:
                break
            right = left + 1
            child = left
            if right < end and (
                hd[right] > hd[left] or (hd[right] == hd[left] and hi[right] > hi[left])
            ):
                child = right
            if hd[child] > d or (hd[child] == d and hi[child] > i):
                hd[pos] = hd[child]
                hi[pos] = hi[child]
                pos = child
            else:
                break
        hd[pos] = d
        hi[pos] = i


heap_push = inline(_heap_push_py)
heap_sort = inline(_heap_sort_py)


# --- kernels ---


@inline
def _scan(metric, qa, w, const, data, inv_norms, mask, rows, start, stop, hd, hi):
    """Score visits ``start:stop`` (rows, or ``rows[start:stop]``) into the heap."""
    use_mask = mask.shape[0] > 0
    use_rows = rows.shape[0] > 0
    for t in range(start, stop):
        r = rows[t] if use_rows else t
        if use_mask and not mask[r]:
            continue
        d = row_proxy(metric, qa, w, const, data, r, inv_norms)
        heap_push(hd, hi, d, r)


def _topk_one_py(metric, qa, w, const, data, inv_norms, mask, rows, k, n_chunks):
    n_visit = rows.shape[0] if rows.shape[0] > 0 else data.shape[0]
    chunk = (n_visit + n_chunks - 1) // n_chunks
    hd = np.full((n_chunks, k), np.inf, dtype=np.float32)
    hi = np.full((n_chunks, k), _EMPTY, dtype=np.int64)
    for c in prange(n_chunks):
        _scan(metric, qa, w, const, data, inv_norms, mask, rows,
              c * chunk, min(n_visit, (c + 1) * chunk), hd[c], hi[c])
    out_d = hd[0].copy()
    out_i = hi[0].copy()
    for c in range(1, n_chunks):
        for j in range(k):
            heap_push(out_d, out_i, hd[c, j], hi[c, j])
    heap_sort(out_d, out_i)
    return out_i, out_d


_topk_one_serial, _topk_one_parallel = (
    kernel(_topk_one_py, fastmath=True),
    kernel(_topk_one_py, parallel=True, fastmath=True),
)


@kernel(parallel=True, fastmath=True)
def _topk_fused_batch(metric, qa, w, const, data, inv_norms, mask, rows, k):
    """One query per thread, each a serial fused scan (manhattan, or small corpora)."""
    m = qa.shape[0]
    n_visit = rows.shape[0] if rows.shape[0] > 0 else data.shape[0]
    hd = np.full((m, k), np.inf, dtype=np.float32)
    hi = np.full((m, k), _EMPTY, dtype=np.int64)
    for q in prange(m):
        _scan(metric, qa[q], w, const[q], data, inv_norms, mask, rows, 0, n_visit, hd[q], hi[q])
        heap_sort(hd[q], hi[q])
    return hi, hd


@kernel(parallel=True)
def _select_block(metric, scores, col_ids, col_aux, hd, hi):
    """Fold a ``(m, B)`` block of dot products into the per-query heaps.

    ``col_aux`` is the inverse norm (cosine) or the squared norm (euclidean) of each
    column; the proxy is ``-s * aux``, ``-s`` or ``aux - 2 s`` (plus ``|q|^2`` later).
    """
    m, b = scores.shape
    for q in prange(m):
        qd = hd[q]
        qi = hi[q]
        for j in range(b):
            s = scores[q, j]
            if metric == 0:
                d = -s * col_aux[j]
            elif metric == 1:
                d = -s
            else:
                d = col_aux[j] - np.float32(2.0) * s
            if d < qd[0] or (d == qd[0] and col_ids[j] < qi[0]):
                heap_push(qd, qi, d, col_ids[j])


@kernel(parallel=True)
def _sort_heaps(hd, hi):
    for q in prange(hd.shape[0]):
        heap_sort(hd[q], hi[q])


@kernel(parallel=True, fastmath=True)
def _squared_norms(data, scale, offset, use_map):
    n, dim = data.shape
    out = np.empty(n, dtype=np.float32)
    for i in prange(n):
        s = np.float32(0.0)
        for j in range(dim):
            v = np.float32(data[i, j])
            if use_map:
                v = offset[j] + scale[j] * v
            s += v * v
        out[i] = s
    return out


# --- the Python layer ---

_NO_MASK = np.zeros(0, dtype=np.bool_)
_ONE = np.ones(1, np.float32)
_NO_ROWS = np.zeros(0, dtype=np.int64)


def _check_data(data):
    if isinstance(data, Int8Matrix):
        if data.codes.dtype != np.int8 or data.codes.ndim != 2:
            raise ValueError("Int8Matrix.codes must be a 2-D int8 array")
        return data, data.codes
    arr = np.ascontiguousarray(data, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"data must be 2-D (n, dim), got shape {arr.shape}")
    return arr, arr


def _check_filter(n, mask, rows):
    if mask is not None and rows is not None:
        raise ValueError("pass either mask or rows, not both")
    if mask is not None:
        mask = np.ascontiguousarray(mask, dtype=np.bool_)
        if mask.shape != (n,):
            raise ValueError(f"mask must have shape ({n},), got {mask.shape}")
        return mask, _NO_ROWS, True
    if rows is not None:
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        if rows.ndim != 1:
            raise ValueError("rows must be a 1-D array of row indices")
        if rows.size and (rows.min() < 0 or rows.max() >= n):
            raise ValueError(f"rows must lie in [0, {n})")
        return _NO_MASK, rows, rows.size > 0
    return _NO_MASK, _NO_ROWS, True


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _inv_norms_for(metric, data, codes, inv_norms):
    if metric != Metric.COSINE:
        return np.ones(1, np.float32)
    if isinstance(data, Int8Matrix):
        return data.inv_norms
    if inv_norms is None:
        return inverse_norms(codes)
    inv = np.ascontiguousarray(inv_norms, dtype=np.float32)
    if inv.shape != (codes.shape[0],):
        raise ValueError(f"inv_norms must have shape ({codes.shape[0]},)")
    return inv


def _decode(metric, ids, proxies, empty_query):
    ids = ids.copy()
    missing = ids == _EMPTY
    ids[missing] = MISSING_ID
    scores = proxy_to_score(metric, proxies)
    if empty_query:  # nothing to visit: every slot is a sentinel
        ids[...] = MISSING_ID
        missing[...] = True
    scores[missing] = -np.inf if metric in (Metric.COSINE, Metric.DOT) else np.inf
    return ids, scores


def _parallel_threshold(n, dim):
    return n * dim >= 200_000


def topk(data, query, k, metric="cosine", *, inv_norms=None, mask=None, rows=None):
    """Exact ``k`` best rows for one query, fused scan + heap, parallel over the rows.

    Parameters
    ----------
    data : float32[n, dim] or :class:`~conduit_kernels.distances.Int8Matrix`
    query : float32[dim]
    k : int >= 1 (more than the rows that qualify leaves sentinel slots)
    metric : "cosine" | "dot" | "euclidean" | "manhattan" (or aliases, or :class:`Metric`)
    inv_norms : float32[n], optional
        Precomputed ``1/||row||`` for cosine (computed here otherwise).
    mask : bool[n], optional
        Only rows where ``mask`` is true are scored.
    rows : int64[r], optional
        Only these rows are scored (an allow-list); exclusive with ``mask``.

    Returns
    -------
    ids : int64[k]
    scores : float32[k]
        Best first; sentinels ``-1`` / ``-inf`` (similarity) or ``+inf`` (distance).
    """
    metric = resolve_metric(metric)
    k = _check_k(k)
    data, codes = _check_data(data)
    n, dim = codes.shape
    q = np.ascontiguousarray(query, dtype=np.float32)
    if q.shape != (dim,):
        raise ValueError(f"query must have shape ({dim},), got {q.shape}")
    mask, rows, any_rows = _check_filter(n, mask, rows)
    inv = _inv_norms_for(metric, data, codes, inv_norms)
    if n == 0 or not any_rows:
        return _decode(metric, np.full(k, _EMPTY), np.full(k, np.inf, np.float32), True)
    qa, w, const = prepare_query(metric, q, data if isinstance(data, Int8Matrix) else None)
    n_visit = rows.shape[0] or n
    if _parallel_threshold(n_visit, dim):
        threads = numba.get_num_threads()
        # many chunks balance a loaded machine; few keep a cache-resident scan cheap
        fn, n_chunks = _topk_one_parallel, min(16 * threads, max(threads, n_visit // 8192))
    else:
        fn, n_chunks = _topk_one_serial, 1
    ids, d = fn(int(metric), qa, w, np.float32(const), codes, inv, mask, rows, k, n_chunks)
    return _decode(metric, ids, d, n == 0 or not any_rows)


def topk_batch(data, queries, k, metric="cosine", *, inv_norms=None, sq_norms=None, mask=None,
               rows=None):
    """Exact ``k`` best rows for each of ``m`` queries.

    Same parameters as :func:`topk`, with ``queries`` float32[m, dim]; one filter
    applies to every query; ``sq_norms`` (float32[n], squared row norms) saves a
    pass over the rows for euclidean. Cosine, dot and euclidean use a BLAS product per
    block of rows followed by a parallel selection kernel; manhattan scans.

    Returns
    -------
    ids : int64[m, k]
    scores : float32[m, k]
    """
    metric = resolve_metric(metric)
    k = _check_k(k)
    data, codes = _check_data(data)
    n, dim = codes.shape
    qs = np.ascontiguousarray(queries, dtype=np.float32)
    if qs.ndim != 2 or qs.shape[1] != dim:
        raise ValueError(f"queries must have shape (m, {dim}), got {qs.shape}")
    mask, rows, any_rows = _check_filter(n, mask, rows)
    m = qs.shape[0]
    is_int8 = isinstance(data, Int8Matrix)
    inv = _inv_norms_for(metric, data, codes, inv_norms)
    if m == 0 or n == 0 or not any_rows:
        return _decode(metric, np.full((m, k), _EMPTY), np.full((m, k), np.inf, np.float32), True)
    prepared = [prepare_query(metric, q, data if is_int8 else None) for q in qs]
    qa = np.ascontiguousarray(np.stack([p[0] for p in prepared]))
    if metric == Metric.MANHATTAN or n * m < 64 * 4096:
        w = prepared[0][1]
        const = np.array([p[2] for p in prepared], dtype=np.float32)
        ids, d = _topk_fused_batch(int(metric), qa, w, const, codes, inv, mask, rows, k)
        return _decode(metric, ids, d, n == 0 or not any_rows)
    # BLAS path: dot products of the (normalised, for cosine) queries with row blocks.
    q_mat = qs
    if metric == Metric.COSINE:
        norms = np.linalg.norm(qs, axis=1, keepdims=True)
        q_mat = np.where(norms > 0, qs / np.where(norms > 0, norms, 1), 0).astype(np.float32)
    if mask.shape[0]:
        rows = np.flatnonzero(mask)
    if metric == Metric.EUCLIDEAN:
        if sq_norms is not None and not is_int8:
            aux = np.ascontiguousarray(sq_norms, dtype=np.float32)
        elif is_int8:
            aux = _squared_norms(codes, data.scale, data.offset, True)
        else:
            aux = _squared_norms(codes, _ONE, _ONE, False)
    elif metric == Metric.COSINE:
        aux = inv
    else:
        aux = np.ones(1, np.float32)
    hd = np.full((m, k), np.inf, dtype=np.float32)
    hi = np.full((m, k), _EMPTY, dtype=np.int64)
    n_visit = rows.shape[0] if rows.shape[0] else n
    block_rows = max(4096, min(1 << 16, _TILE_ELEMENTS // m))
    out = np.empty((m, min(block_rows, n_visit)), dtype=np.float32)
    for b0 in range(0, n_visit, block_rows):
        b1 = min(n_visit, b0 + block_rows)
        if rows.shape[0]:
            col_ids = rows[b0:b1]
            block = np.take(codes, col_ids, axis=0)
            if is_int8:
                block = block.astype(np.float32) * data.scale + data.offset
        else:
            col_ids = np.arange(b0, b1, dtype=np.int64)
            block = data.dequantize(b0, b1) if is_int8 else codes[b0:b1]
        s = out[:, : b1 - b0]
        np.matmul(q_mat, block.T, out=s)
        col_aux = aux[col_ids] if aux.shape[0] > 1 else np.ones(b1 - b0, np.float32)
        _select_block(int(metric), s, col_ids, col_aux, hd, hi)
    _sort_heaps(hd, hi)
    if metric == Metric.EUCLIDEAN:
        hd += np.einsum("ij,ij->i", qs, qs)[:, None].astype(np.float32)
    return _decode(metric, hi, hd, n == 0 or not any_rows)

