"""Signature analysis: a handler (or dependency) becomes a :class:`Plan`, once, at registration.

The rules, in order, for each parameter:

1. ``Request`` (annotated, or an unannotated parameter named ``request``; on a WebSocket
   route also one named ``websocket``) -> the request (the :class:`~conduit.WebSocket`).
2. ``Depends(fn)`` (in ``Annotated`` or as the default) -> ``fn``'s result; ``fn`` is analysed too.
3. An explicit marker (``Query``, ``Header``, ``Cookie``, ``Path``, ``Body``) -> that source.
4. A name in the route pattern -> the path parameter.
5. A structured type (dataclass, TypedDict, msgspec Struct, pydantic model, ``numpy.ndarray``,
   ``dict``, a list of structured types) -> the JSON body.
6. Anything else (scalars, ``Literal``, ``Enum``, dates, ``UUID``, ``list[scalar]``) -> the query.

A parameter that fits none of them, or whose type has no converter, is a
:class:`~conduit.routing.RouteError` naming the route and the parameter.
"""

from __future__ import annotations

import collections.abc as abc
import copy
import inspect
import typing
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from ..background import BackgroundTasks
from ..http.request import Request
from conduit_kernels.route_table import ParamKind
from ..routing.router import Route, RouteError
from ..types.errors import Unsupported
from ..types.fields import text_field
from ..types.kinds import is_model, is_ndarray, optional_inner, sequence_item, strip_annotated
from ..types.walker import TypeWalker
from .markers import MISSING, Depends, Header, Param

#: The Python type the router gives each typed segment (``{id:int}`` -> int); a too-long int stays text.
_ROUTER_TYPES = {ParamKind.INT: int, ParamKind.FLOAT: float, ParamKind.UUID: uuid.UUID, ParamKind.STR: str,
                 ParamKind.PATH: str}

#: The binder's walker: only its validators are used (OpenAPI walks again for its components).
_WALKER = TypeWalker()

TEXT_SOURCES = ("path", "query", "header", "cookie")
#: Fields and files of an urlencoded or multipart body.
FORM_SOURCES = ("form", "file")


@dataclass(eq=False)
class ParamSpec:
    """One bound parameter: where its value comes from and how it is converted."""

    name: str                      # the keyword argument
    source: str                    # path | query | header | cookie | body | form | file | request | depends | background
    key: str = ""                  # the name on the wire (query key, header name, body key)
    annotation: Any = Any          # as written, Annotated metadata included
    type: Any = Any                # without Annotated and Optional
    required: bool = True
    default: Any = MISSING
    nullable: bool = False
    is_list: bool = False
    marker: Any = None             # the Param / Depends marker, if any
    convert: Callable[[str], Any] | None = None                # text sources: str -> value (per item)
    check: Callable[[Any, tuple, list], bool] | None = None    # constraints, text sources
    validate: Callable[[Any, tuple, list], Any] | None = None  # body: JSON value -> value
    router_typed: bool = False     # path: the router already converted the segment to this type
    dependency: "Plan | None" = None
    embedded: bool = False         # body: one key of a JSON object rather than the whole body

    @property
    def loc(self) -> tuple[str, str]:
        """Where errors point: ``("query", "page")``, ``("header", "x-token")``, ``("body", "item")``."""
        return ("body" if self.source in FORM_SOURCES else self.source, self.key)

    def fresh_default(self) -> Any:
        default = self.default
        return copy.copy(default) if isinstance(default, (list, dict, set)) else default


@dataclass(eq=False)
class Plan:
    """What a callable needs from a request; built by :func:`analyse`."""

    call: Callable[..., Any]
    params: list[ParamSpec] = field(default_factory=list)
    return_annotation: Any = MISSING
    is_async: bool = False
    is_generator: bool = False     # a setup/teardown dependency (sync or async generator)

    def walk(self) -> typing.Iterator[ParamSpec]:
        """Every spec in this plan and its dependencies, depth first (dependencies repeat)."""
        for spec in self.params:
            if spec.dependency is not None:
                yield from spec.dependency.walk()
            yield spec

    def inputs(self) -> list[ParamSpec]:
        """The request inputs (path, query, header, cookie, body), each (source, key) once."""
        seen: dict[tuple[str, str], ParamSpec] = {}
        for spec in self.walk():
            if spec.source in TEXT_SOURCES or spec.source in FORM_SOURCES or spec.source == "body":
                seen.setdefault((spec.source, spec.key), spec)
        return list(seen.values())

    @property
    def body_params(self) -> list[ParamSpec]:
        return [s for s in self.inputs() if s.source == "body"]

    @property
    def form_params(self) -> list[ParamSpec]:
        return [s for s in self.inputs() if s.source in FORM_SOURCES]

    @property
    def has_generators(self) -> bool:
        return any(s.dependency is not None and s.dependency.is_generator for s in self.walk())


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else getattr(fn, "__call__", fn)
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # unresolvable forward references: use what is written
        return {}


def analyse(fn: Callable[..., Any], route: Route, _stack: tuple = ()) -> Plan:
    """The :class:`Plan` for ``fn`` served on ``route`` (raises :class:`RouteError`)."""
    if fn in _stack:
        raise RouteError(f"route {route.pattern!r} ({route.name}): dependency cycle through "
                         f"{getattr(fn, '__qualname__', fn)!r}")
    hints = _hints(fn)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise RouteError(f"route {route.pattern!r} ({route.name}): cannot read the signature of {fn!r}: {exc}")
    plan = Plan(fn, return_annotation=hints.get("return", MISSING),
                is_async=inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)
                or inspect.iscoroutinefunction(getattr(fn, "__call__", None)),
                is_generator=inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn))
    for name, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(name, param.annotation)
        try:
            plan.params.append(_spec(name, param, annotation, route, _stack + (fn,)))
        except (Unsupported, TypeError, ValueError) as exc:
            where = "" if fn is route.handler else f" (in dependency {getattr(fn, '__qualname__', fn)})"
            raise RouteError(f"route {route.pattern!r} ({route.name}): parameter {name!r}{where} "
                             f"cannot be bound: {exc}") from None
    return plan


def _spec(name: str, param: inspect.Parameter, annotation: Any, route: Route, stack: tuple) -> ParamSpec:
    empty = inspect.Parameter.empty
    unannotated = annotation is empty
    if unannotated:
        annotation = Any
    base, metadata = strip_annotated(annotation)
    # The last marker with a source wins (Annotated flattens, inner metadata first); a bare Param only constrains.
    markers = [m for m in metadata if isinstance(m, (Param, Depends))]
    marker = next((m for m in reversed(markers) if type(m) is not Param), markers[-1] if markers else None)
    default = param.default
    if isinstance(default, (Param, Depends)):
        marker, default = default, (default.default if isinstance(default, Param) else MISSING)
    elif default is empty:
        default = MISSING
    if isinstance(marker, Param) and marker.default is not MISSING:
        default = marker.default
    if default is Ellipsis:  # FastAPI's ``Form(...)``: required
        default = MISSING

    if (isinstance(base, type) and issubclass(base, Request)) or (unannotated and name == "request") \
            or (unannotated and name == "websocket" and "WEBSOCKET" in route.methods):  # FastAPI's spelling
        return ParamSpec(name, "request", annotation=annotation, type=Request)
    if isinstance(base, type) and issubclass(base, BackgroundTasks):
        return ParamSpec(name, "background", annotation=annotation, type=BackgroundTasks)
    if isinstance(marker, Depends):
        sub = analyse(marker.dependency, route, stack)
        return ParamSpec(name, "depends", annotation=annotation, type=base, marker=marker, dependency=sub)

    inner, nullable = optional_inner(base)
    if default is None:
        nullable = True
    if isinstance(marker, Param) and type(marker) is not Param:  # a bare Param only constrains
        source = marker.source
    elif _is_upload(inner):
        source = "file"
    elif name in route.param_names:
        source = "path"
    elif _is_body_type(inner):
        source = "body"
    elif unannotated and default is MISSING:
        raise Unsupported("not a path parameter, not the Request, no annotation and no default")
    else:
        source = "query"

    spec = ParamSpec(name, source, annotation=annotation, type=inner, required=default is MISSING,
                     default=default, nullable=nullable, marker=marker)
    alias = marker.alias if isinstance(marker, Param) else None
    if source in FORM_SOURCES:
        return _form_spec(spec, alias or name, inner, metadata, marker)
    if source == "body":
        spec.key = alias or name
        spec.embedded = bool(getattr(marker, "embed", False))
        spec.validate = _WALKER.validator(annotation if not isinstance(marker, Param)
                                          else typing.Annotated[annotation, marker])
        return spec
    if source == "header":
        convert_underscores = marker.convert_underscores if isinstance(marker, Header) else True
        spec.key = (alias or (name.replace("_", "-") if convert_underscores else name)).lower()
    else:
        spec.key = alias or name
    if source == "path" and spec.key not in route.param_names:
        raise Unsupported(f"Path() names {spec.key!r}, which is not in the pattern")
    field = text_field(annotation, (marker,) if isinstance(marker, Param) else (),
                       allow_list=source in ("query", "header"))
    spec.is_list, spec.convert, spec.check = field.is_list, field.convert, field.check
    if source == "path":
        kind = route.param_kinds[route.param_names.index(spec.key)]
        spec.router_typed = _ROUTER_TYPES[kind] is inner or inner is Any
    return spec


def _is_upload(tp: Any) -> bool:
    from ..forms.upload import UploadFile

    item = sequence_item(tp)
    if item is not None:
        tp = optional_inner(strip_annotated(item)[0])[0]
    return isinstance(tp, type) and issubclass(tp, UploadFile)


def _form_spec(spec: ParamSpec, key: str, inner: Any, metadata: tuple, marker: Any) -> ParamSpec:
    """A form field converts like a query value; a file must be annotated ``UploadFile``."""
    spec.key = key
    item = sequence_item(inner)
    spec.is_list = item is not None
    if _is_upload(inner):
        spec.source = "file"
        return spec
    if spec.source == "file":
        raise Unsupported("File() parameters must be annotated UploadFile or list[UploadFile]")
    field = text_field(spec.annotation, (marker,) if isinstance(marker, Param) else ())
    spec.convert, spec.check = field.convert, field.check
    return spec


def _is_body_type(tp: Any) -> bool:
    if is_model(tp) or is_ndarray(tp):
        return True
    origin = typing.get_origin(tp) or tp
    if origin in (dict, abc.Mapping, abc.MutableMapping) or tp is dict:
        return True
    item = sequence_item(tp)
    if item is not None:
        item, _ = optional_inner(strip_annotated(item)[0])
        return _is_body_type(item) or sequence_item(item) is not None
    return False


def finish_body(plan: Plan) -> None:
    """Decide the body layout: one parameter takes the whole body, several share an object."""
    bodies = plan.body_params
    embed = len(bodies) > 1 or any(s.embedded for s in bodies)
    for spec in plan.walk():
        if spec.source == "body":
            spec.embedded = embed


__all__ = ["FORM_SOURCES", "Plan", "ParamSpec", "analyse", "finish_body"]
