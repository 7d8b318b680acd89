"""JSON Schema (2020-12) generation and argument validation from Python signatures.

One pass over a function's signature builds both the ``inputSchema`` a client sees
and a tree of small validators that check and convert the JSON arguments before the
call; the two are derived from the same type walk, so they cannot disagree.

Supported annotations: int, float, str, bool, None, list/tuple/dict/set, Optional/Union,
Literal, Enum, dataclasses, TypedDict, ``Annotated[T, "description" | Field(...) |
annotated_types constraints]``, ``Any``; defaults become ``default``. Parameter
descriptions come from ``Annotated`` or from the docstring (Google, NumPy or Sphinx style).
This module knows nothing of JSON-RPC: it raises :class:`SchemaError` with a path.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

__all__ = ["Field", "SchemaError", "Signature", "build_signature", "output_schema_for", "to_jsonable"]

_MISSING = inspect.Parameter.empty
Validator = Callable[[Any, str], Any]


class SchemaError(ValueError):
    """An argument does not match its declared type; ``path`` names it."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


@dataclasses.dataclass(frozen=True)
class Field:
    """Constraints and documentation for one parameter, used inside ``Annotated``."""

    description: str | None = None
    title: str | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    examples: list[Any] | None = None


# Duck-typed constraint attributes (annotated_types, pydantic FieldInfo metadata) -> JSON Schema.
_NUMERIC = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


class _Walker:
    """Builds (schema, validator) pairs; collects named object schemas in ``defs``."""

    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}
        self._validators: dict[Any, Validator] = {}

    def walk(self, tp: Any) -> tuple[dict[str, Any], Validator]:
        if tp is Any or tp is _MISSING or tp is object:
            return {}, lambda v, p: v
        origin = get_origin(tp)
        if origin is typing.Annotated:
            return self._annotated(tp)
        if tp is None or tp is type(None):
            return {"type": "null"}, _check_none
        if tp is bool:
            return {"type": "boolean"}, _check_bool
        if tp is int:
            return {"type": "integer"}, _check_int
        if tp is float:
            return {"type": "number"}, _check_float
        if tp is str:
            return {"type": "string"}, _check_str
        if tp in (list, tuple, set, frozenset):
            return self.walk(tp[Any] if tp is not tuple else tuple[Any, ...])
        if tp is dict:
            return self.walk(dict[str, Any])
        if origin is Literal:
            values = list(get_args(tp))
            return _literal_schema(values), _literal_validator(values)
        if origin in (Union, types.UnionType):
            return self._union(get_args(tp))
        if origin in (list, Sequence, set, frozenset, typing.Sequence) or origin is getattr(typing, "List", None):
            (item_tp,) = get_args(tp) or (Any,)
            item_schema, item_check = self.walk(item_tp)
            schema = {"type": "array", "items": item_schema}
            if origin in (set, frozenset):
                schema["uniqueItems"] = True
            make = origin if origin in (set, frozenset) else list
            return schema, _array_validator(item_check, make)
        if origin is tuple:
            args = get_args(tp)
            if len(args) == 2 and args[1] is Ellipsis:
                item_schema, item_check = self.walk(args[0])
                return {"type": "array", "items": item_schema}, _array_validator(item_check, tuple)
            walked = [self.walk(a) for a in args]
            schema = {"type": "array", "prefixItems": [s for s, _ in walked],
                      "minItems": len(args), "maxItems": len(args)}
            return schema, _tuple_validator([c for _, c in walked])
        if origin in (dict, Mapping, typing.Mapping):
            key_tp, value_tp = get_args(tp) or (str, Any)
            value_schema, value_check = self.walk(value_tp)
            schema: dict[str, Any] = {"type": "object"}
            if value_schema:
                schema["additionalProperties"] = value_schema
            return schema, _dict_validator(value_check)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            values = [m.value for m in tp]
            schema = _literal_schema(values)
            schema["title"] = tp.__name__
            return schema, _enum_validator(tp)
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            return self._object(tp, _dataclass_fields(tp), lambda d: tp(**d))
        if _is_typeddict(tp):
            hints = get_type_hints(tp, include_extras=True)
            required = getattr(tp, "__required_keys__", frozenset(hints))
            fields = [(name, hint, _MISSING if name in required else None, name not in required)
                      for name, hint in hints.items()]
            return self._object(tp, fields, dict)
        raise TypeError(f"unsupported annotation for an MCP schema: {tp!r}")

    def _annotated(self, tp: Any) -> tuple[dict[str, Any], Validator]:
        base, *extras = get_args(tp)
        schema, check = self.walk(base)
        schema = dict(schema)
        checks: list[Validator] = []
        for extra in extras:
            if isinstance(extra, str):
                schema["description"] = extra
                continue
            description = getattr(extra, "description", None)
            if isinstance(description, str):
                schema["description"] = description
            title = getattr(extra, "title", None)
            if isinstance(title, str):
                schema["title"] = title
            examples = getattr(extra, "examples", None)
            if isinstance(examples, list):
                schema["examples"] = examples
            # pydantic FieldInfo keeps annotated_types objects in .metadata
            for item in [extra, *getattr(extra, "metadata", ())]:
                for attr, key in _NUMERIC.items():
                    bound = getattr(item, attr, None)
                    if isinstance(bound, (int, float)) and not isinstance(bound, bool):
                        schema[key] = bound
                        checks.append(_bound_validator(attr, bound))
                for attr in ("min_length", "max_length"):
                    size = getattr(item, attr, None)
                    if isinstance(size, int):
                        kind = "Items" if schema.get("type") == "array" else (
                            "Properties" if schema.get("type") == "object" else "Length")
                        prefix = "min" if attr == "min_length" else "max"
                        schema[f"{prefix}{kind}"] = size
                        checks.append(_length_validator(prefix, size))
                pattern = getattr(item, "pattern", None)
                if isinstance(pattern, str):
                    schema["pattern"] = pattern
                    checks.append(_pattern_validator(pattern))
        if not checks:
            return schema, check

        def annotated_check(value: Any, path: str) -> Any:
            value = check(value, path)
            for extra_check in checks:
                extra_check(value, path)
            return value

        return schema, annotated_check

    def _union(self, members: tuple[Any, ...]) -> tuple[dict[str, Any], Validator]:
        walked = [self.walk(m) for m in members]
        schemas = [s for s, _ in walked]
        simple = [s.get("type") for s in schemas]
        if all(isinstance(t, str) and len(s) == 1 for t, s in zip(simple, schemas)):
            schema: dict[str, Any] = {"type": simple}
        else:
            schema = {"anyOf": schemas}
        # Exact-type members first so Union[int, str] keeps "1" a string and 1 an int.
        checks = [c for _, c in walked]

        def union_check(value: Any, path: str) -> Any:
            errors = []
            for member_check in checks:
                try:
                    return member_check(value, path)
                except SchemaError as exc:
                    errors.append(str(exc))
            raise SchemaError(path, "matches none of the allowed types (" + "; ".join(errors) + ")")

        return schema, union_check

    def _object(self, tp: type, fields: list[tuple[str, Any, Any, bool]],
                make: Callable[[dict[str, Any]], Any]) -> tuple[dict[str, Any], Validator]:
        name = tp.__name__
        ref = {"$ref": f"#/$defs/{name}"}
        if name in self.defs:
            return ref, self._validators[tp]
        self.defs[name] = {}  # placeholder against recursion
        properties: dict[str, Any] = {}
        required: list[str] = []
        field_checks: dict[str, Validator] = {}
        defaults: dict[str, Any] = {}
        for field_name, hint, default, optional in fields:
            schema, check = self.walk(hint)
            schema = dict(schema)
            if default is not _MISSING and default is not None and not optional:
                schema["default"] = to_jsonable(default)
            if default is _MISSING and not optional:
                required.append(field_name)
            elif default is not _MISSING and not optional:
                defaults[field_name] = default
            properties[field_name] = schema
            field_checks[field_name] = check
        obj: dict[str, Any] = {"type": "object", "title": name, "properties": properties}
        if required:
            obj["required"] = required
        doc = tp.__dict__.get("__doc__")
        if doc and not doc.startswith(name + "("):
            doc = inspect.cleandoc(doc)
            obj["description"] = doc.split("\n\n")[0]
        self.defs[name] = obj
        check = _object_validator(field_checks, required, make)
        self._validators[tp] = check
        return ref, check


def _dataclass_fields(tp: type) -> list[tuple[str, Any, Any, bool]]:
    hints = get_type_hints(tp, include_extras=True)
    out = []
    for f in dataclasses.fields(tp):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = _MISSING
        out.append((f.name, hints[f.name], default, False))
    return out


def _literal_schema(values: list[Any]) -> dict[str, Any]:
    kinds = {_type_name(v) for v in values}
    schema: dict[str, Any] = {"enum": values} if len(values) > 1 else {"const": values[0]}
    if len(kinds) == 1:
        schema["type"] = kinds.pop()
    return schema


def _check_none(value: Any, path: str) -> None:
    if value is not None:
        raise SchemaError(path, f"expected null, got {_type_name(value)}")


def _check_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise SchemaError(path, f"expected a boolean, got {_type_name(value)}")
    return value


def _check_int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise SchemaError(path, f"expected an integer, got {_type_name(value)}")
    return value


def _check_float(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SchemaError(path, f"expected a number, got {_type_name(value)}")
    return float(value)


def _check_str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise SchemaError(path, f"expected a string, got {_type_name(value)}")
    return value


def _literal_validator(values: list[Any]) -> Validator:
    def check(value: Any, path: str) -> Any:
        for allowed in values:
            if value == allowed and type(value) is type(allowed):
                return value
        raise SchemaError(path, f"expected one of {values!r}, got {value!r}")
    return check


def _enum_validator(tp: type[enum.Enum]) -> Validator:
    def check(value: Any, path: str) -> Any:
        try:
            return tp(value)
        except ValueError:
            raise SchemaError(path, f"expected one of {[m.value for m in tp]!r}, got {value!r}") from None
    return check


def _array_validator(item_check: Validator, make: Callable[[Any], Any]) -> Validator:
    def check(value: Any, path: str) -> Any:
        if not isinstance(value, list):
            raise SchemaError(path, f"expected an array, got {_type_name(value)}")
        return make(item_check(item, f"{path}[{i}]") for i, item in enumerate(value))
    return check


def _tuple_validator(checks: list[Validator]) -> Validator:
    def check(value: Any, path: str) -> tuple[Any, ...]:
        if not isinstance(value, list) or len(value) != len(checks):
            raise SchemaError(path, f"expected an array of {len(checks)} items")
        return tuple(c(v, f"{path}[{i}]") for i, (c, v) in enumerate(zip(checks, value)))
    return check


def _dict_validator(value_check: Validator) -> Validator:
    def check(value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise SchemaError(path, f"expected an object, got {_type_name(value)}")
        return {k: value_check(v, f"{path}.{k}") for k, v in value.items()}
    return check


def _object_validator(field_checks: dict[str, Validator], required: list[str],
                      make: Callable[[dict[str, Any]], Any]) -> Validator:
    def check(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise SchemaError(path, f"expected an object, got {_type_name(value)}")
        for name in required:
            if name not in value:
                raise SchemaError(f"{path}.{name}" if path else name, "is required")
        out = {}
        for key, item in value.items():
            field_check = field_checks.get(key)
            if field_check is None:
                raise SchemaError(f"{path}.{key}" if path else key, "is not an allowed property")
            out[key] = field_check(item, f"{path}.{key}" if path else key)
        return make(out)
    return check


def _bound_validator(kind: str, bound: float) -> Validator:
    test = {"ge": lambda v: v >= bound, "gt": lambda v: v > bound,
            "le": lambda v: v <= bound, "lt": lambda v: v < bound}[kind]
    symbol = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[kind]

    def check(value: Any, path: str) -> None:
        if isinstance(value, (int, float)) and not test(value):
            raise SchemaError(path, f"must be {symbol} {bound}, got {value!r}")
    return check


def _length_validator(prefix: str, size: int) -> Validator:
    def check(value: Any, path: str) -> None:
        n = len(value)
        if (prefix == "min" and n < size) or (prefix == "max" and n > size):
            raise SchemaError(path, f"length must be {'>=' if prefix == 'min' else '<='} {size}, got {n}")
    return check


def _pattern_validator(pattern: str) -> Validator:
    compiled = re.compile(pattern)

    def check(value: Any, path: str) -> None:
        if isinstance(value, str) and not compiled.search(value):
            raise SchemaError(path, f"does not match the pattern {pattern!r}")
    return check


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
        """Validate and convert JSON ``arguments``; raise :class:`SchemaError`."""
        arguments = arguments or {}
        if not isinstance(arguments, dict):
            raise SchemaError("", "arguments must be an object")
        for name in self.required:
            if name not in arguments:
                raise SchemaError(name, "is required")
        out: dict[str, Any] = {}
        for key, value in arguments.items():
            check = self.params.get(key)
            if check is None:
                raise SchemaError(key, "is not a parameter of this tool")
            out[key] = check(value, key)
        return out


def build_signature(fn: Callable[..., Any], *, context_types: tuple[type, ...] = (),
                    skip: Sequence[str] = ()) -> Signature:
    """Derive the input schema and the argument binder of ``fn``.

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
    walker = _Walker()
    properties: dict[str, Any] = {}
    required: list[str] = []
    checks: dict[str, Validator] = {}
    context_param = None
    for name, param in sig.parameters.items():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD) or name in skip:
            continue
        hint = hints.get(name, _MISSING)
        base = get_args(hint)[0] if get_origin(hint) is typing.Annotated else hint
        members = get_args(base) if get_origin(base) in (Union, types.UnionType) else (base,)
        if any(isinstance(m, type) and context_types and issubclass(m, context_types) for m in members) or \
                (hint is _MISSING and name in ("ctx", "context") and context_types):
            context_param = name
            continue
        schema, check = walker.walk(hint)
        schema = dict(schema)
        if name in param_docs and "description" not in schema:
            schema["description"] = param_docs[name]
        if param.default is _MISSING:
            required.append(name)
        elif param.default is not None or _allows_none(hint):
            schema.setdefault("default", to_jsonable(param.default))
        properties[name] = schema
        checks[name] = check
    input_schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        input_schema["required"] = required
    if walker.defs:
        input_schema["$defs"] = walker.defs
    output_schema, wrap = output_schema_for(hints.get("return", _MISSING))
    return Signature(input_schema, checks, tuple(required), context_param, summary, output_schema, wrap)


def _allows_none(hint: Any) -> bool:
    return hint is None or type(None) in get_args(hint)


def output_schema_for(annotation: Any) -> tuple[dict[str, Any] | None, bool]:
    """Return (outputSchema, wrap): ``wrap`` means the value goes under ``"result"``.

    No schema for un-annotated functions, ``None``, ``str`` (plain text) or content types.
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
    walker = _Walker()
    try:
        schema, _ = walker.walk(annotation)
    except TypeError:
        return None, False
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        root = dict(walker.defs.pop(name))
        if walker.defs:
            root["$defs"] = walker.defs
        return root, False
    if schema.get("type") == "object" and not ({"anyOf", "enum"} & schema.keys()):
        return schema, False
    out: dict[str, Any] = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
    if walker.defs:
        out["$defs"] = walker.defs
    return out, True


def _is_content_type(tp: Any) -> bool:
    from conduit.mcp.content import Content  # local: content imports schema's to_jsonable
    return isinstance(tp, type) and issubclass(tp, Content)


def to_jsonable(value: Any) -> Any:
    """Convert dataclasses, enums, tuples and sets to plain JSON values."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    return str(value)
