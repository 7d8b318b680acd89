"""The ASGI face: Conduit served by uvicorn, hypercorn or granian, and ASGI apps mounted in Conduit.

``http`` adapts ``http`` scopes, ``websocket`` adapts ``websocket`` scopes, ``mount``
runs a foreign ASGI app under a Conduit route. Each only moves messages: the request
rules live in the app's lifecycle.
"""

from .http import ASGIFace, StreamFailed

__all__ = ["ASGIFace", "StreamFailed"]
