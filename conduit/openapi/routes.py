"""The ``/openapi.json`` and ``/docs`` routes, registered by ``Conduit(openapi_url=, docs_url=)``.

The handlers import the generator on first call, so building an app costs only
three route registrations. The docs page is Swagger UI 5 (OpenAPI 3.1 aware),
served from the assets that the ``swagger-ui-py`` package ships: the page works
offline, no CDN is contacted.
"""

from __future__ import annotations

import html
import importlib.util
import os
from typing import Any

from ..http.response import HTMLResponse, JSONResponse, Response

#: Assets the page loads, with their media types; nothing else is served.
ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "application/javascript",
          "favicon-32x32.png": "image/png"}

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - API docs</title>
<link rel="stylesheet" href="{static}/swagger-ui.css">
<link rel="icon" type="image/png" href="{static}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{url: {url!r}, dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"}});
</script>
</body>
</html>
"""


def assets_dir() -> str:
    """The folder of Swagger UI assets shipped by the ``swagger-ui-py`` package."""
    spec = importlib.util.find_spec("swagger_ui")  # located, not imported (it pulls in jinja2)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the /docs page needs the 'swagger-ui-py' package (pip install swagger-ui-py)")
    return os.path.join(list(spec.submodule_search_locations)[0], "static")


def add_openapi_routes(app: Any) -> None:
    """Register the document and docs routes on ``app`` (hidden from the document itself)."""
    openapi_url, docs_url = app.openapi_url, app.docs_url
    if openapi_url:
        async def openapi_json() -> JSONResponse:
            return JSONResponse(app.openapi())

        app.add_route(openapi_url, openapi_json, ["GET"], include_in_schema=False)
    if docs_url and openapi_url:
        static = docs_url.rstrip("/") + "/static"
        page: list[bytes] = []
        cache: dict[str, bytes] = {}

        async def docs_page() -> HTMLResponse:
            if not page:
                page.append(_PAGE.format(title=html.escape(app.title), static=static, url=openapi_url).encode())
            return HTMLResponse(page[0])

        async def docs_asset(name: str) -> Response:
            media_type = ASSETS.get(name)
            if media_type is None:
                from ..exceptions import NotFound

                raise NotFound(detail=f"no docs asset {name!r}")
            if name not in cache:
                with open(os.path.join(assets_dir(), name), "rb") as f:
                    cache[name] = f.read()
            return Response(cache[name], media_type=media_type, headers={"cache-control": "public, max-age=86400"})

        app.add_route(docs_url, docs_page, ["GET"], include_in_schema=False)
        app.add_route(static + "/{name}", docs_asset, ["GET"], include_in_schema=False, run_in_thread=False)


__all__ = ["ASSETS", "add_openapi_routes", "assets_dir"]
