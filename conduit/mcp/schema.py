"""MCP tool schemas and argument binding from Python signatures, through the one type layer.

One walk of each parameter's annotation (:class:`conduit.types.TypeWalker`, named
types under ``#/$defs/``) yields both the ``inputSchema`` a client sees and the
validator that checks and converts the JSON arguments before the call, so the two
cannot disagree, and tools take every type HTTP handlers take: scalars, Literal,
Enum, UUID, dates, Decimal, bytes (base64), containers, unions, dataclasses,
TypedDict, msgspec Structs, pydantic models and ``numpy.ndarray`` with an
``Array`` spec, with ``Annotated`` constraints (``Field``, ``annotated_types``,
``msgspec.Meta``). Parameter descriptions come from ``Annotated`` or from the
docstring (Google, NumPy or Sphinx style). This module knows nothing of JSON-RPC:
it raises :class:`SchemaError`, whose ``errors`` are the vocabulary's entries,
each ``loc`` starting at ``"arguments"``.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, Union, get_args, get_origin, get_type_hints

from conduit.mcp.jsonable import to_jsonable
from conduit.types import codes
from conduit.types.constraints import Constraints
from conduit.types.errors import INVALID, Errors, Validator, error
from conduit.types.kinds import is_union, optional_inner, strip_annotated, type_name
from conduit.types.walker import TypeWalker

__all__ = ["Field", "SchemaError", "Signature", "build_signature", "output_schema_for", "to_jsonable"]

_MISSING = inspect.Parameter.empty
#: Where argument errors point: ``["arguments", "k"]`` (the tool call's ``params.arguments``).
ROOT = "arguments"


class SchemaError(ValueError):
    """Arguments that do not match the declared types; ``errors`` lists every failure.

    ``path`` names the first failing argument (``"point.y"``); each entry of
    ``errors`` is ``{"loc": ["arguments", ...], "msg", "type"}`` as in an HTTP 422.
    """

    def __init__(self, path: str, message: str, errors: Errors | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.errors: Errors = errors if errors is not None else [
            {"loc": [ROOT, *path.split(".")] if path else [ROOT], "msg": message, "type": codes.VALUE_ERROR}]

    @classmethod
    def from_errors(cls, errors: Errors) -> "SchemaError":
        """One exception for every failure: ``str()`` lists them all, ``path`` is the first."""
        first = errors[0]
        exc = cls(".".join(str(part) for part in first["loc"][1:]), first["msg"], errors)
        exc.args = ("; ".join(_describe(e) for e in errors),)
        return exc


def _describe(entry: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in entry["loc"][1:])
    return f"{where}: {entry['msg']}" if where else entry["msg"]


@dataclasses.dataclass(frozen=True, eq=False)
class Field(Constraints):
    """Constraints and documentation for one tool parameter, used inside ``Annotated``.

    The same :class:`~conduit.types.Constraints` as HTTP's ``Query``/``Body``...,
    with ``description`` first: ``Annotated[int, Field("how many", ge=1)]``.
    """

    description: str | None = dataclasses.field(default=None, kw_only=False)


# ---------------------------------------------------------------- docstrings

_GOOGLE_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Params)\s*:\s*$")
_GOOGLE_ITEM = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_ITEM = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str | None, dict[str, str]]:
    """Split a docstring into (summary, {parameter: description})."""
    if not doc:
        return None, {}
    doc = inspect.cleandoc(doc)
    lines = doc.splitlines()
    params: dict[str, str] = {}
    summary_lines: list[str] = []
    i = 0
    while i < len(lines) and not _GOOGLE_SECTION.match(lines[i]) and not _SPHINX_ITEM.match(lines[i]) \
            and not (i + 1 < len(lines) and lines[i].strip() == "Parameters" and set(lines[i + 1].strip()) == {"-"}):
        summary_lines.append(lines[i])
        i += 1
    summary = "\n".join(summary_lines).strip() or None
    current: str | None = None
    numpy = False
    for line in lines[i:]:
        if line.strip() == "Parameters" or set(line.strip()) == {"-"}:
            numpy = numpy or line.strip() == "Parameters"
            continue
        if (m := _SPHINX_ITEM.match(line)) is not None:
            current = m.group(1)
            params[current] = m.group(2).strip()
            continue
        if _GOOGLE_SECTION.match(line):
            continue
        if numpy and line and not line[0].isspace():
            if re.match(r"^(Returns|Raises|Yields|Examples|Notes|See Also)\s*$", line):
                break
            current = line.split(":")[0].strip()
            params[current] = ""
            continue
        if not numpy and (m := _GOOGLE_ITEM.match(line)) is not None and line.startswith((" ", "\t")) \
                and len(line) - len(line.lstrip()) <= 4:
            current = m.group(1)
            params[current] = m.group(2).strip()
            continue
        if re.match(r"^\s*(Returns|Raises|Yields|Examples|Notes)\s*:?\s*$", line):
            current = None
            continue
        if current is not None and line.strip():
            params[current] = (params[current] + " " + line.strip()).strip()
        elif not line.strip():
            current = None if not numpy else current
    return summary, {k: v for k, v in params.items() if v}


# ---------------------------------------------------------------- signatures

@dataclasses.dataclass
class Signature:
    """What a function exposes over MCP: its schema and how to bind JSON arguments."""

    input_schema: dict[str, Any]
    params: dict[str, Validator]
    required: tuple[str, ...]
    context_param: str | None
    description: str | None
    output_schema: dict[str, Any] | None
    wrap_output: bool

    def bind(self, arguments: dict[str, Any] | None) -> dict[str, Any]:
        """Validate and convert JSON ``arguments``; raise :class:`SchemaError` listing every failure."""
        arguments = arguments or {}
        if not isinstance(arguments, dict):
            raise SchemaError.from_errors([{"loc": [ROOT], "msg": "arguments must be an object",
                                            "type": codes.DICT_TYPE}])
        errors: Errors = []
        for name in self.required:
            if name not in arguments:
                error(errors, (ROOT, name), "field required", codes.MISSING)
        out: dict[str, Any] = {}
        for key, value in arguments.items():
            check = self.params.get(key)
            if check is None:
                error(errors, (ROOT, key), "is not a parameter of this tool", codes.EXTRA_FORBIDDEN)
                continue
            result = check(value, (ROOT, key), errors)
            if result is not INVALID:
                out[key] = result
        if errors:
            raise SchemaError.from_errors(errors)
        return out


def build_signature(fn: Callable[..., Any], *, context_types: tuple[type, ...] = (),
                    skip: Sequence[str] = ()) -> Signature:
    """Derive the input schema and the argument binder of ``fn``.

    A parameter whose type the layer cannot convert is a ``TypeError`` naming it.

    >>> def add(a: int, b: int = 2) -> int: ...
    >>> build_signature(add).input_schema
    {'type': 'object', 'properties': {'a': {'type': 'integer'}, 'b': {'type': 'integer', 'default': 2}}, 'required': ['a']}
    """
    sig = inspect.signature(fn)
    try:
        hints = get_type_hints(fn, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to raw annotations
        hints = {name: p.annotation for name, p in sig.parameters.items()}
    summary, param_docs = parse_docstring(inspect.getdoc(fn))
    walker = TypeWalker("#/$defs/")
    properties: dict[str, Any] = {}
    required: list[str] = []
    checks: dict[str, Validator] = {}
    context_param = None
    for name, param in sig.parameters.items():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD) or name in skip:
            continue
        hint = hints.get(name, _MISSING)
        base, _ = strip_annotated(hint)
        members = get_args(base) if is_union(base) else (base,)
        if any(isinstance(m, type) and context_types and issubclass(m, context_types) for m in members) or \
                (hint is _MISSING and name in ("ctx", "context") and context_types):
            context_param = name
            continue
        try:
            node = walker.walk(Any if hint is _MISSING else hint)
        except TypeError as exc:  # Unsupported included
            where = getattr(fn, "__qualname__", repr(fn))
            raise TypeError(f"tool {where}: parameter {name!r} of type {_hint_name(hint)} cannot be "
                            f"taken from JSON arguments: {exc}") from None
        schema = dict(node.schema)
        if name in param_docs and "description" not in schema:
            schema["description"] = param_docs[name]
        if param.default is _MISSING:
            required.append(name)
        elif param.default is not None or _allows_none(hint):
            schema.setdefault("default", to_jsonable(param.default))
        properties[name] = schema
        checks[name] = node.validate
    input_schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        input_schema["required"] = required
    if walker.defs:
        input_schema["$defs"] = walker.defs
    output_schema, wrap = output_schema_for(hints.get("return", _MISSING))
    return Signature(input_schema, checks, tuple(required), context_param, summary, output_schema, wrap)


def _hint_name(hint: Any) -> str:
    return type_name(hint)


def _allows_none(hint: Any) -> bool:
    hint, _ = strip_annotated(hint)
    return hint is None or optional_inner(hint)[1]


def output_schema_for(annotation: Any) -> tuple[dict[str, Any] | None, bool]:
    """Return (outputSchema, wrap): ``wrap`` means the value goes under ``"result"``.

    No schema for un-annotated functions, ``None``, ``str`` (plain text), content
    types, or types the layer cannot describe.
    """
    if annotation is _MISSING or annotation is None or annotation is type(None) or annotation is str \
            or annotation is Any:
        return None, False
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return output_schema_for(get_args(annotation)[0])
    if origin in (Union, types.UnionType) or (origin is list and get_args(annotation)
                                               and _is_content_type(get_args(annotation)[0])):
        members = get_args(annotation)
        if all(_is_content_type(m) or m is str or m is type(None) for m in members):
            return None, False
    if _is_content_type(annotation) or annotation is list:
        return None, False
    walker = TypeWalker("#/$defs/")
    try:
        schema = walker.schema(annotation)
    except TypeError:
        return None, False
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        root = dict(walker.defs.pop(name))
        if walker.defs:
            root["$defs"] = walker.defs
        if root.get("type") == "object":
            return root, False
        walker.defs[name] = root
        schema = {"$ref": schema["$ref"]}
    elif schema.get("type") == "object" and not ({"anyOf", "enum"} & schema.keys()):
        return schema, False
    out: dict[str, Any] = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
    if walker.defs:
        out["$defs"] = walker.defs
    return out, True


def _is_content_type(tp: Any) -> bool:
    from conduit.mcp.content import Content
    return isinstance(tp, type) and issubclass(tp, Content)
