"""Where the ASGI face runs a request under an asyncio server: on the host's loop, or on the app's trio thread.

Crossing from the host's asyncio loop into the app's trio thread costs thread hand-offs
on every ASGI message (about 0.8 ms a request, 30x Starlette's whole request). The
request lifecycle itself needs no trio (its few loop primitives come from
:mod:`conduit.anyloop`), so a request runs straight on the host's loop unless
something it passes through needs trio:

- ``app.admission`` is set (its concurrency cap waits on trio events);
- a middleware, an exception handler, a route's own middleware or dependency, or the
  handler *refers to* trio: its code (and nested functions, and the functions it calls
  by name, three calls deep) names the ``trio`` module or something from it, or holds
  an object of a module that does (an ML batcher, an MCP transport); Conduit's own
  functions count as needing trio when their module imports it;
- the route says so: ``@app.get("/x", needs_trio=True)`` (``needs_trio=False`` forces
  the host loop where the scan is too cautious); a middleware may carry a
  ``needs_trio`` attribute the same way.

What the scan cannot see is a trio object reached through an attribute at run time
(a ``trio.Lock`` made at startup and read from ``app.state``): such a handler needs
``needs_trio=True``, or it fails with a 500 (``must be called from async context``).
Unmatched requests (404, 405, OPTIONS) run on the host loop. Decisions are cached per
route; the middleware stack is judged once.
"""

from __future__ import annotations

import functools
import sys
import types
from typing import Any

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
    if fn.__module__ and fn.__module__.startswith("conduit.") and _module_imports_trio(fn.__module__):
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


class LoopPlacement:
    """Per app: does this request run on the host's loop (True) or on the trio thread (False)?"""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._routes: dict[Any, bool] = {}
        self._stack_on_host: bool | None = None

    def _stack_runs_on_host(self) -> bool:
        app = self.app
        if app.admission is not None:
            return False
        parts = [*app.middleware, *app.exception_handlers.values()]
        return not any(_judged(part) for part in parts)

    def route_runs_on_host(self, route: Any) -> bool:
        """The decision for one matched route (cached)."""
        on_host = self._routes.get(route)
        if on_host is None:
            declared = route.options.get("needs_trio")
            if isinstance(declared, bool):
                on_host = not declared
            else:
                parts = [route.handler, *route.options.get("route_middleware", ()),
                         *(getattr(d, "dependency", d) for d in route.options.get("dependencies") or ())]
                on_host = not any(_judged(part) for part in parts)
            self._routes[route] = on_host
        return on_host

    def runs_on_host(self, method: str, raw_path: bytes) -> bool:
        stack = self._stack_on_host
        if stack is None:
            stack = self._stack_on_host = self._stack_runs_on_host()
        if not stack:
            return False
        route = self.app.router.match(method, raw_path).route
        return route is None or self.route_runs_on_host(route)


__all__ = ["LoopPlacement", "SCAN_DEPTH", "needs_trio"]
