"""Run in a subprocess: serve examples.hello on 127.0.0.1, answer real requests, report
which kernels served them and whether Numba was imported (JSON on the last line)."""

import json
import sys
import threading

import httpx
import trio

from conduit.server.serve import serve
from examples.hello import app


def main() -> None:
    ready = threading.Event()
    stop = trio.Event()
    box = {}

    async def run():
        async with trio.open_nursery() as nursery:
            box["port"] = await nursery.start(lambda task_status: serve(app, port=0, task_status=task_status))
            box["token"] = trio.lowlevel.current_trio_token()
            ready.set()
            await stop.wait()
            nursery.cancel_scope.cancel()

    thread = threading.Thread(target=trio.run, args=(run,))
    thread.start()
    ready.wait(120)
    base = f"http://127.0.0.1:{box['port']}"
    answers = []
    with httpx.Client(base_url=base, timeout=30) as client:
        answers.append([client.get("/").status_code, client.get("/").text])
        answers.append([client.get("/users/42").status_code, client.get("/users/42").json()])
        answers.append([client.get("/missing").status_code])
        answers.append([client.post("/echo", content=iter([b'{"a":', b' 1}'])).status_code,
                        client.post("/echo", content=iter([b'{"a":', b' 1}'])).json()])
    trio.from_thread.run_sync(stop.set, trio_token=box["token"])
    thread.join(30)
    from conduit_kernels import aot

    print(json.dumps({"answers": answers, "aot": aot.kernels() is not None, "reason": aot.reason(),
                      "numba": "numba" in sys.modules, "llvmlite": "llvmlite" in sys.modules}))


if __name__ == "__main__":
    main()
