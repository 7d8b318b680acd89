"""JSON in one place: encoding (orjson, numpy understood) and the one body parser.

:func:`loads_body` is what every place that reads a JSON body calls (``request.json()``,
typed bodies in binding, ML serving, MCP over HTTP and stdio, WebSocket JSON messages),
so a broken body gets the same answer everywhere: :class:`InvalidJSON`, which the app
turns into ``400 invalid_json`` and MCP into ``-32700``. Refused at parse time, with
the message naming the problem and where orjson says it is:

- bytes that are not UTF-8, a lone surrogate escape (``"\\ud800"``), a byte order mark;
- anything that is not JSON, including ``NaN``/``Infinity`` and a number too large for a
  double (``1e999``: orjson refuses it; it never becomes ``inf``);
- an integer with more digits than Python converts (``sys.get_int_max_str_digits()``,
  4,300 by default).

Numbers are exact: orjson holds integers in 64 bits and silently turns a larger literal
into a float (``10**30 + 1`` would arrive as ``1e30``). A body with a run of 19 or more
digits (cheap C-level scan) that looks like such an integer is parsed again by the
standard library, which keeps every integer exact; the fast path stays orjson.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
from typing import Any

import orjson

__all__ = ["InvalidJSON", "dumps", "loads", "loads_body"]

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


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """Encode ``value`` compactly; integers beyond 64 bits are written exactly.

    Anything that may hold a client's values (a body parsed by :func:`loads_body` keeps
    big integers exact) is encoded here, never with a bare ``orjson.dumps``, which
    refuses them.
    """
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS | (orjson.OPT_SORT_KEYS if sort_keys else 0))
    except TypeError as exc:
        if "64-bit" not in str(exc):
            raise
    return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys,
                      allow_nan=False).encode("utf-8")


def _plain(value: Any) -> Any:
    """``value`` as plain JSON types for the standard library encoder (the rare path of a
    response holding an integer orjson cannot write); non-finite floats become null,
    as orjson writes them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, dict):
        return {k if isinstance(k, (str, int, float, bool)) or k is None else str(k): _plain(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    try:
        return orjson.loads(orjson.dumps(value, default=_default, option=_OPTIONS))
    except TypeError:
        return _plain(_default(value))


#: Plain orjson decoding, for data Conduit wrote itself (stores, sessions); bodies use
#: :func:`loads_body`.
loads = orjson.loads


class InvalidJSON(ValueError):
    """A body (or message) that is not valid UTF-8 JSON; ``str()`` names the problem.

    ``position`` is the character offset orjson reports (None when unknown). HTTP
    answers it with ``status_code`` and ``error_type`` (400 ``invalid_json``); MCP
    with -32700; a WebSocket closes with 1007.
    """

    status_code = 400
    error_type = "invalid_json"

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


# Digits -> "0", everything else -> " ": ``_LONG_RUN in body.translate(_DIGITS)`` finds a
# run of 19 digits in two C loops (19 digits can already overflow int64 when negative).
_DIGITS = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_RUN = b"0" * 19
# An integer literal of 19+ digits: not part of a fraction or an exponent.
_LONG_INTEGER = re.compile(rb"(?<![0-9.eE+\-])-?[0-9]{19,}(?![0-9.eE])")


def _refuse_constant(name: str) -> Any:
    raise InvalidJSON(f"invalid JSON: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (_INF, -_INF):
        raise InvalidJSON(f"invalid JSON: the number {text[:40]} is too large for a double")
    return value


_INF = float("inf")


def _exact_int(text: str) -> int:
    limit = sys.get_int_max_str_digits()
    digits = len(text) - text.startswith("-")
    if limit and digits > limit:
        raise InvalidJSON(f"invalid JSON: an integer with {digits} digits; at most {limit} are accepted")
    return int(text)


def _refuse_lone_surrogates(value: Any) -> None:
    # The standard library decodes "\ud800" to a lone surrogate that no UTF-8 encoder
    # accepts later; orjson refuses it at parse time, and so must this path.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings: Any = (item,)
        elif isinstance(item, dict):
            strings = item.keys()
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
            continue
        else:
            continue
        for text in strings:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidJSON("invalid JSON: a string holds a lone surrogate escape") from None


def _exact(raw: bytes, validated: bool) -> Any:
    """Parse with the standard library, which keeps integers exact.

    ``validated``: orjson accepted ``raw`` (so it is UTF-8 JSON without NaN, lone
    surrogates or infinite numbers) and only the numbers need re-reading; otherwise
    orjson stopped at an integer too large for a double and the rest is checked here.
    """
    try:
        value = json.loads(raw.decode("utf-8"), parse_int=_exact_int, parse_float=_finite_float,
                           parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise InvalidJSON(f"invalid JSON: not valid UTF-8 ({exc.reason}) at byte {exc.start}", exc.start) from None
    except json.JSONDecodeError as exc:
        raise InvalidJSON(f"invalid JSON: {exc}", exc.pos) from None
    except RecursionError:  # orjson allows 1,024 levels, the standard library's C scanner fewer
        raise InvalidJSON("invalid JSON: nested too deeply") from None
    if not validated:
        _refuse_lone_surrogates(value)
    return value


def _as_bytes(body: bytes | bytearray | memoryview | str) -> bytes:
    return body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)


def loads_body(body: bytes | bytearray | memoryview | str) -> Any:
    """Decode one JSON document exactly; raise :class:`InvalidJSON` naming the problem.

    >>> loads_body(b'{"n": 100000000000000000000000000000001}')
    {'n': 100000000000000000000000000000001}
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        # orjson reads an integer beyond 64 bits as a double: past 1e308 it calls that
        # "infinity" although the literal is an exact (long) integer.
        if str(exc).startswith("number is infinity"):
            raw = _as_bytes(body)
            if _LONG_INTEGER.search(raw):
                return _exact(raw, validated=False)
        raise InvalidJSON(f"invalid JSON: {exc}", exc.pos) from None
    if len(body) < 19:
        return value
    raw = body if type(body) is bytes else _as_bytes(body)
    if _LONG_RUN in raw.translate(_DIGITS) and _LONG_INTEGER.search(raw):
        return _exact(raw, validated=True)
    return value
