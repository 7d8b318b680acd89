"""Plain JSON values from what user functions return (dataclasses, enums, models, arrays).

One conversion for everything the type layer's validators take back in: MCP tool
results, structured content and schema defaults, and a route's return value before
its ``response_model`` checks it (:mod:`conduit.binding.response_model`).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Convert dataclasses, Structs, models, enums, dates, bytes (base64), tuples and sets to JSON values.

    The inverse of the type layer's JSON validators: what a tool returns in the
    shape its output schema describes.
    """
    if isinstance(value, enum.Enum):  # before str/int: a `class Genre(str, Enum)` member is both
        return to_jsonable(value.value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if hasattr(value, "__struct_fields__"):
        import msgspec
        return to_jsonable(msgspec.to_builtins(value))
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


__all__ = ["to_jsonable"]
