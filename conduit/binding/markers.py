"""Markers that say where a handler parameter comes from and what it must satisfy.

Use them in ``Annotated`` (preferred) or, FastAPI style, as the default value::

    def list_users(page: Annotated[int, Query(ge=1)] = 1, limit: int = Query(10, le=100)): ...

A marker only carries data; :mod:`conduit.binding.signature` reads it once, at
registration, and nothing here runs per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

#: "no default given" (``None`` is a legitimate default).
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()


@dataclass(frozen=True, eq=False)
class Param:
    """Where a value comes from, with optional constraints (also usable on body fields).

    ``ge``/``gt``/``le``/``lt`` bound numbers; ``min_length``/``max_length`` bound
    strings and lists; ``pattern`` is a regular expression a string must contain
    (``re.search``; anchor it with ``^...$`` for a full match).
    """

    default: Any = MISSING
    alias: str | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    description: str | None = None
    examples: list[Any] | None = None
    deprecated: bool = False
    include_in_schema: bool = True

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

    convert_underscores: bool = True
    source = "header"


@dataclass(frozen=True, eq=False)
class Cookie(Param):
    """A cookie from the ``Cookie`` header."""

    source = "cookie"


@dataclass(frozen=True, eq=False)
class Body(Param):
    """The JSON body, or (``embed=True``, or several body parameters) one key of it."""

    embed: bool = False
    media_type: str = "application/json"
    source = "body"


@dataclass(frozen=True, eq=False)
class Form(Param):
    """A field of an urlencoded or multipart form body (``Form(...)``: required)."""

    media_type: str = "application/x-www-form-urlencoded"
    source = "form"


@dataclass(frozen=True, eq=False)
class File(Form):
    """A file part of a multipart body; annotate the parameter ``UploadFile`` (or a list of them)."""

    media_type: str = "multipart/form-data"
    source = "file"


@dataclass(frozen=True, eq=False)
class Depends:
    """Call ``dependency`` (sync, async, or a generator for setup/teardown) and pass its result.

    The dependency's own parameters are bound like a handler's. Its result is
    cached for the rest of the request unless ``use_cache=False``.
    """

    dependency: Callable[..., Any]
    use_cache: bool = True


@dataclass(frozen=True, eq=False)
class Array:
    """Shape and dtype of a ``numpy.ndarray`` parameter or field, decoded from nested lists.

    ``shape`` uses ``None`` for a free dimension: ``Array(shape=(None, 4), dtype="float32")``.
    """

    shape: tuple[int | None, ...] | None = None
    dtype: Any = None
    description: str | None = field(default=None)


__all__ = ["MISSING", "Array", "Body", "Cookie", "Depends", "File", "Form", "Header", "Param", "Path", "Query"]
