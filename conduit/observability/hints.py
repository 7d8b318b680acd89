"""Optimisation hints from the route table and the observed traffic.

Each hint is a :class:`~conduit.routing.checks.Finding` of level ``"hint"``:

* a parameter route whose parameter took only a few values, and no new ones, in
  at least ``min_requests`` requests: static routes would skip the parameter
  walk and its conversion ("make these static", with the patterns to write);
* an untyped (``str``) parameter whose every observed value parses as an int:
  declare ``{id:int}`` so the router converts and checks it;
* a route never hit while the app served at least ``min_requests`` requests;
* shadowed or unreachable routes, from the table alone
  (:func:`conduit.routing.checks.check_app` decides those).

Framework routes (``/metrics``, ``/docs``, the OpenAPI document) are left out.
"""

from __future__ import annotations

import re
from typing import Any

from conduit_kernels.route_table import ParamKind

from ..routing.checks import Finding, check_app
from .statistics import AppStatistics

#: A parameter with at most this many distinct values is a candidate for static routes.
FEW_VALUES = 4


def _internal(route: Any) -> bool:
    return route.name.startswith("conduit.") or route.options.get("include_in_schema") is False


def _with_segment(pattern: str, name: str, replacement: str) -> str:
    return re.sub(r"\{" + re.escape(name) + r"(:[^}]*)?\}", lambda _: replacement, pattern, count=1)


def route_hints(app: Any, statistics: AppStatistics, *, min_requests: int = 20) -> list[Finding]:
    """Hints for ``app`` given its ``statistics`` (a snapshot, maybe from another process)."""
    findings: list[Finding] = []
    for route in app.router.routes:
        if _internal(route):
            continue
        rows = [r for r in statistics.routes if r.route == route.pattern
                and (r.method in route.methods or (r.method == "HEAD" and "GET" in route.methods))]
        count = sum(r.count for r in rows)
        if count == 0:
            if statistics.total >= min_requests:
                findings.append(Finding("hint", route.describe(),
                                        f"never hit in {statistics.total} requests: remove it, or check "
                                        f"that clients call this pattern"))
            continue
        if count < min_requests:
            continue
        observed = {}
        for row in rows:
            observed.update(row.params)
        for name, kind in zip(route.param_names, route.param_kinds):
            seen = observed.get(name)
            if seen is None or not seen.values:
                continue
            if not seen.overflow and len(seen.values) <= FEW_VALUES and kind != ParamKind.PATH:
                statics = ", ".join(repr(_with_segment(route.pattern, name, v)) for v in seen.values)
                findings.append(Finding("hint", route.describe(),
                                        f"parameter {name!r} took only {len(seen.values)} value(s) in {count} "
                                        f"requests ({', '.join(seen.values)}): make these static routes "
                                        f"({statics}) and keep the parameter route for the rest"))
            elif kind == ParamKind.STR and seen.all_int:
                typed = _with_segment(route.pattern, name, "{" + name + ":int}")
                findings.append(Finding("hint", route.describe(),
                                        f"parameter {name!r} parsed as an int in all {count} requests: "
                                        f"declare it as {typed!r} so the router converts and checks it"))
    findings += [f for f in check_app(app) if "shadowed" in f.message or "unreachable" in f.message]
    return findings


__all__ = ["FEW_VALUES", "route_hints"]
