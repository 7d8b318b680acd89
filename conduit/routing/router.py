"""The Router: route records in, one compiled table, matches out.

Registration is cheap and checked (bad patterns and conflicts raise
:class:`RouteError` naming the routes); :meth:`Router.compile` builds the table
once; :meth:`Router.match` is one kernel call plus decoding of the parameters
that matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import unquote

from conduit_kernels.route_table import (
    NOT_FOUND,
    ParamKind,
    PatternError,
    RouteTable,
    Segment,
    ShapeTable,
    build_route_table,
    parse_pattern,
)

from .convertors import CONVERTORS
from .options import check_route_options


class RouteError(ValueError):
    """A route that cannot be registered: malformed pattern or a conflict."""


@dataclass(eq=False)
class Route:
    """One registered route. ``endpoint`` is the handler as the app calls it.

    ``segments`` is the pattern parsed once, at registration; everything that reads
    the pattern's structure (the route table, reverse routing, ``--check``, OpenAPI)
    reads it here instead of parsing again. ``param_names``/``param_kinds`` are its
    parameter segments, kept apart for the match path.
    """

    pattern: str
    methods: tuple[str, ...]
    handler: Callable[..., Any]
    name: str
    segments: tuple[Segment, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    endpoint: Any = None
    param_names: tuple[str, ...] = field(init=False)
    param_kinds: tuple[ParamKind, ...] = field(init=False)
    #: ``(name, conversion)`` per parameter: the match path looks nothing up per request.
    param_convertors: tuple[tuple[str, Callable[[str], Any]], ...] = field(init=False)

    def __post_init__(self) -> None:
        params = [s for s in self.segments if s.kind != ParamKind.STATIC]
        self.param_names = tuple(s.text for s in params)
        self.param_kinds = tuple(s.kind for s in params)
        self.param_convertors = tuple((s.text, CONVERTORS[s.kind]) for s in params)

    def describe(self) -> str:
        return f"{'|'.join(self.methods)} {self.pattern} ({self.name})"


@dataclass(slots=True)
class Match:
    """The outcome of a lookup: a route with its parameters, or the allowed methods."""

    route: Route | None
    params: dict[str, Any]
    allowed: list[str]


_EMPTY: dict[str, Any] = {}


def _conflict(method: str, other: Route, route: Route) -> str:
    """The registration error for two routes of one shape, saying how to fix it."""
    both = f"{method} {other.pattern!r} ({other.name}) and {method} {route.pattern!r} ({route.name})"
    if other.param_names == route.param_names:
        return (f"duplicate routes: {both}: the second would never be reached; remove one, "
                f"or change its path or method")
    typed = None
    for segment in route.segments:
        if segment.kind == ParamKind.STR:
            name = re.escape(segment.text)
            typed = re.sub(r"\{" + name + r"\}|:" + name + r"(?=/|$)", "{" + segment.text + ":int}",
                           route.pattern, count=1)
            break
    fix = (f"give one of them a typed parameter (e.g. {typed!r}) or a different static segment"
           if typed else "give one of them a different static segment")
    return (f"ambiguous routes: {both}: they match the same paths and differ only in parameter names; "
            f"use one pattern with one handler, or {fix} so the router can tell them apart")


class Router:
    """Routes in registration order, compiled on demand into one kernel table."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._shapes = ShapeTable()  # the one conflict rule (conduit_kernels.route_table)
        self._table: RouteTable | None = None
        self._work = None

    def add(self, pattern: str, methods, handler, *, name: str | None = None, **options) -> Route:
        methods = tuple(dict.fromkeys(m.upper() for m in methods))
        name = name or getattr(handler, "__qualname__", repr(handler))
        if not methods:
            raise RouteError(f"route {pattern!r} ({name}) has no methods")
        check_route_options(options, f"route {pattern!r} ({name})")
        try:
            segments = tuple(parse_pattern(pattern))  # the only parse of this pattern
        except PatternError as exc:
            raise RouteError(f"route {pattern!r} ({name}): {exc}") from None
        route = Route(pattern, methods, handler, name, segments, options)
        # Same shape (static text and parameter kinds) and same method: refused here, at
        # registration, with a message that says how to fix it; the table builder then
        # never meets a conflict.
        clash = self._shapes.conflict(methods, segments)
        if clash is not None:
            raise RouteError(_conflict(clash[0], clash[1], route))
        self._shapes.claim(route, methods, segments)
        self.routes.append(route)
        self._table = None
        return route

    def remove(self, route: Route) -> None:
        """Undo :meth:`add` (used when a handler's signature cannot be bound)."""
        self.routes.remove(route)
        self._shapes.release(route)
        self._table = None

    def compile(self) -> RouteTable:
        """Build the table (once per change) and make sure the kernel is compiled."""
        if self._table is None:
            match_route = _route_matcher()
            table = build_route_table([(r.methods, r.segments) for r in self.routes])
            work = table.new_work()
            match_route(table.table, b"/", 0, work)  # compile or load from cache now
            self._table, self._work, self._match_route = table, work, match_route
        return self._table

    def match(self, method: str, raw_path: bytes) -> Match:
        """Look ``raw_path`` up for ``method``; parameters come back decoded and typed.

        Not thread-safe: the server matches on its event-loop thread only.
        """
        table = self._table or self.compile()
        work = self._work
        route_id, allowed = self._match_route(table.table, raw_path, table.methods.get(method, -1), work)
        if route_id == NOT_FOUND:
            return Match(None, _EMPTY, table.allowed(allowed) if allowed else [])
        route = self.routes[route_id]
        convertors = route.param_convertors
        if not convertors:
            return Match(route, {}, [])
        spans = work[: 2 * len(convertors)].tolist()  # Python ints: cheap slicing below
        params = {}
        start = 0
        for name, convert in convertors:
            text = raw_path[spans[start]: spans[start + 1]].decode("latin-1")
            start += 2
            if "%" in text:
                text = unquote(text)
            params[name] = convert(text)
        return Match(route, params, [])


def _route_matcher():
    """The route-match kernel: ahead-of-time compiled when built (no Numba), else the JIT
    one (numba loads here, not at import)."""
    from conduit_kernels import aot

    compiled = aot.kernels()
    if compiled is not None:
        return compiled.match_route
    from conduit_kernels.routing import match_route

    return match_route
