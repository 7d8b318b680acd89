"""The route-match kernels: one path, or a batch in parallel.

The table they read is built by :mod:`.route_table` (its docstring describes the
layout); the builder's names are re-exported here for convenience.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._ascii import hex_value as _hex
from ._jit import inline, kernel
from .route_table import (  # noqa: F401  (re-exported)
    CHILD_START,
    H_EXACT,
    H_EXACT_SLOTS,
    H_LABELS,
    H_MAX_PARAMS,
    H_N_COLUMNS,
    H_NODES,
    HAS_CATCHALL,
    KIND,
    LABEL_LEN,
    LABEL_START,
    METHODS,
    N_PARAM,
    N_STATIC,
    NODE_COLUMNS,
    NOT_FOUND,
    ParamKind,
    PatternError,
    RouteConflict,
    RouteTable,
    Segment,
    build_route_table,
    parse_pattern,
)

__all__ = ["match_route", "match_routes"]


# --------------------------------------------------------------------------- kernels


@inline
def _fnv1a(data, start, end):
    """64-bit FNV-1a of ``data[start:end]``, shifted to a non-negative int64."""
    h = np.uint64(14695981039346656037)
    for i in range(start, end):
        h ^= np.uint64(data[i])
        h *= np.uint64(1099511628211)
    return np.int64(h >> np.uint64(1))


@kernel
def _decoded(path, i, end):
    """The percent-decoded byte at ``path[i]`` and the index after it.

    A ``%`` not followed by two hex digits stands for itself (RFC 3986 §2.1 calls
    it malformed; we neither reject nor guess).
    """
    c = np.int64(path[i])
    if c == 37 and i + 2 < end:
        hi = _hex(path[i + 1])
        lo = _hex(path[i + 2])
        if hi >= 0 and lo >= 0:
            return np.int64(hi * 16 + lo), i + 3
    return c, i + 1


@kernel
def _decoded_equals(path, pos, end, table, start, length):
    """Whether the percent-decoded segment ``path[pos:end]`` equals the label."""
    j = 0
    i = pos
    while i < end:
        c, i = _decoded(path, i, end)
        if j >= length or table[start + j] != c:
            return False
        j += 1
    return j == length


@inline
def _label_equals(path, pos, end, table, start, length, encoded):
    if encoded:
        return _decoded_equals(path, pos, end, table, start, length)
    if end - pos != length:
        return False
    for k in range(length):
        if path[pos + k] != table[start + k]:
            return False
    return True


@inline
def _compare_label(path, pos, end, table, start, length, encoded):
    """Order of the (decoded) segment ``path[pos:end]`` against a label: -1, 0 or 1.

    Labels of a node's static children are sorted by their UTF-8 bytes (the
    builder sorts by code point, which UTF-8 preserves), so this drives a binary
    search when a node has many children.
    """
    j = 0
    i = pos
    while i < end:
        if encoded:
            c, i = _decoded(path, i, end)
        else:
            c = np.int64(path[i])
            i += 1
        if j >= length:
            return 1
        label = table[start + j]
        if c != label:
            return -1 if c < label else 1
        j += 1
    return 0 if j == length else -1


@inline
def _static_child(table, nodes, columns, labels, first, count, path, pos, end, encoded):
    """Index of the static child whose label equals the segment, or -1."""
    if count <= 8:  # a short scan with a length check beats a binary search
        for c in range(first, first + count):
            crow = nodes + c * columns
            if _label_equals(path, pos, end, table, labels + table[crow + LABEL_START],
                             table[crow + LABEL_LEN], encoded):
                return c
        return -1
    lo = first
    hi = first + count - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        crow = nodes + mid * columns
        order = _compare_label(path, pos, end, table, labels + table[crow + LABEL_START],
                               table[crow + LABEL_LEN], encoded)
        if order == 0:
            return mid
        if order < 0:
            hi = mid - 1
        else:
            lo = mid + 1
    return -1


@kernel
def _kind_accepts(kind, path, pos, end):
    """Whether the decoded segment ``path[pos:end]`` has the shape ``kind`` asks for.

    Deliberately not inlined: its branches bloat the match loop (measured 4x slower).
    """
    if kind == 5:  # PATH: anything, even empty
        return True
    if pos >= end:
        return False
    if kind == 4:  # STR
        return True
    if kind == 3:  # UUID: 8-4-4-4-12
        j = 0
        i = pos
        while i < end:
            c, i = _decoded(path, i, end)
            if j == 8 or j == 13 or j == 18 or j == 23:
                if c != 45:
                    return False
            elif _hex(c) < 0:
                return False
            j += 1
        return j == 36
    # INT or FLOAT: -?[0-9]+ and -?[0-9]+(.[0-9]+)?
    c, i = _decoded(path, pos, end)
    if c == 45:
        if i >= end:
            return False
        c, i = _decoded(path, i, end)
    if not 48 <= c <= 57:
        return False
    seen_dot = False
    last_digit = True
    while i < end:
        c, i = _decoded(path, i, end)
        if 48 <= c <= 57:
            last_digit = True
        elif c == 46 and kind == 2 and not seen_dot:
            seen_dot = True
            last_digit = False
        else:
            return False
    return last_digit


@inline
def _exact_lookup(table, path, n):
    """Node of the fully static route equal to ``path``, or -1."""
    base = table[H_EXACT]
    mask = table[H_EXACT_SLOTS] - 1
    slot = _fnv1a(path, 0, n) & mask
    while table[base + 3 * slot + 2] != -1:
        if table[base + 3 * slot + 1] == n:
            start = table[H_LABELS] + table[base + 3 * slot]
            same = True
            for i in range(n):
                if table[start + i] != path[i]:
                    same = False
                    break
            if same:
                return table[base + 3 * slot + 2]
        slot = (slot + 1) & mask
    return -1


@inline
def _methods_at(table, row, n_methods):
    """Bit mask of the methods that have a route at the node starting at ``row``."""
    mask = np.int64(0)
    for m in range(n_methods):
        if table[row + NODE_COLUMNS + m] >= 0:
            mask |= np.int64(1) << m
    return mask


@kernel
def _match(table, path, method, work):
    """Shared body of :func:`match_route` and :func:`match_routes`."""
    n = len(path)
    columns = table[H_N_COLUMNS]
    n_methods = columns - NODE_COLUMNS
    nodes = table[H_NODES]
    labels = table[H_LABELS]
    allowed = np.int64(0)
    if n == 0 or path[0] != 47:
        return -1, allowed
    encoded = False
    for i in range(n):
        if path[i] == 37:
            encoded = True
            break
    if not encoded:
        node = _exact_lookup(table, path, n)
        if node >= 0 and method >= 0:
            route = table[nodes + node * columns + NODE_COLUMNS + method]
            if route >= 0:
                return np.int64(route), np.int64(0)
        # Otherwise a param route may still serve this method: walk the tree.

    # Backtracking walk. Per level (4 slots of ``work`` after the spans): node,
    # start of its next segment, next candidate to try, parameters bound so far.
    stack = 2 * table[H_MAX_PARAMS] + 2
    sp = stack
    work[sp] = 0
    work[sp + 1] = 1
    work[sp + 2] = 0
    work[sp + 3] = 0
    while sp >= stack:
        node = work[sp]
        pos = work[sp + 1]
        state = work[sp + 2]
        n_params = work[sp + 3]
        work[sp + 2] = state + 1
        row = nodes + node * columns
        if pos > n:  # the whole path is consumed: is this node a route?
            if state == 0:
                route = table[row + NODE_COLUMNS + method] if method >= 0 else -1
                if route >= 0:
                    return np.int64(route), np.int64(0)
                allowed |= _methods_at(table, row, n_methods)
            sp -= 4
            continue
        end = pos
        while end < n and path[end] != 47:
            end += 1
        first = table[row + CHILD_START]
        n_static = table[row + N_STATIC]
        n_param = table[row + N_PARAM]
        child = -1
        if state == 0:
            child = _static_child(table, nodes, columns, labels, first, n_static, path, pos, end, encoded)
        elif state <= n_param:
            c = first + n_static + state - 1
            if _kind_accepts(table[nodes + c * columns + KIND], path, pos, end):
                child = c
                work[2 * n_params] = pos
                work[2 * n_params + 1] = end
                n_params += 1
        elif state == n_param + 1 and table[row + HAS_CATCHALL] > 0:
            crow = nodes + (first + n_static + n_param) * columns
            work[2 * n_params] = pos
            work[2 * n_params + 1] = n
            route = table[crow + NODE_COLUMNS + method] if method >= 0 else -1
            if route >= 0:
                return np.int64(route), np.int64(0)
            allowed |= _methods_at(table, crow, n_methods)
            continue
        else:
            sp -= 4
            continue
        if child >= 0:
            sp += 4
            work[sp] = child
            work[sp + 1] = end + 1
            work[sp + 2] = 0
            work[sp + 3] = n_params
    return -1, allowed


@kernel
def match_route(table, path, method, work):
    """Match one path.

    Parameters
    ----------
    table : int32[::1]
        ``RouteTable.table``.
    path : bytes or uint8[::1]
        The raw (still percent-encoded) path, without the query string.
    method : int
        ``RouteTable.method_id(name)``; -1 for a method no route uses.
    work : int64[RouteTable.work_size]
        Scratch space; on a match, ``work[2*k], work[2*k+1]`` bound the k-th
        parameter in ``path`` (end exclusive).

    Returns
    -------
    (route_id, allowed) : (int64, int64)
        ``route_id >= 0`` on a match. Otherwise ``route_id == NOT_FOUND`` and
        ``allowed`` is the bit mask of the methods the path does match (0 means
        404; else 405 with those methods in ``Allow``).
    """
    return _match(table, path, method, work)


@kernel(parallel=True)
def match_routes(table, buffer, offsets, methods, out_routes, out_allowed, out_work):
    """Match many paths at once, in parallel over paths.

    ``buffer[offsets[i]:offsets[i+1]]`` is path i and ``methods[i]`` its method id.
    Writes ``out_routes[i]``, ``out_allowed[i]`` and ``out_work[i, :]`` (shape
    ``(n, work_size)``) with the meaning of :func:`match_route`.
    """
    for i in prange(len(offsets) - 1):
        route, allowed = _match(table, buffer[offsets[i]:offsets[i + 1]], methods[i], out_work[i])
        out_routes[i] = route
        out_allowed[i] = allowed
