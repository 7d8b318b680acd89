"""The one type layer: annotations -> JSON Schema and validators, with one error vocabulary.

Every part of Conduit that reads annotations goes through this package: the HTTP
binder, the OpenAPI document, MCP tool schemas and :mod:`conduit.validation`.
It imports nothing else of Conduit (no app, binding, openapi or mcp), so every
one of them can build on it::

    codes.py        the error codes (``int_parsing``, ``greater_than_equal``...) with their meanings
    errors.py       Invalid, INVALID, Unsupported, error entries and ``loc`` lists
    kinds.py        what kind of annotation is this (union, TypedDict, Struct, ndarray...), which constraints fit
    constraints.py  Constraints (the base of every marker), Array, the constraint table
    text.py         str -> value converters (the one bool, int and float parser)
    scalars.py      JSON scalar validators and schemas (int, float, str, bool, UUID, dates, Decimal, bytes)
    arrays.py       ndarray specs: schema and checked conversion
    walker.py       TypeWalker: one walk -> Node(schema, validate)
    models.py       Enum, dataclass, TypedDict, msgspec and pydantic components
    fields.py       text fields (query, header, cookie, path, form values)
"""

from . import codes
from .constraints import Array, Constraints, constraints_of
from .errors import INVALID, Invalid, Unsupported, as_loc
from .fields import TextField, text_field
from .text import parse_bool, parse_float, parse_int, text_converter
from .walker import Node, TypeWalker, json_default

__all__ = ["INVALID", "Array", "Constraints", "Invalid", "Node", "TextField", "TypeWalker", "Unsupported", "as_loc",
           "codes", "constraints_of", "json_default", "parse_bool", "parse_float", "parse_int", "text_converter",
           "text_field"]
