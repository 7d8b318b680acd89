"""The same WebSocket echo and multipart upload in Starlette (served by uvicorn, websockets backend)."""

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect


async def hello(request):
    return PlainTextResponse("ok")


async def echo(websocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


members: set = set()


async def broadcast(websocket):
    """Every message goes to every connected member, the sender included."""
    await websocket.accept()
    members.add(websocket)
    try:
        while True:
            message = await websocket.receive_text()
            for member in list(members):
                await member.send_text(message)
    except WebSocketDisconnect:
        pass
    finally:
        members.discard(websocket)


async def upload(request):
    async with request.form(max_part_size=64 * 1024 * 1024) as form:
        file = form["file"]
        return JSONResponse({"size": file.size})


app = Starlette(routes=[Route("/", hello), WebSocketRoute("/echo", echo), WebSocketRoute("/broadcast", broadcast),
                           Route("/upload", upload, methods=["POST"])])
