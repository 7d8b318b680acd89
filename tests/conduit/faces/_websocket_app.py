"""The app every WebSocket face row runs against: an API key in front of WebSocket routes.

``app`` is what real ASGI server processes serve (``_websocket_app:app``); the
native server and ``TestClient`` each get a fresh one from :func:`make_app`.
"""

from conduit import Conduit, WebSocket
from conduit.middleware import APIKeyAuth

KEY = "face-key"
#: Small on purpose: the 1009 row sends one byte more.
MAX_MESSAGE = 1000


def make_app() -> Conduit:
    app = Conduit(websocket_max_message_size=MAX_MESSAGE)
    app.add_middleware(APIKeyAuth, keys=[KEY])

    @app.websocket("/ws")
    async def echo(websocket: WebSocket):
        await websocket.accept()
        async for message in websocket:
            await websocket.send_text(f"echo:{message}")

    @app.websocket("/ws-refuse")
    async def refuse(websocket: WebSocket):
        return  # never accepted: 403

    return app


app = make_app()
