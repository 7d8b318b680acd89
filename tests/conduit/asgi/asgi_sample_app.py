"""The app ``test_asgi.py`` serves with ``uvicorn asgi_sample_app:app`` (and mounts Starlette into)."""

from __future__ import annotations

from starlette.applications import Starlette
import anyio
from starlette.responses import JSONResponse as StarletteJSON, StreamingResponse as StarletteStream
from starlette.routing import Route

from conduit import BackgroundTasks, Conduit, EventSourceResponse, Form, Request, UploadFile, WebSocket

app = Conduit()
events: list[str] = []


@app.on_startup
def started():
    events.append("startup")


@app.get("/hello/{name}")
async def hello(name: str, times: int = 1):
    return {"hello": name, "times": times}


@app.get("/sync")
def sync_handler():
    return "from a worker thread"


@app.post("/echo")
async def echo(request: Request):
    return {"bytes": len(await request.body())}


@app.post("/upload")
async def upload(file: UploadFile, note: str = Form("")):
    return {"name": file.filename, "size": file.size, "note": note}


@app.get("/events")
async def stream():
    return EventSourceResponse(f"tick {i}" for i in range(3))


@app.post("/later")
async def later(tasks: BackgroundTasks):
    tasks.add_task(events.append, "background")
    return "ok"


@app.get("/state")
async def state():
    return events


async def starlette_home(request):
    return StarletteJSON({"starlette": True, "path": request.url.path, "root": request.scope.get("root_path")})


async def starlette_echo(request):
    return StarletteJSON({"got": (await request.json())})


async def starlette_endless(request):
    """Never ends: only a streamed (not collected) mount can answer it."""
    async def ticks():
        n = 0
        try:
            while True:
                yield f"tick {n}\n"
                n += 1
                await anyio.sleep(0.01)
        finally:
            events.append("endless stopped")
    return StarletteStream(ticks(), media_type="text/plain")


legacy = Starlette(routes=[Route("/", starlette_home), Route("/echo", starlette_echo, methods=["POST"]),
                           Route("/endless", starlette_endless)])
app.mount("/legacy", legacy)


@app.websocket("/ws/{room}")
async def room(websocket: WebSocket, room: str):
    await websocket.accept()
    await websocket.send_json({"room": room})
    async for message in websocket:
        if message == "bye":
            await websocket.close(code=4000, reason="bye")
            return
        if isinstance(message, bytes):
            await websocket.send_bytes(message[::-1])
        else:
            await websocket.send_text(f"{room}:{message}")
    events.append(f"ws closed {room}")


@app.websocket("/ws-refuse")
async def refuse(websocket: WebSocket):
    return  # never accepts: the client sees 403


@app.websocket("/ws-boom")
async def boom(websocket: WebSocket):
    await websocket.accept()
    raise RuntimeError("handler failed")
