"""Static route analysis: what ``conduit routes MODULE:APP --check`` reports.

Sans-IO analysis of an app's route table; the printing (table, findings, exit
status) is the CLI's (:mod:`conduit.cli`). Findings (errors make the command exit non-zero):

* error: a route no path can reach for one of its methods, under the real matching
  priorities (static > int > float > uuid > str > catch-all, with backtracking): it
  is asked of the compiled route table itself, with sample paths for each
  parameter kind, so the answer is the router's, not a model of it;
* error: a route reachable only through an empty catch-all (``/a/*rest`` behind
  ``/a/{x}/{y:path}``);
* error: a handler whose parameters cannot be bound (registration refuses those; an
  app that fails to import reports the refusal);
* warning: a route partly shadowed by a higher-priority parameter route of the same
  shape (``/items/{slug}`` never sees ``7`` when ``/items/{id:int}`` exists);
* warning: patterns that differ only by a trailing slash (``/users`` and ``/users/``);
* warning: a required query parameter that looks like a path parameter (``id``,
  ``*_id``) while the pattern has no such parameter;
* warning (query analysis): pagination parameters (``page``, ``limit``, ``offset``,
  ``cursor``, ``per_page``...) without bounds, or a page size with no upper bound; search
  parameters (``q``, ``search``...) without a length limit; an int-looking parameter
  (``page``, ``count``, ``*_id``) typed ``str``. Each message says the fix.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

from conduit_kernels.route_table import ParamKind, route_shape

from .router import Route, RouteError

_SAMPLES = {
    ParamKind.INT: ["7", "-3"],
    ParamKind.FLOAT: ["1.5", "7"],
    ParamKind.UUID: [str(uuid.UUID(int=0x1234))],
    ParamKind.STR: ["zz-sample", "7", "1.5", str(uuid.UUID(int=0x1234))],
    ParamKind.PATH: ["zz-sample/deeper", "zz-sample", ""],
}
_MAX_SAMPLES = 256


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning" | "hint" (conduit.observability.hints)
    route: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.route}: {self.message}"


def _same_static_shape(a: Route, b: Route) -> bool:
    """Both have parameters in the same places and the same static text (a typed/str overlap)."""
    sa, sb = a.segments, b.segments
    return len(sa) == len(sb) and all(
        (x.kind == ParamKind.STATIC) == (y.kind == ParamKind.STATIC) and (x.kind != ParamKind.STATIC or x.text == y.text)
        and (x.kind == ParamKind.PATH) == (y.kind == ParamKind.PATH) for x, y in zip(sa, sb))


def _sample_paths(route: Route) -> list[tuple[bytes, bool, tuple[str, ...]]]:
    """(raw path, uses an empty catch-all, parameter values) for combinations of sample values."""
    segments = route.segments
    choices = [[s.text] if s.kind == ParamKind.STATIC else _SAMPLES[s.kind] for s in segments]
    out = []
    for combo in itertools.islice(itertools.product(*choices), _MAX_SAMPLES):
        empty_rest = bool(segments) and segments[-1].kind == ParamKind.PATH and combo[-1] == ""
        values = tuple(v for v, seg in zip(combo, segments) if seg.kind != ParamKind.STATIC)
        out.append((("/" + "/".join(combo)).encode(), empty_rest, values))
    return out


def _reachability(app: Any) -> list[Finding]:
    router = app.router
    router.compile()
    findings = []
    for route in router.routes:
        for method in route.methods:
            samples = _sample_paths(route)
            winners: dict[str, None] = {}
            reached, reached_nonempty = False, False
            overlaps: set[tuple[Route, str] | None] = set()
            for raw, empty_rest, values in samples:
                got = router.match(method, raw).route
                if got is route:
                    reached = True
                    reached_nonempty = reached_nonempty or not empty_rest
                elif got is not None:
                    winners[f"{got.pattern} ({got.name})"] = None
                    if route.param_kinds and _same_static_shape(got, route):
                        overlaps.add((got, "/".join(values)))
            taken = {got for got in overlaps if got is not None}
            if reached and taken:
                findings.append(Finding("warning", route.describe(), f"partly shadowed for {method}: "
                                        + "; ".join(f"{v!r} goes to {g.pattern} ({g.name})" for g, v in taken)))
            if not reached:
                findings.append(Finding("error", route.describe(), f"unreachable for {method}: its paths are "
                                        f"matched first by {', '.join(winners) or 'nothing'}"))
            elif not reached_nonempty and any(not e for _, e, _ in samples):
                findings.append(Finding("error", route.describe(), f"shadowed for {method}: reachable only "
                                        f"when the catch-all is empty; other paths go to {', '.join(winners)}"))
    return findings


def _trailing_slashes(app: Any) -> list[Finding]:
    groups: dict[tuple, list[Route]] = {}
    for route in app.router.routes:
        shape = route_shape(route.segments)
        while len(shape) > 1 and shape[-1] == (ParamKind.STATIC, ""):
            shape = shape[:-1]
        groups.setdefault(shape, []).append(route)
    findings = []
    for routes in groups.values():
        patterns = sorted({r.pattern for r in routes})
        if len(patterns) > 1:
            findings.append(Finding("warning", routes[-1].describe(), "patterns differ only by a trailing slash: "
                                    + " and ".join(repr(p) for p in patterns)))
    return findings


def _path_like_params(app: Any) -> list[Finding]:
    findings = []
    for route in app.router.routes:
        plan = getattr(route, "binding", None)  # set when the app registered the route
        if plan is None:  # a route added to the router directly: bind it now, to report a refusal
            from ..binding import analyse

            try:
                plan = analyse(route.handler, route)
            except RouteError as exc:
                findings.append(Finding("error", route.describe(), str(exc)))
                continue
        for spec in plan.inputs():
            if spec.source == "query" and spec.required and (spec.key in ("id", "pk", "slug") or spec.key.endswith("_id")):
                findings.append(Finding("warning", route.describe(), f"parameter {spec.key!r} looks like a path "
                                        f"parameter but the pattern has no {{{spec.key}}}: it is read from the query"))
    return findings


#: Query names that page through results, and those that search (the project plan's week 8).
PAGINATION = frozenset({"page", "limit", "offset", "cursor", "per_page", "page_size", "skip", "take"})
_PAGE_SIZES = frozenset({"limit", "per_page", "page_size", "take"})
SEARCH = frozenset({"q", "query", "search", "term", "keyword", "keywords", "text", "filter"})
_INT_NAMES = frozenset({"id", "page", "limit", "offset", "per_page", "page_size", "skip", "take", "count", "size",
                        "n", "k", "top_k", "year", "age", "port", "version"})


def _looks_int(name: str) -> bool:
    return name in _INT_NAMES or name.endswith(("_id", "_count", "_size", "_limit"))


def _query_analysis(app: Any) -> list[Finding]:
    """Query parameters a client can abuse or that are mistyped; each message says the fix."""
    from ..binding.describe import constraints  # the binder's own reading of the constraints

    findings = []
    for route in app.router.routes:
        plan = getattr(route, "binding", None)
        if plan is None or route.name.startswith("conduit.") or route.options.get("include_in_schema") is False:
            continue
        for spec in plan.inputs():
            if spec.source != "query":
                continue
            name, found, tp = spec.key, constraints(spec), spec.type
            bounds_low = any(k in found for k in ("ge", "gt"))
            bounds_high = any(k in found for k in ("le", "lt"))
            say = lambda message: findings.append(Finding("warning", route.describe(), message))  # noqa: E731
            if name in PAGINATION and tp is int:
                if name in _PAGE_SIZES and not bounds_high:
                    say(f"query {name!r} is unbounded: one request can ask for every row; "
                        f"write {name}: Annotated[int, Query(ge=1, le=100)]")
                elif not bounds_low:
                    low = 1 if name == "page" else 0
                    say(f"query {name!r} has no lower bound (a negative {name} reaches the handler); "
                        f"write {name}: Annotated[int, Query(ge={low})]")
            elif name in PAGINATION and tp is str and "max_length" not in found:
                say(f"query {name!r} has no length limit; write {name}: Annotated[str, Query(max_length=256)]")
            if name in SEARCH and tp is str and "max_length" not in found:
                say(f"search query {name!r} has no length limit (a megabyte of text goes to the search); "
                    f"write {name}: Annotated[str, Query(max_length=200)]")
            if tp is str and _looks_int(name) and name not in SEARCH and name != "cursor":
                say(f"query {name!r} looks like an integer but is typed str; declare it int "
                    f"({name}: int) so bad values are a 422 and the handler gets a number")
    return findings


def check_app(app: Any) -> list[Finding]:
    """Every finding for ``app``, errors first."""
    findings = _reachability(app) + _trailing_slashes(app) + _path_like_params(app) + _query_analysis(app)
    return sorted(findings, key=lambda f: f.level != "error")


__all__ = ["Finding", "check_app"]
