"""Tree ensemble inference over flat node arrays.

Owns the array encoding of decision trees, random forests, extra trees, gradient
boosting, histogram gradient boosting, LightGBM and XGBoost, and the kernels that walk
them. A :class:`Forest` is a struct of arrays (all trees' nodes concatenated)::

    nodes       int32[n_nodes, 4]    feature, left child, right child, flags
                                     (absolute node indices; feature == -1 marks a leaf)
    threshold   float64[n_nodes]     numeric split: go left when x[feature] <= threshold;
                                     categorical split: the index of its category set
    value       float64[n_nodes, w]  what a leaf adds to the accumulator
    trees       int64[n_trees, 6]    root node, first accumulator column it adds to, depth
                                     (levels below the root), 1 when the tree is plain, and
                                     for a complete tree its first ``heap`` slot and first
                                     ``heap_value`` row (-1, -1 for the others)
    init        float64[n_raw]       accumulator start (GB init, HGB baseline, base score)
    divisor     float64              accumulator is divided by it at the end (forest mean)
    compare32   bool                 compare float32(x) (scikit-learn's trees and XGBoost
                                     cast X to float32)
    cat_bounds  int64[n_sets + 1]    category set s is cat_bits[cat_bounds[s]:cat_bounds[s+1]]
    cat_bits    uint32[n_words]      bitsets: category c is in a set when bit c is on
    steps       int32[n_nodes, 4]    the compact walk of plain trees: feature, left, right,
                                     1 when NaN goes left (a leaf: feature 0, children itself)
    cut         float32[n_nodes]     their thresholds, as the walk compares them: float32 when
                or float64[n_nodes]  ``compare32`` (the largest float32 <= the threshold, so
                                     ``float32(x) <= cut`` exactly when ``x <= threshold`` did)
    heap        int32[n_slots, 2]    shallow plain trees padded to complete ones, in heap order
                                     (slot k's children are 2k+1 and 2k+2): feature, 1 when NaN
                                     goes left
    heap_cut    like ``cut``         their thresholds, as ``cut`` holds them
    heap_value  float64[n_leaf_slots, w]  their 2**depth leaves, left to right

``flags``: bit 0 is *missing goes left*; ``flags >> 1`` is the :class:`Split` kind, which
says how a value meets the node (NaN handling as in scikit-learn's ``_tree.pyx``, LightGBM's
``tree.h`` ``NumericalDecision`` / ``CategoricalDecision`` and XGBoost's predictor).

A tree is *plain* when every split is ``NUMERIC`` or ``NAN_AS_ZERO`` (NaN as 0.0 is then
just a fixed NaN side, ``0.0 <= threshold``): scikit-learn's trees, XGBoost's numeric trees and
most of LightGBM's. Rows are walked in blocks of :data:`BLOCK_ROWS` (the unit of parallel
work), tree by tree (tree-major: one tree's nodes stay in cache across the block). Through a
plain tree, rows descend in lock step, level by level, without a per-row exit test (a
leaf's children are itself, so a row that arrived stays): independent load chains and no
mispredicted loop exit per row. A shallow tree (boosting) is walked its full ``depth``,
eight rows at a time; a tree deeper than :data:`EARLY_EXIT_DEPTH` (a forest grown to
purity, unbalanced) four rows at a time, stopping once all four are at leaves. Figures: docs/benchmarks.md, "Tree batches". The rows left over
(fewer than four: a one-row request) and every tree that is not plain take the one-row walk,
which stops at the leaf. The child is picked by index (``steps[node, 2 - go_left]``), not
by a branch. Per row: ``raw = init``; each tree adds ``value[leaf]`` to ``raw[col:col + w]``
in tree order (the libraries' order); ``raw /= divisor``; then an output link
(:class:`conduit_kernels.Link`).

A plain tree no deeper than :data:`COMPLETE_DEPTH` (XGBoost's default depth is 6) is also
laid out *complete*: a leaf above the last level is repeated down to it (the padded nodes'
splits go either way to the same value), so every row takes exactly ``depth`` steps, the
next node is ``2k + 1 + go_right`` (no child index to load on the chain of dependent
loads) and a tree's splits sit in ``2**depth - 1`` consecutive slots. A block of rows
without NaN walks them with no NaN test (a separately compiled copy of the loop).
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numba
import numpy as np
from numba import prange

from ._jit import inline, kernel, serial_and_parallel
from ._links import finish_row, label_of

__all__ = [
    "BLOCK_ROWS",
    "COMPLETE_DEPTH",
    "EARLY_EXIT_DEPTH",
    "Forest",
    "MAX_CATEGORY",
    "MAX_DEPTH",
    "Split",
    "check_tree",
    "forest_labels",
    "forest_labels_parallel",
    "forest_scores",
    "forest_scores_parallel",
    "make_forest",
]


class Split(IntEnum):
    """How a node compares a value (``flags >> 1``).

    ``NUMERIC``: NaN goes the missing side, else ``x <= threshold`` goes left.
    ``NAN_AS_ZERO``: NaN counts as 0.0, then ``x <= threshold`` (LightGBM, missing type None).
    ``ZERO_AS_MISSING``: NaN counts as 0.0; 0.0 (``|x| <= 1e-35``) goes the missing side
    (LightGBM, missing type Zero).
    ``CATEGORY``: NaN goes the missing side; ``int(x)`` (truncated, as LightGBM does) in the
    node's category set goes left, any other value (negative, too large, not in the set)
    right. (XGBoost calls a value in ``(-1, 0)`` invalid rather than category 0; its
    category inputs are codes >= 0, where the two agree.)
    """

    NUMERIC = 0
    NAN_AS_ZERO = 1
    ZERO_AS_MISSING = 2
    CATEGORY = 3


#: LightGBM's ``kZeroThreshold``: values this close to 0 are zero for ``ZERO_AS_MISSING``.
ZERO_THRESHOLD = 1e-35


class Forest(NamedTuple):
    """The arrays of a tree ensemble (see the module docstring)."""

    nodes: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    trees: np.ndarray
    init: np.ndarray
    divisor: float
    compare32: bool
    cat_bounds: np.ndarray
    cat_bits: np.ndarray
    steps: np.ndarray
    cut: np.ndarray
    heap: np.ndarray
    heap_cut: np.ndarray
    heap_value: np.ndarray


#: The deepest tree accepted: a walk takes one step per level, so this bounds the work per row.
MAX_DEPTH = 4096
#: Category codes are below this (a set's bitset then takes at most 2 MiB).
MAX_CATEGORY = 1 << 24


def check_tree(feature, left, right, value, n_features: int | None = None) -> int:
    """The tree's depth; ``ValueError`` naming the node unless the arrays are one finite binary tree.

    The kernels do not bounds-check, so a model file from elsewhere is checked here
    before they see it: children in range, every node but the root (node 0) the child
    of exactly one node and reachable from the root (so no cycle, no self-loop),
    depth at most :data:`MAX_DEPTH`, split features in ``[0, n_features)``, leaf
    values finite. Arrays as :func:`make_forest` takes them (``left < 0``: a leaf).
    """
    left = np.asarray(left, dtype=np.int64).reshape(-1)
    right = np.asarray(right, dtype=np.int64).reshape(-1)
    feature = np.asarray(feature, dtype=np.int64).reshape(-1)
    n = left.shape[0]
    if n == 0 or right.shape[0] != n or feature.shape[0] != n:
        raise ValueError(f"node arrays of lengths {n}, {right.shape[0]}, {feature.shape[0]}; "
                         "expected one non-empty length")
    try:
        values = np.asarray(value, dtype=np.float64).reshape(n, -1)
    except ValueError:
        raise ValueError(f"{np.size(value)} leaf values for {n} nodes") from None
    inner = np.flatnonzero(left >= 0)
    kids = np.concatenate([left[inner], right[inner]])
    bad = np.flatnonzero((kids < 0) | (kids >= n))
    if bad.size:
        node = inner[bad[0] % inner.shape[0]]
        raise ValueError(f"node {node} has child {kids[bad[0]]}, outside nodes 0..{n - 1}")
    parents = np.bincount(kids, minlength=n)
    if parents[0]:
        raise ValueError("the root (node 0) is the child of a node: a cycle")
    bad = np.flatnonzero(parents[1:] != 1) + 1
    if bad.size:
        node = bad[0]
        raise ValueError(f"node {node} is the child of {parents[node]} nodes, expected 1 "
                         "(a cycle or a shared subtree)" if parents[node] else
                         f"node {node} is not reachable from the root")
    # Pointer doubling: after r rounds ``jump`` is each node's 2**r-th ancestor (the root
    # is its own parent); a node on a cycle never reaches the root.
    parent = np.zeros(n, dtype=np.int64)
    parent[left[inner]] = inner
    parent[right[inner]] = inner
    dist = np.ones(n, dtype=np.int64)
    dist[0] = 0
    jump = parent
    for _ in range(n.bit_length()):
        dist = dist + dist[jump]
        jump = jump[jump]
    if (jump != 0).any():
        raise ValueError(f"node {np.flatnonzero(jump != 0)[0]} lies on a cycle")
    if dist.max() > MAX_DEPTH:
        raise ValueError(f"the tree is {dist.max()} levels deep, more than MAX_DEPTH={MAX_DEPTH}")
    split = feature[inner]
    bad = np.flatnonzero((split < 0) | (split >= (n_features if n_features is not None else 2**31)))
    if bad.size:
        of = f" of {n_features}" if n_features is not None else ""
        raise ValueError(f"node {inner[bad[0]]} splits on feature {split[bad[0]]}{of}")
    leaves = left < 0
    if not np.isfinite(values[leaves]).all():
        node = np.flatnonzero(leaves & ~np.isfinite(values).all(axis=1))[0]
        raise ValueError(f"leaf {node} holds a value that is not finite")
    return int(dist.max())


def _bitset(categories) -> np.ndarray:
    categories = np.asarray(categories, dtype=np.int64)
    if categories.size and (categories.min() < 0 or categories.max() >= MAX_CATEGORY):
        raise ValueError(f"category sets hold integers in [0, {MAX_CATEGORY}), got "
                         f"{categories.min()}..{categories.max()}")
    words = np.zeros(int(categories.max()) // 32 + 1 if categories.size else 1, dtype=np.uint32)
    for c in categories:
        words[c // 32] |= np.uint32(1) << np.uint32(c % 32)
    return words


def make_forest(trees: list[tuple], init: np.ndarray, *, divisor: float = 1.0,
                compare32: bool = False, n_features: int | None = None) -> Forest:
    """Concatenate per-tree arrays into a :class:`Forest`.

    Parameters
    ----------
    trees : list of (feature, threshold, left, right, missing_left, value, column[, kind, sets])
        Per tree: node arrays with tree-local child indices (-1 for none on a leaf),
        ``value`` of shape ``(n_nodes_t, w)`` and the accumulator column it adds to;
        optionally ``kind`` (a :class:`Split` per node) and ``sets`` (a list of arrays of
        category integers; a ``CATEGORY`` node's threshold is an index into it).
    init : float64[n_raw]
    divisor, compare32 : see :class:`Forest`.
    n_features : the width of the rows; when given, no node may split on a feature past it.

    Every tree is checked by :func:`check_tree` (``ValueError`` naming the tree and node),
    so no kernel walks a malformed table.

    Example: one stump ``x0 <= 0.5 ? 1.0 : 2.0`` ->
    ``nodes=[[0, 1, 2, 0], [-1, 1, 1, 0], [-1, 2, 2, 0]]``, ``trees=[[0, 0]]``
    (a leaf's children are itself, so an index past a leaf stays on it).
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
    roots = np.empty((len(trees), 6), dtype=np.int64)
    bounds, words = [0], []
    start = 0
    for t, tree in enumerate(trees):
        feature, thr, left, right, missing_left, val, column = tree[:7]
        try:
            depth = check_tree(feature, left, right, val, n_features)
        except ValueError as exc:
            raise ValueError(f"tree {t}: {exc}") from None
        kind = np.zeros(len(feature), dtype=np.int64) if len(tree) < 8 else np.asarray(tree[7], dtype=np.int64)
        sets = tree[8] if len(tree) > 8 else []
        end = start + len(feature)
        if column < 0 or column + width > init.shape[0]:
            raise ValueError(f"tree {t} writes columns {column}..{column + width - 1}, outside init")
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        leaf = left < 0
        here = np.arange(start, end)
        nodes[start:end, 0] = np.where(leaf, -1, feature)
        nodes[start:end, 1] = np.where(leaf, here, left + start)
        nodes[start:end, 2] = np.where(leaf, here, right + start)
        nodes[start:end, 3] = (np.asarray(missing_left, dtype=np.int64) != 0) | (np.where(leaf, 0, kind) << 1)
        thr = np.array(thr, dtype=np.float64)
        categorical = ~leaf & (kind == Split.CATEGORY)
        thr[categorical] += len(bounds) - 1  # tree-local set index -> forest set index
        threshold[start:end] = thr
        for categories in sets:
            words.append(_bitset(categories))
            bounds.append(bounds[-1] + len(words[-1]))
        value[start:end] = np.asarray(val, dtype=np.float64).reshape(len(feature), width)
        plain = bool(np.all(np.where(leaf, Split.NUMERIC, kind) <= Split.NAN_AS_ZERO))
        roots[t] = (start, column, depth, plain, -1, -1)
        start = end
    cat_bits = np.concatenate(words) if words else np.zeros(0, dtype=np.uint32)
    steps, cut = _compact_walk(nodes, threshold, compare32)
    heap, heap_cut, heap_value = _complete_trees(roots, steps, cut, value)
    return Forest(nodes, threshold, value, roots, init, float(divisor), bool(compare32),
                  np.asarray(bounds, dtype=np.int64), cat_bits, steps, cut, heap, heap_cut, heap_value)


#: Plain trees at most this deep are walked complete (see the module docstring): padding
#: costs up to ``2**depth`` slots per tree, which stays in cache up to about this depth.
COMPLETE_DEPTH = 8


def _complete_trees(trees: np.ndarray, steps: np.ndarray, cut: np.ndarray, value: np.ndarray) -> tuple:
    """``heap``, ``heap_cut`` and ``heap_value`` (see the module docstring); fills columns 4
    and 5 of ``trees``. Built level by level from ``steps``, whose leaves are their own
    children: a leaf above the last level fills its whole subtree."""
    heap, cuts, leaves = [], [], []
    slots = leaf_slots = 0
    for t in range(trees.shape[0]):
        root, _, depth, plain = trees[t, :4]
        if not plain or depth > COMPLETE_DEPTH:
            continue
        at = np.array([root], dtype=np.int64)
        level = []
        for _ in range(depth):
            level.append(at)
            at = steps[at][:, 1:3].reshape(-1)
        inner = np.concatenate(level) if level else np.zeros(0, dtype=np.int64)
        heap.append(steps[inner][:, [0, 3]])
        cuts.append(cut[inner])
        leaves.append(value[at])
        trees[t, 4:6] = slots, leaf_slots
        slots += inner.shape[0]
        leaf_slots += at.shape[0]
    return (np.ascontiguousarray(np.concatenate(heap)) if heap else np.zeros((0, 2), dtype=np.int32),
            np.concatenate(cuts) if cuts else np.zeros(0, dtype=cut.dtype),
            np.concatenate(leaves) if leaves else np.zeros((0, value.shape[1])))


def _compact_walk(nodes: np.ndarray, threshold: np.ndarray, compare32: bool) -> tuple:
    """``steps`` and ``cut`` (see the module docstring) from the full node table.

    Only plain trees read them, so a node of another kind gets harmless entries.
    """
    leaf = nodes[:, 0] < 0
    kind = nodes[:, 3] >> 1
    # NAN_AS_ZERO: NaN goes where 0.0 goes, which is fixed per node.
    nan_left = np.where(kind == Split.NAN_AS_ZERO, 0.0 <= threshold, (nodes[:, 3] & 1) != 0)
    steps = np.empty_like(nodes)
    steps[:, 0] = np.where(leaf, 0, nodes[:, 0])
    steps[:, 1:3] = nodes[:, 1:3]
    steps[:, 3] = nan_left & ~leaf
    if not compare32:
        return steps, np.where(leaf, 0.0, threshold)
    with np.errstate(over="ignore"):
        cut = np.where(leaf, 0.0, threshold).astype(np.float32)
    above = cut.astype(np.float64) > threshold
    cut[above] = np.nextafter(cut[above], np.float32(-np.inf))
    return steps, cut


#: Trees deeper than this end their lock-step walk as soon as the four rows are at leaves.
EARLY_EXIT_DEPTH = 10

#: The fewest rows walked together, tree by tree (a block is the unit of parallel work).
BLOCK_ROWS = 64
#: A block holds as many rows as fit this many bytes of inputs (about an L2 cache): each tree
#: is then read from memory once per block, not once per 64 rows. 100 RandomForest trees
#: (6 MB of nodes) walked faster in blocks of thousands of rows than of 64 (CPU time, 28 features).
BLOCK_BYTES = 1 << 19


@inline
def _block_rows(n, row_bytes, threads):
    """Rows per block: at most :data:`BLOCK_BYTES` of inputs, in a number of blocks that is a
    multiple of ``threads`` (three blocks on two threads would leave one thread idle for a third)."""
    rows = max(BLOCK_ROWS, BLOCK_BYTES // max(row_bytes, 1))
    blocks = max(1, -(-n // rows))
    blocks = -(-blocks // threads) * threads
    return max(BLOCK_ROWS, -(-n // blocks))


@inline
def _special(v, flags, thr, cat_bounds, cat_bits):
    """Whether ``v`` goes left at a node whose split kind is not ``NUMERIC``."""
    kind = flags >> 1
    if kind == 3:  # CATEGORY
        if v != v:
            return (flags & 1) != 0
        if not (-1.0 < v < 2147483648.0):  # int(v) would be negative or out of any set
            return False
        c = np.int64(v)  # truncation, as LightGBM's static_cast<int>
        s = np.int64(thr)
        word = cat_bounds[s] + c // 32
        if word >= cat_bounds[s + 1]:
            return False
        return ((cat_bits[word] >> np.uint32(c % 32)) & np.uint32(1)) != 0
    if v != v:
        v = 0.0
    if kind == 2 and -1e-35 <= v <= 1e-35:  # ZERO_AS_MISSING
        return (flags & 1) != 0
    return v <= thr


@inline
def _walk(xt, i, node, nodes, threshold, cat_bounds, cat_bits):
    """The leaf row ``i`` reaches from ``node``: any split kind, stops at the leaf."""
    f = nodes[node, 0]
    while f >= 0:
        v = xt[i, f]
        flags = nodes[node, 3]
        if flags < 2:  # NUMERIC, the common case: no call
            go_left = (v <= threshold[node]) or (v != v and flags == 1)
        else:
            go_left = _special(v, flags, threshold[node], cat_bounds, cat_bits)
        node = nodes[node, 2 - np.int64(go_left)]
        f = nodes[node, 0]
    return node


@inline
def _step(xt, i, node, steps, cut):
    """One level of a plain tree for row ``i`` (a leaf steps to itself). Rows are indexed,
    not sliced: a row view costs a reference-count update, more than the step itself."""
    v = xt[i, steps[node, 0]]
    go_left = (v <= cut[node]) | ((v != v) & (steps[node, 3] != 0))
    return steps[node, 2 - np.int64(go_left)]


@inline
def _heap_step(flat, row, k, first, heap, heap_cut, nan_aware):
    """One level of a complete tree: slot ``k`` -> its child, for the row starting at flat
    index ``row`` of the inputs. NaN goes right unless the node sends it left (``v > cut`` is
    false for NaN); ``nan_aware`` is a constant where this is inlined (a block without NaN
    skips that test: a run-time flag here made the walk 2.7x slower, the branch stayed in
    the loop). Indexes are unsigned: Numba then emits no negative-index wraparound on this
    chain of dependent loads."""
    s = first + k
    v = flat[row + np.uint64(heap[s, 0])]
    go_right = v > heap_cut[s]
    if nan_aware:
        go_right = go_right | ((v != v) & (heap[s, 1] == 0))
    return k + k + np.uint64(1) + np.uint64(go_right)


@inline
def _complete_tree(flat, nf, lo, hi, depth, base, leaf, col, heap, heap_cut, heap_value, nan_aware, raw):
    """Add one complete tree's leaves to rows ``lo:`` of ``raw``, eight rows in lock step,
    exactly ``depth`` levels (``flat``: the inputs, ``nf`` values a row; ``nan_aware``: a
    constant, see :func:`_heap_step`). Returns the first
    row left (fewer than eight before ``hi``): those take the one-row walk."""
    width = heap_value.shape[1]
    first = np.uint64(base)
    i = lo
    while i + 8 <= hi:
        r = np.uint64(i) * nf
        a = b = c_ = d = e = f = g = h = np.uint64(0)
        for _ in range(depth):
            a = _heap_step(flat, r, a, first, heap, heap_cut, nan_aware)
            b = _heap_step(flat, r + nf, b, first, heap, heap_cut, nan_aware)
            c_ = _heap_step(flat, r + np.uint64(2) * nf, c_, first, heap, heap_cut, nan_aware)
            d = _heap_step(flat, r + np.uint64(3) * nf, d, first, heap, heap_cut, nan_aware)
            e = _heap_step(flat, r + np.uint64(4) * nf, e, first, heap, heap_cut, nan_aware)
            f = _heap_step(flat, r + np.uint64(5) * nf, f, first, heap, heap_cut, nan_aware)
            g = _heap_step(flat, r + np.uint64(6) * nf, g, first, heap, heap_cut, nan_aware)
            h = _heap_step(flat, r + np.uint64(7) * nf, h, first, heap, heap_cut, nan_aware)
        for c in range(width):
            raw[i, col + c] += heap_value[leaf + np.int64(a), c]
            raw[i + 1, col + c] += heap_value[leaf + np.int64(b), c]
            raw[i + 2, col + c] += heap_value[leaf + np.int64(c_), c]
            raw[i + 3, col + c] += heap_value[leaf + np.int64(d), c]
            raw[i + 4, col + c] += heap_value[leaf + np.int64(e), c]
            raw[i + 5, col + c] += heap_value[leaf + np.int64(f), c]
            raw[i + 6, col + c] += heap_value[leaf + np.int64(g), c]
            raw[i + 7, col + c] += heap_value[leaf + np.int64(h), c]
        i += 8
    return i


@kernel
def _forest_block(xt, lo, hi, nodes, threshold, value, trees, init, divisor, cat_bounds, cat_bits,
                  steps, cut, heap, heap_cut, heap_value, raw):
    width = value.shape[1]
    # the complete walk indexes the inputs flat, unsigned (made once: a reshape per tree cost a
    # one-row request 2.5 µs)
    flat = xt.reshape(-1)
    nf = np.uint64(xt.shape[1])
    nan_aware = False
    for i in range(lo, hi):
        for c in range(init.shape[0]):
            raw[i, c] = init[c]
        for j in range(xt.shape[1]):
            nan_aware |= xt[i, j] != xt[i, j]
    for t in range(trees.shape[0]):
        root = trees[t, 0]
        col = trees[t, 1]
        i = lo
        if trees[t, 4] >= 0:  # complete
            depth = trees[t, 2]
            leaf = trees[t, 5] - ((1 << depth) - 1)  # slot k of the last level -> heap_value row
            if nan_aware:  # two inlined copies: in each, the NaN test is settled at compile time
                i = _complete_tree(flat, nf, lo, hi, depth, trees[t, 4], leaf, col, heap, heap_cut, heap_value,
                                   True, raw)
            else:
                i = _complete_tree(flat, nf, lo, hi, depth, trees[t, 4], leaf, col, heap, heap_cut, heap_value,
                                   False, raw)
        elif trees[t, 3] == 1:  # plain: four rows in lock step, ``depth`` levels
            depth = trees[t, 2]
            # a deep tree (a forest grown to purity) is unbalanced: most rows reach a leaf
            # well before ``depth``, so a test for four leaves pays; a shallow one (boosting)
            # is near-complete and the test is pure cost (measured both ways)
            early = depth > EARLY_EXIT_DEPTH
            while not early and i + 8 <= hi:
                a = b = c_ = d = e = f = g = h = root
                for _ in range(depth):
                    a = _step(xt, i, a, steps, cut)
                    b = _step(xt, i + 1, b, steps, cut)
                    c_ = _step(xt, i + 2, c_, steps, cut)
                    d = _step(xt, i + 3, d, steps, cut)
                    e = _step(xt, i + 4, e, steps, cut)
                    f = _step(xt, i + 5, f, steps, cut)
                    g = _step(xt, i + 6, g, steps, cut)
                    h = _step(xt, i + 7, h, steps, cut)
                for c in range(width):
                    raw[i, col + c] += value[a, c]
                    raw[i + 1, col + c] += value[b, c]
                    raw[i + 2, col + c] += value[c_, c]
                    raw[i + 3, col + c] += value[d, c]
                    raw[i + 4, col + c] += value[e, c]
                    raw[i + 5, col + c] += value[f, c]
                    raw[i + 6, col + c] += value[g, c]
                    raw[i + 7, col + c] += value[h, c]
                i += 8
            while i + 4 <= hi:
                a = b = c_ = d = root
                for _ in range(depth):
                    a = _step(xt, i, a, steps, cut)
                    b = _step(xt, i + 1, b, steps, cut)
                    c_ = _step(xt, i + 2, c_, steps, cut)
                    d = _step(xt, i + 3, d, steps, cut)
                    if early and (steps[a, 1] == a) & (steps[b, 1] == b) & (steps[c_, 1] == c_) & (steps[d, 1] == d):
                        break  # all four at leaves
                for c in range(width):
                    raw[i, col + c] += value[a, c]
                    raw[i + 1, col + c] += value[b, c]
                    raw[i + 2, col + c] += value[c_, c]
                    raw[i + 3, col + c] += value[d, c]
                i += 4
        for i in range(i, hi):
            node = _walk(xt, i, root, nodes, threshold, cat_bounds, cat_bits)
            for c in range(width):
                raw[i, col + c] += value[node, c]
    if divisor != 1.0:
        for i in range(lo, hi):
            for c in range(init.shape[0]):
                raw[i, c] = raw[i, c] / divisor


@kernel
def _inputs(X, pre, cut):
    """The values the trees compare, in ``cut``'s dtype: preprocessed once (every tree
    reads some features), rounded to float32 once when the model compares in float32."""
    out = np.empty(X.shape, dtype=cut.dtype)
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


def _forest_scores(X, nodes, threshold, value, trees, init, divisor, compare32, cat_bounds, cat_bits,
                   steps, cut, heap, heap_cut, heap_value, pre, link, threads=1):
    """Forest outputs after an output link.

    Parameters
    ----------
    X : float64[n, n_features], C-contiguous
    nodes, threshold, value, trees, init, divisor, compare32, cat_bounds, cat_bits, steps, cut,
    heap, heap_cut, heap_value
        The :class:`Forest` fields.
    pre : float64[n_stages, AFFINE_ROWS, n_features]
        Preprocessing chain (``n_stages`` may be 0).
    link : int
        A :class:`conduit_kernels.Link` code.
    threads : int
        How many threads share the blocks (the parallel variant's wrapper passes Numba's
        count, which a cached kernel cannot read itself); see :func:`_block_rows`.

    Returns
    -------
    float64[n, width]
        ``width`` is 2 for ``Link.LOGISTIC``, else ``n_raw``.
    """
    n = X.shape[0]
    n_raw = init.shape[0]
    width = 2 if link == 1 else n_raw
    xt = _inputs(X, pre, cut)
    block = _block_rows(n, X.shape[1] * xt.itemsize, threads)
    raw = np.empty((n, n_raw), dtype=np.float64)
    out = np.empty((n, width), dtype=np.float64)
    for b in prange((n + block - 1) // block):
        lo = b * block
        hi = min(n, lo + block)
        _forest_block(xt, lo, hi, nodes, threshold, value, trees, init, divisor, cat_bounds, cat_bits,
                      steps, cut, heap, heap_cut, heap_value, raw)
        for i in range(lo, hi):
            finish_row(raw[i], link, out[i])
    return out


def _forest_labels(X, nodes, threshold, value, trees, init, divisor, compare32, cat_bounds, cat_bits,
                   steps, cut, heap, heap_cut, heap_value, pre, rule, threads=1):
    """Class indices (``int64[n]``) by :class:`conduit_kernels.LabelRule` ``rule``.

    Arguments as in :func:`_forest_scores`; the rule sees the divided accumulator.
    """
    n = X.shape[0]
    xt = _inputs(X, pre, cut)
    block = _block_rows(n, X.shape[1] * xt.itemsize, threads)
    raw = np.empty((n, init.shape[0]), dtype=np.float64)
    out = np.empty(n, dtype=np.int64)
    for b in prange((n + block - 1) // block):
        lo = b * block
        hi = min(n, lo + block)
        _forest_block(xt, lo, hi, nodes, threshold, value, trees, init, divisor, cat_bounds, cat_bits,
                      steps, cut, heap, heap_cut, heap_value, raw)
        for i in range(lo, hi):
            out[i] = label_of(raw[i], rule)
    return out


def _on_all_threads(kernel):
    """The ``parallel=True`` variant, told how many threads share its blocks (read here, in
    Python: reading it inside the kernel would stop Numba caching it)."""

    def run(X, *args):
        return kernel(X, *args, numba.get_num_threads())

    run.__name__ = run.__qualname__ = kernel.py_func.__name__.lstrip("_") + "_parallel"
    run.__doc__ = kernel.py_func.__doc__
    return run


forest_scores, _scores_parallel = serial_and_parallel(_forest_scores)
forest_labels, _labels_parallel = serial_and_parallel(_forest_labels)
forest_scores_parallel = _on_all_threads(_scores_parallel)
forest_labels_parallel = _on_all_threads(_labels_parallel)
