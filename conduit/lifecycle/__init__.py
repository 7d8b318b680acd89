"""The request lifecycle: the policy of a request, owned by the app, the same under every face.

Faces (the native server, the ASGI face, the ``TestClient`` through the native
connection) turn bytes or messages into a :class:`~conduit.http.request.Request`,
call ``app.lifecycle``, and send what comes back with the one response-head writer
(:mod:`conduit.http.h1.writer`); they re-implement none of it.

- :mod:`.cycle`: limits, middleware, admission, match, handler, deadline;
- :mod:`.errors`: exceptions to responses, by the status they carry;
- :mod:`.sending`: streaming chunks (iterators always closed), background and after-send work;
- :mod:`.websocket`: a WebSocket's match, middleware, admission, session and closing rules
  (``Conduit.handle_websocket``);
- :mod:`.threads`: sync handlers under the deadline, on :mod:`.worker_pool`'s persistent threads.

Layering: imports ``http``, ``routing`` results and ``exceptions``; never ``server``,
``asgi`` or ``testing``.
"""

from .cycle import DEADLINE_DETAIL, RequestLifecycle
from .errors import error_to_response, mapped_response, status_of
from .sending import finish_response, response_chunks

__all__ = ["DEADLINE_DETAIL", "RequestLifecycle", "error_to_response", "finish_response", "mapped_response",
           "response_chunks", "status_of"]
