"""Requests for client input (sampling, elicitation, roots), in both protocol eras.

Pure data: an :class:`InputRequest` is a method and its params; :class:`InputRequired`
carries the missing ones out of a 2026-07-28 call, which becomes an ``input_required``
result. The handshake era sends the same requests to the client as JSON-RPC requests.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["InputRequest", "InputRequired"]


@dataclasses.dataclass(frozen=True)
class InputRequest:
    """One request for client input: a method and its params."""

    method: str
    params: dict[str, Any]

    @staticmethod
    def elicit(message: str, requested_schema: dict[str, Any], *, mode: str | None = None) -> InputRequest:
        params: dict[str, Any] = {"message": message, "requestedSchema": requested_schema}
        if mode:
            params["mode"] = mode
        return InputRequest("elicitation/create", params)

    @staticmethod
    def sample(messages: str | list[dict[str, Any]], *, max_tokens: int = 256, **extra: Any) -> InputRequest:
        if isinstance(messages, str):
            messages = [{"role": "user", "content": {"type": "text", "text": messages}}]
        return InputRequest("sampling/createMessage", {"messages": messages, "maxTokens": max_tokens, **extra})

    @staticmethod
    def roots() -> InputRequest:
        return InputRequest("roots/list", {})

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "params": self.params}


class InputRequired(Exception):
    """Raised inside a 2026-07-28 call when client input is missing; becomes an input_required result."""

    def __init__(self, requests: dict[str, InputRequest]) -> None:
        super().__init__("client input required")
        self.requests = requests
