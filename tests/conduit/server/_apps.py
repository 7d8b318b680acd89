"""The small app most server tests start from: ``GET /`` answers ``ok``, ``POST /echo`` its body."""

from __future__ import annotations

from conduit import Conduit, Request


def echo_app() -> Conduit:
    app = Conduit()

    @app.get("/")
    async def index():
        return "ok"

    @app.post("/echo")
    async def echo(request: Request):
        return await request.body()

    return app
