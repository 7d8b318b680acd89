"""Route groups (``APIRouter``) and reverse routing (``url_path_for``).

An :class:`APIRouter` only records registrations: a prefix, tags, dependencies
and middleware shared by its routes. ``app.include_router(router, prefix=...)``
replays them onto the app's one route table (routers nest: an included router's
routes carry every enclosing prefix, tag, dependency and middleware), so matching
is the same kernel lookup as for routes added to the app directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote

from conduit_kernels.route_table import ParamKind

from .decorators import RouteDecorators
from .options import check_route_options


@dataclass
class _Registration:
    path: str
    handler: Callable[..., Any]
    methods: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)


def _join(prefix: str, path: str) -> str:
    if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
        raise ValueError(f"a router prefix must start with '/' and not end with one, got {prefix!r}")
    return prefix + path


class APIRouter(RouteDecorators):
    """A group of routes with a shared ``prefix``, ``tags``, ``dependencies`` and ``middleware``.

    >>> users = APIRouter(prefix="/users", tags=["users"])
    >>> @users.get("/{id:int}")
    ... async def get_user(id: int):
    ...     return {"id": id}
    """

    decorator_owner = "router"

    def __init__(self, *, prefix: str = "", tags: list[str] | None = None,
                 dependencies: list[Any] | None = None, middleware: list[Any] | None = None):
        _join(prefix, "/")  # validates the prefix
        self.prefix = prefix
        self.tags = list(tags or [])
        self.dependencies = list(dependencies or [])
        self.middleware = list(middleware or [])
        self.registrations: list[_Registration] = []

    def add_route(self, path: str, handler: Callable[..., Any], methods=("GET",), **options: Any) -> None:
        check_route_options(options, f"route {path!r} ({getattr(handler, '__qualname__', handler)!r})")
        self.registrations.append(_Registration(path, handler, tuple(methods), options))

    def include_router(self, router: "APIRouter", *, prefix: str = "", tags: list[str] | None = None,
                       dependencies: list[Any] | None = None) -> None:
        """Nest ``router`` under this one (its routes get this router's settings when included)."""
        for registration in router.expanded(prefix, tags, dependencies):
            self.registrations.append(registration)

    def expanded(self, prefix: str = "", tags: list[str] | None = None,
                 dependencies: list[Any] | None = None) -> list[_Registration]:
        """The registrations with ``prefix`` + this router's settings applied (outer first)."""
        _join(prefix, "/")
        out = []
        for reg in self.registrations:
            options = dict(reg.options)
            options["tags"] = list(tags or []) + self.tags + list(options.get("tags") or [])
            options["dependencies"] = (list(dependencies or []) + self.dependencies
                                       + list(options.get("dependencies") or []))
            options["middleware"] = self.middleware + list(options.get("middleware") or [])
            for key in ("tags", "dependencies", "middleware"):
                if not options[key]:
                    del options[key]
            out.append(_Registration(_join(prefix, _join(self.prefix, reg.path)), reg.handler, reg.methods, options))
        return out


class NoMatchFound(LookupError):
    """``url_path_for`` found no route of that name, or the parameters do not fit it."""


def url_path_for(routes: list[Any], name: str, **params: Any) -> str:
    """The path of the route called ``name`` (its ``name=`` or the handler's ``__name__``).

    >>> from conduit.routing import Router
    >>> router = Router()
    >>> _ = router.add("/users/{id:int}", ["GET"], lambda id: id, name="user")
    >>> url_path_for(router.routes, "user", id=7)
    '/users/7'
    """
    for route in routes:
        if route.name == name or getattr(route.handler, "__name__", None) == name:
            segments = route.segments
            wanted = {s.text for s in segments if s.kind != ParamKind.STATIC}
            if wanted != set(params):
                continue
            parts = []
            for segment in segments:
                if segment.kind == ParamKind.STATIC:
                    parts.append(segment.text)
                elif segment.kind == ParamKind.PATH:
                    parts.append(quote(str(params[segment.text]), safe="/"))
                else:
                    text = str(params[segment.text])
                    if not text:
                        raise NoMatchFound(f"route {name!r}: parameter {segment.text!r} cannot be empty")
                    parts.append(quote(text, safe=""))
            return "/" + "/".join(parts)
    raise NoMatchFound(f"no route named {name!r} takes parameters {sorted(params)}")


__all__ = ["APIRouter", "NoMatchFound", "url_path_for"]
