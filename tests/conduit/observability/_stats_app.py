"""An app for the statistics and hints tests (imported by the test and by ``conduit routes``)."""

from conduit import Conduit
from conduit.observability import install

app = Conduit()
install(app, statistics_path="/metrics/routes")


@app.get("/stats-items/{item_id}")
async def item(item_id: str):
    return {"id": item_id}


@app.get("/stats-colors/{color}")
async def color(color: str):
    return {"color": color}


@app.post("/stats-echo")
async def echo(body: dict):
    return body


@app.get("/stats-fail")
async def fail():
    raise RuntimeError("boom")


@app.get("/stats-never")
async def never():
    return "nobody calls me"
