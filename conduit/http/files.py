"""Files as responses: streaming, validators, conditional requests and byte ranges.

:class:`FileResponse` owns the RFC 9110 rules for a file body: ``ETag`` and
``Last-Modified`` validators, ``304 Not Modified`` for ``If-None-Match`` /
``If-Modified-Since`` (§13.1), one byte range for ``Range`` (206, or 416 when it
cannot be satisfied; §14), ``If-Range``. Several ranges in one request are
answered with the whole file (a server may ignore ``Range``, §14.2). The body is
a sync generator of chunks, which the server advances in a worker thread, so no
disk read ever blocks the event loop; the native server sends it with ``sendfile``
instead where the socket allows it (:mod:`conduit.server.sendfile`). Its length is
known (``content_length``), so it goes out with ``Content-Length``, HEAD included,
and a file that shrinks while it is sent aborts the connection. This module does no
IO of its own beyond ``stat``.
"""

from __future__ import annotations

import mimetypes
import os
import stat as stat_module
from collections.abc import Iterator
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from .response import HeadersInput, Response, StreamingResponse

CHUNK_SIZE = 64 * 1024


class FileNotServable(FileNotFoundError):
    """The path is missing or not a regular file (the app answers 404)."""

    status_code = 404
    detail = "file not found"  # the path stays in the log, not in the answer


def _read_chunks(path: str, start: int, length: int, chunk_size: int) -> Iterator[bytes]:
    with open(path, "rb") as file:
        file.seek(start)
        while length > 0:
            data = file.read(min(chunk_size, length))
            if not data:  # the file shrank while being sent: stop short (the server aborts), never pad
                return
            length -= len(data)
            yield data


def parse_range(header: str, size: int) -> tuple[int, int] | None | str:
    """``(start, end_inclusive)`` for one satisfiable range; ``None`` to ignore the header
    (malformed, or several ranges); ``"unsatisfiable"`` for a 416.

    >>> parse_range("bytes=0-9", 100), parse_range("bytes=-10", 100), parse_range("bytes=200-", 100)
    ((0, 9), (90, 99), 'unsatisfiable')
    """
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None
    if first == "":
        if last == "":
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - suffix), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        return None  # an invalid range-spec: ignore the header (RFC 9110 §14.1.1)
    if start >= size:
        return "unsatisfiable"
    return start, end


def _etag_matches(header: str, etag: str) -> bool:
    # Weak comparison (RFC 9110 §13.1.2): W/ prefixes are ignored.
    if header.strip() == "*":
        return True
    ours = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == ours for tag in header.split(","))


def _http_time(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class FileResponse(StreamingResponse):
    """The file at ``path``, streamed in chunks, with validators and range support.

    ``filename`` adds ``Content-Disposition: attachment``. A path that is missing or not
    a regular file raises :class:`FileNotServable` at construction (a 404 from a handler).
    """

    def __init__(self, path: str | os.PathLike, status_code: int = 200, headers: HeadersInput = None,
                 media_type: str | None = None, filename: str | None = None,
                 chunk_size: int = CHUNK_SIZE, stat_result: os.stat_result | None = None):
        self.path = os.fspath(path)
        try:
            info = stat_result or os.stat(self.path)
        except OSError:
            raise FileNotServable(f"no file at {self.path!r}") from None
        if not stat_module.S_ISREG(info.st_mode):
            raise FileNotServable(f"{self.path!r} is not a regular file")
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        self.size = info.st_size
        #: The span sent: from ``offset``, ``content_length`` bytes (a Range narrows it).
        self.offset = 0
        self.content_length = info.st_size
        self.chunk_size = chunk_size
        if media_type is None:
            media_type = mimetypes.guess_type(filename or self.path)[0] or "application/octet-stream"
        self.etag = f'"{info.st_mtime_ns:x}-{info.st_size:x}"'
        self.last_modified = formatdate(info.st_mtime, usegmt=True)
        self.mtime = int(info.st_mtime)
        super().__init__(_read_chunks(self.path, 0, self.size, chunk_size), status_code, headers, media_type)
        for name, value in (("etag", self.etag), ("last-modified", self.last_modified),
                            ("accept-ranges", "bytes")):
            if not self.has_header(name):
                self.headers.append((name, value))
        if filename is not None:
            ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_")
            self.set_header("content-disposition",
                            f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}")

    def prepare(self, request: Any) -> Response:
        """304, 206 or 416 where the request's conditional or Range headers call for it."""
        if request.method not in ("GET", "HEAD") or self.status_code != 200:
            return self
        headers = request.headers
        if_none_match = headers.get("if-none-match")
        if if_none_match is not None:
            if _etag_matches(if_none_match, self.etag):
                return self._not_modified()
        else:
            since = headers.get("if-modified-since")
            moment = _http_time(since) if since else None
            if moment is not None and self.mtime <= moment:
                return self._not_modified()
        range_header = headers.get("range")
        if range_header is None or not self._if_range_holds(headers.get("if-range")):
            return self
        span = parse_range(range_header, self.size)
        if span is None:
            return self
        if span == "unsatisfiable":
            return Response(b"", 416, headers=[("content-range", f"bytes */{self.size}"),
                                               ("accept-ranges", "bytes")])
        start, end = span
        self.status_code = 206
        self.offset, self.content_length = start, end - start + 1
        self.iterable = _read_chunks(self.path, start, end - start + 1, self.chunk_size)
        self.set_header("content-range", f"bytes {start}-{end}/{self.size}")
        return self

    def _if_range_holds(self, if_range: str | None) -> bool:
        if if_range is None:
            return True
        if if_range.strip().startswith(('"', "W/")):
            return if_range.strip() == self.etag  # strong comparison (RFC 9110 §13.1.5)
        moment = _http_time(if_range)
        return moment is not None and self.mtime == int(moment)

    def _not_modified(self) -> Response:
        keep = {"etag", "last-modified", "cache-control", "expires", "vary", "content-location"}
        self.iterable = iter(())
        return Response(b"", 304, headers=[(k, v) for k, v in self.headers if k.lower() in keep])


__all__ = ["FileNotServable", "FileResponse", "parse_range"]
