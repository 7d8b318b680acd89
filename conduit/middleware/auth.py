"""API-key authentication: ``X-API-Key`` or ``Authorization: Bearer``, with scopes.

Keys come from code, an environment variable or a file, never from a request
log: they are kept only as SHA-256 digests, compared with
:func:`hmac.compare_digest` against every stored digest (no early exit, so the
timing does not tell which key or how much of it matched), and a key's id
(``key-1``...) is what reaches ``request.state`` and the logs.

Answers (RFC 6750 §3 for the bearer challenge):

- no key → 401 with ``WWW-Authenticate``;
- an unknown key → 401 with ``error="invalid_token"``;
- a valid key without a required scope → 403 with ``error="insufficient_scope"``.

Key list format (environment variable or file): entries separated by commas or
new lines, each ``KEY`` or ``KEY:scope1 scope2``; ``#`` starts a comment.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..exceptions import Forbidden, Unauthorized
from ..http.request import Request
from ..http.response import Response
from .base import Handler


@dataclass(frozen=True, slots=True)
class _Key:
    id: str
    digest: bytes
    scopes: frozenset[str]

    def __repr__(self) -> str:  # never show the digest either
        return f"<APIKey {self.id} scopes={sorted(self.scopes)}>"


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


def parse_api_keys(text: str) -> dict[str, frozenset[str]]:
    """Parse the key list format into ``{key: scopes}``."""
    keys: dict[str, frozenset[str]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        for entry in line.split(","):
            entry = entry.strip()
            if not entry:
                continue
            key, _, scopes = entry.partition(":")
            key = key.strip()
            if key:
                keys[key] = frozenset(scopes.split())
    return keys


def load_api_keys(*, env: str | None = "CONDUIT_API_KEYS", file: str | os.PathLike | None = None
                  ) -> dict[str, frozenset[str]]:
    """Keys from the environment variable ``env`` and/or ``file`` (see the module doc)."""
    keys: dict[str, frozenset[str]] = {}
    if env and os.environ.get(env):
        keys.update(parse_api_keys(os.environ[env]))
    if file is not None:
        with open(file, encoding="utf-8") as handle:
            keys.update(parse_api_keys(handle.read()))
    return keys


class APIKeyAuth:
    """Middleware: require a valid API key (and optionally scopes).

    Parameters
    ----------
    keys:
        ``{key: scopes}`` or a list of keys (no scopes). When None, keys are read
        from ``env`` (``CONDUIT_API_KEYS``) and ``file``.
    header:
        The API-key header (``X-API-Key``).
    bearer:
        Also accept ``Authorization: Bearer <key>``.
    scopes:
        Scopes every request through this middleware needs (use
        :meth:`requires` for per-route scopes).
    exclude:
        Paths that need no key (``/health`` and ``/ready``: probes carry no secrets).
    """

    def __init__(self, keys: Mapping[str, Iterable[str]] | Iterable[str] | None = None, *,
                 env: str | None = "CONDUIT_API_KEYS", file: str | os.PathLike | None = None,
                 header: str = "X-API-Key", bearer: bool = True, scopes: Iterable[str] = (),
                 exclude: Iterable[str] = ("/health", "/ready"), realm: str = "conduit"):
        if keys is None:
            keys = load_api_keys(env=env, file=file)
        elif not isinstance(keys, Mapping):
            keys = {key: () for key in keys}
        if not keys:
            raise ValueError("APIKeyAuth has no keys: pass keys=, set the environment variable "
                             f"{env!r} or give file=")
        self._keys = tuple(_Key(f"key-{i}", _digest(k), frozenset(s)) for i, (k, s) in
                           enumerate(keys.items(), start=1))
        self.header = header.lower()
        self.header_name = header
        self.bearer = bearer
        self.scopes = frozenset(scopes)
        self.exclude = frozenset(p.encode() for p in exclude)
        self.realm = realm

    def __repr__(self) -> str:
        return f"<APIKeyAuth {len(self._keys)} keys header={self.header_name!r} bearer={self.bearer}>"

    # ----------------------------------------------------------- checking

    def _challenge(self, error: str | None = None, scope: Iterable[str] = ()) -> dict[str, str]:
        scheme = "Bearer" if self.bearer else "ApiKey"
        value = f'{scheme} realm="{self.realm}"'
        if not self.bearer:
            value += f', header="{self.header_name}"'
        if error:
            value += f', error="{error}"'
        scope = " ".join(sorted(scope))
        if scope:
            value += f', scope="{scope}"'
        return {"www-authenticate": value}

    def _presented(self, request: Request) -> str | None:
        value = request.headers.get(self.header)
        if value is None and self.bearer:
            auth = request.headers.get("authorization")
            if auth is not None and auth[:7].lower() == "bearer ":
                value = auth[7:].strip()
        return value or None

    def identify(self, presented: str) -> _Key | None:
        """The stored key matching ``presented``, compared in constant time over all keys."""
        digest = _digest(presented)
        found = None
        for key in self._keys:
            if hmac.compare_digest(key.digest, digest) and found is None:
                found = key
        return found

    def authenticate(self, request: Request, required: frozenset[str]) -> None:
        """Set ``request.state.api_key_id``/``scopes`` or raise 401/403."""
        state = request.state
        if getattr(state, "api_key_id", None) is None:
            presented = self._presented(request)
            if presented is None:
                raise Unauthorized(detail="an API key is required", headers=self._challenge())
            key = self.identify(presented)
            if key is None:
                raise Unauthorized(detail="invalid API key", headers=self._challenge("invalid_token"))
            state.api_key_id = key.id
            state.scopes = key.scopes
        missing = required - state.scopes
        if missing:
            raise Forbidden(detail=f"this API key lacks the scope(s): {', '.join(sorted(missing))}",
                            headers=self._challenge("insufficient_scope", required))

    def __call__(self, handler: Handler) -> Handler:
        required, exclude = self.scopes, self.exclude

        async def api_key_auth(request: Request) -> Response:
            if request.raw_path not in exclude:
                self.authenticate(request, required)
            return await handler(request)
        return api_key_auth

    def requires(self, *scopes: str):
        """A per-route middleware: a valid key with every one of ``scopes``."""
        required = frozenset(scopes)

        def middleware(handler: Handler) -> Handler:
            async def requires_scopes(request: Request) -> Response:
                self.authenticate(request, required)
                return await handler(request)
            return requires_scopes
        middleware.conduit_security = (self, required)  # read by the OpenAPI document
        return middleware
