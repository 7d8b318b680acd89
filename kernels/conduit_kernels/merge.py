"""Merge of partial top-k results: the step after a search fanned out over shards.

Owns one kernel and its Python layer: given, per query, the concatenated best
lists of several shards (natural scores, sentinel-padded), return the positions
of the ``k`` best overall. Knows nothing of ids, shards or transport: the caller
keeps the ids beside the scores and picks them by position.

Ties are broken by the lower position, so a caller that concatenates shards in a
fixed order gets a deterministic answer.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import serial_and_parallel
from .topk import heap_push, heap_sort

__all__ = ["merge_topk"]

_EMPTY = np.int64(2**62)


#: Fewer queries than this merge in the serial variant: a parallel launch wakes every
#: worker, which costs more than merging a few rows (and a request merges one).
PARALLEL_MIN_QUERIES = 64


def _merge_py(proxies, k):
    m, width = proxies.shape
    hd = np.full((m, k), np.inf, dtype=np.float32)
    hi = np.full((m, k), _EMPTY, dtype=np.int64)
    for q in prange(m):
        for j in range(width):
            d = proxies[q, j]
            if d < np.inf:
                heap_push(hd[q], hi[q], d, j)
        heap_sort(hd[q], hi[q])
    return hi, hd


_merge_serial, _merge_parallel = serial_and_parallel(_merge_py)


def merge_topk(scores, k, higher_is_better=True):
    """Positions and scores of the ``k`` best entries of each row of ``scores``.

    Parameters
    ----------
    scores : float32[m, w]
        Candidate scores per query, e.g. the top-k lists of several shards side by
        side. Sentinels (``-inf`` for similarities, ``+inf`` for distances) and NaN
        mark empty slots and are never chosen.
    k : int >= 1
    higher_is_better : bool
        True for similarities (cosine, dot), False for distances.

    Returns
    -------
    positions : int64[m, k]
        Column of each chosen entry, best first; ``-1`` where fewer than ``k`` entries
        are real.
    best : float32[m, k]
        Their scores; the sentinel where the position is ``-1``.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    arr = np.asarray(scores, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"scores must be 2-D (queries, candidates), got shape {arr.shape}")
    proxies = -arr if higher_is_better else arr.copy()
    proxies[np.isnan(proxies)] = np.inf
    merge = _merge_serial if arr.shape[0] < PARALLEL_MIN_QUERIES else _merge_parallel
    positions, best = merge(np.ascontiguousarray(proxies), int(k))
    missing = positions == _EMPTY
    positions[missing] = -1
    best = -best if higher_is_better else best
    best[missing] = -np.inf if higher_is_better else np.inf
    return positions, best
