"""WebSocket echo and multipart upload in Conduit (the websocket.py suite's Conduit side)."""

from conduit import Conduit, UploadFile, WebSocket

app = Conduit(openapi_url=None, docs_url=None)


@app.get("/")
async def hello():
    return "ok"


@app.websocket("/echo")
async def echo(websocket: WebSocket):
    await websocket.accept()
    async for message in websocket:
        await websocket.send_text(message)


@app.post("/upload", max_body_size=64 * 1024 * 1024)
async def upload(file: UploadFile):
    return {"size": file.size}


members: set = set()


@app.websocket("/broadcast")
async def broadcast(websocket: WebSocket):
    """Every message goes to every connected member, the sender included."""
    await websocket.accept()
    members.add(websocket)
    try:
        async for message in websocket:
            for member in list(members):
                await member.send_text(message)
    finally:
        members.discard(websocket)
