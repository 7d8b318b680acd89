"""``numpy.ndarray`` annotations: nested JSON lists in, a checked C-contiguous array out.

The shape and dtype come from an :class:`~conduit.types.constraints.Array` marker
(``Annotated[np.ndarray, Array(shape=(None, 4), dtype="float32")]``) or from
``numpy.typing.NDArray[np.float32]``. The same spec yields the JSON Schema (nested
arrays of numbers with fixed sizes) and the converter, which checks at the boundary
what kernels must never see: ragged rows, booleans or strings among numbers, a
wrong shape, fractions for an integer dtype, values out of the dtype's range,
NaN or infinity, and more elements than ``max_size``.
"""

from __future__ import annotations

import typing
from typing import Any

from . import codes
from .constraints import Array
from .errors import Errors, Loc, Validator, error, got

_KINDS = {"b": "booleans", "i": "integers", "u": "unsigned integers", "f": "numbers", "c": "complex numbers"}


def array_spec(tp: Any, metadata: tuple[Any, ...]) -> Array:
    """The :class:`Array` spec of an ndarray annotation (an explicit marker wins over ``NDArray[dtype]``)."""
    import numpy as np

    dtype = None
    args = typing.get_args(tp)
    if len(args) == 2:
        dtype_args = typing.get_args(args[1])
        if dtype_args and dtype_args[0] is not Any:
            dtype = np.dtype(dtype_args[0])
    spec = Array(dtype=dtype)
    for item in metadata:
        if isinstance(item, Array):
            spec = Array(shape=tuple(item.shape) if item.shape is not None else spec.shape,
                         dtype=item.dtype if item.dtype is not None else spec.dtype, ndim=item.ndim,
                         max_size=item.max_size, allow_nan=item.allow_nan, description=item.description)
    if spec.dtype is not None:
        np.dtype(spec.dtype)  # an unknown dtype fails at registration
    return spec


def array_schema(spec: Array) -> dict[str, Any]:
    """Nested arrays with fixed sizes where the shape fixes them; items typed by the dtype's kind."""
    import numpy as np

    kind = np.dtype(spec.dtype).kind if spec.dtype is not None else "f"
    leaf: dict[str, Any] = ({"type": "boolean"} if kind == "b" else
                            {"type": "integer"} if kind in "iu" else {"type": "number"})
    shape = spec.shape
    if shape is None and spec.ndim is not None:
        shape = (None,) * spec.ndim
    if shape is None:
        out: dict[str, Any] = {"type": "array", "description": "a numeric array as nested lists"}
    else:
        out = leaf
        for size in reversed(shape):
            out = {"type": "array", "items": out}
            if size is not None:
                out["minItems"] = out["maxItems"] = size
    if spec.description:
        out["description"] = spec.description
    return out


def _has_bool(value: Any) -> bool:
    """True if nested lists hold a JSON boolean (numpy would silently read it as 0/1)."""
    if type(value) is not list:
        return type(value) is bool
    if value and type(value[0]) is list:
        return any(_has_bool(row) for row in value)
    return bool in set(map(type, value))


def _pretty(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("*" if d is None else str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def check_array(value: Any, loc: Loc, errors: Errors, spec: Array) -> Any:
    """``value`` (nested lists or an array) as a checked array, or INVALID with one entry."""
    import numpy as np

    target = np.dtype(spec.dtype) if spec.dtype is not None else None
    if isinstance(value, (str, bytes, dict)) or value is None:
        return error(errors, loc, f"expected an array (nested lists), got {got(value)}", codes.LIST_TYPE)
    try:
        with np.errstate(all="ignore"):
            array = np.asarray(value)  # no dtype yet: null or strings must not become NaN
    except (ValueError, TypeError, OverflowError):
        return error(errors, loc, "not a valid array: ragged rows or mixed items", codes.ARRAY_SHAPE)
    if array.dtype == object or array.dtype.kind in "USVMm":
        if array.dtype == object and any(type(v) is list for v in np.ravel(array)[:64].tolist()):
            return error(errors, loc, "not a valid array: ragged rows", codes.ARRAY_SHAPE)
        return error(errors, loc, "array items must be numbers", codes.ARRAY_DTYPE)
    source = array.dtype.kind
    if source not in _KINDS:
        return error(errors, loc, f"unsupported element type {array.dtype}", codes.ARRAY_DTYPE)
    wants_bool = target is not None and target.kind == "b"
    if not wants_bool and (source == "b" or type(value) is list and _has_bool(value)):
        return error(errors, loc, "array items must be numbers, not booleans", codes.ARRAY_DTYPE)
    if spec.max_size is not None and array.size > spec.max_size:
        return error(errors, loc, f"has {array.size} elements, more than {spec.max_size}", codes.ARRAY_SIZE)
    shape = spec.shape
    if array.size == 0 and shape is not None and array.ndim < len(shape):
        array = array.reshape((0,) + tuple(d or 0 for d in shape[1:]))
    if spec.ndim is not None and array.ndim != spec.ndim:
        return error(errors, loc, f"expected {spec.ndim} dimensions, got {array.ndim}", codes.ARRAY_SHAPE)
    if shape is not None and (array.ndim != len(shape) or any(
            want is not None and want != have for want, have in zip(shape, array.shape))):
        return error(errors, loc, f"expected shape {_pretty(shape)}, got {tuple(array.shape)}", codes.ARRAY_SHAPE)
    if target is None:
        target = array.dtype if source in "iuf" else np.dtype("float64") if source == "c" else array.dtype
        if source == "c":
            return error(errors, loc, "array items must be real numbers, got complex", codes.ARRAY_DTYPE)
    if target.kind in "iu" and source == "f":
        if not np.all(np.isfinite(array)) or not np.all(np.floor(array) == array):
            return error(errors, loc, f"expected {_KINDS[target.kind]}, got non-integers", codes.ARRAY_DTYPE)
    elif target.kind == "b" and source != "b":
        return error(errors, loc, f"expected booleans, got {_KINDS[source]}", codes.ARRAY_DTYPE)
    elif target.kind in "iuf" and source == "c":
        return error(errors, loc, f"expected {_KINDS[target.kind]}, got complex numbers", codes.ARRAY_DTYPE)
    if target.kind in "iu" and array.size and source != "b":
        info = np.iinfo(target)
        if array.min() < info.min or array.max() > info.max:
            return error(errors, loc, f"values out of range for {target}", codes.ARRAY_DTYPE)
    with np.errstate(over="ignore", invalid="ignore"):
        converted = np.ascontiguousarray(array, dtype=target)
    if target.kind in "fc" and not spec.allow_nan and converted.size and not np.all(np.isfinite(converted)):
        return error(errors, loc, f"must hold finite numbers (no NaN or infinity, or overflow for {target})",
                     codes.FINITE_NUMBER)
    return converted


def array_validator(spec: Array) -> Validator:
    def validate(value: Any, loc: Loc, errors: Errors) -> Any:
        return check_array(value, loc, errors, spec)
    return validate


__all__ = ["array_schema", "array_spec", "array_validator", "check_array"]
