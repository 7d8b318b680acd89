"""A small Conduit app for the from_app / from_openapi tests: a body model, path and query
parameters, tags, an API-key middleware on /admin, a route middleware, a background task.

``python shop_app.py`` serves ``MCPServer.from_app(app)`` over stdio; ``python shop_app.py
http PORT`` serves the app itself over HTTP.
"""

from __future__ import annotations

import dataclasses
import sys

from conduit import BackgroundTasks, Conduit, HTTPError
from conduit.mcp import MCPServer

EVENTS: list[str] = []


@dataclasses.dataclass
class Item:
    name: str
    price: float
    tags: list[str] | None = None


def require_api_key(handler):
    async def guarded(request):
        if request.path.startswith("/admin") and request.headers.get("x-api-key") != "k3y":
            raise HTTPError(401, "an x-api-key header is required")
        return await handler(request)
    return guarded


def mark_route(handler):
    async def marked(request):
        EVENTS.append(f"route middleware {request.path}")
        return await handler(request)
    return marked


def build_app() -> Conduit:
    app = Conduit(title="shop", version="2.0")
    app.add_middleware(require_api_key)

    @app.post("/items/{shop}", tags=["items"], middleware=[mark_route])
    async def create_item(shop: str, item: Item, tasks: BackgroundTasks, dry_run: bool = False):
        """Create an item in a shop.

        The price is in euros.
        """
        tasks.add_task(EVENTS.append, f"created {item.name}")
        return {"shop": shop, "name": item.name, "price": item.price, "dry_run": dry_run}

    @app.get("/items/{item_id:int}", tags=["items"])
    def read_item(item_id: int, q: str | None = None, limit: int = 10):
        """Read one item."""
        return {"id": item_id, "q": q, "limit": limit}

    @app.delete("/items/{item_id:int}", tags=["items"])
    def delete_item(item_id: int):
        """Delete one item."""
        if item_id == 404:
            raise HTTPError(404, "no such item")
        return {"deleted": item_id}

    @app.get("/admin/stats", tags=["admin"])
    def admin_stats():
        """Shop statistics (API key required)."""
        return {"items": 3}

    return app


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "http":
        build_app().run(port=int(sys.argv[2]))
    else:
        MCPServer.from_app(build_app(), headers={"x-api-key": "k3y"}).run_stdio()
