"""Testing a Conduit app: ``TestClient`` (in-process), WebSocket sessions, and ``LiveServer``.

Imported lazily by ``conduit`` (httpx loads with it).
"""

from .client import LiveServer, TestClient
from .websocket import WebSocketRejected, WebSocketTestSession

__all__ = ["LiveServer", "TestClient", "WebSocketRejected", "WebSocketTestSession"]
