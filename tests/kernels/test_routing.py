"""The route-table kernel against a small pure-Python matcher, plus table-driven cases."""

from __future__ import annotations

import random
from pathlib import Path
from urllib.parse import unquote_to_bytes

import numpy as np
import pytest

from conduit_kernels.routing import (
    NOT_FOUND,
    ParamKind,
    PatternError,
    RouteConflict,
    build_route_table,
    match_route,
    match_routes,
    parse_pattern,
)


@pytest.fixture(autouse=True, scope="module")
def _jit_then_aot(kernel_impl):
    """Every case runs against the JIT kernel, then the ahead-of-time one (conftest.kernel_impl)."""
    global match_route
    match_route = kernel_impl.match_route


GITHUB = Path(__file__).resolve().parents[1] / "data" / "github_api_routes.txt"  # see tests/data/README.md


# ------------------------------------------------------------------ oracle

def _segment_ok(kind: ParamKind, seg: bytes) -> bool:
    import re

    text = seg.decode("latin-1")
    return {
        ParamKind.INT: lambda: re.fullmatch(r"-?[0-9]+", text) is not None,
        ParamKind.FLOAT: lambda: re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text) is not None,
        ParamKind.UUID: lambda: re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", text) is not None,
        ParamKind.STR: lambda: len(seg) > 0,
    }[kind]()


def oracle(routes, method: str, path: bytes):
    """Reference semantics: static > typed params (int, float, uuid, str) > catch-all,
    depth first with backtracking; HEAD falls back to GET; 405 lists every method
    of every route whose pattern matches."""
    if not path.startswith(b"/"):
        return NOT_FOUND, [], set()
    raw_segments = path[1:].split(b"/")
    candidates = []  # (priority key, route index, params)

    for index, (methods, pattern) in enumerate(routes):
        segs = parse_pattern(pattern)
        params, key = [], []
        ok = True
        for i, seg in enumerate(segs):
            if seg.kind == ParamKind.PATH:
                rest = b"/".join(raw_segments[i:]) if i < len(raw_segments) else None
                if rest is None:
                    ok = False
                    break
                params.append(rest)
                key.append((2, 0))
                break
            if i >= len(raw_segments):
                ok = False
                break
            decoded = unquote_to_bytes(raw_segments[i])
            if seg.kind == ParamKind.STATIC:
                if decoded != seg.text.encode():
                    ok = False
                    break
                key.append((0, 0))
            else:
                if not _segment_ok(seg.kind, decoded):
                    ok = False
                    break
                params.append(raw_segments[i])
                key.append((1, int(seg.kind)))
        else:
            if len(segs) != len(raw_segments):
                ok = False
        if ok:
            candidates.append((key, index, params))
    candidates.sort(key=lambda c: c[0])
    allowed = set()
    for _, index, params in candidates:
        methods = set(routes[index][0])
        if "GET" in methods:
            methods.add("HEAD")
        if method in methods:
            return index, params, set()
        allowed |= methods
    return NOT_FOUND, [], allowed


def kernel(table, method, path):
    work = table.new_work()
    route, allowed = match_route(table.table, path, table.method_id(method), work)
    params = [path[work[2 * k]: work[2 * k + 1]] for k in range(table.max_params)]
    return int(route), params, set(table.allowed(int(allowed)))


# ------------------------------------------------------------ table-driven

ROUTES = [
    (["GET"], "/"),
    (["GET"], "/users/new"),
    (["GET", "DELETE"], "/users/:id"),
    (["POST"], "/users/{id:int}"),
    (["GET"], "/users/:id/posts/{post:int}"),
    (["GET"], "/files/*path"),
    (["GET"], "/items/{id:uuid}"),
    (["GET"], "/items/{name}"),
    (["GET"], "/prices/{p:float}"),
    (["GET"], "/a/:x/c"),
    (["GET"], "/a/b/d"),
    (["PUT"], "/trailing/"),
    (["GET"], "/caf\u00e9"),
    (["PURGE"], "/cache"),
]

CASES = [
    ("GET", b"/", 0, []),
    ("GET", b"/users/new", 1, []),              # static beats param
    ("DELETE", b"/users/new", 2, [b"new"]),      # ...but the param route serves other methods
    ("GET", b"/users/42", 2, [b"42"]),
    ("POST", b"/users/42", 3, [b"42"]),
    ("POST", b"/users/abc", NOT_FOUND, {"GET", "HEAD", "DELETE"}),
    ("GET", b"/users/7/posts/9", 4, [b"7", b"9"]),
    ("GET", b"/users/7/posts/x", NOT_FOUND, set()),
    ("GET", b"/files/a/b/c.txt", 5, [b"a/b/c.txt"]),
    ("GET", b"/files/", 5, [b""]),
    ("GET", b"/files", NOT_FOUND, set()),
    ("GET", b"/items/123e4567-e89b-12d3-a456-426614174000", 6, [b"123e4567-e89b-12d3-a456-426614174000"]),
    ("GET", b"/items/widget", 7, [b"widget"]),
    ("GET", b"/prices/1.5", 8, [b"1.5"]),
    ("GET", b"/prices/-2", 8, [b"-2"]),
    ("GET", b"/prices/1.", NOT_FOUND, set()),
    ("GET", b"/a/b/c", 9, [b"b"]),              # backtracks out of the static 'b' branch
    ("GET", b"/a/b/d", 10, []),
    ("PUT", b"/trailing/", 11, []),
    ("PUT", b"/trailing", NOT_FOUND, set()),      # trailing slash is significant
    ("HEAD", b"/users/new", 1, []),              # HEAD served by GET
    ("GET", b"/caf%C3%A9", 12, []),              # percent-encoded UTF-8 matches the decoded route
    ("GET", b"/users/a%2Fb", 2, [b"a%2Fb"]),     # %2F never splits a segment
    ("GET", b"/users%2Fnew", NOT_FOUND, set()),
    ("GET", b"/users/%6Eew", 1, []),             # encoded static text still matches
    ("PURGE", b"/cache", 13, []),                # custom method
    ("GET", b"/cache", NOT_FOUND, {"PURGE"}),
    ("TRACE", b"/nowhere", NOT_FOUND, set()),
    ("GET", b"", NOT_FOUND, set()),
    ("GET", b"relative", NOT_FOUND, set()),
    ("GET", b"/users//", NOT_FOUND, set()),
]


@pytest.fixture(scope="module")
def table():
    return build_route_table(ROUTES)


@pytest.mark.parametrize("method,path,expected,extra", CASES)
def test_table_cases(table, method, path, expected, extra):
    route, params, allowed = kernel(table, method, path)
    assert route == expected
    if expected == NOT_FOUND:
        assert allowed == extra
    else:
        assert params[: len(extra)] == extra


@pytest.mark.parametrize("method,path,expected,extra", CASES)
def test_oracle_agrees_on_cases(method, path, expected, extra):
    route, _, _ = oracle(ROUTES, method, path)
    assert route == expected


def test_path_as_array_or_bytes(table):
    work = table.new_work()
    a = match_route(table.table, b"/users/42", 0, work)
    b = match_route(table.table, np.frombuffer(b"/users/42", np.uint8), 0, work)
    assert a == b == (2, 0)


# --------------------------------------------------------- random vs oracle

def _random_routes(rng: random.Random, n: int):
    words = ["a", "b", "users", "items", "x", "new", "posts", "v1"]
    routes, shapes = [], set()
    while len(routes) < n:
        depth = rng.randint(1, 4)
        segs = []
        for i in range(depth):
            r = rng.random()
            if r < 0.55:
                segs.append(rng.choice(words))
            elif r < 0.75:
                segs.append(f":p{i}")
            elif r < 0.85:
                segs.append(f"{{p{i}:int}}")
            elif r < 0.9 and i == depth - 1:
                segs.append(f"*p{i}")
            else:
                segs.append(f"{{p{i}:float}}")
        pattern = "/" + "/".join(segs)
        method = rng.choice(["GET", "POST", "DELETE"])
        shape = (method, tuple("P" if s[0] in ":{*" and not s.startswith("{") else s for s in segs))
        key = (method, tuple(s if s[0] not in ":*" else s[0] for s in segs))
        if key in shapes:
            continue
        shapes.add(key)
        routes.append(([method], pattern))
    return routes


def _random_path(rng: random.Random) -> bytes:
    words = ["a", "b", "users", "items", "x", "new", "posts", "v1", "42", "-3", "1.5", "", "zz"]
    return ("/" + "/".join(rng.choice(words) for _ in range(rng.randint(0, 5)))).encode()


@pytest.mark.parametrize("seed", range(8))
def test_kernel_matches_oracle_on_random_tables(seed):
    rng = random.Random(seed)
    routes = _random_routes(rng, 40)
    try:
        table = build_route_table(routes)
    except RouteConflict:
        pytest.fail("generator produced conflicting routes")
    for _ in range(400):
        path = _random_path(rng)
        method = rng.choice(["GET", "POST", "DELETE", "HEAD", "PATCH"])
        expected = oracle(routes, method, path)
        got = kernel(table, method, path)
        assert got[0] == expected[0], (routes, method, path)
        if expected[0] == NOT_FOUND:
            assert got[2] == expected[2], (method, path)
        else:
            n = len(expected[1])
            assert got[1][:n] == expected[1], (method, path)


def _github_routes():
    routes = []
    for line in GITHUB.read_text().splitlines():
        if line.strip():
            method, pattern = line.split()
            routes.append(([method], pattern))
    return routes


def test_github_routes_every_route_reaches_itself():
    routes = _github_routes()
    table = build_route_table(routes)
    for index, (methods, pattern) in enumerate(routes):
        path = pattern.replace(":", "v").encode()
        route, params, _ = kernel(table, methods[0], path)
        expected, _, _ = oracle(routes, methods[0], path)
        assert route == expected


def test_batch_equals_single(rng):
    routes = _github_routes()
    table = build_route_table(routes)
    py_rng = random.Random(5)
    paths = [routes[py_rng.randrange(len(routes))][1].replace(":", "q").encode() for _ in range(300)]
    paths += [b"/nope", b"/", b"/repos/a/b/zzz"]
    methods = np.array([table.method_id(py_rng.choice(["GET", "POST", "DELETE"])) for _ in paths], np.int64)
    buffer = np.frombuffer(b"".join(paths), np.uint8)
    offsets = np.zeros(len(paths) + 1, np.int64)
    offsets[1:] = np.cumsum([len(p) for p in paths])
    out_routes = np.empty(len(paths), np.int64)
    out_allowed = np.empty(len(paths), np.int64)
    out_work = np.empty((len(paths), table.work_size), np.int64)
    match_routes(table.table, buffer, offsets, methods, out_routes, out_allowed, out_work)
    for i, path in enumerate(paths):
        work = table.new_work()
        route, allowed = match_route(table.table, path, methods[i], work)
        assert (out_routes[i], out_allowed[i]) == (route, allowed)
        if route >= 0:
            n = 2 * table.max_params
            used = sum(1 for s in parse_pattern(routes[route][1]) if s.kind != ParamKind.STATIC)
            assert list(out_work[i, : 2 * used]) == list(work[: 2 * used])
            assert n >= 2 * used


# ------------------------------------------------------------ registration

@pytest.mark.parametrize("pattern,message", [
    ("users", "must be a string starting with '/'"),
    ("/users/{id", "unclosed"),
    ("/users/{}", "empty parameter name"),
    ("/users/:", "empty parameter name"),
    ("/a/:id/b/:id", "repeated"),
    ("/files/*rest/more", "must be the last segment"),
    ("/users/{id:number}", "unknown parameter type 'number'"),
    ("/users/x{id}", "must fill a whole segment"),
    ("/users/{1abc}", "not an identifier"),
])
def test_malformed_patterns(pattern, message):
    with pytest.raises(PatternError, match=message):
        parse_pattern(pattern)


def test_conflicts_name_both_routes():
    with pytest.raises(RouteConflict, match=r"ambiguous routes: GET '/posts/:id' and GET '/posts/:slug'") as info:
        build_route_table([(["GET"], "/posts/:id"), (["GET"], "/posts/:slug")])
    assert (info.value.first, info.value.second) == (0, 1)
    with pytest.raises(RouteConflict, match="duplicate routes"):
        build_route_table([(["GET"], "/a/{x}"), (["POST", "GET"], "/a/:x")])


def test_different_methods_or_kinds_coexist():
    table = build_route_table([(["GET"], "/posts/:id"), (["DELETE"], "/posts/:slug"),
                               (["GET"], "/posts/{n:int}")])
    assert kernel(table, "GET", b"/posts/12")[0] == 2      # int beats str
    assert kernel(table, "GET", b"/posts/ab")[0] == 0
    assert kernel(table, "DELETE", b"/posts/ab")[0] == 1


def test_empty_table_is_all_404():
    table = build_route_table([])
    assert kernel(table, "GET", b"/") == (NOT_FOUND, [], set())


def test_many_static_children_use_binary_search_correctly():
    names = [f"r{i}" for i in range(300)] + ["caf\u00e9", "zeta", "a", "\u00fcber"]
    routes = [(["GET"], f"/api/{name}/:id") for name in names] + [(["GET"], "/api/{n:int}/:id")]
    table = build_route_table(routes)
    for index, name in enumerate(names):
        encoded = "".join(c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode()) for c in name)
        for path in (f"/api/{name}/7".encode(), f"/api/{encoded}/7".encode()):
            assert kernel(table, "GET", path)[0] == index, path
    assert kernel(table, "GET", b"/api/12/7")[0] == len(names)       # falls to the int param
    assert kernel(table, "GET", b"/api/r3000/7")[0] == NOT_FOUND
    assert kernel(table, "GET", b"/api/r/7")[0] == NOT_FOUND
    assert kernel(table, "GET", b"/api/r29/7")[0] == names.index("r29")
