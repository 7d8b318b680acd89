"""The one error vocabulary: every ``type`` a validation error entry may carry.

A failing field is reported as ``{"loc": [...], "msg": "...", "type": CODE}``:
``loc`` is a list of keys and indexes from the request root (``["query", "page"]``,
``["body", "items", 3, "price"]``, ``["arguments", "k"]`` for an MCP tool), ``msg``
is for people and ``type`` is one of the codes below, for programs. The names
follow pydantic's, so clients that know FastAPI's 422s read ours.

HTTP (422 ``detail``), MCP (-32602 ``data``), :mod:`conduit.validation` and ML
serving all use this table; ``docs/errors.md`` is tested against it.
"""

from __future__ import annotations

MISSING = "missing"
EXTRA_FORBIDDEN = "extra_forbidden"
INT_PARSING = "int_parsing"
INT_TYPE = "int_type"
FLOAT_PARSING = "float_parsing"
FLOAT_TYPE = "float_type"
FINITE_NUMBER = "finite_number"
BOOL_PARSING = "bool_parsing"
BOOL_TYPE = "bool_type"
STRING_TYPE = "string_type"
STRING_TOO_SHORT = "string_too_short"
STRING_TOO_LONG = "string_too_long"
STRING_PATTERN_MISMATCH = "string_pattern_mismatch"
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
GREATER_THAN = "greater_than"
GREATER_THAN_EQUAL = "greater_than_equal"
LESS_THAN = "less_than"
LESS_THAN_EQUAL = "less_than_equal"
MULTIPLE_OF = "multiple_of"
ENUM = "enum"
NONE_REQUIRED = "none_required"
UUID_PARSING = "uuid_parsing"
DATE_PARSING = "date_parsing"
DATETIME_PARSING = "datetime_parsing"
TIME_PARSING = "time_parsing"
DECIMAL_PARSING = "decimal_parsing"
BYTES_TYPE = "bytes_type"
BYTES_INVALID_ENCODING = "bytes_invalid_encoding"
DICT_TYPE = "dict_type"
LIST_TYPE = "list_type"
SET_ITEM_NOT_HASHABLE = "set_item_not_hashable"
MODEL_TYPE = "model_type"
UNION_TYPE = "union_type"
ARRAY_SHAPE = "array_shape"
ARRAY_DTYPE = "array_dtype"
ARRAY_SIZE = "array_size"
VALUE_ERROR = "value_error"

#: Every code with its one-line meaning (the table in docs/errors.md).
MEANINGS: dict[str, str] = {
    MISSING: "a required field, parameter or argument is absent",
    EXTRA_FORBIDDEN: "a field or argument that is not declared (where extras are refused)",
    INT_PARSING: "text that is not a decimal integer (or has more than 4,300 digits)",
    INT_TYPE: "a JSON value that is not an integer (a bool, a string, a fractional or inexact number)",
    FLOAT_PARSING: "text that is not a decimal number",
    FLOAT_TYPE: "a JSON value that is not a number",
    FINITE_NUMBER: "a number that is infinite or NaN (1e999 included) where a finite one is required",
    BOOL_PARSING: "text that is not one of true/false/1/0/yes/no/on/off",
    BOOL_TYPE: "a JSON value that is not a boolean",
    STRING_TYPE: "a value that is not a string",
    STRING_TOO_SHORT: "a string shorter than min_length",
    STRING_TOO_LONG: "a string longer than max_length",
    STRING_PATTERN_MISMATCH: "a string that does not match pattern",
    TOO_SHORT: "a list (or object) with fewer than min_length items",
    TOO_LONG: "a list (or object) with more than max_length items",
    GREATER_THAN: "a number not greater than gt",
    GREATER_THAN_EQUAL: "a number less than ge",
    LESS_THAN: "a number not less than lt",
    LESS_THAN_EQUAL: "a number greater than le",
    MULTIPLE_OF: "a number that is not a multiple of multiple_of",
    ENUM: "a value that is not one of an Enum's or a Literal's values",
    NONE_REQUIRED: "a value other than null where only null is allowed",
    UUID_PARSING: "a string that is not a UUID",
    DATE_PARSING: "a string that is not an ISO 8601 date",
    DATETIME_PARSING: "a string that is not an ISO 8601 / RFC 3339 date-time",
    TIME_PARSING: "a string that is not an ISO 8601 time",
    DECIMAL_PARSING: "a value that is not a finite decimal number (number or numeric string)",
    BYTES_TYPE: "a value that is not a string (bytes travel as base64 text)",
    BYTES_INVALID_ENCODING: "a string that is not valid base64",
    DICT_TYPE: "a value that is not a JSON object (or a key that does not convert)",
    LIST_TYPE: "a value that is not a JSON array (or an array of the wrong length for a tuple)",
    SET_ITEM_NOT_HASHABLE: "an item of a set that cannot be hashed",
    MODEL_TYPE: "a value that is not a JSON object where a model (dataclass, TypedDict, Struct, pydantic) is expected",
    UNION_TYPE: "a value that matches none of the members of a union",
    ARRAY_SHAPE: "an array with the wrong shape, the wrong number of dimensions, or ragged rows",
    ARRAY_DTYPE: "an array whose items do not fit the dtype (non-numbers, fractions for integers, out of range)",
    ARRAY_SIZE: "an array with more elements than max_size",
    VALUE_ERROR: "a custom check failed: a pydantic/msgspec validator, __post_init__, or a model constraint",
}

__all__ = sorted(name for name in dir() if name.isupper()) + ["MEANINGS"]
