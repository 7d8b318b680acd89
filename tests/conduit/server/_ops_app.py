"""An app for the worker-operations tests: who answers, who warmed up, memory and a stuck loop."""

import os
import time

from conduit import Conduit
from conduit.admission import process_rss

app = Conduit(openapi_url=None, docs_url=None)
app.state.ballast = None


@app.add_warmup
def remember_warmup_pid():
    app.state.warmup_pid = os.getpid()


@app.on_startup
def remember_startup_pid():
    # Where a Redis client or a database pool would be opened: after the fork, per worker.
    app.state.startup_pid = os.getpid()


@app.get("/pid")
async def pid():
    return {"pid": os.getpid(), "warmup_pid": app.state.warmup_pid, "startup_pid": app.state.startup_pid,
            "rss": process_rss()}


@app.post("/grow-to/{mb:int}")
async def grow_to(mb: int):
    missing = mb * 1_000_000 - process_rss()
    if missing > 0:
        app.state.ballast = bytearray(b"\x01") * missing
    return {"rss": process_rss(), "pid": os.getpid()}


@app.get("/block", run_in_thread=False)
def block():
    time.sleep(60)  # blocks this worker's event loop on purpose
    return "unblocked"
