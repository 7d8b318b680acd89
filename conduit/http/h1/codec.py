"""HTTP1Codec: the HTTP/1.1 state of one server connection, without IO.

Reading: ``receive_data(bytes)``, then ``next_event()`` until :data:`NEED_DATA`;
it returns a :class:`RequestHead`, then the body as :class:`Data` and one
:class:`EndOfMessage` (repeated if asked again), or raises
:class:`ProtocolError` with the status to answer. Writing: ``send_response``
(a whole response), or ``send_stream_head`` / ``send_chunk`` / ``send_end``;
``send_error`` for an error outside a handler. Then ``start_next_cycle()``
once the body is through, or close when ``keep_alive`` is false.

Each head goes first to the Numba scanner; a head it does not call simple
goes to h11 (:mod:`.heads`), so the two parsers sit behind this one interface
and a connection may alternate between them from one request to the next.
Empty lines before a request line are skipped (RFC 9112 §2.2).
"""

from __future__ import annotations

from ...exceptions import error_response
from .body import ChunkedBody, LengthBody
from .body import warmup as _warm_body
from .events import END_OF_MESSAGE, NEED_DATA, ProtocolError, RequestHead
from .heads import H11HeadParser, load_scanner, new_scan_buffer, scan, simple_head
from .writer import CHUNKED, CONTINUE, LAST_CHUNK, NO_BODY, UNFRAMED, chunk, encode_response, response_head


def warmup() -> None:
    """Select and load the head scanner and the chunk decoder: ahead-of-time compiled
    when built (:mod:`conduit_kernels.aot`), else the JIT ones (Numba compiles or loads
    them from its cache); the server calls this before its socket accepts."""
    load_scanner()
    codec = HTTP1Codec()
    codec.receive_data(b"POST / HTTP/1.1\r\nHost: warm\r\nContent-Length: 1\r\n\r\nx")
    codec.next_event()
    _warm_body()


class HTTP1Codec:
    """One connection's HTTP/1.1 reading and writing state (server side).

    ``body_limit`` is the limit for the current request's body; the server sets
    it from ``Request.max_body_size`` (which the app may change per route) before
    each body read, and the same limit governs draining an unread body.
    """

    def __init__(self, *, max_head_size: int = 16 * 1024, max_body_size: int = 1024 * 1024,
                 server_header: str = "conduit"):
        self.max_head_size = max_head_size
        self.max_body_size = max_body_size
        self.body_limit = max_body_size
        self._server = server_header.encode("latin-1")
        self._buffer = bytearray()
        self._scan_out = new_scan_buffer()
        self._h11: H11HeadParser | None = None
        self.request: RequestHead | None = None
        self._body: LengthBody | ChunkedBody | None = None
        #: Whether the connection may serve another request after this one.
        self.keep_alive = True
        self._continue_sent = False
        self._responded = False
        self._chunked_out = True
        #: Bytes a Content-Length-framed stream still owes; None while the stream is chunked.
        self._stream_left: int | None = None

    # ---------------------------------------------------------------- reading

    def receive_data(self, data: bytes) -> None:
        if self._h11 is not None:
            self._h11.feed(data)
        else:
            self._buffer += data

    def take_buffered(self) -> bytes:
        """Hand over the bytes received past the current head (a protocol switch takes them)."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    @property
    def buffered(self) -> int:
        """Received bytes not yet turned into events (the read-ahead held in memory)."""
        return len(self._buffer) + (self._h11.buffered if self._h11 is not None else 0)

    @property
    def head_started(self) -> bool:
        """Whether part of a next request head is here (its deadline should run)."""
        return self.request is None and (bool(self._buffer) or self._h11 is not None)

    @property
    def body_done(self) -> bool:
        return self.request is not None and self._body is None

    def next_event(self):
        if self.request is None:
            return self._next_head()
        body = self._body
        if body is None:
            return END_OF_MESSAGE
        try:
            event = body.next_event(self._buffer, self.body_limit)
        except ProtocolError:
            self.keep_alive = False  # the rest of this body can never be skipped safely
            raise
        if event is END_OF_MESSAGE:
            self._body = None
        return event

    def _next_head(self):
        if self._h11 is None:
            buffer = self._buffer
            if buffer and buffer[0] in (10, 13):
                _skip_empty_lines(buffer)
                if buffer == b"\r":  # perhaps the start of one more CRLF
                    return NEED_DATA
            if not buffer:
                return NEED_DATA
            length = scan(buffer, self._scan_out)
            if length > 0:
                if length > self.max_head_size:
                    raise ProtocolError(431, f"request head exceeds {self.max_head_size} bytes")
                head = simple_head(bytes(buffer[:length]), self._scan_out)
                del buffer[:length]
                return self._start(head)
            if length == 0:
                if len(buffer) > self.max_head_size:
                    raise ProtocolError(431, f"request head exceeds {self.max_head_size} bytes")
                return NEED_DATA
            self._h11 = H11HeadParser(self.max_head_size)
            self._h11.feed(bytes(buffer))
            buffer.clear()
        parsed = self._h11.next_head()
        if parsed is None:
            return NEED_DATA
        head, rest = parsed
        self._h11 = None
        self._buffer = bytearray(rest)
        return self._start(head)

    def _start(self, head: RequestHead) -> RequestHead:
        self.request = head
        self.keep_alive = head.keep_alive
        self._chunked_out = head.http_version == "1.1"
        if head.chunked:
            self._body = ChunkedBody()
        elif head.content_length > 0:
            self._body = LengthBody(head.content_length)
        else:
            self._body = None
        return head

    def continue_response(self) -> bytes:
        """``100 Continue`` when the client waits for it and the body is acceptable, else b"".

        Call before reading the body: the declared length is checked first, so a
        client whose body is too large never sends it (RFC 9110 §10.1.1).
        """
        head = self.request
        if head is None or not head.expect_continue or self._continue_sent or self._responded:
            return b""
        if isinstance(self._body, LengthBody) and not self._body.fits(self.body_limit):
            return b""
        self._continue_sent = True
        return CONTINUE

    # ---------------------------------------------------------------- writing

    def close_after_response(self) -> None:
        """Say ``Connection: close`` on this response and close after it (a draining server)."""
        self.keep_alive = False

    def _decide_close(self) -> bool:
        body = self._body
        if body is not None:
            # An unread body: drained after the response when that is safe and bounded,
            # else the connection closes (RFC 9112 §9.6).
            if not body.fits(self.body_limit):
                self.keep_alive = False
            elif self.request.expect_continue and not self._continue_sent:
                self.keep_alive = False  # the client waits; it may never send the body
        return not self.keep_alive

    def send_response(self, response, *, head_only: bool = False) -> bytes:
        """A whole response: head, then the body unless ``head_only`` (a HEAD request).

        Raises :class:`ResponseHeaderError` (nothing sent, state unchanged) for a bad header.
        """
        head, close = response_head(response.status_code, response.headers, self._server,
                                    len(response.body), self._decide_close())
        self._sent(close)
        if head_only or response.status_code in NO_BODY:
            return head
        return head + response.body

    def send_stream_head(self, response, *, head_only: bool = False) -> bytes:
        """The head of a streamed response: ``Content-Length`` when the response knows its
        length (HEAD included), else chunked on HTTP/1.1 and close-delimited on 1.0."""
        length = response.content_length
        self._stream_left = None if length is None or head_only else length
        if length is not None:
            framing = length
        else:
            if not self._chunked_out:
                self.keep_alive = False
            framing = UNFRAMED if head_only or not self._chunked_out else CHUNKED
        head, close = response_head(response.status_code, response.headers, self._server, framing,
                                    self._decide_close())
        self._sent(close)
        return head

    def _sent(self, close: bool) -> None:
        self._responded = True
        if close:
            self.keep_alive = False

    def send_chunk(self, data: bytes) -> bytes:
        left = self._stream_left
        if left is not None:
            if len(data) > left:
                raise ValueError(f"the stream yields more than the {left} bytes its Content-Length still allows")
            self._stream_left = left - len(data)
            return data
        return chunk(data) if self._chunked_out else data

    def sent_raw(self, count: int) -> None:
        """``count`` body bytes of a Content-Length stream went out without :meth:`send_chunk` (sendfile)."""
        self._stream_left -= count

    @property
    def stream_complete(self) -> bool:
        """Whether the stream may end cleanly: a Content-Length stream must have sent every byte
        (else the connection is aborted, never ended as if the body were whole)."""
        return not self._stream_left

    def send_end(self) -> bytes:
        if self._stream_left is not None:
            return b""
        return LAST_CHUNK if self._chunked_out else b""

    def send_error(self, status: int, detail: str, headers: dict[str, str] | None = None) -> bytes | None:
        """An error answered by the server itself; the connection closes after it.

        None when a response has already begun (nothing can be said any more).
        """
        if self._responded:
            return None
        self._responded = True
        self.keep_alive = False
        return encode_response(error_response(status, detail, headers=headers), self._server, close=True)

    @property
    def responded(self) -> bool:
        return self._responded

    def start_next_cycle(self) -> None:
        """Begin the next request; only once the body is through and the connection stays open."""
        if not self.keep_alive or self._body is not None or self.request is None:
            raise RuntimeError("start_next_cycle() before the cycle finished, or on a closing connection")
        self.request = None
        self.body_limit = self.max_body_size
        self._continue_sent = False
        self._responded = False


def _skip_empty_lines(buffer: bytearray) -> None:
    """Drop CRLFs (and bare LFs) before a request line (RFC 9112 §2.2); a bare CR is an error."""
    skip = len(buffer) - len(buffer.lstrip(b"\r\n"))
    if skip == len(buffer) and buffer[-1] == 13:
        skip -= 1  # a CR that may be the start of a CRLF
    if b"\r" in bytes(buffer[:skip]).replace(b"\r\n", b""):
        raise ProtocolError(400, "a bare CR before the request line")
    del buffer[:skip]
