"""Request ids: accept the client's ``X-Request-ID`` when it is sane, else make one.

The id lands on ``request.state.request_id`` (the error shape and the access log
read it there) and is echoed in the response header.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from ..http.request import Request
from ..http.response import Response
from .base import Handler, respond

# Ids end up in logs: accept only short, printable, unambiguous tokens.
_SAFE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def _generate() -> str:
    return uuid.uuid4().hex


class RequestID:
    """Middleware: give every request an id.

    Parameters
    ----------
    header:
        The header read and written (``X-Request-ID``).
    trust_incoming:
        Reuse a well-formed incoming id (useful behind a proxy that sets one).
    generator:
        Makes a new id; ``uuid4().hex`` by default.
    """

    def __init__(self, header: str = "X-Request-ID", *, trust_incoming: bool = True,
                 generator: Callable[[], str] = _generate):
        self.header = header
        self.trust_incoming = trust_incoming
        self.generator = generator

    def __call__(self, handler: Handler) -> Handler:
        header, lowered, trust, generate = self.header, self.header.lower(), self.trust_incoming, self.generator

        async def request_id(request: Request) -> Response:
            incoming = request.headers.get(lowered) if trust else None
            rid = incoming if incoming is not None and _SAFE.fullmatch(incoming) else generate()
            request.state.request_id = rid
            response = await respond(handler, request)
            if not response.has_header(lowered):
                response.headers.append((header, rid))
            return response
        return request_id
