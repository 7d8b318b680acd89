"""The ``route``/``get``/``post``/... decorators, shared by the app and ``APIRouter``.

Both only need ``add_route(path, handler, methods, **options)``; the decorators
are written once here, with the one check that they were called: ``@app.get``
written without ``(path)`` would otherwise replace the handler by a decorator and
register nothing, silently.
"""

from __future__ import annotations

from typing import Any


def check_route_path(path: Any, decorator: str) -> None:
    """Refuse a decorator used bare: ``@app.get`` passes the handler where the path goes.

    ``decorator`` is how the user wrote it (``"app.get"``, ``"router.post"``,
    ``"app.websocket"``), so the message shows the form to write instead.
    """
    if callable(path) and not isinstance(path, str):
        name = getattr(path, "__name__", repr(path))
        raise TypeError(f"@{decorator} needs a path: write @{decorator}('/path') above {name}(), "
                        f"not @{decorator} without parentheses (which would register nothing)")


class RouteDecorators:
    """``@x.get(path)`` and friends on anything with ``add_route``."""

    #: How the decorators are spelled in messages: ``@app.get``, ``@router.get``.
    decorator_owner = "app"

    def add_route(self, path: str, handler: Any, methods=("GET",), **options: Any) -> Any:
        raise NotImplementedError

    def route(self, path: str, methods=("GET",), **options: Any):
        return self._decorator(path, methods, "route", options)

    def _decorator(self, path: Any, methods: Any, spelled: str, options: dict[str, Any]):
        check_route_path(path, f"{self.decorator_owner}.{spelled}")

        def decorator(handler):
            self.add_route(path, handler, methods, **options)
            return handler
        return decorator

    def get(self, path: str, **options: Any):
        return self._decorator(path, ["GET"], "get", options)

    def post(self, path: str, **options: Any):
        return self._decorator(path, ["POST"], "post", options)

    def put(self, path: str, **options: Any):
        return self._decorator(path, ["PUT"], "put", options)

    def patch(self, path: str, **options: Any):
        return self._decorator(path, ["PATCH"], "patch", options)

    def delete(self, path: str, **options: Any):
        return self._decorator(path, ["DELETE"], "delete", options)

    def head(self, path: str, **options: Any):
        return self._decorator(path, ["HEAD"], "head", options)

    def options(self, path: str, **options: Any):
        return self._decorator(path, ["OPTIONS"], "options", options)


__all__ = ["RouteDecorators"]
