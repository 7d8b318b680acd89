"""The one rule for which request bodies are JSON (docs/requests.md, "Which bodies are JSON").

Typed bodies, ``request.json()``, ``app.predict``, RAG routes and MCP over HTTP all ask
this module, so one request gets one answer everywhere:

* ``application/json`` or any ``+json`` type: parsed as JSON (400 if it is not JSON);
* no ``Content-Type``: parsed as JSON (400 if it is not JSON);
* ``application/x-www-form-urlencoded`` whose body parses as JSON: JSON. This is what
  ``curl -d '{"a": 1}'`` sends, and the README's own curl lines must work as written;
  a real form (``a=1&b=2``) cannot parse as JSON, so it is refused with 415, not misread;
* any other type (``text/plain``, ``multipart/form-data``, ``application/xml``): 415.

Why lenient and not strict: a body that parses as JSON under a form content type is
unambiguous (no form encoder writes ``{`` first), and refusing it only breaks ``curl -d``,
which is how most people first try an API. Browsers cannot use it to skip a CORS
preflight any more than they already could with ``text/plain``, which stays refused.
"""

from __future__ import annotations

from typing import Any

from .._json import InvalidJSON, loads_body

URLENCODED = "application/x-www-form-urlencoded"


def media_type(content_type: str | None) -> str:
    """``"application/json"`` from ``"Application/JSON; charset=utf-8"``; ``""`` when absent."""
    return (content_type or "").partition(";")[0].strip().lower()


def is_json_media(media: str) -> bool:
    """``application/json`` or a structured ``+json`` type (RFC 6839)."""
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def refusal(media: str, form_body: bool = False) -> str:
    """The 415 detail for a body the rule does not take as JSON (HTTP and MCP say the same)."""
    if form_body:
        return (f"this endpoint accepts JSON; the body was sent as {URLENCODED} and is not JSON "
                "(send a JSON document, with Content-Type: application/json)")
    return f"this endpoint accepts JSON (application/json), got {media}; send Content-Type: application/json"


def decode_json_body(raw: bytes, content_type: str | None) -> Any:
    """``raw`` decoded under the rule above: :class:`~conduit.exceptions.UnsupportedMediaType`
    (415) or :class:`~conduit._json.InvalidJSON` (400) when it cannot be."""
    media = media_type(content_type)
    if not media or is_json_media(media):
        return loads_body(raw)
    form_body = media == URLENCODED
    if form_body:
        try:
            return loads_body(raw)
        except InvalidJSON:
            pass
    from ..exceptions import UnsupportedMediaType  # the exceptions import this package's responses

    raise UnsupportedMediaType(detail=refusal(media, form_body))


__all__ = ["URLENCODED", "decode_json_body", "is_json_media", "media_type", "refusal"]
