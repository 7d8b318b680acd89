"""Server-Sent Events wire format (WHATWG HTML, "Server-sent events" §9.2).

Owns only the encoding of one event to bytes; timing (keep-alive comments) and
disconnects belong to whoever sends the bytes.
"""

from __future__ import annotations

from typing import Any

from .._json import dumps

#: A comment line: ignored by clients, keeps proxies from closing an idle stream.
PING = b": ping\n\n"

_FIELDS = ("event", "id", "retry")


def _clean(value: Any, field: str) -> str:
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError(f"SSE field {field!r} must be one line, got {text!r}")
    return text


def encode_event(item: Any) -> bytes:
    """Encode one event.

    ``item`` is a ``str`` (the data), or a dict with any of ``data``, ``event``,
    ``id``, ``retry`` (and ``comment``). Non-string data is sent as JSON. Multi-line
    data becomes several ``data:`` lines, as the spec requires.
    """
    if isinstance(item, (bytes, bytearray)):
        item = bytes(item).decode()
    if isinstance(item, str):
        item = {"data": item}
    elif not isinstance(item, dict):
        raise TypeError(f"an SSE event must be a str or a dict, got {type(item).__name__}")
    lines = []
    if "comment" in item:
        lines += [f": {line}" for line in str(item["comment"]).splitlines() or [""]]
    for field in _FIELDS:
        if item.get(field) is not None:
            lines.append(f"{field}: {_clean(item[field], field)}")
    if "data" in item:
        data = item["data"]
        if not isinstance(data, str):
            data = dumps(data).decode()
        lines += [f"data: {line}" for line in data.splitlines() or [""]]
    unknown = set(item) - {"data", "comment", *_FIELDS}
    if unknown:
        raise ValueError(f"unknown SSE event fields: {sorted(unknown)}")
    return ("\n".join(lines) + "\n\n").encode()
