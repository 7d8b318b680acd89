"""Access log: one structured line per request on the ``conduit.access`` logger.

The line is JSON (method, path, route pattern, status, duration, bytes, client,
request id, user agent); the same dict rides on the record as ``record.access``
for handlers that ship structured logs. The query string is left out by default
(it often carries tokens); request headers other than the user agent never are logged.
"""

from __future__ import annotations

import logging
import time

import orjson

from ..http.request import Request
from ..http.response import Response, StreamingResponse
from .base import Handler, respond


class AccessLog:
    """Middleware: log every request once it has a response."""

    def __init__(self, logger: logging.Logger | str = "conduit.access", *, level: int = logging.INFO,
                 include_query: bool = False):
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.level = level
        self.include_query = include_query

    def __call__(self, handler: Handler) -> Handler:
        logger, level, include_query = self.logger, self.level, self.include_query

        async def access_log(request: Request) -> Response:
            start = time.perf_counter()
            response = await respond(handler, request)
            if not logger.isEnabledFor(level):
                return response
            route = request.route
            path = request.raw_path.decode("latin-1")
            if include_query and request.query_string:
                path += "?" + request.query_string.decode("latin-1")
            state = request.state_if_set
            entry = {
                "method": request.method,
                "path": path,
                "route": route.pattern if route is not None else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                "bytes": None if isinstance(response, StreamingResponse) else len(response.body),
                "client": request.client[0] if request.client else None,
                "request_id": getattr(state, "request_id", None) if state is not None else None,
                "user_agent": request.headers.get("user-agent"),
            }
            logger.log(level, "%s", orjson.dumps(entry).decode(), extra={"access": entry})
            return response
        return access_log
