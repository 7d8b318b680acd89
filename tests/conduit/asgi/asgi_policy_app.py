"""An app for the ASGI policy tests: limits, deadline and stream closing under uvicorn and granian."""

from __future__ import annotations

import trio

from conduit import Conduit, Request
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
                await trio.sleep(0.05)
        finally:
            closed["streams"] += 1
    return StreamingResponse(chunks(), media_type="text/plain")


@app.get("/closed")
async def closed_streams():
    return closed


@app.get("/sleeps")
async def sleeps():
    await trio.sleep(40)
    return {"late": True}
