"""Chat rooms over WebSockets: every message in a room is broadcast to everyone in it.

Run: ``python examples/chat_rooms.py`` then connect two clients, e.g.
``python -m websockets ws://127.0.0.1:8000/ws/lobby?name=ada``.
"""

from __future__ import annotations

from collections import defaultdict

from conduit import Conduit, WebSocket

app = Conduit(title="Chat rooms")
rooms: dict[str, set[WebSocket]] = defaultdict(set)


async def broadcast(room: str, message: dict) -> None:
    for member in list(rooms[room]):
        try:
            await member.send_json(message)
        except Exception:  # a member that went away is dropped, the others still get it
            rooms[room].discard(member)


@app.websocket("/ws/{room}")
async def chat(websocket: WebSocket, room: str, name: str = "anon"):
    await websocket.accept()
    rooms[room].add(websocket)
    await broadcast(room, {"event": "joined", "name": name, "members": len(rooms[room])})
    try:
        async for text in websocket:
            await broadcast(room, {"event": "message", "name": name, "text": text})
    finally:
        rooms[room].discard(websocket)
        await broadcast(room, {"event": "left", "name": name})


@app.get("/rooms")
async def list_rooms():
    return {room: len(members) for room, members in rooms.items() if members}


if __name__ == "__main__":
    app.run("127.0.0.1", 8000)
