"""No silent options: an option nobody reads is a ``TypeError`` where it is written.

A keyword collected by ``**options`` and never read is the worst kind of mistake: a
typo (``status_cod=201``) or a FastAPI habit Conduit lacks does nothing, and the
user finds out in production. Every registration API that takes options (route
decorators, ``app.predict``, ``app.mount_mcp``, ``@mcp.tool``) checks them here, at
registration, and the message names the nearest known option (:mod:`difflib`).
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def unknown_option_message(name: str, known: Iterable[str], where: str) -> str:
    """``"@app.get got an unknown option 'status_cod' (did you mean 'status_code'?)"``."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else f"; known options: {', '.join(known)}"
    return f"{where} got an unknown option {name!r}{hint}"


def check_options(given: Iterable[str], known: Iterable[str], where: str) -> None:
    """Raise ``TypeError`` for the first option in ``given`` that is not in ``known``."""
    known = frozenset(known)
    for name in given:
        if name not in known:
            raise TypeError(unknown_option_message(name, known, where))


def suggest_options(where: str) -> Callable[[F], F]:
    """For a function with explicit keyword options: an unknown one names the nearest known one.

    Python's own ``TypeError`` ("unexpected keyword argument") does not suggest the
    name meant; this decorator checks the keywords against the signature first.
    """
    def decorate(fn: F) -> F:
        parameters = inspect.signature(fn).parameters
        known = [n for n, p in parameters.items()
                 if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and n != "self"]
        if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
            raise TypeError(f"suggest_options needs explicit options, {fn.__qualname__} takes **kwargs")
        known_set = frozenset(known)

        @functools.wraps(fn)
        def checked(*args: Any, **kwargs: Any) -> Any:
            for name in kwargs:
                if name not in known_set:
                    raise TypeError(unknown_option_message(name, known, where))
            return fn(*args, **kwargs)
        return checked  # type: ignore[return-value]
    return decorate


__all__ = ["check_options", "suggest_options", "unknown_option_message"]
