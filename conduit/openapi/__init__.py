"""OpenAPI 3.1 for Conduit apps: the document, ``/openapi.json`` and the ``/docs`` page.

Light on purpose: importing this package defines nothing heavy. The generator
(:mod:`conduit.openapi.document`, :mod:`conduit.openapi.schema`) loads the first time
a document is requested; the Swagger UI assets are read from the
``swagger-ui-py`` package only when ``/docs`` is first served (no CDN).

Layering: reads route records and binding plans; never touches sockets.
"""

from __future__ import annotations

from typing import Any


def openapi(app: Any) -> dict[str, Any]:
    """The OpenAPI document of ``app`` (cached until routes change)."""
    from .document import openapi_for

    return openapi_for(app)


__all__ = ["openapi"]
