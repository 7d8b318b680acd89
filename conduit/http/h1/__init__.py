"""The HTTP/1.1 codec: bytes in, events out; responses in, bytes out (RFC 9110, RFC 9112).

Layering rule: sans-IO, like h11. Nothing here touches sockets, trio or time
beyond the ``Date`` header; :class:`~conduit.server.connection.HTTPConnection`
feeds received bytes in and writes the returned bytes out. Every HTTP/1.1
framing rule of the server lives in this package, once:

- :mod:`.events`: what the codec returns (request heads, body data, end of message)
  and :class:`ProtocolError` with the status to answer.
- :mod:`.heads`: two head parsers behind one function, the Numba scanner for simple
  heads and h11 for everything else, and the target/Host rules both share.
- :mod:`.body`: Content-Length and chunked body framing, limits and draining
  (chunked framing decoded in bulk by ``conduit_kernels.chunked``).
- :mod:`.writer`: response heads (validated header names and values; framing
  headers are the codec's alone) and body framing.
- :mod:`.codec`: :class:`HTTP1Codec`, the state of one connection tying these together.

numba loads on first use (:func:`warmup`), never at ``import conduit``.
"""

from .codec import HTTP1Codec, warmup
from .events import NEED_DATA, Data, EndOfMessage, ProtocolError, RequestHead
from .writer import UNFRAMED, ResponseHeaderError, encode_response, header_pairs

__all__ = ["NEED_DATA", "UNFRAMED", "Data", "EndOfMessage", "HTTP1Codec", "ProtocolError", "RequestHead",
           "ResponseHeaderError", "encode_response", "header_pairs", "warmup"]
