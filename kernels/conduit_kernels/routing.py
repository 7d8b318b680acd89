"""Route tables as arrays, and the kernel that matches a path against them.

Owns: the route pattern grammar, compiling patterns into flat arrays, and the
``@njit`` match kernels (one path, or a batch in parallel). Knows nothing of
handlers, HTTP objects or type conversion: a route is an index, a parameter is a
``(start, end)`` span of the raw path bytes.

Pattern grammar (one parameter fills one whole ``/``-separated segment)::

    /users/new            static segments
    /users/:id            parameter (any non-empty segment)
    /users/{id}           same
    /users/{id:int}       typed parameter: int, float, uuid, str
    /files/*path          catch-all: the rest of the path, slashes included
    /files/{rest:path}    same

The table (a struct of arrays, laid out breadth first so that each node's
children are contiguous; packed into one int32 buffer, see :class:`RouteTable`)::

    nodes   int32[n_nodes, NODE_COLUMNS + n_methods]
            per node: label span in ``labels``, first child, static / param child
            counts, catch-all flag, parameter kind, then one route id per method
            (-1 where that method has no route at this node)
    labels  uint8[:]        static segment labels and full static paths, UTF-8
    exact   int32[n_slots, 3]  open-addressing table of fully static paths:
            (label start, label length, node) with node -1 for an empty slot

Priorities live in the data: at each node static children are tried first, then
parameter children in :class:`ParamKind` order (int before float before uuid
before str), then the catch-all; a dead end backtracks to the next candidate.
``HEAD`` falls back to ``GET`` at compile time, not in the kernel.
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import NamedTuple, Sequence

import numpy as np
from numba import prange

from ._jit import inline, kernel

__all__ = [
    "METHODS",
    "NOT_FOUND",
    "ParamKind",
    "PatternError",
    "RouteConflict",
    "RouteTable",
    "Segment",
    "build_route_table",
    "match_route",
    "match_routes",
    "parse_pattern",
]

#: Standard methods get fixed ids; others are appended by :func:`build_route_table`.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")
_GET, _HEAD = 0, 1
#: Most methods a table can hold: the allowed-methods answer is an int64 bit mask.
MAX_METHODS = 62

#: Route id returned when nothing matches (the allowed mask then tells 404 from 405).
NOT_FOUND = -1


class ParamKind(IntEnum):
    """What a path segment must look like; the value is its matching priority."""

    STATIC = 0
    INT = 1  # -?[0-9]+
    FLOAT = 2  # -?[0-9]+(.[0-9]+)?
    UUID = 3  # 8-4-4-4-12 hex digits
    STR = 4  # any non-empty segment
    PATH = 5  # catch-all: the rest of the path, possibly empty


_KIND_NAMES = {"int": ParamKind.INT, "float": ParamKind.FLOAT, "uuid": ParamKind.UUID,
               "str": ParamKind.STR, "path": ParamKind.PATH}

# Node columns; the per-method route ids follow at NODE_COLUMNS + method id.
LABEL_START, LABEL_LEN, CHILD_START, N_STATIC, N_PARAM, HAS_CATCHALL, KIND = range(7)
NODE_COLUMNS = 7


class PatternError(ValueError):
    """A route pattern that does not follow the grammar."""


class RouteConflict(ValueError):
    """Two routes that cannot coexist; ``first`` and ``second`` are route indices."""

    def __init__(self, message: str, first: int, second: int):
        super().__init__(message)
        self.first = first
        self.second = second


class Segment(NamedTuple):
    kind: ParamKind
    text: str  # the label for static segments, the parameter name otherwise


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def parse_pattern(pattern: str) -> list[Segment]:
    """Split a pattern into segments, raising :class:`PatternError` on bad syntax.

    >>> parse_pattern("/users/{id:int}/files/*rest")  # doctest: +NORMALIZE_WHITESPACE
    [Segment(kind=<ParamKind.STATIC: 0>, text='users'), Segment(kind=<ParamKind.INT: 1>, text='id'),
     Segment(kind=<ParamKind.STATIC: 0>, text='files'), Segment(kind=<ParamKind.PATH: 5>, text='rest')]
    """
    if not isinstance(pattern, str) or not pattern.startswith("/"):
        raise PatternError(f"pattern {pattern!r} must be a string starting with '/'")
    parts = pattern[1:].split("/")
    segments: list[Segment] = []
    seen: set[str] = set()
    for index, part in enumerate(parts):
        if part.startswith(":") or part.startswith("*"):
            kind = ParamKind.STR if part[0] == ":" else ParamKind.PATH
            name = part[1:]
        elif part.startswith("{"):
            if not part.endswith("}"):
                raise PatternError(f"pattern {pattern!r}: unclosed '{{' in segment {part!r}")
            name, _, type_name = part[1:-1].partition(":")
            type_name = type_name.strip() or "str"
            if type_name not in _KIND_NAMES:
                raise PatternError(
                    f"pattern {pattern!r}: unknown parameter type {type_name!r} "
                    f"(known: {', '.join(_KIND_NAMES)})"
                )
            kind = _KIND_NAMES[type_name]
            name = name.strip()
        else:
            if any(c in part for c in "{}"):
                raise PatternError(f"pattern {pattern!r}: a parameter must fill a whole segment, got {part!r}")
            segments.append(Segment(ParamKind.STATIC, part))
            continue
        if not name:
            raise PatternError(f"pattern {pattern!r}: empty parameter name in segment {part!r}")
        if not _NAME.match(name):
            raise PatternError(f"pattern {pattern!r}: parameter name {name!r} is not an identifier")
        if name in seen:
            raise PatternError(f"pattern {pattern!r}: parameter name {name!r} is repeated")
        if kind == ParamKind.PATH and index != len(parts) - 1:
            raise PatternError(f"pattern {pattern!r}: the catch-all {part!r} must be the last segment")
        seen.add(name)
        segments.append(Segment(kind, name))
    return segments


class RouteTable(NamedTuple):
    """The compiled table: pass ``table`` to the match kernels.

    ``table`` packs the three arrays of the module docstring into one int32 buffer
    (a header, then ``nodes``, ``exact`` and ``labels``, one byte per int32 slot) so
    that a kernel call takes one array instead of three: Numba's dispatcher pays
    about 0.13 µs per argument, more than the lookup itself.
    """

    table: np.ndarray
    methods: dict[str, int]  # method name -> id (column offset and mask bit)
    max_params: int
    work_size: int  # length of the ``work`` array the match kernels need

    def method_id(self, method: str) -> int:
        """The method's id, or -1 for a method no route uses (matches give 405)."""
        return self.methods.get(method, -1)

    def allowed(self, mask: int) -> list[str]:
        """Method names set in an allowed-methods bit mask, in id order."""
        return [name for name, bit in self.methods.items() if mask >> bit & 1]

    def new_work(self) -> np.ndarray:
        """A fresh ``work`` array for :func:`match_route` (one per thread)."""
        return np.zeros(self.work_size, dtype=np.int64)

    @property
    def nodes(self) -> np.ndarray:
        t = self.table
        return t[t[H_NODES]: t[H_NODES] + t[H_N_NODES] * t[H_N_COLUMNS]].reshape(-1, t[H_N_COLUMNS])

    @property
    def exact(self) -> np.ndarray:
        t = self.table
        return t[t[H_EXACT]: t[H_EXACT] + 3 * t[H_EXACT_SLOTS]].reshape(-1, 3)

    @property
    def labels(self) -> np.ndarray:
        t = self.table
        return t[t[H_LABELS]:].astype(np.uint8)


# Header of the packed table.
H_NODES, H_N_NODES, H_N_COLUMNS, H_EXACT, H_EXACT_SLOTS, H_LABELS, H_MAX_PARAMS = range(7)
HEADER = 8


class _Node:
    __slots__ = ("kind", "label", "static", "params", "catchall", "routes", "index")

    def __init__(self, kind: ParamKind, label: str):
        self.kind = kind
        self.label = label
        self.static: dict[str, _Node] = {}
        self.params: dict[ParamKind, _Node] = {}
        self.catchall: _Node | None = None
        self.routes: dict[str, int] = {}  # method -> route index
        self.index = -1


def build_route_table(routes: Sequence[tuple[Sequence[str], str]]) -> RouteTable:
    """Compile ``(methods, pattern)`` pairs into a :class:`RouteTable`.

    The route id the kernels return is the pair's index in ``routes``.

    >>> t = build_route_table([(["GET"], "/users/new"), (["GET", "DELETE"], "/users/:id")])
    >>> work = t.new_work()
    >>> match_route(t.table, b"/users/42", t.method_id("GET"), work)
    (1, 0)
    >>> b"/users/42"[work[0]:work[1]]
    b'42'

    Raises :class:`PatternError` for a malformed pattern and :class:`RouteConflict`
    for a duplicate (same method, same pattern) or ambiguous pair (same method,
    same shape, different parameter names: ``/posts/:id`` and ``/posts/:slug``).
    """
    methods = {name: i for i, name in enumerate(METHODS)}
    root = _Node(ParamKind.STATIC, "")
    names: list[list[str]] = []
    terminals: dict[str, _Node] = {}
    max_params = 0
    for index, (route_methods, pattern) in enumerate(routes):
        segments = parse_pattern(pattern)
        names.append([s.text for s in segments if s.kind != ParamKind.STATIC])
        max_params = max(max_params, len(names[-1]))
        node = root
        for seg in segments:
            if seg.kind == ParamKind.STATIC:
                node = node.static.setdefault(seg.text, _Node(ParamKind.STATIC, seg.text))
            elif seg.kind == ParamKind.PATH:
                node.catchall = node.catchall or _Node(ParamKind.PATH, "")
                node = node.catchall
            else:
                node = node.params.setdefault(seg.kind, _Node(seg.kind, ""))
        terminals[pattern] = node
        if not route_methods:
            raise PatternError(f"route {pattern!r} has no methods")
        for method in route_methods:
            method = method.upper()
            if method not in methods:
                if len(methods) == MAX_METHODS:
                    raise PatternError(f"too many distinct methods (at most {MAX_METHODS})")
                methods[method] = len(methods)
            other = node.routes.get(method)
            if other is not None:
                what = "duplicate" if names[other] == names[index] else "ambiguous"
                raise RouteConflict(
                    f"{what} routes: {method} {routes[other][1]!r} and {method} {pattern!r}",
                    other, index,
                )
            node.routes[method] = index

    # Breadth-first layout: children of one node are contiguous (static, params, catch-all).
    order = [root]
    root.index = 0
    for node in order:  # grows while we iterate
        children = [node.static[k] for k in sorted(node.static, key=str.encode)]
        children += [node.params[k] for k in sorted(node.params)]
        children += [node.catchall] if node.catchall else []
        for child in children:
            child.index = len(order)
            order.append(child)

    label_bytes = bytearray()
    nodes = np.full((len(order), NODE_COLUMNS + len(methods)), -1, dtype=np.int32)
    for node in order:
        row = nodes[node.index]
        label = node.label.encode()
        row[LABEL_START], row[LABEL_LEN] = len(label_bytes), len(label)
        label_bytes += label
        children = (list(node.static.values()) + list(node.params.values())
                    + ([node.catchall] if node.catchall else []))
        row[CHILD_START] = min((c.index for c in children), default=0)
        row[N_STATIC], row[N_PARAM] = len(node.static), len(node.params)
        row[HAS_CATCHALL] = node.catchall is not None
        row[KIND] = node.kind
        for method, route in node.routes.items():
            row[NODE_COLUMNS + methods[method]] = route
        if "GET" in node.routes and "HEAD" not in node.routes:
            row[NODE_COLUMNS + _HEAD] = node.routes["GET"]

    # O(1) table for fully static patterns, keyed by the whole path's bytes.
    static_nodes = {}
    for pattern, node in terminals.items():
        if all(s.kind == ParamKind.STATIC for s in parse_pattern(pattern)):
            static_nodes[pattern] = node
    n_slots = 1 << max(3, (2 * len(static_nodes)).bit_length())
    exact = np.full((n_slots, 3), -1, dtype=np.int32)
    for pattern, node in static_nodes.items():
        key = pattern.encode()
        slot = _fnv1a_python(key) & (n_slots - 1)
        while exact[slot, 2] != -1:
            slot = (slot + 1) & (n_slots - 1)
        exact[slot] = (len(label_bytes), len(key), node.index)
        label_bytes += key

    header = np.zeros(HEADER, dtype=np.int32)
    header[H_NODES] = HEADER
    header[H_N_NODES], header[H_N_COLUMNS] = nodes.shape
    header[H_EXACT] = HEADER + nodes.size
    header[H_EXACT_SLOTS] = n_slots
    header[H_LABELS] = HEADER + nodes.size + exact.size
    header[H_MAX_PARAMS] = max_params
    table = np.concatenate([header, nodes.ravel(), exact.ravel(),
                            np.frombuffer(bytes(label_bytes), np.uint8).astype(np.int32)])
    depth = max(_depth(node) for node in [root])
    work_size = 2 * max(max_params, 1) + 4 * (depth + 2)
    return RouteTable(table, methods, max_params, work_size)


def _depth(node: _Node) -> int:
    children = list(node.static.values()) + list(node.params.values())
    children += [node.catchall] if node.catchall else []
    return 1 + max((_depth(c) for c in children), default=0)


def _fnv1a_python(data: bytes) -> int:
    """:func:`_fnv1a` for the builder, without compiling a kernel for it."""
    h = 14695981039346656037
    for byte in data:
        h = ((h ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h >> 1


# --------------------------------------------------------------------------- kernels


@inline
def _fnv1a(data, start, end):
    """64-bit FNV-1a of ``data[start:end]``, shifted to a non-negative int64."""
    h = np.uint64(14695981039346656037)
    for i in range(start, end):
        h ^= np.uint64(data[i])
        h *= np.uint64(1099511628211)
    return np.int64(h >> np.uint64(1))


@inline
def _hex(c):
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    return -1


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
