"""The same endpoints in FastAPI (served by uvicorn with httptools + uvloop)."""

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

app = FastAPI()


@app.get("/", response_class=PlainTextResponse)
async def hello():
    return "Hello, world!"


@app.get("/users/{id}")
async def user(id: int):
    return {"id": id, "name": f"user-{id}"}


@app.get("/sync", response_class=PlainTextResponse)
def hello_sync():
    return "Hello, world!"


@app.post("/upload")
async def upload(request: Request):
    return {"size": len(await request.body())}
