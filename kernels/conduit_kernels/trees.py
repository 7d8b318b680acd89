"""Tree ensemble inference over flat node arrays.

Owns the array encoding of decision trees, random forests, extra trees, gradient
boosting and histogram gradient boosting, and the kernels that walk them. A
:class:`Forest` is a struct of arrays (all trees' nodes concatenated)::

    nodes      int32[n_nodes, 4]     feature, left child, right child, missing-goes-left
                                     (absolute node indices; left == -1 marks a leaf)
    threshold  float64[n_nodes]      go left when x[feature] <= threshold
    value      float64[n_nodes, w]   what a leaf adds to the accumulator
    trees      int64[n_trees, 2]     root node, first accumulator column it adds to
    init       float64[n_raw]        accumulator start (GB init, HGB baseline, zeros)
    divisor    float64               accumulator is divided by it at the end (forest mean)
    compare32  bool                  compare float32(x) (scikit-learn's trees cast X to float32)

Rows are walked in blocks of :data:`BLOCK_ROWS`, tree by tree. Per row: ``raw = init``; each tree walks to a leaf and adds ``value[leaf]`` to
``raw[col:col + w]`` in tree order (scikit-learn's order); ``raw /= divisor``; then an
output link (:class:`conduit_kernels.Link`). NaN goes to the side ``missing-goes-left``
names, as in scikit-learn's ``_tree.pyx`` and HistGradientBoosting's ``_predictor.pyx``.
Categorical HistGradientBoosting splits are not encoded (the caller falls back).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import prange

from ._jit import kernel, serial_and_parallel
from ._links import finish_row, label_of

__all__ = [
    "Forest",
    "forest_labels",
    "forest_labels_parallel",
    "forest_scores",
    "forest_scores_parallel",
    "make_forest",
]


class Forest(NamedTuple):
    """The arrays of a tree ensemble (see the module docstring)."""

    nodes: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    trees: np.ndarray
    init: np.ndarray
    divisor: float
    compare32: bool


def make_forest(
    trees: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]],
    init: np.ndarray,
    *,
    divisor: float = 1.0,
    compare32: bool = False,
) -> Forest:
    """Concatenate per-tree arrays into a :class:`Forest`.

    Parameters
    ----------
    trees : list of (feature, threshold, left, right, missing_left, value, column)
        Per tree: node arrays with tree-local child indices (-1 for none),
        ``value`` of shape ``(n_nodes_t, w)`` and the accumulator column it adds to.
    init : float64[n_raw]
    divisor, compare32 : see :class:`Forest`.

    Example: one stump ``x0 <= 0.5 ? 1.0 : 2.0`` ->
    ``nodes=[[0, 1, 2, 0], [-1, -1, -1, 0], [-1, -1, -1, 0]]``, ``trees=[[0, 0]]``.
    """
    init = np.ascontiguousarray(init, dtype=np.float64).reshape(-1)
    widths = {np.asarray(t[5]).reshape(len(t[0]), -1).shape[1] for t in trees}
    if len(widths) != 1:
        raise ValueError(f"all trees must have the same leaf value width, got {sorted(widths)}")
    (width,) = widths
    n_nodes = sum(len(t[0]) for t in trees)
    nodes = np.empty((n_nodes, 4), dtype=np.int32)
    threshold = np.empty(n_nodes, dtype=np.float64)
    value = np.empty((n_nodes, width), dtype=np.float64)
    roots = np.empty((len(trees), 2), dtype=np.int64)
    start = 0
    for t, (feature, thr, left, right, missing_left, val, column) in enumerate(trees):
        end = start + len(feature)
        if column < 0 or column + width > init.shape[0]:
            raise ValueError(f"tree {t} writes columns {column}..{column + width - 1}, outside init")
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        nodes[start:end, 0] = np.where(left < 0, -1, feature)
        nodes[start:end, 1] = np.where(left < 0, -1, left + start)
        nodes[start:end, 2] = np.where(left < 0, -1, right + start)
        nodes[start:end, 3] = np.asarray(missing_left, dtype=np.int32)
        threshold[start:end] = thr
        value[start:end] = np.asarray(val, dtype=np.float64).reshape(len(feature), width)
        roots[t] = (start, column)
        start = end
    return Forest(nodes, threshold, value, roots, init, float(divisor), bool(compare32))


#: Rows walked together, tree by tree: one tree's nodes stay in cache across the block.
BLOCK_ROWS = 64


@kernel
def _forest_block(xt, lo, hi, nodes, threshold, value, trees, init, divisor, compare32, raw):
    width = value.shape[1]
    for i in range(lo, hi):
        for c in range(init.shape[0]):
            raw[i, c] = init[c]
    for t in range(trees.shape[0]):
        root = trees[t, 0]
        col = trees[t, 1]
        for i in range(lo, hi):
            node = root
            left = nodes[node, 1]
            while left >= 0:
                v = xt[i, nodes[node, 0]]
                if v != v:
                    go_left = nodes[node, 3] != 0
                elif compare32:
                    go_left = np.float32(v) <= threshold[node]
                else:
                    go_left = v <= threshold[node]
                node = left if go_left else nodes[node, 2]
                left = nodes[node, 1]
            for c in range(width):
                raw[i, col + c] += value[node, c]
    if divisor != 1.0:
        for i in range(lo, hi):
            for c in range(init.shape[0]):
                raw[i, c] = raw[i, c] / divisor


@kernel
def _pre_rows(X, pre):
    # Trees read few features per row, but every tree reads some: transform once.
    out = np.empty_like(X)
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            v = X[i, j]
            for s in range(pre.shape[0]):
                v = ((v - pre[s, 0, j]) / pre[s, 1, j]) * pre[s, 2, j] + pre[s, 3, j]
                if v < pre[s, 4, j]:
                    v = pre[s, 4, j]
                elif v > pre[s, 5, j]:
                    v = pre[s, 5, j]
            out[i, j] = v
    return out


def _forest_scores(X, nodes, threshold, value, trees, init, divisor, compare32, pre, link):
    """Forest outputs after an output link.

    Parameters
    ----------
    X : float64[n, n_features], C-contiguous
    nodes, threshold, value, trees, init, divisor, compare32
        The :class:`Forest` fields.
    pre : float64[n_stages, AFFINE_ROWS, n_features]
        Preprocessing chain (``n_stages`` may be 0).
    link : int
        A :class:`conduit_kernels.Link` code.

    Returns
    -------
    float64[n, width]
        ``width`` is 2 for ``Link.LOGISTIC``, else ``n_raw``.
    """
    n = X.shape[0]
    n_raw = init.shape[0]
    width = 2 if link == 1 else n_raw
    xt = X if pre.shape[0] == 0 else _pre_rows(X, pre)
    raw = np.empty((n, n_raw), dtype=np.float64)
    out = np.empty((n, width), dtype=np.float64)
    for b in prange((n + BLOCK_ROWS - 1) // BLOCK_ROWS):
        lo = b * BLOCK_ROWS
        hi = min(n, lo + BLOCK_ROWS)
        _forest_block(xt, lo, hi, nodes, threshold, value, trees, init, divisor, compare32, raw)
        for i in range(lo, hi):
            finish_row(raw[i], link, out[i])
    return out


def _forest_labels(X, nodes, threshold, value, trees, init, divisor, compare32, pre, rule):
    """Class indices (``int64[n]``) by :class:`conduit_kernels.LabelRule` ``rule``.

    Arguments as in :func:`_forest_scores`; the rule sees the divided accumulator.
    """
    n = X.shape[0]
    xt = X if pre.shape[0] == 0 else _pre_rows(X, pre)
    raw = np.empty((n, init.shape[0]), dtype=np.float64)
    out = np.empty(n, dtype=np.int64)
    for b in prange((n + BLOCK_ROWS - 1) // BLOCK_ROWS):
        lo = b * BLOCK_ROWS
        hi = min(n, lo + BLOCK_ROWS)
        _forest_block(xt, lo, hi, nodes, threshold, value, trees, init, divisor, compare32, raw)
        for i in range(lo, hi):
            out[i] = label_of(raw[i], rule)
    return out


forest_scores, forest_scores_parallel = serial_and_parallel(_forest_scores)
forest_labels, forest_labels_parallel = serial_and_parallel(_forest_labels)
