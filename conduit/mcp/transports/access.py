"""Who is calling an MCP transport and what they may do: the one gate every transport consults.

Streamable HTTP, legacy SSE and stdio all ask a :class:`Gate` for the caller: the
Host/Origin check first (DNS rebinding; HTTP only), then the bearer token, checked by an
OAuth :class:`~conduit.mcp.auth.ResourceServer` (principal and scopes), by a shared token
or verifier function (:class:`~conduit.mcp.transports.security.BearerAuth`), or by nobody.
The answer is a :class:`Caller` (the verified principal, and the identity that owns the
sessions and tasks it opens) or a :class:`Refusal` (status, message, headers) that an HTTP
face sends as is and stdio turns into a startup error.

The same gate decides a ``tools/call`` whose tool needs scopes the token lacks: 403
``insufficient_scope`` before anything runs (RFC 6750 §3.1, MCP "Scope Challenge
Handling"); the dispatcher applies the same rule in-band (:func:`~conduit.mcp.auth.check_scopes`)
to every call, so no transport can skip it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from conduit.mcp.auth import ResourceServer, principal_identity
from conduit.mcp.transports.security import BearerAuth, HostPolicy

__all__ = ["Caller", "Refusal", "Gate", "ANONYMOUS", "token_digest"]


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who a request speaks for: ``principal`` (a verified OAuth token) and ``identity``.

    ``identity`` owns sessions and tasks: ``principal:<issuer, subject>`` for an OAuth token,
    ``token:<digest>`` for a bearer token checked by a shared secret or a function, None
    when the endpoint checks no token.
    """

    principal: Any = None
    identity: str | None = None


ANONYMOUS = Caller()


@dataclasses.dataclass(frozen=True)
class Refusal:
    """An answer instead of the request: HTTP ``status``, a ``message``, headers to send."""

    status: int
    message: str
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    data: dict[str, Any] | None = None  # the JSON-RPC error's data (the scopes a tool needs)


def token_digest(token: str) -> str:
    """A bearer token as an identity: hashed, so it is never kept or logged in the clear."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:32]


class Gate:
    """Host/Origin, then the bearer token: one decision for every MCP transport of an endpoint."""

    def __init__(self, *, hosts: HostPolicy | None = None,
                 auth: str | Callable[[str], bool | Awaitable[bool]] | ResourceServer | None = None,
                 resource_metadata: str | None = None) -> None:
        self.hosts = hosts
        self.resource_server = auth if isinstance(auth, ResourceServer) else None
        self.bearer = BearerAuth(auth, resource_metadata=resource_metadata) \
            if auth is not None and self.resource_server is None else None

    async def admit(self, headers: Mapping[str, str]) -> Caller | Refusal:
        """The caller of a request with these (lower-case) headers, or why it is refused."""
        if self.hosts is not None:
            refused = self.hosts.check(headers)
            if refused is not None:
                return Refusal(*refused)
        if self.resource_server is not None:
            principal, denied = await self.resource_server.authenticate(headers)
            if denied is not None:
                return Refusal(denied[0], denied[1], {"www-authenticate": denied[2]})
            return Caller(principal, "principal:" + principal_identity(principal))
        if self.bearer is not None:
            denied = await self.bearer.check(headers)
            if denied is not None:
                return Refusal(denied[0], denied[1], {"www-authenticate": denied[2]})
            token = (headers.get("authorization") or "").strip().partition(" ")[2].strip()
            return Caller(None, "token:" + token_digest(token))
        return ANONYMOUS

    async def admit_token(self, token: str | None) -> Caller | Refusal:
        """:meth:`admit` for a transport without headers (stdio: the token comes from the environment)."""
        return await self.admit({"authorization": f"Bearer {token}"} if token else {})

    def refuse_call(self, caller: Caller, message: Mapping[str, Any], tools: Mapping[str, Any]) -> Refusal | None:
        """403 ``insufficient_scope`` for a ``tools/call`` whose tool needs scopes the token lacks."""
        if caller.principal is None or self.resource_server is None or message.get("method") != "tools/call":
            return None
        params = message.get("params")
        name = params.get("name") if isinstance(params, dict) else None
        tool = tools.get(name) if isinstance(name, str) else None
        if tool is None:
            return None
        denied = self.resource_server.scope_refusal(caller.principal, tool.scopes)
        if denied is None:
            return None
        return Refusal(denied[0], f"{denied[1]} for tool {tool.name}", {"www-authenticate": denied[2]},
                       {"requiredScopes": sorted(tool.scopes)})
