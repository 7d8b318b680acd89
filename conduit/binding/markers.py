"""Markers that say where a handler parameter comes from and what it must satisfy.

Use them in ``Annotated`` (preferred) or, FastAPI style, as the default value::

    def list_users(page: Annotated[int, Query(ge=1)] = 1, limit: int = Query(10, le=100)): ...

A marker only carries data; :mod:`conduit.binding.signature` reads it once, at
registration, and nothing here runs per request. Every marker is a
:class:`~conduit.types.Constraints` (the one constraint marker, shared with
``conduit.mcp.Field``); ``Array`` is the type layer's one ndarray spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..types.constraints import Array, Constraints

#: "no default given" (``None`` is a legitimate default).
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()


@dataclass(frozen=True, eq=False)
class Param(Constraints):
    """Where a value comes from (``default`` first, the rest by keyword), with the constraints of
    :class:`~conduit.types.Constraints` (also usable on body fields; a bare ``Param`` only constrains).
    """

    default: Any = MISSING
    alias: str | None = field(default=None, kw_only=True)
    deprecated: bool = field(default=False, kw_only=True)
    include_in_schema: bool = field(default=True, kw_only=True)

    source = "query"


@dataclass(frozen=True, eq=False)
class Query(Param):
    """A query-string parameter (the default source for scalar and ``list[scalar]`` parameters)."""

    source = "query"


@dataclass(frozen=True, eq=False)
class Path(Param):
    """A path parameter (implicit for names that appear in the pattern)."""

    source = "path"


@dataclass(frozen=True, eq=False)
class Header(Param):
    """A request header; ``user_agent`` reads ``user-agent`` unless ``convert_underscores=False``."""

    convert_underscores: bool = field(default=True, kw_only=True)
    source = "header"


@dataclass(frozen=True, eq=False)
class Cookie(Param):
    """A cookie from the ``Cookie`` header."""

    source = "cookie"


@dataclass(frozen=True, eq=False)
class Body(Param):
    """The JSON body, or (``embed=True``, or several body parameters) one key of it."""

    embed: bool = field(default=False, kw_only=True)
    media_type: str = field(default="application/json", kw_only=True)
    source = "body"


@dataclass(frozen=True, eq=False)
class Form(Param):
    """A field of an urlencoded or multipart form body (``Form(...)``: required)."""

    media_type: str = field(default="application/x-www-form-urlencoded", kw_only=True)
    source = "form"


@dataclass(frozen=True, eq=False)
class File(Form):
    """A file part of a multipart body; annotate the parameter ``UploadFile`` (or a list of them)."""

    media_type: str = field(default="multipart/form-data", kw_only=True)
    source = "file"


@dataclass(frozen=True, eq=False)
class Depends:
    """Call ``dependency`` (sync, async, or a generator for setup/teardown) and pass its result.

    The dependency's own parameters are bound like a handler's. Its result is
    cached for the rest of the request unless ``use_cache=False``.
    """

    dependency: Callable[..., Any]
    use_cache: bool = True


__all__ = ["MISSING", "Array", "Body", "Cookie", "Depends", "File", "Form", "Header", "Param", "Path", "Query"]
