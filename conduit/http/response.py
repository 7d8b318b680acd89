"""Responses: a status, headers and a body, rendered to bytes.

Subclasses differ by media type and ``render`` only. Streaming responses carry an
iterator instead of a body; the server decides how to pace and stop it.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

from ..anyloop import shielded

from .._json import dumps
from .cookies import set_cookie_header
from .sse import PING, encode_event

HeadersInput = Mapping[str, str] | Iterable[tuple[str, str]] | None


def _header_list(headers: HeadersInput) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]


_content_types: dict[tuple[str, str], str] = {}


def _content_type(media_type: str, charset: str) -> str:
    """The Content-Type value of a media type: text types get the charset (cached)."""
    value = _content_types.get((media_type, charset))
    if value is None:
        value = media_type
        if media_type.startswith("text/") and "charset" not in media_type:
            value += f"; charset={charset}"
        if len(_content_types) < 256:
            _content_types[(media_type, charset)] = value
    return value


class Response:
    """A complete response. ``content`` is rendered once, at construction."""

    media_type: str | None = None
    charset = "utf-8"
    #: An async callable the server awaits after the response is sent (BackgroundTasks).
    background: Any = None
    #: Async callables the server awaits once the response is sent, or abandoned when the
    #: client goes away (after ``background``): uploads are closed and removed here.
    after_send: tuple = ()

    def __init__(self, content: Any = b"", status_code: int = 200,
                 headers: HeadersInput = None, media_type: str | None = None):
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.body = self.render(content)
        if headers is None:  # the common case: only the media type's header
            media_type = self.media_type
            self.headers = [] if media_type is None else [("content-type", _content_type(media_type, self.charset))]
            return
        self.headers = _header_list(headers)
        if self.media_type is not None and not self.has_header("content-type"):
            self.headers.append(("content-type", _content_type(self.media_type, self.charset)))

    async def run_after_send(self) -> None:
        """Await every ``after_send`` callable, shielded: a cancelled send still cleans up.

        Nothing to run (the common case) costs no cancel scope.
        """
        if not self.after_send:
            return
        with shielded():
            for callback in self.after_send:
                await callback()

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        if isinstance(content, bytes):
            return content
        if isinstance(content, (bytearray, memoryview)):
            return bytes(content)
        if isinstance(content, str):
            return content.encode(self.charset)
        raise TypeError(f"{type(self).__name__} content must be bytes or str, got {type(content).__name__}")

    def has_header(self, name: str) -> bool:
        name = name.lower()
        return any(k.lower() == name for k, _ in self.headers)

    def get_header(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), default)

    def set_header(self, name: str, value: str) -> None:
        """Replace every header of that name with one value."""
        lowered = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lowered]
        self.headers.append((name, value))

    def set_cookie(self, key: str, value: str = "", *, max_age: int | None = None,
                   expires: Any = None, path: str | None = "/", domain: str | None = None,
                   secure: bool = False, httponly: bool = False, samesite: str | None = "lax",
                   partitioned: bool = False) -> None:
        """Add a ``Set-Cookie`` header; ``ValueError`` names an invalid name, value or attribute."""
        self.headers.append(("set-cookie", set_cookie_header(
            key, value, max_age=max_age, expires=expires, path=path, domain=domain, secure=secure,
            httponly=httponly, samesite=samesite, partitioned=partitioned)))

    def delete_cookie(self, key: str, *, path: str | None = "/", domain: str | None = None,
                      secure: bool = False, httponly: bool = False, samesite: str | None = "lax") -> None:
        """Tell the client to drop ``key`` (empty value, ``Max-Age=0``, an expiry in the past)."""
        self.set_cookie(key, "", max_age=0, expires=0, path=path, domain=domain, secure=secure,
                        httponly=httponly, samesite=samesite)

    def prepare(self, request: Any) -> "Response":
        """The response to send for ``request``; conditional and range responses override it."""
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status_code}>"


class PlainTextResponse(Response):
    """A text body, ``text/plain; charset=utf-8`` (what a handler returning ``str`` gets)."""

    media_type = "text/plain"


class HTMLResponse(Response):
    """An HTML page, ``text/html; charset=utf-8``."""

    media_type = "text/html"


class RedirectResponse(Response):
    """A redirect to ``url`` (307 by default: the method and body are kept, RFC 9110 §15.4.8)."""

    def __init__(self, url: str, status_code: int = 307, headers: HeadersInput = None):
        if status_code not in (301, 302, 303, 307, 308):
            raise ValueError(f"a redirect status is 301, 302, 303, 307 or 308, got {status_code!r}")
        # Keep reserved characters (an absolute URL, a query) and escape the rest, as
        # browsers do; CR/LF can never reach the header.
        location = quote(str(url), safe=":/%#?=@[]!$&'()*+,;~")
        super().__init__(b"", status_code, headers)
        self.set_header("location", location)


class JSONResponse(Response):
    """JSON via orjson; numpy arrays and scalars, dataclasses and datetimes encode natively."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


class StreamingResponse(Response):
    """A body produced by a sync or async iterable of ``bytes``/``str``, sent chunked.

    The server closes the iterator when the client disconnects. A sync iterator is
    advanced in a worker thread so that a slow producer never stalls the server.
    """

    #: Seconds of producer silence after which the server sends :attr:`ping_bytes`.
    ping_interval: float | None = None
    ping_bytes = b""
    #: The body's exact length when known in advance (a file): the server declares it in
    #: ``Content-Length`` instead of chunking, and aborts the connection if the stream
    #: ends short of it, so the client cannot take a truncated body for a whole one.
    content_length: int | None = None

    def __init__(self, content: Iterable[Any] | AsyncIterable[Any], status_code: int = 200,
                 headers: HeadersInput = None, media_type: str | None = None):
        if not isinstance(content, (Iterable, AsyncIterable)) or isinstance(content, (str, bytes)):
            raise TypeError(f"{type(self).__name__} needs an iterable of chunks, got {type(content).__name__}")
        self.iterable = content
        super().__init__(b"", status_code, headers, media_type)

    def encode_chunk(self, chunk: Any) -> bytes:
        if isinstance(chunk, str):
            return chunk.encode(self.charset)
        if isinstance(chunk, (bytes, bytearray, memoryview)):
            return bytes(chunk)
        raise TypeError(f"stream chunks must be bytes or str, got {type(chunk).__name__}")


class EventSourceResponse(StreamingResponse):
    """Server-Sent Events from a sync or async iterable of ``str`` or event dicts.

    Items are encoded by :func:`conduit.http.sse.encode_event`; a ``: ping`` comment
    goes out after ``ping_interval`` seconds without an event.
    """

    media_type = "text/event-stream"
    ping_bytes = PING

    def __init__(self, content: Iterable[Any] | AsyncIterable[Any], status_code: int = 200,
                 headers: HeadersInput = None, ping_interval: float | None = 15.0):
        super().__init__(content, status_code, headers)
        self.ping_interval = ping_interval
        for name, value in (("cache-control", "no-cache"), ("x-accel-buffering", "no")):
            if not self.has_header(name):
                self.headers.append((name, value))

    def encode_chunk(self, chunk: Any) -> bytes:
        return encode_event(chunk)
