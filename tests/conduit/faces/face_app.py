"""The app behind the face table: one route per case, the same app under every face.

Nothing here refers to trio (the slow handler sleeps with ``anyio``, which runs on either
loop), so under uvicorn and granian the whole table runs on the host's asyncio loop
(:mod:`conduit.asgi.placement`); the policy app in tests/conduit/asgi keeps the trio-thread path.
"""

from __future__ import annotations

import time

import anyio

from conduit import Conduit, Request, Response
from conduit.http.response import StreamingResponse
from conduit.middleware.auth import APIKeyAuth
from conduit.vector.errors import VectorInputError

#: Short enough for a test, long enough for a 3 MB body on a loaded machine.
HANDLER_TIMEOUT = 2.0
KEYS = {"reader-key": ["read"], "admin-key": ["read", "admin"]}

app = Conduit(handler_timeout=HANDLER_TIMEOUT, openapi_url=None, docs_url=None)
auth = APIKeyAuth(KEYS, env=None)


@app.get("/hello")
async def hello():
    return {"hello": "world"}


@app.get("/private", middleware=[auth.requires("read")])
async def private():
    return {"secret": 42}


@app.get("/admin", middleware=[auth.requires("admin")])
async def admin():
    return {"admin": True}


@app.post("/small", max_body_size=1000)
async def small(request: Request):
    return {"bytes": len(await request.body())}


@app.post("/upload")
async def upload(request: Request):
    form = await request.form()
    return {"fields": sorted(form.keys())}


@app.post("/echo")
async def echo(request: Request):
    return {"bytes": len(await request.body())}


@app.get("/slow")
async def slow():
    await anyio.sleep(20 * HANDLER_TIMEOUT)
    return {"late": True}


@app.get("/slow-sync")
def slow_sync():
    time.sleep(2 * HANDLER_TIMEOUT)
    return {"late": True}


@app.get("/bad-header")
async def bad_header():
    return Response(b"x", headers={"x-injected": "a\r\nset-cookie: evil=1"})


@app.get("/empty")
async def empty():
    return Response(b"", status_code=204, headers={"x-kind": "empty"})


@app.get("/not-modified")
async def not_modified():
    return Response(b"", status_code=304)


@app.get("/failing-stream")
async def failing_stream():
    async def chunks():
        yield b"first chunk\n"
        raise RuntimeError("the producer broke")
    return StreamingResponse(chunks(), media_type="text/plain")


@app.get("/stream")
async def stream():
    async def chunks():
        for i in range(3):
            yield f"chunk {i}\n"
    return StreamingResponse(chunks(), media_type="text/plain")


@app.get("/vector-error")
async def vector_error():
    raise VectorInputError("k", "k must be at least 1, got 0")
