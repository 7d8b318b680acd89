"""JSON encoding in one place: orjson, with numpy arrays and scalars understood."""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    # Reached for what orjson cannot encode natively: non-contiguous or exotic numpy
    # arrays, numpy scalars of odd dtypes, sets, and objects exposing ``tolist``/``_asdict``.
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "_asdict"):
        return value._asdict()
    if hasattr(value, "model_dump"):  # pydantic v2 models
        return value.model_dump(mode="json")
    if hasattr(value, "__struct_fields__"):  # msgspec Structs
        return {f: getattr(value, f) for f in value.__struct_fields__}
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=_OPTIONS)


loads = orjson.loads
