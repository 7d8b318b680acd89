"""ModelRegistry: named, versioned models, warmed at load, hot-swapped atomically.

Owns the mapping ``name -> versions -> model`` and the *current* version of each
name. Loading (file -> estimator -> compiled model -> warm-up prediction) happens
entirely before a version becomes visible; making it current is one reference
assignment, so a request that already resolved the old :class:`ModelVersion` keeps
it and finishes on it (in-flight requests finish on the old version), while new
requests see the new one. Knows nothing about HTTP: ``serving`` exposes it.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from conduit.exceptions import ModelNotFound

__all__ = ["ModelRegistry", "ModelVersion", "as_model"]


def as_model(obj: Any) -> Any:
    """A servable model: ``CompiledModel`` / ``OnnxModel`` / Pipeline as is, estimators compiled."""
    if hasattr(obj, "validate") and hasattr(obj, "predict_unchecked"):
        return obj
    from ..compilation.compiler import compile

    return compile(obj)


@dataclass(eq=False)
class ModelVersion:
    """One loaded version of a named model (immutable once registered)."""

    name: str
    version: str
    model: Any
    source: str | None = None
    sha256: str | None = None
    loaded_at: float = field(default_factory=time.time)
    load_seconds: float = 0.0

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "sha256": self.sha256,
            "loaded_at": self.loaded_at,
            "load_seconds": round(self.load_seconds, 4),
            **self.model.describe(),
        }


class ModelRegistry:
    """Named, versioned models.

    >>> registry = ModelRegistry()
    >>> registry.register("iris", LogisticRegression().fit(X, y))   # version "1", current
    >>> registry.register("iris", "models/iris-v2.joblib", sha256="ab12...")  # "2", swapped in
    >>> registry.get("iris").version
    '2'

    Parameters
    ----------
    keep : how many versions per name to keep loaded (older ones are dropped; the
        current version is always kept)
    """

    def __init__(self, *, keep: int = 3) -> None:
        self.keep = keep
        self._versions: dict[str, dict[str, ModelVersion]] = {}
        self._current: dict[str, ModelVersion] = {}
        self._lock = threading.Lock()  # serialises writers; readers never take it

    # -- writing ------------------------------------------------------------------

    def register(
        self,
        name: str,
        model: Any,
        *,
        version: str | int | None = None,
        sha256: str | None = None,
        trusted: Sequence[str] | None = None,
        providers: str | Sequence[str] = "auto",
        warm_up: bool = True,
        make_current: bool = True,
    ) -> ModelVersion:
        """Load, compile and warm ``model`` (an estimator, a compiled/ONNX model or a file path),
        then make it the current version of ``name`` (atomically).

        Raises :class:`~conduit.ml.ModelLoadError` for a bad file (see :func:`load_model`).
        """
        started = time.perf_counter()
        source = None
        if isinstance(model, (str, os.PathLike)):
            from .loading import load_model

            source = str(Path(model))
            model = load_model(model, sha256=sha256, trusted=trusted, providers=providers)
        servable = as_model(model)
        if warm_up:
            servable.warm_up()
        with self._lock:
            versions = self._versions.setdefault(name, {})
            if version is None:
                numeric = [int(v) for v in versions if v.isdigit()]
                version = str(max(numeric, default=0) + 1)
            version = str(version)
            if version in versions:
                raise ValueError(f"model {name!r} already has a version {version!r}")
            entry = ModelVersion(name, version, servable, source, sha256,
                                 load_seconds=time.perf_counter() - started)
            versions[version] = entry
            if make_current or name not in self._current:
                self._current[name] = entry  # the atomic swap
            self._trim(name)
        return entry

    swap = register  # reads better at a hot-swap call site

    def activate(self, name: str, version: str | int) -> ModelVersion:
        """Make an already loaded version current (roll back / forward)."""
        with self._lock:
            entry = self.get(name, version)
            self._current[name] = entry
            return entry

    def _trim(self, name: str) -> None:
        versions = self._versions[name]
        current = self._current[name]
        while len(versions) > self.keep:
            oldest = next(v for v in versions.values() if v is not current)
            del versions[oldest.version]

    # -- reading --------------------------------------------------------------------

    def get(self, name: str, version: str | int | None = None) -> ModelVersion:
        """The current (or a given) version; raises :class:`ModelNotFound` (404)."""
        if version is None:
            entry = self._current.get(name)
            if entry is None:
                raise ModelNotFound(detail=f"no model named {name!r}")
            return entry
        entry = self._versions.get(name, {}).get(str(version))
        if entry is None:
            raise ModelNotFound(detail=f"model {name!r} has no version {str(version)!r}")
        return entry

    def names(self) -> list[str]:
        return sorted(self._current)

    def __contains__(self, name: str) -> bool:
        return name in self._current

    def __len__(self) -> int:
        return len(self._current)

    def warm_up(self) -> None:
        """Warm every current version (idempotent; kernels load from Numba's cache)."""
        for entry in list(self._current.values()):
            entry.model.warm_up()

    def describe(self) -> dict[str, Any]:
        """Per name: the current version and every loaded version, with its inference path."""
        out = {}
        for name in self.names():
            current = self._current[name]
            out[name] = {
                "current": current.version,
                "versions": [v.describe() for v in self._versions[name].values()],
            }
        return out
