"""JSON Schema (2020-12, as OpenAPI 3.1 uses it) for the document: the schema half of the type layer.

:class:`SchemaBuilder` is a :class:`~conduit.types.TypeWalker` whose named types
(dataclasses, TypedDicts, Enums, msgspec Structs, pydantic models) become
``components/schemas`` entries referenced by ``$ref``. The binder validates with
validators from the same walk, so a parameter's schema here is what it accepts.
"""

from __future__ import annotations

from typing import Annotated, Any

from ..types.errors import Unsupported
from ..types.kinds import strip_annotated
from ..types.walker import TypeWalker, json_default

REF = "#/components/schemas/"


class SchemaBuilder:
    """Builds schemas and collects the named ones in :attr:`components`."""

    def __init__(self) -> None:
        self._walker = TypeWalker(REF)
        self.components: dict[str, dict[str, Any]] = self._walker.defs

    def schema(self, tp: Any, extra: tuple[Any, ...] = ()) -> dict[str, Any]:
        """The schema of ``tp`` with ``extra`` metadata (a marker given as a default) applied.

        A type the binder refuses never reaches here as an input; a return type
        the layer cannot describe (an arbitrary class) is ``{}``, anything.
        """
        extra = tuple(m for m in extra if m is not None)
        if extra:
            base, metadata = strip_annotated(tp)
            tp = Annotated[(base, *metadata, *extra)]
        try:
            return dict(self._walker.schema(tp))
        except Unsupported:
            return {}


__all__ = ["REF", "SchemaBuilder", "json_default"]
