"""Plain JSON values from what MCP user functions return (dataclasses, enums, models, arrays).

One conversion for everything the MCP layer puts on the wire: tool results and
structured content (:mod:`.content`) and schema defaults (:mod:`.schema`). It has a
module of its own, below both, so that neither imports the other for it.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any


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


__all__ = ["to_jsonable"]
