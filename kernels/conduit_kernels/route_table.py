"""Route tables as arrays: the pattern grammar and the compiler (numpy only).

Owns the route pattern grammar and compiling patterns into flat arrays; the
kernels that match paths against them are in :mod:`.routing`. Importing this
module does not import numba, so the framework can parse and check routes
without paying for the JIT. Knows nothing of handlers, HTTP objects or type
conversion: a route is an index, a parameter is a ``(start, end)`` span of the
raw path bytes.

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
from typing import Any, NamedTuple, Sequence

import numpy as np

__all__ = [
    "METHODS",
    "NOT_FOUND",
    "ParamKind",
    "PatternError",
    "RouteConflict",
    "RouteTable",
    "Segment",
    "ShapeTable",
    "build_route_table",
    "parse_pattern",
    "route_shape",
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


def route_shape(segments: Sequence[Segment]) -> tuple:
    """What two patterns must share to match the same paths: static text and parameter kinds.

    Parameter names are left out: ``/posts/:id`` and ``/posts/:slug`` have one shape.

    >>> route_shape(parse_pattern("/posts/{id:int}")) == route_shape(parse_pattern("/posts/{n:int}"))
    True
    """
    return tuple((s.kind, s.text if s.kind == ParamKind.STATIC else "") for s in segments)


class ShapeTable:
    """The one conflict rule: a method and a :func:`route_shape` belong to one route.

    :func:`build_route_table` checks every route it compiles with one; the framework's
    router keeps one for its whole life, so a conflict is refused when the route is
    registered (O(1) per route) rather than when the table is built. ``key`` is
    whatever names a route to its owner (an index here, a route record there).
    """

    def __init__(self) -> None:
        self._held: dict[tuple[str, tuple], Any] = {}

    def conflict(self, methods: Sequence[str], segments: Sequence[Segment]) -> tuple[str, Any] | None:
        """``(method, key)`` of the first route already holding one of ``methods`` on this shape."""
        shape = route_shape(segments)
        for method in methods:
            key = self._held.get((method, shape))
            if key is not None:
                return method, key
        return None

    def claim(self, key: Any, methods: Sequence[str], segments: Sequence[Segment]) -> None:
        """Record ``key`` as the holder of ``methods`` on this shape (check :meth:`conflict` first)."""
        shape = route_shape(segments)
        for method in methods:
            self._held[(method, shape)] = key

    def release(self, key: Any) -> None:
        """Forget every claim of ``key``."""
        self._held = {k: held for k, held in self._held.items() if held != key}


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


def build_route_table(routes: Sequence[tuple[Sequence[str], str | Sequence[Segment]]]) -> RouteTable:
    """Compile ``(methods, pattern)`` pairs into a :class:`RouteTable`.

    The route id the kernels return is the pair's index in ``routes``. A pattern may
    be given already parsed (its :func:`parse_pattern` segments), as the framework's
    router does: each route is then parsed once, when it is registered.

    >>> from conduit_kernels.routing import match_route
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
    patterns: list[str] = []
    static_nodes: dict[str, _Node] = {}
    shapes = ShapeTable()
    max_params = 0
    for index, (route_methods, given) in enumerate(routes):
        segments = parse_pattern(given) if isinstance(given, str) else list(given)
        pattern = given if isinstance(given, str) else _unparse(segments)
        patterns.append(pattern)
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
        if all(s.kind == ParamKind.STATIC for s in segments):
            static_nodes[pattern] = node
        if not route_methods:
            raise PatternError(f"route {pattern!r} has no methods")
        route_methods = [m.upper() for m in route_methods]
        clash = shapes.conflict(route_methods, segments)
        if clash is not None:
            method, other = clash
            what = "duplicate" if names[other] == names[index] else "ambiguous"
            raise RouteConflict(
                f"{what} routes: {method} {patterns[other]!r} and {method} {pattern!r}",
                other, index,
            )
        shapes.claim(index, route_methods, segments)
        for method in route_methods:
            if method not in methods:
                if len(methods) == MAX_METHODS:
                    raise PatternError(f"too many distinct methods (at most {MAX_METHODS})")
                methods[method] = len(methods)
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


def _unparse(segments: Sequence[Segment]) -> str:
    """The canonical pattern text of parsed segments (a static path is its own text)."""
    names = {ParamKind.INT: "int", ParamKind.FLOAT: "float", ParamKind.UUID: "uuid"}
    parts = []
    for s in segments:
        if s.kind == ParamKind.STATIC:
            parts.append(s.text)
        elif s.kind == ParamKind.PATH:
            parts.append("*" + s.text)
        elif s.kind == ParamKind.STR:
            parts.append("{" + s.text + "}")
        else:
            parts.append("{" + s.text + ":" + names[s.kind] + "}")
    return "/" + "/".join(parts)


def _depth(node: _Node) -> int:
    children = list(node.static.values()) + list(node.params.values())
    children += [node.catchall] if node.catchall else []
    return 1 + max((_depth(c) for c in children), default=0)


def _fnv1a_python(data: bytes) -> int:
    """``routing._fnv1a`` for the builder, without compiling a kernel for it."""
    h = 14695981039346656037
    for byte in data:
        h = ((h ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h >> 1


