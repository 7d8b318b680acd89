"""Sync handlers that block until the test releases them (a file appears), beside quick routes."""

import os
import threading
import time

from conduit import Conduit

app = Conduit()
RELEASE = os.environ.get("CONDUIT_TEST_RELEASE_FILE", "")
_running = 0
_peak = 0
_lock = threading.Lock()


@app.get("/block")
def block():
    global _running, _peak
    with _lock:
        _running += 1
        _peak = max(_peak, _running)
    deadline = time.monotonic() + 30
    while not os.path.exists(RELEASE) and time.monotonic() < deadline:
        time.sleep(0.01)
    with _lock:
        _running -= 1
    return {"released": os.path.exists(RELEASE), "thread": threading.current_thread().name}


@app.get("/peak")
async def peak():
    return {"peak": _peak, "running": _running}


@app.get("/fast")
async def fast():
    return "fast"


@app.get("/sync-fast")
def sync_fast():
    return {"thread": threading.current_thread().name}
