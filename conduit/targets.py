"""``MODULE:ATTRIBUTE`` to an object, as the command line names an app (``conduit run``, ``routes``,
``build``, ``bench``); one place, so every command answers a bad path with the same one line."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any


def load_target(target: str) -> Any:
    """Import ``module:attribute`` (the current directory is importable, as with uvicorn)."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise SystemExit(f"error: expected MODULE:ATTRIBUTE, got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"error: cannot import module {module_name!r}: {exc}") from None
    try:
        value = module
        for part in attribute.split("."):
            value = getattr(value, part)
    except AttributeError:
        raise SystemExit(f"error: module {module_name!r} has no attribute {attribute!r}") from None
    return value


__all__ = ["load_target"]
