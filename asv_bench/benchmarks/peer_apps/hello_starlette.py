"""The same endpoints in Starlette (served by uvicorn --http h11 and hypercorn --worker-class trio)."""

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


async def hello(request):
    return PlainTextResponse("Hello, world!")


async def user(request):
    id = request.path_params["id"]
    return JSONResponse({"id": id, "name": f"user-{id}"})


app = Starlette(routes=[Route("/", hello), Route("/users/{id:int}", user)])
