"""The policy app pinned to the trio thread: one route says ``needs_trio=True``, so under an
asyncio server every request of the app is bridged (:mod:`conduit.asgi.placement`)."""

from __future__ import annotations

from asgi_policy_app import app


@app.get("/pinned", needs_trio=True)
async def pinned():
    return {"pinned": True}
