"""The same endpoints in Starlette (served by uvicorn h11 and httptools, hypercorn trio and granian)."""

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


async def hello(request):
    return PlainTextResponse("Hello, world!")


async def user(request):
    id = request.path_params["id"]
    return JSONResponse({"id": id, "name": f"user-{id}"})


def hello_sync(request):  # a sync endpoint: Starlette runs it in its thread pool
    return PlainTextResponse("Hello, world!")


async def upload(request):
    return JSONResponse({"size": len(await request.body())})


app = Starlette(routes=[Route("/", hello), Route("/users/{id:int}", user), Route("/sync", hello_sync),
                        Route("/upload", upload, methods=["POST"])])
