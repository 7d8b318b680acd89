"""The errors a model file raises at startup, in one module every ML module can import.

``ModelLoadError`` is raised by :mod:`.loading` (joblib, skops, the sha256 pin) and
by :mod:`.onnx` (a session that cannot be built); a module of its own keeps the two
from importing each other for it. ``InvalidInput`` (bad request data, per call) lives
with the input checks in :mod:`.validation`.

    RuntimeError
     └── ModelLoadError     a model file could not be loaded; the message names it
"""

from __future__ import annotations


class ModelLoadError(RuntimeError):
    """A model file could not be loaded (missing, corrupt, untrusted, wrong checksum, ...)."""


__all__ = ["ModelLoadError"]
