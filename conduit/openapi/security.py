"""OpenAPI ``securitySchemes`` and per-operation ``security`` from the auth middleware.

An :class:`~conduit.middleware.APIKeyAuth` in the app's stack becomes two schemes,
``ApiKeyAuth`` (``in: header``, its header name) and, when it accepts bearer tokens,
``BearerAuth`` (``type: http, scheme: bearer``); either one satisfies an operation
(a list of alternatives, OpenAPI 3.1 §4.8.30). The scopes a route needs (the app
middleware's plus those of ``auth.requires(...)`` given as route middleware) are
listed in the requirement, as 3.1 allows for any scheme type. Paths the middleware
excludes (the probes) get ``security: []``. Secured operations also document 401
and 403.
"""

from __future__ import annotations

from typing import Any


def _auth_of(middleware: Any) -> tuple[Any, frozenset[str]] | None:
    """(APIKeyAuth, scopes) for an app or route middleware, else None."""
    from ..middleware.auth import APIKeyAuth

    if isinstance(middleware, APIKeyAuth):
        return middleware, middleware.scopes
    marked = getattr(middleware, "conduit_security", None)
    return marked if marked is not None else None


def _schemes(auth: Any) -> dict[str, dict[str, Any]]:
    schemes = {"ApiKeyAuth": {"type": "apiKey", "in": "header", "name": auth.header_name}}
    if auth.bearer:
        schemes["BearerAuth"] = {"type": "http", "scheme": "bearer",
                                 "description": "the same API keys, sent as `Authorization: Bearer <key>`"}
    return schemes


class SecurityPlan:
    """What the document says about auth, read once from the app's middleware."""

    def __init__(self, app: Any):
        self.app_auth: tuple[Any, frozenset[str]] | None = None
        for middleware in app.middleware:
            found = _auth_of(middleware)
            if found is not None:
                self.app_auth = found
        self.schemes: dict[str, dict[str, Any]] = {}
        if self.app_auth is not None:
            self.schemes.update(_schemes(self.app_auth[0]))

    def operation_security(self, route: Any) -> list[dict[str, list[str]]] | None:
        """The operation's ``security`` (None: inherit nothing, the route is open)."""
        auth, scopes = self.app_auth if self.app_auth is not None else (None, frozenset())
        if auth is not None and route.pattern.encode() in auth.exclude:
            return []
        route_auth = None
        for middleware in route.options.get("route_middleware", ()):
            found = _auth_of(middleware)
            if found is not None:
                route_auth = found
        if route_auth is not None:
            auth = route_auth[0]
            scopes = scopes | route_auth[1]
            self.schemes.update(_schemes(auth))
        if auth is None:
            return None
        names = ["ApiKeyAuth"] + (["BearerAuth"] if auth.bearer else [])
        return [{name: sorted(scopes)} for name in names]
