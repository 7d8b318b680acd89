"""The hello and JSON endpoints, in Conduit."""

from conduit import Conduit

app = Conduit()


@app.get("/")
async def hello():
    return "Hello, world!"


@app.get("/users/{id:int}")
async def user(id: int):
    return {"id": id, "name": f"user-{id}"}
