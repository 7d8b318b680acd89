"""Gzip for large, compressible, complete bodies (RFC 9110 §8.4, §12.5.3).

Applied only when the client accepts gzip (q > 0), the body is at least
``minimum_size`` bytes, the media type compresses well (text, JSON, XML,
JavaScript, SVG) and nothing set ``Content-Encoding`` already. Streaming
responses (SSE included) pass through untouched: buffering them would break
their latency. Large bodies are compressed in a worker thread so the event loop
keeps serving.
"""

from __future__ import annotations

import zlib

from ..anyloop import run_in_thread

from ..http.request import Request
from ..http.response import Response, StreamingResponse
from .base import Handler, add_vary, respond

_COMPRESSIBLE_PREFIXES = ("text/", "application/json", "application/javascript", "application/xml",
                          "application/x-ndjson", "image/svg+xml", "application/problem+json")
_THREAD_THRESHOLD = 64 * 1024


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (``gzip`` or ``*`` with q > 0)."""
    if not accept_encoding:
        return False
    star = False
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip().lower()
        q = 1.0
        params = params.strip().lower()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if coding in ("gzip", "x-gzip"):
            return q > 0
        if coding == "*":
            star = q > 0
    return star


def _compressible(content_type: str | None) -> bool:
    if not content_type:
        return False
    content_type = content_type.lower()
    return content_type.startswith(_COMPRESSIBLE_PREFIXES) or "+json" in content_type or "+xml" in content_type


def gzip_bytes(data: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


class GZip:
    """Middleware: gzip large compressible bodies (``minimum_size`` 1024 bytes, ``level`` 6)."""

    def __init__(self, minimum_size: int = 1024, level: int = 6):
        self.minimum_size = minimum_size
        self.level = level

    def __call__(self, handler: Handler) -> Handler:
        minimum, level = self.minimum_size, self.level

        async def gzip(request: Request) -> Response:
            response = await respond(handler, request)
            if isinstance(response, StreamingResponse):
                return response
            body = response.body
            if len(body) < minimum or response.status_code < 200 or response.status_code in (204, 304):
                return response
            if not _compressible(response.get_header("content-type")):
                return response
            add_vary(response, "Accept-Encoding")
            if response.has_header("content-encoding") or not accepts_gzip(request.headers.get("accept-encoding")):
                return response
            if len(body) >= _THREAD_THRESHOLD:
                compressed = await run_in_thread(gzip_bytes, body, level)
            else:
                compressed = gzip_bytes(body, level)
            if len(compressed) >= len(body):
                return response
            response.body = compressed
            response.headers.append(("content-encoding", "gzip"))
            return response
        return gzip
