"""The ``route``/``get``/``post``/... decorators, shared by the app and ``APIRouter``.

Both only need ``add_route(path, handler, methods, **options)``; the decorators
are written once here.
"""

from __future__ import annotations

from typing import Any


class RouteDecorators:
    """``@x.get(path)`` and friends on anything with ``add_route``."""

    def add_route(self, path: str, handler: Any, methods=("GET",), **options: Any) -> Any:
        raise NotImplementedError

    def route(self, path: str, methods=("GET",), **options: Any):
        def decorator(handler):
            self.add_route(path, handler, methods, **options)
            return handler
        return decorator

    def get(self, path: str, **options: Any):
        return self.route(path, ["GET"], **options)

    def post(self, path: str, **options: Any):
        return self.route(path, ["POST"], **options)

    def put(self, path: str, **options: Any):
        return self.route(path, ["PUT"], **options)

    def patch(self, path: str, **options: Any):
        return self.route(path, ["PATCH"], **options)

    def delete(self, path: str, **options: Any):
        return self.route(path, ["DELETE"], **options)

    def head(self, path: str, **options: Any):
        return self.route(path, ["HEAD"], **options)

    def options(self, path: str, **options: Any):
        return self.route(path, ["OPTIONS"], **options)


__all__ = ["RouteDecorators"]
