"""The route options Conduit reads: the one list a route decorator's keywords are checked against.

Each option is read by exactly one part (named beside it); anything else is refused at
registration (:func:`conduit.options.check_options`), so ``status_cod=201`` is a
``TypeError`` naming ``status_code`` instead of an option that silently does nothing.
"""

from __future__ import annotations

from typing import Any

from ..options import check_options

#: option -> the part that reads it.
ROUTE_OPTIONS: dict[str, str] = {
    "name": "the router (url_path_for, messages)",
    "middleware": "the app (wraps this route only)",
    "dependencies": "the binder (Depends run for their effect)",
    "run_in_thread": "the binder (sync handlers)",
    "status_code": "the binder and OpenAPI",
    "response_model": "the binder (return value validated and filtered) and OpenAPI",
    "response_model_exclude_none": "the response model",
    "response_model_by_alias": "the response model",
    "response_model_include": "the response model",
    "response_model_exclude": "the response model",
    "max_body_size": "the request lifecycle (413 beyond it)",
    "needs_trio": "the ASGI face (runs this route on the app's trio thread under an asyncio server)",
    "form_limits": "the form parser",
    "include_in_schema": "OpenAPI",
    "summary": "OpenAPI",
    "description": "OpenAPI",
    "operation_id": "OpenAPI",
    "tags": "OpenAPI",
    "deprecated": "OpenAPI",
    "responses": "OpenAPI",
    "errors": "OpenAPI",
    "request_body": "OpenAPI (a handler that reads its own body)",
    "route_middleware": "OpenAPI (set by the app from middleware=)",
}


def check_route_options(options: dict[str, Any], where: str) -> None:
    """Refuse an option no part of Conduit reads, naming the nearest known one."""
    check_options(options, ROUTE_OPTIONS, where)
    needs_trio = options.get("needs_trio")
    if needs_trio is not None and not isinstance(needs_trio, bool):
        raise TypeError(f"{where}: needs_trio must be True or False, got {needs_trio!r}")


#: The body limit of a route that takes ``File``/``UploadFile`` parameters unless it sets
#: ``max_body_size=``: uploads are spooled to disk by the form parser, so a larger body
#: costs disk, not memory. Other routes keep the server's ``--max-body-size`` (1 MiB).
UPLOAD_MAX_BODY_SIZE = 50 * 1024 * 1024

def resolve_body_limit(route: Any) -> None:
    """Give an upload route (its binding plan has file parameters) the 50 MiB default."""
    plan = getattr(route, "binding", None)
    if "max_body_size" in route.options or plan is None:
        return
    if any(spec.source == "file" for spec in plan.form_params):
        route.options["max_body_size"] = UPLOAD_MAX_BODY_SIZE


__all__ = ["ROUTE_OPTIONS", "UPLOAD_MAX_BODY_SIZE", "check_route_options", "resolve_body_limit"]
