"""What :class:`~conduit.http.h1.HTTP1Codec` hands back: events, and the one protocol error.

The events are plain slotted objects (the hot path builds one per request);
:data:`NEED_DATA` is a sentinel meaning "feed me more bytes".
"""

from __future__ import annotations

import enum


class _Sentinel(enum.Enum):
    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return self.value


#: ``next_event()`` needs more bytes before it can say anything.
NEED_DATA = _Sentinel.NEED_DATA


class ProtocolError(Exception):
    """The peer broke HTTP/1.1: answer ``status`` (when still possible), then close.

    Carries its status like h11's ``error_status_hint``, so one place maps it to
    a response.
    """

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


class RequestHead:
    """A parsed, validated request head.

    ``headers`` are ``(lower-case name, value)`` byte pairs in arrival order;
    ``path`` and ``query`` are the raw (still percent-encoded) parts of the target,
    the path taken from an absolute-form target when there is one.
    """

    __slots__ = ("method", "target", "path", "query", "headers", "http_version",
                 "content_length", "chunked", "keep_alive", "expect_continue")

    def __init__(self, method: str, target: bytes, path: bytes, query: bytes,
                 headers: list[tuple[bytes, bytes]], http_version: str, content_length: int,
                 chunked: bool, keep_alive: bool, expect_continue: bool):
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.headers = headers
        self.http_version = http_version
        #: The declared body length; -1 when there is none (or the body is chunked).
        self.content_length = content_length
        self.chunked = chunked
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue

    def fields(self) -> tuple:
        """Every field, for comparing heads (the two parsers must agree)."""
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RequestHead) and self.fields() == other.fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<RequestHead {self.method} {self.target!r} HTTP/{self.http_version}>"


class Data:
    """A piece of the request body."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Data) and self.data == other.data

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Data {len(self.data)} bytes>"


class EndOfMessage:
    """The request body is complete (trailers, if any, were checked and dropped)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EndOfMessage)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "<EndOfMessage>"


END_OF_MESSAGE = EndOfMessage()
