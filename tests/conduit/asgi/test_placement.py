"""Which apps the ASGI face runs on the host's asyncio loop and which on the trio thread
(:mod:`conduit.asgi.placement`): every way the issue's rule names of referring to trio,
the overrides, and scans that must end (recursion, odd callables)."""

from __future__ import annotations

import functools
from types import SimpleNamespace

import anyio.to_thread
import pytest
import trio
from trio import sleep as nap

from conduit import Conduit, Depends, Request
from conduit.asgi.placement import LoopPlacement, needs_trio, why_trio


def _app() -> Conduit:
    return Conduit(openapi_url=None, docs_url=None)


def _helper_level_3():
    return trio.current_time()


def _helper_level_2():
    return _helper_level_3()


def _helper_level_1():
    return _helper_level_2()


def _recursive(n):
    return _recursive(n - 1) if n else 0


def _ping(n):
    return _pong(n - 1) if n else 0


def _pong(n):
    return _ping(n - 1) if n else 0


class Opaque:
    """A class of this module, which imports trio: its behaviour is opaque, so it counts."""

    async def work(self):
        return 1


def test_an_app_that_never_names_trio_runs_on_the_host_loop():
    app = _app()

    @app.get("/")
    async def hello():
        return "hi"

    @app.get("/sync")
    def sync_hello():
        return _recursive(3) + _ping(4)  # recursion ends: a visited set, a depth limit

    @app.post("/echo")
    async def echo(request: Request):
        return {"n": len(await request.body())}

    assert why_trio(app) is None
    assert LoopPlacement(app).runs_on_host()


@pytest.mark.parametrize("case", ["module", "from_import", "nested", "called_3_deep", "closure_object",
                                  "opaque_object", "dependency"])
def test_a_handler_that_refers_to_trio_sends_the_app_to_the_trio_thread(case):
    app = _app()
    lock = trio.Lock()
    opaque = Opaque()

    async def via_dependency():
        await trio.sleep(0)

    handlers = {
        "module": lambda: trio.sleep(0),
        "from_import": lambda: nap(0),
        "nested": lambda: (lambda: (lambda: trio.current_time())())(),
        "called_3_deep": lambda: _helper_level_1(),
        "closure_object": lambda: lock.locked(),
        "opaque_object": lambda: opaque.work(),
    }
    if case == "dependency":
        async def handler(value=Depends(via_dependency)):
            return "x"
    else:
        handler = handlers[case]
    app.add_route("/x", handler)
    reason = why_trio(app)
    assert reason is not None and "GET /x" in reason
    assert not LoopPlacement(app).runs_on_host()


def test_conduits_own_middleware_and_observability_run_on_the_host_loop():
    from conduit.middleware.cors import CORS
    from conduit.middleware.gzip import GZip
    from conduit.middleware.rate_limit import RateLimit
    from conduit.observability import install

    app = _app()
    app.add_middleware(CORS, allow_origins=["*"])
    app.add_middleware(GZip)
    app.add_middleware(RateLimit, rate=100, period=1.0)
    install(app, statistics_path="/metrics/routes")

    @app.get("/")
    async def hello():
        return await anyio.to_thread.run_sync(len, "hi")  # anyio runs on either loop

    assert why_trio(app) is None


def test_needs_trio_route_option_pins_and_clears():
    pinned = _app()
    pinned.add_route("/p", lambda: "x", needs_trio=True)
    assert "GET /p" in why_trio(pinned)

    cleared = _app()

    @cleared.get("/c", needs_trio=False)
    async def never_under_asgi():
        return await trio.sleep(0)

    assert why_trio(cleared) is None


@pytest.mark.parametrize("value", ["yes", 1, 0, None.__class__])
def test_needs_trio_must_be_a_bool(value):
    app = _app()
    with pytest.raises(TypeError, match="needs_trio must be True or False"):
        app.add_route("/x", lambda: "x", needs_trio=value)


def test_a_misspelt_needs_trio_is_refused_with_the_right_name():
    app = _app()
    with pytest.raises(TypeError, match="needs_trio"):
        app.add_route("/x", lambda: "x", need_trio=True)


def test_middleware_and_exception_handlers_that_refer_to_trio():
    app = _app()

    def middleware(handler):
        async def wrapped(request):
            await trio.sleep(0)
            return await handler(request)
        return wrapped

    app.add_middleware(middleware)
    assert "middleware" in why_trio(app)

    declared = _app()

    def quiet(handler):
        return handler

    quiet.needs_trio = True
    declared.add_middleware(quiet)
    assert "middleware" in why_trio(declared)

    errors = _app()

    @errors.exception_handler(ValueError)
    async def on_value_error(request, exc):
        await trio.sleep(0)
        return {"bad": True}

    assert "exception handler" in why_trio(errors)


def test_admission_keeps_the_trio_thread():
    gated = _app()
    gated.admission = SimpleNamespace()
    assert "admission" in why_trio(gated)


def test_websocket_routes_are_judged_like_http_routes():
    sockets = _app()

    @sockets.websocket("/ws")
    async def ws(websocket):
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())

    assert why_trio(sockets) is None

    @sockets.websocket("/ticks")
    async def ticks(websocket):
        await websocket.accept()
        await trio.sleep(1)

    assert "/ticks" in why_trio(sockets)


def test_mounted_apps_are_judged_too():
    from starlette.applications import Starlette

    parent = _app()
    parent.mount("/legacy", Starlette())
    assert why_trio(parent) is not None  # a mounted ASGI app runs through Conduit's trio task

    child = _app()
    child.add_route("/t", lambda: trio.current_time())
    host = _app()
    host.mount("/child", child)
    assert why_trio(host) is not None


def test_the_scan_ends_on_odd_callables():
    class Callable:
        def __call__(self):
            return 1

    partial = functools.partial(lambda a: a, 1)
    assert not needs_trio(Callable())
    assert not needs_trio(partial)
    assert not needs_trio(len)
    assert needs_trio(functools.partial(trio.sleep, 0))
    assert needs_trio(trio)
    assert needs_trio(trio.Event())
