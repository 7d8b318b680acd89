"""ModelRegistry: named, versioned models, warmed at load, hot-swapped atomically.

Owns the mapping ``name -> versions -> model`` and the *current* version of each
name. Loading (file -> estimator -> compiled model -> warm-up prediction) happens
entirely before a version becomes visible; making it current is one reference
assignment, so a request that already resolved the old :class:`ModelVersion` keeps
it and finishes on it (in-flight requests finish on the old version), while new
requests see the new one. Knows nothing about HTTP: ``serving`` exposes it.

Many models per process: ``register(name, path, lazy=True)`` records the file and loads
it on the first request (:meth:`ModelRegistry.resolve`; concurrent first requests wait for
the one load). ``ModelRegistry(max_loaded=N)`` keeps at most N models that came from files
loaded, unloading the least recently used (it is loaded again from its file when asked
for); models handed over as objects cannot be reloaded, so they stay and do not count. A
model that fails to load is recorded as down (:attr:`ModelVersion.error`): asking for it
answers 503 naming it, and the other models keep serving; a later request retries the
load after ``retry_after`` seconds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from conduit.exceptions import ModelNotFound, ServiceUnavailable

__all__ = ["ModelRegistry", "ModelVersion", "as_model"]

logger = logging.getLogger("conduit.ml")


def as_model(obj: Any) -> Any:
    """A servable model: ``CompiledModel`` / ``OnnxModel`` / Pipeline as is, estimators compiled."""
    if hasattr(obj, "validate") and hasattr(obj, "predict_unchecked"):
        return obj
    from ..compilation.compiler import compile

    return compile(obj)


@dataclass(eq=False)
class ModelVersion:
    """One version of a named model. ``model`` is None while it is not loaded (a lazy
    registration, or unloaded by ``max_loaded``, or down: then ``error`` says why)."""

    name: str
    version: str
    model: Any
    source: str | None = None
    sha256: str | None = None
    loaded_at: float = field(default_factory=time.time)
    load_seconds: float = 0.0
    lazy: bool = False
    error: str | None = None
    options: dict[str, Any] = field(default_factory=dict, repr=False)  # how to load it again
    failed_at: float = 0.0
    loading: Any = field(default=None, repr=False)  # a trio.Event while a load runs

    @property
    def loaded(self) -> bool:
        return self.model is not None

    @property
    def reloadable(self) -> bool:
        """Whether it can be unloaded and loaded again (it came from a file)."""
        return self.source is not None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "sha256": self.sha256,
            "loaded": self.loaded,
            "lazy": self.lazy,
            **({"error": self.error} if self.error is not None else {}),
            "loaded_at": self.loaded_at if self.loaded else None,
            "load_seconds": round(self.load_seconds, 4),
            **(self.model.describe() if self.model is not None else {}),
        }


def _load(source: Any, options: dict[str, Any]) -> Any:
    """File (or object) -> a warmed servable model."""
    model = source
    if isinstance(source, (str, os.PathLike)):
        from .loading import load_model

        model = load_model(source, sha256=options.get("sha256"), trusted=options.get("trusted"),
                           providers=options.get("providers", "auto"))
    servable = as_model(model)
    if options.get("warm_up", True):
        servable.warm_up()
    return servable


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class ModelRegistry:
    """Named, versioned models.

    >>> registry = ModelRegistry(max_loaded=8)
    >>> registry.register("iris", LogisticRegression().fit(X, y))   # version "1", current
    >>> registry.register("iris", "models/iris-v2.joblib", sha256="ab12...")  # "2", swapped in
    >>> registry.register("churn", "models/churn.joblib", lazy=True)  # loaded on first use
    >>> registry.get("iris").version
    '2'

    Parameters
    ----------
    keep : how many versions per name to keep registered (older ones are dropped; the
        current version is always kept)
    max_loaded : at most this many file-backed models loaded at once (None: no limit);
        beyond it the least recently used is unloaded, and loaded again when asked for
    retry_after : seconds before a model that failed to load is tried again
    """

    def __init__(self, *, keep: int = 3, max_loaded: int | None = None, retry_after: float = 30.0) -> None:
        if max_loaded is not None and max_loaded < 1:
            raise ValueError("max_loaded must be at least 1 (or None for no limit)")
        self.keep = keep
        self.max_loaded = max_loaded
        self.retry_after = retry_after
        self._versions: dict[str, dict[str, ModelVersion]] = {}
        self._current: dict[str, ModelVersion] = {}
        self._lock = threading.Lock()  # serialises writers; readers never take it
        self._recent: OrderedDict[ModelVersion, None] = OrderedDict()  # loaded, file-backed, LRU first
        #: ``listener(entry)`` after a version is registered, loaded, unloaded or fails (metrics).
        self.listeners: list[Any] = []
        self.rollouts: dict[str, Any] = {}  # name -> rollouts.Rollout
        self.shadows: dict[str, Any] = {}  # name -> rollouts.Shadow

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
        lazy: bool = False,
    ) -> ModelVersion:
        """Load, compile and warm ``model`` (an estimator, a compiled/ONNX model or a file path),
        then make it the current version of ``name`` (atomically).

        ``lazy=True`` (a file path only) checks that the file exists and loads it on the
        first request instead. Raises :class:`~conduit.ml.ModelLoadError` for a bad file
        (see :func:`load_model`).
        """
        started = time.perf_counter()
        source = str(Path(model)) if isinstance(model, (str, os.PathLike)) else None
        options = {"sha256": sha256, "trusted": trusted, "providers": providers, "warm_up": warm_up}
        if lazy:
            if source is None:
                raise ValueError(f"model {name!r}: lazy=True needs a model file path, got {type(model).__name__}")
            if not Path(source).is_file():
                from ..errors import ModelLoadError

                raise ModelLoadError(f"model file not found: {source}")
            servable = None
        else:
            servable = _load(model, options)
        entry = self._add(name, version, servable, source, sha256, make_current,
                          load_seconds=time.perf_counter() - started)
        entry.lazy, entry.options = lazy, options
        if servable is not None:
            self._touch(entry)
        self._changed(entry)
        return entry

    swap = register  # reads better at a hot-swap call site

    def register_failed(self, name: str, model: Any, error: BaseException | str, *,
                        version: str | int | None = None) -> ModelVersion:
        """Record ``name`` as down: it failed to load or warm up (``model``: what was given).

        Requests for it answer 503 naming it (or go to a route's fallback); a file is tried
        again after ``retry_after`` seconds.
        """
        source = str(Path(model)) if isinstance(model, (str, os.PathLike)) else None
        entry = self._add(name, version, None, source, None, True, load_seconds=0.0)
        entry.error = error if isinstance(error, str) else _reason(error)
        entry.failed_at = time.monotonic()
        self._changed(entry)
        return entry

    def _add(self, name: str, version: Any, servable: Any, source: str | None, sha256: str | None,
             make_current: bool, *, load_seconds: float) -> ModelVersion:
        with self._lock:
            versions = self._versions.setdefault(name, {})
            if version is None:
                numeric = [int(v) for v in versions if v.isdigit()]
                version = str(max(numeric, default=0) + 1)
            version = str(version)
            if version in versions:
                raise ValueError(f"model {name!r} already has a version {version!r}")
            entry = ModelVersion(name, version, servable, source, sha256, load_seconds=load_seconds)
            versions[version] = entry
            if make_current or name not in self._current:
                self._current[name] = entry  # the atomic swap
            self._trim(name)
        return entry

    def activate(self, name: str, version: str | int) -> ModelVersion:
        """Make an already registered version current (roll back / forward)."""
        with self._lock:
            entry = self.get(name, version)
            self._current[name] = entry
            return entry

    def rollout(self, name: str, weights: dict[Any, float] | None, *, key: str | None = None) -> Any:
        """Split ``name``'s traffic between versions: ``{"1": 0.9, "2": 0.1}`` (normalised).

        ``key="header:x-user-id"`` or ``key="body:user_id"`` makes it sticky per key (hashed);
        without one (or when a request lacks the key) the split is random. A request that
        names a version still gets that version. ``weights=None`` ends the rollout.
        Raises ``ValueError`` for an unknown version, a negative weight or a bad key.
        """
        from .rollouts import Rollout

        self.get(name)  # 404 when unknown
        if weights is None:
            return self.rollouts.pop(name, None)
        plan = Rollout.build(name, weights, key, set(self._versions.get(name, {})))
        self.rollouts[name] = plan
        return plan

    def shadow(self, name: str, version: str | int | None, *, sample: float = 1.0) -> Any:
        """Mirror a ``sample`` of ``name``'s requests to ``version`` after they are answered, and
        record agreement (classifiers) or error (regressors); ``version=None`` stops it."""
        from .rollouts import Shadow

        if version is None:
            return self.shadows.pop(name, None)
        self.get(name, version)  # 404 when unknown
        if not 0.0 < sample <= 1.0:
            raise ValueError(f"shadow of {name!r}: sample must be in (0, 1], got {sample!r}")
        plan = self.shadows[name] = Shadow(name, str(version), sample)
        return plan

    def choose_version(self, name: str, key_value: str | None) -> str | None:
        """The version a rollout picks for one request (None: no rollout, the current one)."""
        plan = self.rollouts.get(name)
        return plan.choose(key_value) if plan is not None else None

    def _trim(self, name: str) -> None:
        versions = self._versions[name]
        current = self._current[name]
        while len(versions) > self.keep:
            # never a version a rollout or a shadow still sends requests to
            oldest = next((v for v in versions.values() if v is not current and not self._in_use(name, v.version)),
                          None)
            if oldest is None:
                return
            del versions[oldest.version]
            self._recent.pop(oldest, None)

    def _in_use(self, name: str, version: str) -> bool:
        plan, shadow = self.rollouts.get(name), self.shadows.get(name)
        return (plan is not None and any(v == version for v, _ in plan.weights)) or (
            shadow is not None and shadow.candidate == version)

    # -- loading on demand ------------------------------------------------------------

    async def resolve(self, name: str, version: str | int | None = None) -> ModelVersion:
        """The version a request asks for, loaded: lazily on first use (one load for any
        number of concurrent first requests, in a worker thread).

        Raises :class:`ModelNotFound` (404), or :class:`ServiceUnavailable` (503, with
        ``Retry-After``) naming a model that failed to load.
        """
        entry = self.get(name, version)
        if entry.model is None:
            await self._ensure_loaded(entry)
        self._touch(entry)
        return entry

    async def _ensure_loaded(self, entry: ModelVersion) -> None:
        import trio

        while entry.model is None:
            if entry.loading is not None:
                await entry.loading.wait()
                continue
            if entry.error is not None and (entry.source is None
                                            or time.monotonic() - entry.failed_at < self.retry_after):
                raise self._unavailable(entry)
            entry.loading = trio.Event()
            started = time.perf_counter()
            try:
                servable = await trio.to_thread.run_sync(_load, entry.source, entry.options)
            except Exception as exc:  # noqa: BLE001 - the model is down; the others keep serving
                logger.error("model %s v%s failed to load from %s", entry.name, entry.version, entry.source,
                             exc_info=exc)
                entry.error, entry.failed_at = _reason(exc), time.monotonic()
                self._changed(entry)
                raise self._unavailable(entry) from None
            finally:
                event, entry.loading = entry.loading, None
                event.set()
            entry.model, entry.error = servable, None
            entry.loaded_at, entry.load_seconds = time.time(), time.perf_counter() - started
            self._changed(entry)
            return

    def _unavailable(self, entry: ModelVersion) -> ServiceUnavailable:
        wait = max(1, int(self.retry_after - (time.monotonic() - entry.failed_at) + 0.999))
        return ServiceUnavailable(detail=f"model {entry.name!r} version {entry.version!r} is unavailable: "
                                         f"it failed to load", headers={"retry-after": str(wait)})

    def _touch(self, entry: ModelVersion) -> None:
        """Mark ``entry`` most recently used; unload the least recently used beyond max_loaded."""
        if not entry.reloadable or entry.model is None:
            return
        recent = self._recent
        if entry in recent:
            recent.move_to_end(entry)
            return
        recent[entry] = None
        while self.max_loaded is not None and len(recent) > self.max_loaded:
            oldest = next(iter(recent))
            del recent[oldest]
            # Requests that already hold the model object finish on it; the next request loads it again.
            oldest.model = None
            logger.info("model %s v%s unloaded (max_loaded=%d)", oldest.name, oldest.version, self.max_loaded)
            self._changed(oldest)

    def unload(self, name: str, version: str | int | None = None) -> ModelVersion:
        """Unload a file-backed version now (it loads again on its next request)."""
        entry = self.get(name, version)
        if not entry.reloadable:
            raise ValueError(f"model {name!r} was not loaded from a file, so it cannot be loaded again")
        self._recent.pop(entry, None)
        entry.model = None
        self._changed(entry)
        return entry

    def _changed(self, entry: ModelVersion) -> None:
        for listener in list(self.listeners):
            listener(entry)

    # -- reading --------------------------------------------------------------------

    def get(self, name: str, version: str | int | None = None) -> ModelVersion:
        """The current (or a given) version, loaded or not; raises :class:`ModelNotFound` (404)."""
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

    def entries(self) -> list[ModelVersion]:
        """Every registered version of every name, loaded or not."""
        return [v for versions in list(self._versions.values()) for v in list(versions.values())]

    def loaded(self) -> list[ModelVersion]:
        """Every version whose model is in memory now."""
        return [v for v in self.entries() if v.loaded]

    def failed(self) -> list[ModelVersion]:
        """Current versions that are down (failed to load), with ``error`` saying why."""
        return [v for v in list(self._current.values()) if v.error is not None and not v.loaded]

    def __contains__(self, name: str) -> bool:
        return name in self._current

    def __len__(self) -> int:
        return len(self._current)

    def warm_up(self) -> None:
        """Warm every loaded current version (idempotent; kernels load from Numba's cache)."""
        for entry in list(self._current.values()):
            model = entry.model
            if model is not None:
                model.warm_up()

    def describe(self) -> dict[str, Any]:
        """Per name: the current version, whether it is loaded, and every registered version."""
        out = {}
        for name in self.names():
            current = self._current[name]
            out[name] = {
                "current": current.version,
                "loaded": current.loaded,
                "versions": [v.describe() for v in list(self._versions[name].values())],
            }
            if name in self.rollouts:
                out[name]["rollout"] = self.rollouts[name].describe()
            if name in self.shadows:
                out[name]["shadow"] = self.shadows[name].describe()
        return out
