"""Binding cost: a handler with 3 query parameters and a small JSON body, Conduit beside FastAPI.

Both are driven in-process, with no sockets and no HTTP parsing: Conduit through
``app.handle(Request)``, FastAPI through its ASGI callable with a synthetic
scope/receive/send. Each timed call answers ``BATCH`` requests inside one event
loop run (trio for Conduit, asyncio for FastAPI), so loop start-up is amortised;
divide by ``BATCH`` for µs per request (``python asv_bench/benchmarks/binding.py``
prints that directly). Both handlers are ``async def`` so neither pays a thread hop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import timeit

import orjson
import pydantic
import trio

BATCH = 500
QUERY = b"page=2&limit=20&q=shoes"
BODY = orjson.dumps({"name": "boots", "price": 59.5, "tags": ["leather", "winter"]})


@dataclasses.dataclass
class Item:
    name: str
    price: float
    tags: list[str] = dataclasses.field(default_factory=list)


def conduit_app():
    from conduit import Conduit

    app = Conduit(openapi_url=None, docs_url=None)

    @app.post("/items")
    async def create(item: Item, page: int = 1, limit: int = 10, q: str | None = None) -> dict:
        return {"name": item.name, "page": page, "limit": limit, "q": q}

    app.warmup()
    return app


class ItemModel(pydantic.BaseModel):
    name: str
    price: float
    tags: list[str] = []


def fastapi_app():
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/items")
    async def create(item: ItemModel, page: int = 1, limit: int = 10, q: str | None = None) -> dict:
        return {"name": item.name, "page": page, "limit": limit, "q": q}

    return app


def conduit_batch(app, n: int = BATCH) -> None:
    from conduit.http import Headers, Request

    headers = [(b"host", b"bench"), (b"content-type", b"application/json"),
               (b"content-length", str(len(BODY)).encode())]

    async def main():
        for _ in range(n):
            sent = False

            async def receive() -> bytes:
                nonlocal sent
                if sent:
                    return b""
                sent = True
                return BODY

            response = await app.handle(Request("POST", b"/items", QUERY, Headers(list(headers)), None, receive))
            if response.status_code != 200:
                raise RuntimeError(response.body)

    trio.run(main)


def fastapi_batch(app, loop: asyncio.AbstractEventLoop, n: int = BATCH) -> None:
    scope_base = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                  "scheme": "http", "path": "/items", "raw_path": b"/items", "root_path": "",
                  "query_string": QUERY, "server": ("bench", 80), "client": None,
                  "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                              (b"content-length", str(len(BODY)).encode())]}

    async def main():
        for _ in range(n):
            status = []

            async def receive():
                return {"type": "http.request", "body": BODY, "more_body": False}

            async def send(message):
                if message["type"] == "http.response.start":
                    status.append(message["status"])

            await app(dict(scope_base), receive, send)
            if status != [200]:
                raise RuntimeError(status)

    loop.run_until_complete(main())


class BindingCost:
    """Time for BATCH requests (3 query params + small JSON body); peer in the same class."""

    timeout = 120

    def setup(self):
        self.conduit = conduit_app()
        self.fastapi = fastapi_app()
        self.loop = asyncio.new_event_loop()
        conduit_batch(self.conduit, 20)  # compile/load kernels, build validators
        fastapi_batch(self.fastapi, self.loop, 20)

    def teardown(self):
        self.loop.close()

    def time_conduit(self):
        conduit_batch(self.conduit)

    def time_fastapi(self):
        fastapi_batch(self.fastapi, self.loop)


def main() -> None:
    bench = BindingCost()
    bench.setup()
    results = {}
    for name, fn in (("conduit", bench.time_conduit), ("fastapi", bench.time_fastapi)):
        best = min(timeit.repeat(fn, number=1, repeat=7))
        results[name] = best / BATCH * 1e6
    bench.teardown()
    import fastapi

    print(f"binding cost, 3 query params + small JSON body, in-process, best of 7 x {BATCH} requests:")
    print(f"  conduit  {results['conduit']:7.1f} µs/request")
    print(f"  fastapi  {results['fastapi']:7.1f} µs/request   (fastapi {fastapi.__version__})")
    print(f"  ratio    {results['conduit'] / results['fastapi']:.2f}")


if __name__ == "__main__":
    main()
