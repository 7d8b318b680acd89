"""The one error the vector package raises for bad input.

``VectorInputError`` is a ``ValueError`` that names the offending field
(``"vectors"``, ``"k"``, ``"filter"``, ...); an HTTP layer maps it to 422
(``examples/rag_app.py`` does). It is always raised *before* any state changes.

    ValueError
     └── VectorInputError        bad input; ``field`` names it
          └── CorruptStoreError  a saved store that fails validation on load (field "path")
"""

from __future__ import annotations


class VectorInputError(ValueError):
    """Bad input to a store, embedder or pipeline; ``field`` names what was wrong."""

    status_code = 422

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class CorruptStoreError(VectorInputError):
    """A saved store that cannot be loaded as it is (truncated, inconsistent, hand-edited);
    the message names the version directory and what is wrong with it."""

    def __init__(self, message: str):
        super().__init__("path", message)
