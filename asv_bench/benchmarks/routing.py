"""Route lookup: the Numba route-table kernel beside Starlette's router, same tables, same run.

Tables: 10 / 100 / 1000 generated routes and the 203 GitHub API routes. The path
looked up is the last route's (Starlette scans routes in order: its worst case is
the common case for a large API). Kernels are compiled in ``setup``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from conduit.routing import Router
from conduit_kernels import build_route_table, match_route, match_routes

GITHUB = Path(__file__).resolve().parents[2] / "tests" / "data" / "github_api_routes.txt"  # see tests/data/README.md


def generated_routes(n: int) -> list[tuple[str, str]]:
    """n routes shaped like a real API: resources, ids, nested collections."""
    routes = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            routes.append(("GET", f"/api/v1/resource{i}"))
        elif kind == 1:
            routes.append(("GET", f"/api/v1/resource{i}/:id"))
        elif kind == 2:
            routes.append(("POST", f"/api/v1/resource{i}/:id/items"))
        else:
            routes.append(("GET", f"/api/v1/resource{i}/:id/items/{{item:int}}"))
    return routes


def github_routes() -> list[tuple[str, str]]:
    rows = [line.split() for line in GITHUB.read_text().splitlines() if line.strip()]
    return [(method, pattern) for method, pattern in rows]


def concrete_path(pattern: str) -> str:
    parts = []
    for seg in pattern.split("/"):
        if seg.startswith((":", "*")) or seg.startswith("{"):
            parts.append("42")
        else:
            parts.append(seg)
    return "/".join(parts)


def to_starlette(pattern: str) -> str:
    segs = []
    for seg in pattern.split("/"):
        if seg.startswith(":"):
            segs.append("{" + seg[1:] + "}")
        elif seg.startswith("*"):
            segs.append("{" + seg[1:] + ":path}")
        else:
            segs.append(seg)
    return "/".join(segs)


def table_for(name) -> list[tuple[str, str]]:
    return github_routes() if name == "github" else generated_routes(int(name))


def best_us(fn, number: int = 2000, repeat: int = 7) -> float:
    import timeit

    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


class RouteLookup:
    params = ["10", "100", "1000", "github"]
    param_names = ["routes"]

    def setup(self, name):
        from starlette.routing import Match, Route as StarletteRoute, Router as StarletteRouter

        routes = table_for(name)
        method, pattern = routes[-1]
        self.method = method
        self.path = concrete_path(pattern)
        self.raw = self.path.encode()

        self.table = build_route_table([([m], p) for m, p in routes])
        self.work = self.table.new_work()
        self.method_id = self.table.method_id(method)
        match_route(self.table.table, self.raw, self.method_id, self.work)

        self.router = Router()
        for m, p in routes:
            self.router.add(p, [m], lambda **kw: None)
        self.router.compile()
        assert self.router.match(method, self.raw).route is self.router.routes[-1]

        async def endpoint(scope, receive, send):
            pass

        self.starlette = StarletteRouter([StarletteRoute(to_starlette(p), endpoint, methods=[m])
                                          for m, p in routes])
        self.full = Match.FULL
        self.scope = {"type": "http", "method": method, "path": self.path, "root_path": ""}
        assert self.starlette_match() is not None

    def kernel(self):
        """The match kernel called from Python (Numba dispatch included)."""
        match_route(self.table.table, self.raw, self.method_id, self.work)

    def router_match(self):
        """conduit's Router.match: kernel call + decoding and typing the parameters."""
        self.router.match(self.method, self.raw)

    def starlette_match(self):
        """Starlette's Router lookup: each route's regex in order until a full match."""
        for route in self.starlette.routes:
            match, child = route.matches(self.scope)
            if match == self.full:
                return child

    # Sub-microsecond calls are timed here as the best of several timeit batches: on
    # this shared 2-core machine asv's own sampler reported 3-20x the direct figure
    # for the kernel call (and not for the peer), so both sides use the same timer.
    def track_kernel_us(self, name):
        return best_us(self.kernel)

    def track_router_us(self, name):
        return best_us(self.router_match)

    def track_starlette_us(self, name):
        return best_us(self.starlette_match)

    track_kernel_us.unit = track_router_us.unit = track_starlette_us.unit = "us"


class BatchLookup:
    """match_routes over 10,000 paths drawn from the table, in parallel."""

    params = ["10", "100", "1000", "github"]
    param_names = ["routes"]
    n_paths = 10_000

    def setup(self, name):
        routes = table_for(name)
        self.table = build_route_table([([m], p) for m, p in routes])
        rng = np.random.default_rng(0)
        picks = rng.integers(0, len(routes), self.n_paths)
        paths = [concrete_path(routes[i][1]).encode() for i in picks]
        self.methods = np.array([self.table.method_id(routes[i][0]) for i in picks], np.int64)
        self.buffer = np.frombuffer(b"".join(paths), np.uint8)
        self.offsets = np.zeros(len(paths) + 1, np.int64)
        self.offsets[1:] = np.cumsum([len(p) for p in paths])
        self.routes = np.empty(len(paths), np.int64)
        self.allowed = np.empty(len(paths), np.int64)
        self.work = np.empty((len(paths), self.table.work_size), np.int64)
        self.time_batch(name)
        assert (self.routes >= 0).all()

    def time_batch(self, name):
        match_routes(self.table.table, self.buffer, self.offsets, self.methods,
                     self.routes, self.allowed, self.work)

    def track_ns_per_path(self, name):
        return best_us(lambda: self.time_batch(name), number=1, repeat=20) / self.n_paths * 1e3

    track_ns_per_path.unit = "ns"
