"""The demo app: `conduit run examples.hello:app` (or `python -m examples.hello`)."""

from typing import Annotated, Any

from conduit import Body, Conduit, EventSourceResponse, Request

app = Conduit(title="Conduit demo")


@app.get("/")
async def hello() -> str:
    return "Hello, world!"


@app.get("/users/{id:int}")
async def get_user(id: int) -> dict:
    return {"id": id, "name": f"user-{id}"}


@app.post("/echo")
async def echo(payload: Annotated[Any, Body()]) -> dict:
    """Echo a JSON body back (a body that is not JSON is a 400 ``invalid_json`` naming the problem)."""
    return {"received": payload}


@app.get("/files/*path")
async def file_path(path: str) -> dict:
    return {"path": path}


@app.get("/ticks")
async def ticks(request: Request):
    """Server-Sent Events: five ticks, one every 200 ms."""
    import trio

    async def events():
        for i in range(5):
            yield {"event": "tick", "data": {"n": i}}
            await trio.sleep(0.2)

    return EventSourceResponse(events())


if __name__ == "__main__":
    app.run()
