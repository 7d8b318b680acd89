"""Plain JSON values for the MCP layer: the type layer's one conversion (:mod:`conduit.types.jsonable`)."""

from conduit.types.jsonable import to_jsonable

__all__ = ["to_jsonable"]
