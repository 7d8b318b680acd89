"""The incoming request: everything a handler may read, and nothing about sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

from .._json import InvalidJSON
from .cookies import parse_cookies
from .datastructures import Headers, QueryParams
from .json_body import decode_json_body

#: ``await receive()`` returns the next chunk of the body, ``b""`` once it is complete.
Receive = Callable[[], Awaitable[bytes]]


async def _no_body() -> bytes:
    return b""


class ClientDisconnect(Exception):
    """The client went away before the request body was complete (answered 400 if anyone listens)."""

    status_code = 400


#: Said by every body-size 413 (every face), so the message names the options that raise the limit.
BODY_LIMIT_HINT = ("raise it with max_body_size= on the route (routes taking File/UploadFile default to 50 MiB), "
                   "Conduit(max_body_size=...) or conduit run --max-body-size for every route")


class BodyTooLarge(Exception):
    """The body is larger than ``Request.max_body_size`` (413, raised before the limit is passed)."""

    status_code = 413


#: ``guard(request, size)`` runs after each body chunk of ``size`` bytes arrives; it
#: raises to refuse the rest (the memory guard while a body streams in).
BodyGuard = Callable[["Request", int], None]


class Request:
    """An HTTP request as the handler sees it.

    The body is read on demand: ``await body()`` / ``await json()`` buffer it once;
    ``stream()`` yields it chunk by chunk without buffering (and cannot be mixed
    with ``body()`` once it has started).
    """

    __slots__ = ("method", "raw_path", "query_string", "headers", "client", "path_params",
                 "app", "route", "_receive", "_body", "_streamed", "_query", "_path", "_state",
                 "scheme", "http_version", "max_body_size", "_cookies", "_form", "received", "body_guard")

    def __init__(
        self,
        method: str,
        raw_path: bytes,
        query_string: bytes = b"",
        headers: Headers | None = None,
        client: tuple[str, int] | None = None,
        receive: Receive = _no_body,
        app: Any = None,
        scheme: str = "http",
        http_version: str = "1.1",
    ):
        self.method = method
        self.raw_path = raw_path
        self.query_string = query_string
        self.headers = headers if headers is not None else Headers()
        self.client = client
        self.path_params: dict[str, Any] = {}
        self.app = app
        self.route = None  # the matched Route, set by the app
        self.scheme = scheme
        self.http_version = http_version
        #: The largest body read for this request (None: no limit). The app's lifecycle
        #: sets it to the app's limit, then to the matched route's ``max_body_size``;
        #: reading past it raises :class:`BodyTooLarge` under every face.
        self.max_body_size: int | None = None
        #: Body bytes received so far.
        self.received = 0
        #: Called after each body chunk (see :data:`BodyGuard`); set by admission control.
        self.body_guard: BodyGuard | None = None
        self._receive = receive
        self._body: bytes | None = None
        self._streamed = False
        self._query: QueryParams | None = None
        self._path: str | None = None
        self._state: SimpleNamespace | None = None
        self._cookies: dict[str, str] | None = None
        self._form: Any = None

    @property
    def path(self) -> str:
        """The percent-decoded path (``%2F`` becomes ``/`` here; routing saw it encoded)."""
        if self._path is None:
            self._path = unquote(self.raw_path.decode("latin-1"))
        return self._path

    def set_path(self, raw_path: bytes) -> None:
        """Point the request at another raw path (a mount strips its prefix); ``path`` follows."""
        self.raw_path = raw_path
        self._path = None

    @property
    def url(self) -> str:
        host = self.headers.get("host", "localhost")
        query = f"?{self.query_string.decode('latin-1')}" if self.query_string else ""
        return f"{self.scheme}://{host}{self.raw_path.decode('latin-1')}{query}"

    @property
    def query_params(self) -> QueryParams:
        if self._query is None:
            self._query = QueryParams(self.query_string)
        return self._query

    @property
    def cookies(self) -> dict[str, str]:
        """The ``Cookie`` header as ``name -> value`` (RFC 6265 §5.4; malformed pairs skipped)."""
        if self._cookies is None:
            self._cookies = parse_cookies(self.headers.getlist("cookie"))
        return self._cookies

    @property
    def state(self) -> SimpleNamespace:
        """Per-request scratch space for middleware and dependencies."""
        if self._state is None:
            self._state = SimpleNamespace()
        return self._state

    @property
    def state_if_set(self) -> SimpleNamespace | None:
        """The state if anything made it, else None (reading it never allocates one)."""
        return self._state

    @property
    def parsed_form(self) -> Any:
        """The form if :meth:`form` has parsed it, else None (its files need closing then)."""
        return self._form

    async def _next_chunk(self) -> bytes:
        """The next body chunk, within :attr:`max_body_size` and the body guard."""
        limit = self.max_body_size
        if limit is not None and not self.received:
            declared = self.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise BodyTooLarge(f"the body is {int(declared)} bytes; this endpoint takes at most {limit}; "
                                   + BODY_LIMIT_HINT)
        chunk = await self._receive()
        if chunk:
            self.received += len(chunk)
            if limit is not None and self.received > limit:
                raise BodyTooLarge(f"the body is over {limit} bytes, the most this endpoint takes; " + BODY_LIMIT_HINT)
            if self.body_guard is not None:
                self.body_guard(self, len(chunk))
        return chunk

    async def body(self) -> bytes:
        if self._body is None:
            if self._streamed:
                raise RuntimeError("the body was already consumed with stream()")
            chunks = []
            while chunk := await self._next_chunk():
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body

    async def json(self) -> Any:
        """The body parsed as JSON, integers exact, under the one body rule (:mod:`.json_body`).

        Raises :class:`InvalidJSON` (a ``ValueError``; the app answers 400 ``invalid_json``)
        or, for a body sent as another media type, ``UnsupportedMediaType`` (415).
        """
        return decode_json_body(await self.body(), self.headers.get("content-type"))

    async def form(self, limits: Any = None) -> Any:
        """The body as :class:`~conduit.forms.FormData` (urlencoded or multipart), parsed once.

        ``limits`` (a :class:`~conduit.forms.FormLimits`) defaults to the route's
        ``form_limits`` option. Files are closed when the handler returns.
        """
        if self._form is None:
            from ..forms import parse_form  # python-multipart loads on the first form
            from ..forms.parser import DEFAULT_LIMITS

            if limits is None:
                route_options = getattr(self.route, "options", None) or {}
                limits = route_options.get("form_limits") or DEFAULT_LIMITS
            self._form = await parse_form(self, limits)
        return self._form

    async def close_form(self) -> None:
        """Close the files of a parsed form (the app calls this when the handler is done)."""
        if self._form is not None:
            await self._form.close()

    async def stream(self) -> AsyncIterator[bytes]:
        if self._body is not None:
            if self._body:
                yield self._body
            return
        self._streamed = True
        while chunk := await self._next_chunk():
            yield chunk

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.raw_path.decode('latin-1')!r}>"
