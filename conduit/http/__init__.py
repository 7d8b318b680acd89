"""Sans-IO HTTP objects: Request, Response and Server-Sent Events encoding.

Layering rule: nothing here touches sockets or trio. A ``Request`` reads its body
through an async ``receive`` callable handed in by whoever owns the connection
(the server, or the in-process test transport), so the same objects serve both.
"""

from .datastructures import Headers, QueryParams
from .files import FileResponse
from .request import Request
from .response import (
    EventSourceResponse,
    RedirectResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)

__all__ = [
    "EventSourceResponse",
    "FileResponse",
    "HTMLResponse",
    "Headers",
    "JSONResponse",
    "PlainTextResponse",
    "QueryParams",
    "RedirectResponse",
    "Request",
    "Response",
    "StreamingResponse",
]
