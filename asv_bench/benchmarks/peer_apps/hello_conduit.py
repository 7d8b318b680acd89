"""The benchmark endpoints in Conduit: hello, JSON, a sync (``def``) hello and an upload."""

from conduit import Conduit, Request

app = Conduit()


@app.get("/")
async def hello():
    return "Hello, world!"


@app.get("/users/{id:int}")
async def user(id: int):
    return {"id": id, "name": f"user-{id}"}


@app.get("/sync")
def hello_sync():
    return "Hello, world!"


@app.post("/upload", max_body_size=16 * 1024 * 1024)
async def upload(request: Request):
    return {"size": len(await request.body())}


@app.post("/upload-default")
async def upload_default(request: Request):
    return {"size": len(await request.body())}
