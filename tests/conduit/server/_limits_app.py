"""An app that sets its own limits, for ``conduit run`` flag overrides."""

from conduit import Conduit, Request

app = Conduit(max_body_size=100, handler_timeout=20.0, websocket_max_message_size=5000)


@app.post("/echo")
async def echo(request: Request):
    return {"size": len(await request.body())}


@app.get("/sleep-sync")
def sleep_sync():
    import time

    time.sleep(3)
    return {"late": True}
