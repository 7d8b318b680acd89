"""An app for the ASGI policy tests: limits, deadline and stream closing under uvicorn and granian.

Nothing here refers to trio (it sleeps with ``anyio``), so under an asyncio server it runs on
the host's loop; ``asgi_policy_app_trio`` is the same app pinned to the trio thread.
"""

from __future__ import annotations

import importlib

import anyio
import sniffio

from conduit import BackgroundTasks, Conduit, Request, UploadFile
from conduit.http.response import StreamingResponse

app = Conduit(handler_timeout=2.0, openapi_url=None, docs_url=None)
#: How many endless streams had their iterator closed (read back through /closed).
closed = {"streams": 0}


@app.post("/echo")
async def echo(request: Request):
    return {"bytes": len(await request.body())}


@app.post("/small", max_body_size=1000)
async def small(request: Request):
    return {"bytes": len(await request.body())}


@app.get("/endless")
async def endless():
    async def chunks():
        try:
            while True:
                yield b"tick\n"
                await anyio.sleep(0.05)
        finally:
            closed["streams"] += 1
    return StreamingResponse(chunks(), media_type="text/plain")


@app.get("/closed")
async def closed_streams():
    return closed


@app.get("/sleeps")
async def sleeps():
    await anyio.sleep(40)
    return {"late": True}


@app.get("/loop")
async def loop():
    """Which event loop ran this request: ``asyncio`` (the host's) or ``trio`` (the app's thread)."""
    return {"loop": sniffio.current_async_library()}


@app.on_startup
def keep_a_trio_call():
    """A trio function reached only through ``app.state``: the placement's scan cannot see it."""
    app.state.checkpoint = importlib.import_module("trio").lowlevel.checkpoint


@app.get("/hidden-trio")
async def hidden_trio():
    await app.state.checkpoint()
    return {"ran": True}


#: What the background tasks and the upload route saw (read back through /done).
done: dict[str, object] = {"sync": 0, "async": 0, "upload_closed": None}


def _sync_task() -> None:
    done["sync"] += 1


async def _async_task() -> None:
    await anyio.sleep(0)
    done["async"] += 1


@app.post("/later")
async def later(tasks: BackgroundTasks):
    tasks.add_task(_sync_task)  # a def task runs in a worker thread on either loop
    tasks.add_task(_async_task)
    return {"queued": 2}


@app.post("/upload")
async def upload(file: UploadFile):
    data = await file.read()
    done["upload_file"] = file
    return {"size": len(data), "name": file.filename}


@app.get("/done")
async def done_so_far():
    upload = done.get("upload_file")
    return {"sync": done["sync"], "async": done["async"],
            "upload_closed": None if upload is None else upload.closed}


@app.websocket("/ws-loop")
async def ws_loop(websocket):
    """Echo, prefixed with the event loop the session runs on."""
    await websocket.accept()
    async for message in websocket:
        await websocket.send_text(f"{sniffio.current_async_library()}:{message}")
