"""Streaming form parsing with limits, for urlencoded and multipart bodies.

The body is read chunk by chunk from ``request.stream()`` and fed to
python-multipart; its callbacks only record events, which are then applied here
(so file writes may await a worker thread). Every limit is checked as bytes
arrive and raises :class:`~conduit.exceptions.PayloadTooLarge` (413) naming the
limit; a malformed body is a 400. On any failure, and when the client goes away
mid-upload, the files spooled so far are closed (and so removed) before the error
propagates.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from python_multipart.exceptions import MultipartParseError, QuerystringParseError
from python_multipart.multipart import MultipartParser, QuerystringParser, parse_options_header

from ..exceptions import BadRequest, PayloadTooLarge, UnsupportedMediaType
from ..http.datastructures import Headers
from .upload import UploadFile

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class FormLimits:
    """Bounds on one form body; a route sets its own with ``form_limits=FormLimits(...)``.

    ``max_total_size`` counts the whole body as it arrives (``None``: only the server's
    or the route's ``max_body_size`` applies). ``spool_max_size`` is the size past which
    a file leaves memory for a temporary file.
    """

    max_parts: int = 1000
    max_field_size: int = 1024 * 1024
    max_file_size: int | None = None
    max_total_size: int | None = None
    spool_max_size: int = 1024 * 1024

    def __post_init__(self) -> None:
        for name in ("max_parts", "max_field_size", "max_file_size", "max_total_size", "spool_max_size"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"FormLimits.{name} must be a non-negative int, got {value!r}")


DEFAULT_LIMITS = FormLimits()


class FormData(Mapping[str, Any]):
    """Form fields (``str``) and files (:class:`UploadFile`) by name; ``getlist`` for repeats."""

    def __init__(self, items: list[tuple[str, Any]] | None = None):
        self._items = list(items or [])
        self._first: dict[str, Any] = {}
        for key, value in self._items:
            self._first.setdefault(key, value)

    def __getitem__(self, key: str) -> Any:
        return self._first[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def getlist(self, key: str) -> list[Any]:
        return [v for k, v in self._items if k == key]

    def multi_items(self) -> list[tuple[str, Any]]:
        return list(self._items)

    def files(self) -> list[UploadFile]:
        return [v for _, v in self._items if isinstance(v, UploadFile)]

    async def close(self) -> None:
        """Close every file (closing a spooled temporary file removes it)."""
        for upload in self.files():
            await upload.close()

    def __repr__(self) -> str:
        return f"FormData({self._items!r})"


def form_media_type(content_type: str | None) -> tuple[str, dict[bytes, bytes]]:
    media, options = parse_options_header(content_type or "")
    return media.decode("latin-1").lower(), options


def _too_large(limit: str, value: int, what: str) -> PayloadTooLarge:
    return PayloadTooLarge(detail=f"{what} exceeds the form limit {limit}={value} "
                                  f"(raise it with form_limits=FormLimits({limit}=...) on the route)")


async def parse_form(request: Any, limits: FormLimits = DEFAULT_LIMITS) -> FormData:
    """Read ``request``'s body as a form (urlencoded or multipart) within ``limits``."""
    media, options = form_media_type(request.headers.get("content-type"))
    if media == MULTIPART:
        boundary = options.get(b"boundary")
        if not boundary:
            raise BadRequest(detail="multipart/form-data body without a boundary parameter")
        return await _Multipart(boundary, limits).parse(request)
    if media == URLENCODED:
        return await _parse_urlencoded(request, limits)
    raise UnsupportedMediaType(detail=f"expected {URLENCODED} or {MULTIPART}, got {media or 'no content type'}")


class _Total:
    """The running body size against ``max_total_size``."""

    def __init__(self, limits: FormLimits):
        self.limit = limits.max_total_size
        self.seen = 0

    def add(self, chunk: bytes) -> None:
        self.seen += len(chunk)
        if self.limit is not None and self.seen > self.limit:
            raise _too_large("max_total_size", self.limit, "the form body")


async def _parse_urlencoded(request: Any, limits: FormLimits) -> FormData:
    items: list[tuple[str, str]] = []
    name = bytearray()
    value = bytearray()
    current = [name]

    def on_field_start() -> None:
        name.clear()
        value.clear()
        current[0] = name
        if len(items) >= limits.max_parts:
            raise _too_large("max_parts", limits.max_parts, "the number of fields")

    def on_field_name(data: bytes, start: int, end: int) -> None:
        name.extend(data[start:end])
        if len(name) > limits.max_field_size:
            raise _too_large("max_field_size", limits.max_field_size, "a field name")

    def on_field_data(data: bytes, start: int, end: int) -> None:
        value.extend(data[start:end])
        if len(value) > limits.max_field_size:
            raise _too_large("max_field_size", limits.max_field_size, f"field {_text(name)!r}")

    def on_field_end() -> None:
        items.append((_text(name), _text(value)))

    parser = QuerystringParser({"on_field_start": on_field_start, "on_field_name": on_field_name,
                                "on_field_data": on_field_data, "on_field_end": on_field_end})
    total = _Total(limits)
    try:
        async for chunk in request.stream():
            total.add(chunk)
            parser.write(chunk)
        parser.finalize()
    except QuerystringParseError as exc:
        raise BadRequest(detail=f"malformed urlencoded form: {exc}") from None
    return FormData(items)


def _text(data: bytes | bytearray) -> str:
    return unquote_plus(bytes(data).decode("latin-1"), encoding="utf-8", errors="replace")


class _Multipart:
    """One multipart body: callbacks record events, :meth:`parse` applies them."""

    def __init__(self, boundary: bytes, limits: FormLimits):
        self.limits = limits
        self.events: list[tuple[str, bytes]] = []
        self.items: list[tuple[str, Any]] = []
        # A part's header may span two body chunks: the pieces live across _apply calls.
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: list[tuple[bytes, bytes]] = []
        events = self.events

        def data_event(kind: str):
            def callback(data: bytes, start: int, end: int) -> None:
                events.append((kind, data[start:end]))
            return callback

        def plain_event(kind: str):
            def callback() -> None:
                events.append((kind, b""))
            return callback

        callbacks = {"on_part_begin": plain_event("part_begin"), "on_part_data": data_event("data"),
                     "on_part_end": plain_event("part_end"), "on_header_field": data_event("header_field"),
                     "on_header_value": data_event("header_value"), "on_header_end": plain_event("header_end"),
                     "on_headers_finished": plain_event("headers_done")}
        self.parser = MultipartParser(boundary, callbacks)

    async def parse(self, request: Any) -> FormData:
        total = _Total(self.limits)
        try:
            async for chunk in request.stream():
                total.add(chunk)
                try:
                    self.parser.write(chunk)
                except MultipartParseError as exc:
                    raise BadRequest(detail=f"malformed multipart body: {exc}") from None
                await self._apply()
            self.parser.finalize()
            await self._apply()
        except BaseException:
            await FormData(self.items).close()
            if self._file is not None:
                await self._file.close()
            raise
        return FormData(self.items)

    _field: bytearray | None = None
    _file: UploadFile | None = None
    _name = ""

    async def _apply(self) -> None:
        limits = self.limits
        header_field, header_value = self._header_field, self._header_value
        for kind, data in self.events:
            if kind == "part_begin":
                if len(self.items) >= limits.max_parts:
                    raise _too_large("max_parts", limits.max_parts, "the number of parts")
                self._headers = []
            elif kind == "header_field":
                header_field.extend(data)
            elif kind == "header_value":
                header_value.extend(data)
            elif kind == "header_end":
                self._headers.append((bytes(header_field).lower(), bytes(header_value)))
                header_field.clear()
                header_value.clear()
            elif kind == "headers_done":
                self._start_part()
            elif kind == "data":
                await self._part_data(data)
            elif kind == "part_end":
                await self._end_part()
        self.events.clear()

    def _start_part(self) -> None:
        headers = Headers(self._headers)
        disposition, options = parse_options_header(headers.get("content-disposition"))
        if disposition != b"form-data" or b"name" not in options:
            raise BadRequest(detail="a multipart part without Content-Disposition: form-data; name=...")
        self._name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            self._file = UploadFile(filename=options[b"filename"].decode("utf-8", "replace"),
                                    content_type=headers.get("content-type"), headers=headers,
                                    spool_max_size=self.limits.spool_max_size)
            self._field = None
        else:
            self._field = bytearray()
            self._file = None

    async def _part_data(self, data: bytes) -> None:
        limits = self.limits
        if self._file is not None:
            if limits.max_file_size is not None and self._file.size + len(data) > limits.max_file_size:
                raise _too_large("max_file_size", limits.max_file_size, f"file {self._name!r}")
            await self._file.write(data)
        elif self._field is not None:
            self._field.extend(data)
            if len(self._field) > limits.max_field_size:
                raise _too_large("max_field_size", limits.max_field_size, f"field {self._name!r}")

    async def _end_part(self) -> None:
        if self._file is not None:
            await self._file.seek(0)
            self.items.append((self._name, self._file))
            self._file = None
        elif self._field is not None:
            self.items.append((self._name, self._field.decode("utf-8", "replace")))
            self._field = None


__all__ = ["DEFAULT_LIMITS", "FormData", "FormLimits", "MULTIPART", "URLENCODED", "form_media_type", "parse_form"]
