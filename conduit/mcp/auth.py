"""MCP authorization: the server as an OAuth 2.1 resource server (MCP 2025-11-25 "Authorization").

The MCP server never issues tokens; an authorization server does. The server:

* publishes Protected Resource Metadata (RFC 9728) at
  ``/.well-known/oauth-protected-resource`` + the endpoint path, naming its resource URI
  and the authorization servers that issue tokens for it;
* checks every request's ``Authorization: Bearer`` token through a pluggable verifier —
  :class:`JWTVerifier` (signature against a JWKS you give it, ``iss``, ``aud`` = this
  resource per RFC 8707, ``exp``/``nbf``) or any callable returning an :class:`AccessToken`;
* answers 401 with ``WWW-Authenticate: Bearer resource_metadata="…"`` (RFC 9728 §5.1)
  when the token is missing or invalid, and 403 ``error="insufficient_scope"`` when a
  tool's scopes (``@mcp.tool(scopes=[...])``) are not all granted (RFC 6750 §3.1).

Who a token speaks for is its subject (``sub``, or the claim named by
``JWTVerifier(subject_claim=...)``): sessions and tasks belong to it
(:func:`principal_identity`), so a token that names no subject is refused (401) rather than
made to share one anonymous identity with every other such token. A verifier that fails in
any way (a bug, a key of the wrong type for the token's ``alg``, an unreachable JWKS) is a
401 with ``WWW-Authenticate`` too, never a 500: the client learns its token was not
accepted, the log gets the traceback.

Exception hierarchy::

    ValueError
     +-- InvalidToken        the token is malformed, forged, expired or not for this resource
    MCPError
     +-- InsufficientScope   -32600 in-band, HTTP 403: the token lacks a tool's scopes

PyJWT (the ``auth`` extra, ``pip install conduit[auth]``) is imported only by
:class:`JWTVerifier`, so the rest of MCP does not need it.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from conduit._json import dumps
from conduit.mcp.protocol.jsonrpc import INVALID_REQUEST, MCPError

__all__ = ["AccessToken", "InvalidToken", "InsufficientScope", "JWTVerifier", "ResourceServer", "check_scopes",
           "principal_identity", "PRM_WELL_KNOWN"]

log = logging.getLogger("conduit.mcp.auth")
PRM_WELL_KNOWN = "/.well-known/oauth-protected-resource"

# Which JWS algorithms a key of each JWK type can verify (RFC 7518 §3.1, RFC 8037 §3.1):
# a token whose header names another family is refused before PyJWT sees the key.
_KEY_ALGORITHMS = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA", "Ed25519", "Ed448"), "oct": ("HS",)}


class InvalidToken(ValueError):
    """The bearer token cannot be accepted; the message says why (sent as error_description)."""


class InsufficientScope(MCPError):
    code = INVALID_REQUEST

    def __init__(self, needed: Iterable[str], what: str) -> None:
        self.needed = sorted(needed)
        super().__init__(f"Insufficient scope for {what}: needs {' '.join(self.needed)}",
                         {"requiredScopes": self.needed})


@dataclasses.dataclass(frozen=True)
class AccessToken:
    """A verified access token: who it speaks for and what it grants."""

    subject: str | None
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None
    expires_at: float | None = None
    claims: dict[str, Any] = dataclasses.field(default_factory=dict)


def principal_identity(principal: AccessToken) -> str:
    """Who owns a verified token's sessions and tasks: its issuer and subject, unambiguously.

    The issuer is part of it because one verifier may trust several (``issuer=[...]``) and
    two issuers may hand out the same subject to different users.
    """
    claims = getattr(principal, "claims", None)
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    subject = getattr(principal, "subject", None)
    return dumps([issuer if isinstance(issuer, str) else None, subject if isinstance(subject, str) else None]).decode()


def check_scopes(principal: AccessToken | None, needed: Iterable[str], what: str) -> None:
    """Raise :class:`InsufficientScope` unless ``principal`` holds every scope in ``needed``.

    Scopes are enforced where a transport verified a token (``principal`` is not None);
    stdio and unauthenticated mounts have no token to check (MCP: stdio takes credentials
    from its environment instead).
    """
    if principal is None:
        return
    missing = set(needed) - set(principal.scopes)
    if missing:
        raise InsufficientScope(missing, what)


def _scopes_of(claims: dict[str, Any]) -> frozenset[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, list):
        return frozenset(s for s in scp if isinstance(s, str))
    if isinstance(scp, str):
        return frozenset(scp.split())
    return frozenset()


class JWTVerifier:
    """Verify JWT access tokens (RFC 9068) against a JWKS, an issuer and an audience.

    ``jwks`` is the key set itself (a dict ``{"keys": [...]}``) or the URL it is served at
    (fetched with PyJWT's ``PyJWKClient`` in a worker thread, cached for ``jwks_cache_seconds``).
    ``audience`` defaults to the resource URI of the :class:`ResourceServer` using it.
    ``subject_claim`` names the claim that says who the token speaks for (``"sub"``; e.g.
    ``"client_id"`` for client-credentials tokens that carry no ``sub``): a token without
    it, or with a value that is not a non-empty string, is refused.
    """

    def __init__(self, *, issuer: str | list[str], jwks: dict[str, Any] | str, audience: str | list[str] | None = None,
                 algorithms: Iterable[str] = ("RS256", "ES256", "PS256", "EdDSA"), leeway_seconds: float = 30.0,
                 jwks_cache_seconds: float = 300.0, subject_claim: str = "sub") -> None:
        if not isinstance(subject_claim, str) or not subject_claim:
            raise ValueError(f"subject_claim must name a claim (a non-empty string), not {subject_claim!r}")
        try:
            import jwt
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("JWTVerifier needs PyJWT with crypto: pip install 'conduit[auth]'") from exc
        self._jwt = jwt
        self.issuer = issuer
        self.audience = audience
        self.algorithms = list(algorithms)
        self.leeway_seconds = leeway_seconds
        self.subject_claim = subject_claim
        if isinstance(jwks, str):
            self._client: Any = jwt.PyJWKClient(jwks, cache_keys=True, lifespan=int(jwks_cache_seconds))
            self._keys: dict[str, Any] | None = None
        elif isinstance(jwks, dict) and isinstance(jwks.get("keys"), list):
            self._client = None
            key_set = jwt.PyJWKSet.from_dict(jwks)
            self._keys = {k.key_id or "": k for k in key_set.keys}
        else:
            raise ValueError("jwks must be a JWKS dict {'keys': [...]} or the URL of one")

    async def __call__(self, token: str) -> AccessToken:
        """The verified token; :class:`InvalidToken` for every way it can fail, PyJWT's surprises included."""
        try:
            return await self._verify(token)
        except InvalidToken:
            raise
        except Exception as exc:  # PyJWT lets a key/algorithm misfit out as TypeError, ValueError, ...
            raise InvalidToken(f"token could not be verified ({type(exc).__name__})") from None

    async def _verify(self, token: str) -> AccessToken:
        import trio

        jwt = self._jwt
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise InvalidToken(f"token algorithm {algorithm!r} is not accepted")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("token header kid must be a string")
        if self._keys is not None:
            key = self._keys.get(kid or "")
            if key is None and len(self._keys) == 1 and not kid:
                key = next(iter(self._keys.values()))
            if key is None:
                raise InvalidToken("token signed with an unknown key")
        else:
            try:
                key = await trio.to_thread.run_sync(self._client.get_signing_key_from_jwt, token)
            except jwt.PyJWTError as exc:
                raise InvalidToken(f"no signing key for this token: {exc}") from None
        _check_key_fits(algorithm, key)
        try:
            claims = jwt.decode(token, key.key, algorithms=[algorithm], audience=self.audience,
                                issuer=self.issuer, leeway=self.leeway_seconds,
                                options={"require": ["exp", "iss", "aud"]})
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        subject = claims.get(self.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise InvalidToken(f"token has no {self.subject_claim!r} claim naming its subject")
        client_id = claims.get("client_id", claims.get("azp"))
        return AccessToken(subject=subject, scopes=_scopes_of(claims),
                           client_id=client_id if isinstance(client_id, str) else None,
                           expires_at=claims.get("exp"), claims=claims)


def _check_key_fits(algorithm: str, key: Any) -> None:
    """Refuse a token whose ``alg`` is not of its key's type (an ES256 header naming an RSA key)."""
    families = _KEY_ALGORITHMS.get(getattr(key, "key_type", None) or "", ())
    if not algorithm.startswith(families):
        raise InvalidToken(f"token algorithm {algorithm!r} does not fit its key's type "
                           f"{getattr(key, 'key_type', None)!r}")


Verifier = Callable[[str], "AccessToken | None | Awaitable[AccessToken | None]"]


class ResourceServer:
    """Authorization settings of one MCP endpoint: ``mount(app, "/mcp", mcp, auth=ResourceServer(...))``.

    ``resource`` is the canonical URI of the MCP endpoint (``https://mcp.example.com/mcp``),
    the audience tokens must be issued for. ``verifier`` turns a token into an
    :class:`AccessToken`, returns None or raises :class:`InvalidToken` to refuse it.
    ``required_scopes`` apply to every request; tools add their own.
    """

    def __init__(self, resource: str, authorization_servers: list[str], verifier: Verifier, *,
                 scopes_supported: list[str] | None = None, required_scopes: Iterable[str] = (),
                 resource_name: str | None = None, resource_documentation: str | None = None) -> None:
        parts = urlsplit(resource)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            raise ValueError(f"resource must be an absolute http(s) URI without a fragment, not {resource!r}")
        if not authorization_servers:
            raise ValueError("name at least one authorization server (RFC 9728 authorization_servers)")
        self.resource = resource
        self.authorization_servers = list(authorization_servers)
        if isinstance(verifier, JWTVerifier) and verifier.audience is None:
            verifier.audience = resource
        self.verifier = verifier
        self.scopes_supported = scopes_supported
        self.required_scopes = frozenset(required_scopes)
        self.resource_name = resource_name
        self.resource_documentation = resource_documentation
        path = parts.path.rstrip("/")
        self.metadata_path = PRM_WELL_KNOWN + path
        self.metadata_url = f"{parts.scheme}://{parts.netloc}{self.metadata_path}"

    def metadata(self) -> dict[str, Any]:
        """The RFC 9728 §2 Protected Resource Metadata document."""
        doc: dict[str, Any] = {"resource": self.resource, "authorization_servers": self.authorization_servers,
                               "bearer_methods_supported": ["header"]}
        if self.scopes_supported is not None:
            doc["scopes_supported"] = self.scopes_supported
        if self.resource_name:
            doc["resource_name"] = self.resource_name
        if self.resource_documentation:
            doc["resource_documentation"] = self.resource_documentation
        return doc

    def challenge(self, error: str | None = None, description: str | None = None,
                  scope: Iterable[str] | None = None) -> str:
        """A ``WWW-Authenticate`` value (RFC 6750 §3, RFC 9728 §5.1)."""
        parts = [f'resource_metadata="{self.metadata_url}"']
        wanted = sorted(scope) if scope is not None else sorted(self.required_scopes)
        if wanted:
            parts.append(f'scope="{" ".join(wanted)}"')
        if error:
            parts.append(f'error="{error}"')
        if description:
            safe = description.replace("\\", "").replace('"', "'")[:200]
            parts.append(f'error_description="{safe}"')
        return "Bearer " + ", ".join(parts)

    async def authenticate(self, headers: Any) -> tuple[AccessToken | None, tuple[int, str, str] | None]:
        """``(token, None)`` to accept, ``(None, (status, message, WWW-Authenticate))`` to refuse."""
        value = headers.get("authorization") or ""
        scheme, _, token = value.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None, (401, "Missing bearer token", self.challenge())
        try:
            result = self.verifier(token)
            if inspect.isawaitable(result):
                result = await result
        except InvalidToken as exc:
            return None, (401, f"Invalid bearer token: {exc}", self.challenge("invalid_token", str(exc)))
        except Exception:  # a verifier's bug or outage refuses the token; it never becomes a 500
            log.exception("MCP token verifier %r failed", self.verifier)
            return None, (401, "Invalid bearer token: it could not be verified",
                          self.challenge("invalid_token", "the token could not be verified"))
        if not isinstance(result, AccessToken):
            return None, (401, "Invalid bearer token", self.challenge("invalid_token"))
        if not isinstance(result.subject, str) or not result.subject:
            # Sessions and tasks belong to the subject: a token naming none would share them.
            return None, (401, "Invalid bearer token: it names no subject",
                          self.challenge("invalid_token", "the token names no subject"))
        missing = self.required_scopes - result.scopes
        if missing:
            return None, (403, "Insufficient scope", self.challenge("insufficient_scope", scope=self.required_scopes))
        return result, None

    def scope_refusal(self, principal: AccessToken | None, needed: frozenset[str]) -> tuple[int, str, str] | None:
        """403 ``insufficient_scope`` when ``principal`` lacks part of ``needed`` (a tool's scopes)."""
        if principal is None or needed <= principal.scopes:
            return None
        wanted = needed | self.required_scopes
        return 403, "Insufficient scope", self.challenge("insufficient_scope", scope=wanted)
