"""GPU exact top-k: score tile, per-chunk bounded heaps, per-query merge.

Three kernels per search (``m`` queries, ``v`` rows visited):

1. ``_score``   one thread per (query, row): the proxy of :func:`row_proxy`'s formula,
   summed in dimension order, into a ``float32[m, v]`` tile on the device;
2. ``_select``  one thread per (query, chunk of rows): a bounded heap of ``k`` in
   global memory (:func:`conduit_kernels.topk._heap_push_py`, compiled for the device);
3. ``_merge``   one thread per query: folds the chunk heaps and heap-sorts them.

A boolean mask is turned into a row allow-list on the host, so both filters use
the same path. Device arrays are reused across calls via :func:`to_device`, so a
store pays the transfer of its rows once, not per query.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from ..distances import Int8Matrix, Metric, prepare_query, resolve_metric
from ..topk import _EMPTY, _check_data, _check_filter, _check_k, _decode, _heap_push_py, _heap_sort_py
from ..topk import _inv_norms_for

__all__ = ["cuda_available", "select_device", "to_device", "topk_batch_cuda", "topk_cuda"]

#: "auto" uses the GPU only from this many stored bytes on: below it, the
#: launch and transfer overheads exceed a CPU scan (which runs at memory bandwidth).
AUTO_MIN_BYTES = 64 << 20

_push = cuda.jit(device=True)(_heap_push_py)
_sort = cuda.jit(device=True)(_heap_sort_py)


@cuda.jit
def _score(metric, qa, w, const, data, inv_norms, rows, use_rows, out):
    q, t = cuda.grid(2)
    if q >= qa.shape[0] or t >= out.shape[1]:
        return
    r = rows[t] if use_rows else t
    dim = data.shape[1]
    s = np.float32(0.0)
    if metric <= 1:
        for j in range(dim):
            s += qa[q, j] * np.float32(data[r, j])
        s += const[q]
        if metric == 0:
            s *= inv_norms[r]
        out[q, t] = -s
    elif metric == 2:
        for j in range(dim):
            d = np.float32(data[r, j]) - qa[q, j]
            s += w[j] * d * d
        out[q, t] = s + const[q]
    else:
        for j in range(dim):
            s += w[j] * abs(np.float32(data[r, j]) - qa[q, j])
        out[q, t] = s + const[q]


@cuda.jit
def _select(scores, rows, use_rows, chunk, hd, hi):
    q, c = cuda.grid(2)
    if q >= hd.shape[0] or c >= hd.shape[1]:
        return
    start = c * chunk
    stop = min(scores.shape[1], start + chunk)
    for t in range(start, stop):
        r = rows[t] if use_rows else t
        _push(hd[q, c], hi[q, c], scores[q, t], r)


@cuda.jit
def _merge(hd, hi, out_d, out_i):
    q = cuda.grid(1)
    if q >= hd.shape[0]:
        return
    for j in range(out_d.shape[1]):
        out_d[q, j] = hd[q, 0, j]
        out_i[q, j] = hi[q, 0, j]
    for c in range(1, hd.shape[1]):
        for j in range(hd.shape[2]):
            _push(out_d[q], out_i[q], hd[q, c, j], hi[q, c, j])
    _sort(out_d[q], out_i[q])


def cuda_available() -> bool:
    """True when numba.cuda sees a GPU (or the simulator is enabled)."""
    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver install counts as no GPU
        return False


def _simulated() -> bool:
    import numba

    return bool(getattr(numba.config, "ENABLE_CUDASIM", 0))


def select_device(device: str, nbytes: int) -> str:
    """Resolve ``"auto" | "cpu" | "cuda"`` to ``"cpu"`` or ``"cuda"``.

    "auto" picks CUDA only with a real GPU (never the simulator) and at least
    :data:`AUTO_MIN_BYTES` of stored rows.
    """
    if device == "cpu":
        return "cpu"
    if device == "cuda":
        if not cuda_available():
            raise RuntimeError("device='cuda' but numba.cuda finds no GPU")
        return "cuda"
    if device == "auto":
        if nbytes >= AUTO_MIN_BYTES and not _simulated() and cuda_available():
            return "cuda"
        return "cpu"
    raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")


def to_device(array: np.ndarray):
    """Copy a host array to the GPU once (pass the result to the search functions)."""
    return cuda.to_device(np.ascontiguousarray(array))


def _run(metric, qa, w, const, codes_dev, inv_dev, rows, use_rows, n_visit, k):
    m = qa.shape[0]
    scores = cuda.device_array((m, n_visit), dtype=np.float32)
    tpb = (4, 64)
    grid = (math.ceil(m / tpb[0]), math.ceil(n_visit / tpb[1]))
    rows_dev = cuda.to_device(rows if use_rows else np.zeros(1, np.int64))
    _score[grid, tpb](int(metric), cuda.to_device(qa), cuda.to_device(w), cuda.to_device(const),
                      codes_dev, inv_dev, rows_dev, use_rows, scores)
    chunk = max(64, math.ceil(n_visit / 1024))
    n_chunks = math.ceil(n_visit / chunk)
    hd = cuda.to_device(np.full((m, n_chunks, k), np.inf, np.float32))
    hi = cuda.to_device(np.full((m, n_chunks, k), _EMPTY, np.int64))
    grid = (math.ceil(m / tpb[0]), math.ceil(n_chunks / tpb[1]))
    _select[grid, tpb](scores, rows_dev, use_rows, chunk, hd, hi)
    out_d = cuda.device_array((m, k), np.float32)
    out_i = cuda.device_array((m, k), np.int64)
    _merge[math.ceil(m / 32), 32](hd, hi, out_d, out_i)
    return out_i.copy_to_host(), out_d.copy_to_host()


def topk_batch_cuda(data, queries, k, metric="cosine", *, inv_norms=None, mask=None, rows=None,
                    device_data=None, device_inv_norms=None):
    """GPU twin of :func:`conduit_kernels.topk.topk_batch` (same arguments and results).

    ``device_data`` / ``device_inv_norms``: the rows (or int8 codes) and inverse
    norms already on the GPU (from :func:`to_device`), to skip their transfer.
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
    if m == 0 or n == 0 or not any_rows:
        return _decode(metric, np.full((m, k), _EMPTY), np.full((m, k), np.inf, np.float32), True)
    if mask.shape[0]:
        rows = np.flatnonzero(mask).astype(np.int64)
        if rows.size == 0:
            return _decode(metric, np.full((m, k), _EMPTY), np.full((m, k), np.inf, np.float32), True)
    use_rows = rows.shape[0] > 0
    n_visit = rows.shape[0] if use_rows else n
    is_int8 = isinstance(data, Int8Matrix)
    inv = _inv_norms_for(metric, data, codes, inv_norms)
    prepared = [prepare_query(metric, q, data if is_int8 else None) for q in qs]
    qa = np.ascontiguousarray(np.stack([p[0] for p in prepared]))
    w = prepared[0][1]
    const = np.array([p[2] for p in prepared], dtype=np.float32)
    codes_dev = device_data if device_data is not None else cuda.to_device(codes)
    inv_dev = (device_inv_norms if device_inv_norms is not None and metric == Metric.COSINE
               else cuda.to_device(inv))
    ids, d = _run(metric, qa, w, const, codes_dev, inv_dev, rows, use_rows, n_visit, k)
    return _decode(metric, ids, d, False)


def topk_cuda(data, query, k, metric="cosine", **options):
    """GPU twin of :func:`conduit_kernels.topk.topk`: ids ``int64[k]``, scores ``float32[k]``."""
    q = np.asarray(query, dtype=np.float32)
    dim = (data.codes if isinstance(data, Int8Matrix) else np.asarray(data)).shape[-1]
    if q.shape != (dim,):
        raise ValueError(f"query must have shape ({dim},), got {q.shape}")
    ids, scores = topk_batch_cuda(data, q[None, :], k, metric, **options)
    return ids[0], scores[0]
