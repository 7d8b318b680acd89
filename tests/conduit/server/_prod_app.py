import os, trio
from conduit import Conduit
from conduit.observability import install
app = Conduit()
install(app)
@app.get("/")
async def index():
    return "ok"
@app.get("/pid")
async def pid():
    return {"pid": os.getpid()}
@app.get("/crash")
async def crash():
    os._exit(9)
@app.get("/slow")
async def slow(request):
    await trio.sleep(float(request.query_params.get("s", "1")))
    return "slow done"
bad = Conduit()
@bad.on_startup
def boom():
    raise RuntimeError("database unreachable")
