"""JSON Schema (2020-12, as OpenAPI 3.1 uses it) for Python annotations.

Named types (dataclasses, TypedDicts, Enums, msgspec Structs, pydantic models)
become ``components/schemas`` entries referenced by ``$ref``; msgspec and pydantic
types are described by their own libraries, so their constraints and aliases come
out exactly as those libraries validate them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import inspect
import typing
import uuid
from typing import Any

from ..binding.convert import array_spec, constraints_of
from ..binding.markers import Param
from ..binding.typeinfo import (
    NoneType,
    is_dataclass_type,
    is_literal,
    is_ndarray,
    is_pydantic,
    is_struct,
    is_typeddict,
    is_union,
    sequence_item,
    strip_annotated,
)

REF = "#/components/schemas/"

_SIMPLE: dict[Any, dict[str, Any]] = {
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    bool: {"type": "boolean"},
    bytes: {"type": "string", "format": "binary"},
    NoneType: {"type": "null"},
    None: {"type": "null"},
    dict: {"type": "object"},
    list: {"type": "array"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    dt.datetime: {"type": "string", "format": "date-time"},
    dt.date: {"type": "string", "format": "date"},
    dt.time: {"type": "string", "format": "time"},
    decimal.Decimal: {"type": "number"},
    Any: {},
    object: {},
}

_NUMBER_KEYWORDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum",
                    "multiple_of": "multipleOf"}


def _json_default(value: Any) -> Any:
    """A default as JSON, or ``...`` if it has no plain JSON form."""
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (bool, int, float, str)) for v in value):
        return list(value)
    return ...


class SchemaBuilder:
    """Builds schemas and collects the named ones in :attr:`components`."""

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Any]] = {}
        self._names: dict[Any, str] = {}

    # --------------------------------------------------------------- public

    def schema(self, tp: Any) -> dict[str, Any]:
        base, metadata = strip_annotated(tp)
        out = dict(self._plain(base, metadata))
        self.apply_constraints(out, metadata)
        return out

    def apply_constraints(self, out: dict[str, Any], metadata: tuple[Any, ...]) -> dict[str, Any]:
        constraints = constraints_of(metadata)
        kind = out.get("type")
        for name, value in constraints.items():
            if name in _NUMBER_KEYWORDS:
                out[_NUMBER_KEYWORDS[name]] = value
            elif name in ("min_length", "max_length"):
                prefix = "min" if name == "min_length" else "max"
                out[prefix + ("Items" if kind == "array" else "Length")] = value
            elif name == "pattern":
                out["pattern"] = value
        for item in metadata:
            if isinstance(item, Param) and item.description:
                out["description"] = item.description
        return out

    # ------------------------------------------------------------- builders

    def _plain(self, tp: Any, metadata: tuple[Any, ...]) -> dict[str, Any]:
        if tp in _SIMPLE:
            return _SIMPLE[tp]
        if is_ndarray(tp):
            return self._ndarray(tp, metadata)
        if is_literal(tp):
            values = [v.value if isinstance(v, enum.Enum) else v for v in typing.get_args(tp)]
            return {"enum": values}
        if is_union(tp):
            return {"anyOf": [self.schema(a) for a in typing.get_args(tp)]}
        if isinstance(tp, type) and (issubclass(tp, enum.Enum) or is_dataclass_type(tp) or is_typeddict(tp)
                                     or is_struct(tp) or is_pydantic(tp)):
            return {"$ref": REF + self._component(tp)}
        origin = typing.get_origin(tp)
        if origin is tuple:
            args = typing.get_args(tp)
            if args and not (len(args) == 2 and args[1] is Ellipsis):
                return {"type": "array", "prefixItems": [self.schema(a) for a in args],
                        "items": False, "minItems": len(args), "maxItems": len(args)}
        item = sequence_item(tp)
        if item is not None:
            out: dict[str, Any] = {"type": "array", "items": self.schema(item)}
            if origin in (set, frozenset) or tp in (set, frozenset):
                out["uniqueItems"] = True
            return out
        if origin is not None and origin in (dict, typing.get_origin(typing.Mapping[str, int])):
            args = typing.get_args(tp)
            return {"type": "object", "additionalProperties": self.schema(args[1]) if args else {}}
        if isinstance(tp, type):
            for simple, schema in _SIMPLE.items():
                if isinstance(simple, type) and simple not in (object,) and issubclass(tp, simple):
                    return schema
        return {}

    def _ndarray(self, tp: Any, metadata: tuple[Any, ...]) -> dict[str, Any]:
        shape, dtype = array_spec(tp, metadata)
        kind = getattr(dtype, "kind", "f")
        leaf: dict[str, Any] = ({"type": "boolean"} if kind == "b" else
                                {"type": "integer"} if kind in "iu" else {"type": "number"})
        if shape is None:
            return {"type": "array", "description": "a numeric array as nested lists"}
        out = leaf
        for size in reversed(shape):
            out = {"type": "array", "items": out}
            if size is not None:
                out["minItems"] = out["maxItems"] = size
        return out

    def _component(self, tp: type) -> str:
        if tp in self._names:
            return self._names[tp]
        name = tp.__name__
        if name in self.components:
            name = f"{tp.__module__}.{tp.__qualname__}".replace("<", "").replace(">", "")
        self._names[tp] = name
        self.components[name] = {}  # placeholder: recursive types refer to it
        if is_pydantic(tp):
            schema = tp.model_json_schema(ref_template=REF + "{model}")
            for key, value in schema.pop("$defs", {}).items():
                self.components.setdefault(key, value)
        elif is_struct(tp):
            import msgspec

            (schema,), defs = msgspec.json.schema_components((tp,), ref_template=REF + "{name}")
            for key, value in defs.items():
                self.components.setdefault(key, value)
            if "$ref" in schema:  # the Struct itself landed in defs under its own name
                schema = defs[schema["$ref"][len(REF):]]
        elif isinstance(tp, type) and issubclass(tp, enum.Enum):
            values = [member.value for member in tp]
            schema = {"title": name, "enum": values}
            if all(isinstance(v, str) for v in values):
                schema["type"] = "string"
            elif all(isinstance(v, int) for v in values):
                schema["type"] = "integer"
        else:
            schema = self._object(tp)
        self.components[name] = schema
        return name

    def _object(self, tp: type) -> dict[str, Any]:
        hints = typing.get_type_hints(tp, include_extras=True)
        properties: dict[str, Any] = {}
        required: list[str] = []
        if is_dataclass_type(tp):
            for f in dataclasses.fields(tp):
                prop = self.schema(hints.get(f.name, Any))
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    required.append(f.name)
                elif f.default is not dataclasses.MISSING and _json_default(f.default) is not ...:
                    prop["default"] = _json_default(f.default)
                properties[f.name] = prop
        else:  # TypedDict
            required = [k for k in hints if k in tp.__required_keys__]
            properties = {k: self.schema(v) for k, v in hints.items()}
        schema: dict[str, Any] = {"title": tp.__name__, "type": "object", "properties": properties}
        if required:
            schema["required"] = required
        doc = inspect.getdoc(tp)
        if doc and not doc.startswith(tp.__name__ + "("):  # skip the dataclass-generated signature
            schema["description"] = doc
        return schema


__all__ = ["SchemaBuilder"]
