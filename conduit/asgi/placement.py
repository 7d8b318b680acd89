"""Where the ASGI face runs an app under an asyncio server: on the host's loop, or on the app's trio thread.

Crossing from the host's asyncio loop into the app's trio thread costs thread hand-offs
on every ASGI message (about 0.8 ms a request, 30x Starlette's whole request). The
request lifecycle itself needs no trio (its few loop primitives come from
:mod:`conduit.anyloop`), so the app runs straight on the host's loop unless something
in it needs trio (:func:`why_trio` names the first such thing; it is logged):

- ``app.admission`` is set (its concurrency cap waits on trio events);
- a middleware, an exception handler, a route's own middleware or dependency, a
  handler (HTTP or WebSocket), or a mounted app *refers to* trio: its code (and nested functions, and the
  functions it names, three calls deep) names the ``trio`` module or something from
  it, or holds an object of a module that does (an ML batcher, an MCP transport);
  Conduit's own functions count as needing trio when their module imports it;
- a route says so: ``@app.get("/x", needs_trio=True)``; ``needs_trio=False`` clears a
  route the scan judged too cautiously; a middleware may carry a ``needs_trio``
  attribute the same way.

All or nothing, per app: one route that needs trio sends every request to the trio
thread, so the app's state is never reached from two threads at once. What the scan
cannot see is a trio object reached through an attribute at run time (a ``trio.Lock``
made at startup and read from ``app.state``): such a handler needs
``needs_trio=True``, or it fails with a 500 (``must be called from async context``).
"""

from __future__ import annotations

import functools
import logging
import sys
import types
from typing import Any

logger = logging.getLogger("conduit.asgi.http")

#: How many calls deep the scan follows functions named in a handler's code.
SCAN_DEPTH = 3
#: Conduit's modules that import trio yet run on any loop (the primitives' chooser).
_NEUTRAL_MODULES = frozenset({"conduit.anyloop"})


def _is_trio_name(module: Any) -> bool:
    return isinstance(module, str) and (module == "trio" or module.startswith("trio."))


def _is_trio(value: Any) -> bool:
    """The trio module, one of its submodules, or something defined in them."""
    if isinstance(value, types.ModuleType):
        return _is_trio_name(value.__name__)
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return _is_trio_name(getattr(value, "__module__", None))
    return _is_trio_name(type(value).__module__)


@functools.lru_cache(maxsize=None)
def _module_imports_trio(name: str | None) -> bool:
    """Whether module ``name`` holds trio or a trio name among its globals (an opaque object's behaviour)."""
    if name is None or name in _NEUTRAL_MODULES:
        return False
    module = sys.modules.get(name)
    return module is not None and any(_is_trio(value) for value in list(vars(module).values()))


def _function_of(obj: Any) -> types.FunctionType | None:
    """The Python function behind a handler, partial, bound method, wrapper or callable object."""
    for _ in range(8):  # a bounded unwrap: wrappers of wrappers
        if isinstance(obj, functools.partial):
            obj = obj.func
        elif isinstance(obj, types.MethodType):
            obj = obj.__func__
        elif getattr(obj, "__wrapped__", None) is not None:
            obj = obj.__wrapped__
        elif isinstance(obj, types.FunctionType):
            return obj
        elif callable(obj) and not isinstance(obj, type):
            obj = type(obj).__call__
        else:
            return None
    return None


def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _referenced(fn: types.FunctionType):
    """The values ``fn``'s code names as globals, its closure cells, and its defaults' dependencies."""
    namespace = fn.__globals__
    for code in _code_objects(fn.__code__):
        for name in code.co_names:
            if name in namespace:
                yield namespace[name]
    for cell in fn.__closure__ or ():
        try:
            yield cell.cell_contents
        except ValueError:  # an empty cell
            continue
    for default in (*(fn.__defaults__ or ()), *(fn.__kwdefaults__ or {}).values()):
        dependency = getattr(default, "dependency", None)  # Depends(fn)
        yield dependency if callable(dependency) else default


def needs_trio(obj: Any, depth: int = 0, seen: set[int] | None = None) -> bool:
    """Whether calling ``obj`` may use trio (see the module docstring for the rule)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return False
    seen.add(id(obj))
    if _is_trio(obj):
        return True
    owner = getattr(obj, "__self__", None)  # a bound method: the object's module counts
    if owner is not None and not isinstance(owner, types.ModuleType) and _module_imports_trio(type(owner).__module__):
        return True
    fn = _function_of(obj)
    if fn is None:  # a class or an opaque object: judged by the module that defines it
        kind = obj if isinstance(obj, type) else type(obj)
        return _module_imports_trio(kind.__module__)
    module = fn.__module__ or ""
    if module in _NEUTRAL_MODULES or module == "anyio" or module.startswith("anyio."):
        return False  # runs on either loop by design
    if module.startswith("conduit.") and _module_imports_trio(module):
        return True
    if _is_trio_name(fn.__module__):
        return True
    if depth > SCAN_DEPTH:
        return False
    for value in _referenced(fn):
        if isinstance(value, types.ModuleType):
            if _is_trio(value):
                return True
            continue
        if isinstance(value, (int, float, str, bytes, bool, type(None))):
            continue
        if needs_trio(value, depth + 1, seen):
            return True
    return False


def _declared(obj: Any) -> bool | None:
    value = getattr(obj, "needs_trio", None)
    return value if isinstance(value, bool) else None


def _judged(obj: Any) -> bool:
    declared = _declared(obj)
    return needs_trio(obj) if declared is None else declared


def _route_needs_trio(route: Any) -> bool:
    declared = route.options.get("needs_trio")
    if isinstance(declared, bool):
        return declared
    parts = [route.handler, *route.options.get("route_middleware", ()),
             *(getattr(d, "dependency", d) for d in route.options.get("dependencies") or ())]
    return any(_judged(part) for part in parts)


def why_trio(app: Any) -> str | None:
    """Why ``app`` must run on its trio thread, or None when the host's loop can run all of it."""
    if app.admission is not None:
        return "admission control is set (its concurrency cap waits on trio events)"
    for middleware in app.middleware:
        if _judged(middleware):
            return f"the middleware {middleware!r} refers to trio"
    for key, handler in app.exception_handlers.items():
        if _judged(handler):
            return f"the exception handler for {key!r} refers to trio"
    for route in app.router.routes:
        if _route_needs_trio(route):
            return f"the route {route.describe()} needs trio (it refers to trio, or says needs_trio=True)"
    for prefix, target in app.mounts.items():
        reason = why_trio(target) if hasattr(target, "router") else (
            "it refers to trio" if _judged(target) else None)
        if reason is not None:
            return f"what is mounted at {prefix!r}: {reason}"
    return None


class LoopPlacement:
    """Per app, decided once (the app is frozen by then): does it run on the host's loop?

    All or nothing: an app's requests run on one thread, so its middleware state, its
    router's work buffer and the user's own state are never reached from two threads.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self._on_host: bool | None = None
        #: Why the app runs on the trio thread (None: it runs on the host's loop).
        self.reason: str | None = None

    def runs_on_host(self) -> bool:
        on_host = self._on_host
        if on_host is None:
            self.reason = why_trio(self.app)
            on_host = self._on_host = self.reason is None
            if on_host:
                logger.info("ASGI: requests run on the host's event loop")
            else:
                logger.info("ASGI: requests run on the app's trio thread because %s", self.reason)
        return on_host


__all__ = ["LoopPlacement", "SCAN_DEPTH", "needs_trio", "why_trio"]
