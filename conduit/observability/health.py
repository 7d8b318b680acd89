"""Liveness (``/health``: the process answers) and readiness (``/ready``: send it traffic).

Ready means: warm-ups (kernel compilation) and startup hooks have run
(``app.started``), the server is not draining for shutdown (``app.draining``),
the memory guard is not shedding load (``app.admission``, see
:mod:`conduit.admission`), and every check added with :func:`add_readiness_check` passes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..http.response import JSONResponse


def add_readiness_check(app: Any, check: Callable[[], Any]) -> Callable[[], Any]:
    """Add ``check() -> bool`` (sync or async) to ``app``'s readiness; a check that returns a
    string is ready but degraded (``/ready`` answers 200 with ``"status": "degraded: ..."``)."""
    checks = getattr(app.state, "readiness_checks", None)
    if checks is None:
        checks = app.state.readiness_checks = []
    checks.append(check)
    return check


async def is_ready(app: Any) -> tuple[bool, str]:
    """Whether ``app`` should receive traffic, and why not."""
    if getattr(app, "draining", False):
        return False, "draining"
    if not app.started:
        return False, "starting"
    admission = getattr(app, "admission", None)
    if admission is not None and admission.overloaded:
        return False, admission.memory.describe()
    notes = []
    for check in getattr(app.state, "readiness_checks", ()):
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            return False, f"check {getattr(check, '__name__', check)!r} failed: {type(exc).__name__}"
        if not result:
            return False, f"check {getattr(check, '__name__', check)!r} is not ready"
        if isinstance(result, str):  # ready, but degraded: the string says how
            notes.append(result)
    return True, ("degraded: " + "; ".join(notes)) if notes else "ready"


async def health() -> JSONResponse:
    return JSONResponse({"status": "ok"})


def ready_endpoint(app: Any):
    async def ready() -> JSONResponse:
        ok, reason = await is_ready(app)
        return JSONResponse({"ready": ok, "status": reason}, status_code=200 if ok else 503,
                            headers={"cache-control": "no-store"})
    return ready
