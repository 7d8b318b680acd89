"""Per-request execution of a :class:`~conduit.binding.signature.Plan`.

Everything decided at registration is baked into small closures (one per
parameter); a request runs them in order, collects *every* failure, and raises one
:class:`~conduit.exceptions.ValidationError` (422) if there was any. Dependencies
are solved on the event loop, cached per request; the handler itself runs inline
(async) or in a worker thread (sync, by default).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from typing import Any, Callable


from ..exceptions import UnsupportedMediaType, ValidationError
from ..http.json_body import decode_json_body
from ..http.request import Request
from ..http.response import Response
from ..http.returns import to_response
from ..routing.router import Route, RouteError
from ..background import tasks_of
from ..lifecycle.threads import run_sync_handler
from ..types import codes
from ..types.errors import INVALID, Invalid, error, got
from .markers import Depends
from .response_model import resolve_response_model
from .signature import FORM_SOURCES, ParamSpec, Plan, analyse, finish_body

Extractor = Callable[[Request, dict, list, Any], None]

#: The body slot before it is read, and when it is empty.
NO_BODY: Any = type("NoBody", (), {"__repr__": lambda self: "NO_BODY"})()


def _absent(spec: ParamSpec, kwargs: dict, errors: list) -> None:
    """No value on the wire: the default, or a ``missing`` entry."""
    if spec.required:
        error(errors, spec.loc, "field required", codes.MISSING)
    else:
        kwargs[spec.name] = spec.fresh_default()


def _text_extractor(spec: ParamSpec) -> Extractor:
    name, key, loc, convert, check = spec.name, spec.key, spec.loc, spec.convert, spec.check
    source, router_typed = spec.source, spec.router_typed

    if source == "path":
        def lookup(request: Request) -> Any:
            return request.path_params.get(key)
    elif source == "query" and spec.is_list:
        def lookup(request: Request) -> Any:
            return request.query_params.getlist(key) or None
    elif source == "query":
        def lookup(request: Request) -> Any:
            return request.query_params.get(key)
    elif source == "header":
        def lookup(request: Request) -> Any:
            if spec.is_list:
                return request.headers.getlist(key) or None
            return request.headers.get(key)
    else:
        def lookup(request: Request) -> Any:
            return request.cookies.get(key)

    if spec.is_list:
        def extract(request: Request, kwargs: dict, errors: list, body: Any) -> None:
            raw = lookup(request)
            if raw is None:
                return _absent(spec, kwargs, errors)
            values, failed = [], False
            for i, text in enumerate(raw):
                try:
                    values.append(convert(text))
                except Invalid as exc:
                    error(errors, loc + (i,), exc.msg, exc.type)
                    failed = True
            if not failed and (check is None or check(values, loc, errors)):
                kwargs[name] = values
        return extract

    def extract(request: Request, kwargs: dict, errors: list, body: Any) -> None:
        raw = lookup(request)
        if raw is None:
            return _absent(spec, kwargs, errors)
        if convert is not None and not (router_typed and type(raw) is not str):
            try:
                raw = convert(raw if type(raw) is str else str(raw))
            except Invalid as exc:
                error(errors, loc, exc.msg, exc.type)
                return
        if check is None or check(raw, loc, errors):
            kwargs[name] = raw
    return extract


def _form_extractor(spec: ParamSpec) -> Extractor:
    """A form field (converted like a query value) or a file, from the parsed form in ``body``."""
    from ..forms.upload import UploadFile

    name, key, loc, convert, check = spec.name, spec.key, spec.loc, spec.convert, spec.check
    want_file = spec.source == "file"

    def one(value: Any, where: str, errors: list) -> Any:
        if isinstance(value, UploadFile) != want_file:
            if want_file:
                return error(errors, where, "expected a file part", "file_expected")
            return error(errors, where, "expected a text field, got a file", codes.STRING_TYPE)
        if convert is None:
            return value
        try:
            return convert(value)
        except Invalid as exc:
            return error(errors, where, exc.msg, exc.type)

    def extract(request: Request, kwargs: dict, errors: list, body: Any) -> None:
        values = body.getlist(key) if body is not NO_BODY else []
        if not values:
            return _absent(spec, kwargs, errors)
        if spec.is_list:
            converted = [one(v, loc + (i,), errors) for i, v in enumerate(values)]
            if INVALID not in converted and (check is None or check(converted, loc, errors)):
                kwargs[name] = converted
            return
        value = one(values[0], loc, errors)
        if value is not INVALID and (check is None or check(value, loc, errors)):
            kwargs[name] = value
    return extract


async def read_form_body(request: Request, needs_files: bool) -> Any:
    """The parsed form, or :data:`NO_BODY` for an empty body without a content type; 415 otherwise."""
    from ..forms.parser import MULTIPART, URLENCODED, form_media_type

    media, _ = form_media_type(request.headers.get("content-type"))
    accepted = (MULTIPART,) if needs_files else (URLENCODED, MULTIPART)
    if not media and not await request.body():
        return NO_BODY
    if media not in accepted:
        raise UnsupportedMediaType(detail=f"this endpoint accepts {' or '.join(accepted)}, "
                                          f"got {media or 'no content type'}")
    return await request.form()


def _body_extractor(spec: ParamSpec) -> Extractor:
    name, validate, required = spec.name, spec.validate, spec.required
    loc = ("body", spec.key) if spec.embedded else ("body",)
    key, embedded = spec.key, spec.embedded

    def extract(request: Request, kwargs: dict, errors: list, body: Any) -> None:
        if embedded and body is not NO_BODY:
            if type(body) is not dict:
                if not any(e["loc"] in (["body"], "body") for e in errors):
                    error(errors, ("body",), f"expected a JSON object, got {got(body)}", codes.DICT_TYPE)
                return
            value = body.get(key, NO_BODY)
        else:
            value = body
        if value is NO_BODY:
            if required:
                error(errors, loc, "field required", codes.MISSING)
            else:
                kwargs[name] = spec.fresh_default()
            return
        value = validate(value, loc, errors)
        if value is not INVALID:
            kwargs[name] = value
    return extract


async def read_json_body(request: Request) -> Any:
    """The decoded body (integers exact), or :data:`NO_BODY` if empty.

    The one body rule decides (:mod:`conduit.http.json_body`): a body sent as another
    media type is 415, one that is not JSON raises :class:`~conduit.http.request.InvalidJSON`
    at once (400 ``invalid_json``): there is nothing to validate, so no 422 entries are
    collected for it.
    """
    raw = await request.body()
    if not raw:
        return NO_BODY
    return decode_json_body(raw, request.headers.get("content-type"))


class _Solver:
    """The compiled form of a plan: extractors, then dependencies, then the call."""

    def __init__(self, plan: Plan, route: Route):
        self.plan = plan
        self.route = route
        self.overridden: dict[Any, _Solver] = {}  # override function -> its solver (app.dependency_overrides)
        self.extractors: list[Extractor] = []
        self.requests: list[str] = []
        self.backgrounds: list[str] = []
        self.dependencies: list[tuple[str, _Solver, bool]] = []
        for spec in plan.params:
            if spec.source == "request":
                self.requests.append(spec.name)
            elif spec.source == "background":
                self.backgrounds.append(spec.name)
            elif spec.source == "depends":
                self.dependencies.append((spec.name, _Solver(spec.dependency, route), spec.marker.use_cache))
            elif spec.source == "body":
                self.extractors.append(_body_extractor(spec))
            elif spec.source in FORM_SOURCES:
                self.extractors.append(_form_extractor(spec))
            else:
                self.extractors.append(_text_extractor(spec))

    async def kwargs(self, request: Request, errors: list, body: Any, cache: dict | None,
                     stack: contextlib.AsyncExitStack | None) -> dict:
        kwargs: dict[str, Any] = {}
        for extract in self.extractors:
            extract(request, kwargs, errors, body)
        for name in self.requests:
            kwargs[name] = request
        for name in self.backgrounds:
            kwargs[name] = tasks_of(request)
        overrides = getattr(request.app, "dependency_overrides", None)
        for name, solver, use_cache in self.dependencies:
            if overrides:
                solver = solver.overridden_by(overrides)
            call = solver.plan.call
            if use_cache and call in cache:
                kwargs[name] = cache[call]
                continue
            before = len(errors)
            sub = await solver.kwargs(request, errors, body, cache, stack)
            if len(errors) > before:
                continue
            value = await solver.run_dependency(sub, stack)
            if use_cache:
                cache[call] = value
            kwargs[name] = value
        return kwargs

    def overridden_by(self, overrides: dict) -> "_Solver":
        """This solver, or the one for its replacement in ``app.dependency_overrides`` (analysed once)."""
        replacement = overrides.get(self.plan.call)
        if replacement is None:
            return self
        solver = self.overridden.get(replacement)
        if solver is None:
            solver = self.overridden[replacement] = _Solver(analyse(replacement, self.route), self.route)
        return solver

    async def run_dependency(self, kwargs: dict, stack: contextlib.AsyncExitStack | None) -> Any:
        plan = self.plan
        if plan.is_generator:
            if plan.is_async:
                return await stack.enter_async_context(contextlib.asynccontextmanager(plan.call)(**kwargs))
            return stack.enter_context(contextlib.contextmanager(plan.call)(**kwargs))
        result = plan.call(**kwargs)
        if plan.is_async:
            result = await result
        return result


def _add_route_dependencies(plan: Plan, route: Route) -> list[str]:
    """``dependencies=[Depends(fn), ...]`` on a route (or its router): solved, not passed."""
    hidden = []
    for i, marker in enumerate(route.options.get("dependencies") or ()):
        if not isinstance(marker, Depends):
            raise RouteError(f"route {route.pattern!r} ({route.name}): dependencies must be Depends(...), "
                             f"got {marker!r}")
        name = f"\x00dependency{i}"
        plan.params.insert(i, ParamSpec(name, "depends", marker=marker, dependency=analyse(marker.dependency, route)))
        hidden.append(name)
    return hidden


def build_endpoint(route: Route) -> Callable[[Request], Any]:
    """Analyse ``route.handler`` once and return the ``endpoint(request)`` coroutine function.

    The plan is kept on ``route.binding`` for OpenAPI and ``conduit routes --check``.
    """
    plan = analyse(route.handler, route)
    hidden = _add_route_dependencies(plan, route)
    finish_body(plan)
    used = {s.key for s in plan.walk() if s.source == "path"}
    missing = [n for n in route.param_names if n not in used]
    takes_extra = any(p.kind == p.VAR_KEYWORD for p in inspect.signature(route.handler).parameters.values())
    if missing and not takes_extra:
        raise RouteError(f"route {route.pattern!r} ({route.name}): path parameters {missing} "
                         f"are missing from the handler's signature")
    route.binding = plan
    solver = _Solver(plan, route)
    if missing:  # a ``**kwargs`` handler receives the path parameters it does not name

        def extract_extra(request: Request, kwargs: dict, errors: list, body: Any) -> None:
            for name in missing:
                kwargs[name] = request.path_params[name]

        solver.extractors.append(extract_extra)
    handler = plan.call
    in_thread = route.options.get("run_in_thread", not plan.is_async)
    handler_name = getattr(route.handler, "__qualname__", repr(route.handler))
    needs_body = bool(plan.body_params)
    form_params = plan.form_params
    if needs_body and form_params:
        raise RouteError(f"route {route.pattern!r} ({route.name}): a handler takes a JSON body or form "
                         f"fields, not both ({', '.join(s.name for s in plan.body_params + form_params)})")
    needs_form = bool(form_params)
    needs_files = any(s.source == "file" for s in form_params)
    has_dependencies = any(s.source in ("depends", "background") for s in plan.params)
    has_generators = plan.has_generators
    status_code = route.options.get("status_code")

    async def bind(request: Request, stack: contextlib.AsyncExitStack | None) -> dict:
        errors: list = []
        if needs_form:
            body = await read_form_body(request, needs_files)
        elif needs_body:
            body = await read_json_body(request)
        else:
            body = NO_BODY
        if has_dependencies:
            kwargs = await solver.kwargs(request, errors, body, {}, stack)
        else:
            kwargs = {}
            for extract in solver.extractors:
                extract(request, kwargs, errors, body)
            for name in solver.requests:
                kwargs[name] = request
        if errors:
            raise ValidationError(errors)
        return kwargs

    async def call(kwargs: dict) -> Any:
        for name in hidden:  # route and router dependencies run for their effect only
            kwargs.pop(name, None)
        if plan.is_async:
            return await handler(**kwargs)
        if in_thread:  # under the handler deadline too: abandoned at it (conduit.lifecycle.threads)
            return await run_sync_handler(functools.partial(handler, **kwargs), handler_name)
        return handler(**kwargs)

    if has_generators:
        async def endpoint(request: Request) -> Any:
            async with contextlib.AsyncExitStack() as stack:
                return await call(await bind(request, stack))
    else:
        async def endpoint(request: Request) -> Any:
            return await call(await bind(request, None))

    shape = resolve_response_model(route.options, plan.return_annotation, f"route {route.pattern!r} ({route.name})")
    if status_code is None and shape is None:
        return endpoint

    async def finished(request: Request) -> Any:
        result = await endpoint(request)
        if isinstance(result, Response):
            return result
        if shape is not None:
            if isinstance(result, tuple) and result:  # (body, status[, headers]): the body is checked
                result = (shape.apply(result[0]), *result[1:])
            else:
                result = shape.apply(result)
        if status_code is None:
            return result
        response = to_response(result)
        response.status_code = status_code
        return response
    return finished


__all__ = ["NO_BODY", "build_endpoint", "read_form_body", "read_json_body"]
