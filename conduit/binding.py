"""Turn a handler's signature into the call the app makes, once, at registration.

Each handler gets an ``endpoint(request) -> awaitable result`` built from its
signature: path parameters by name (converted to the annotation), the
``Request`` where asked for. No request pays for ``inspect``.
"""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Callable

import trio

from .exceptions import ValidationError
from .http.request import Request
from .routing.convertors import CONVERTORS, annotation_convertor
from .routing.router import Route, RouteError


def _wants_request(param: inspect.Parameter, annotation: Any) -> bool:
    return annotation is Request or (param.name == "request" and annotation is inspect.Parameter.empty)


def build_endpoint(route: Route) -> Callable[[Request], Any]:
    """The coroutine function the app awaits for ``route``."""
    handler = route.handler
    try:
        hints = typing.get_type_hints(handler, include_extras=False)
    except Exception:  # unresolved forward references: fall back to raw annotations
        hints = {}
    signature = inspect.signature(handler)
    plan: list[tuple[str, str, Any]] = []  # (name, source, convertor)
    for name, param in signature.parameters.items():
        annotation = hints.get(name, param.annotation)
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if _wants_request(param, annotation):
            plan.append((name, "request", None))
        elif name in route.param_names:
            kind = route.param_kinds[route.param_names.index(name)]
            convert = annotation_convertor(annotation)
            if convert is not None and convert is not CONVERTORS[kind]:
                plan.append((name, "path_convert", convert))
            else:
                plan.append((name, "path", None))
        elif param.default is inspect.Parameter.empty:
            raise RouteError(
                f"route {route.pattern!r} ({route.name}): parameter {name!r} cannot be bound "
                f"(not a path parameter, not the Request, and it has no default)"
            )
    missing = set(route.param_names) - {name for name, _, _ in plan}
    if missing and not any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values()):
        raise RouteError(f"route {route.pattern!r} ({route.name}): path parameters "
                         f"{sorted(missing)} are missing from the handler's signature")

    is_async = inspect.iscoroutinefunction(handler)
    in_thread = route.options.get("run_in_thread", not is_async)

    def kwargs_for(request: Request) -> dict[str, Any]:
        params = request.path_params
        kwargs: dict[str, Any] = {}
        errors = []
        for name, source, convert in plan:
            if source == "path":
                kwargs[name] = params[name]
            elif source == "request":
                kwargs[name] = request
            else:
                try:
                    kwargs[name] = convert(params[name])
                except (TypeError, ValueError):
                    errors.append({"loc": f"path.{name}", "type": "type_error",
                                   "msg": f"{params[name]!r} is not a valid {getattr(convert, '__name__', convert)}"})
        if errors:
            raise ValidationError(errors)
        return kwargs

    if is_async:
        async def endpoint(request: Request) -> Any:
            return await handler(**kwargs_for(request))
    elif in_thread:
        async def endpoint(request: Request) -> Any:
            return await trio.to_thread.run_sync(functools.partial(handler, **kwargs_for(request)))
    else:
        async def endpoint(request: Request) -> Any:
            return handler(**kwargs_for(request))
    return endpoint
