"""Content values a tool, resource or prompt returns, and their normalisation.

Helpers: :func:`text`, :func:`image`, :func:`audio` (base64 with a MIME type),
:func:`embedded_resource`, :func:`resource_link`; :class:`ToolResult` for full control,
:class:`Message` for prompts. The ``*_result`` functions turn whatever a user function
returned into the MCP result dict. Pure data: no IO, no protocol state.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable
from typing import Any, Literal

from conduit._json import dumps as json_dumps
from conduit.mcp.jsonable import to_jsonable

__all__ = [
    "Content", "TextContent", "ImageContent", "AudioContent", "EmbeddedResource", "ResourceLink",
    "ToolResult", "Message", "text", "image", "audio", "embedded_resource", "resource_link",
    "tool_result", "resource_contents", "prompt_messages",
]


def _b64(data: bytes | str) -> str:
    return data if isinstance(data, str) else base64.b64encode(data).decode("ascii")


class Content:
    """Base of every content block; ``to_dict`` gives the wire form."""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


def _with_extras(out: dict[str, Any], annotations: dict[str, Any] | None, meta: dict[str, Any] | None) -> dict[str, Any]:
    if annotations:
        out["annotations"] = annotations
    if meta:
        out["_meta"] = meta
    return out


@dataclasses.dataclass
class TextContent(Content):
    text: str
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return _with_extras({"type": "text", "text": self.text}, self.annotations, self.meta)


@dataclasses.dataclass
class ImageContent(Content):
    data: str
    mime_type: str
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return _with_extras({"type": "image", "data": self.data, "mimeType": self.mime_type},
                            self.annotations, self.meta)


@dataclasses.dataclass
class AudioContent(Content):
    data: str
    mime_type: str
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return _with_extras({"type": "audio", "data": self.data, "mimeType": self.mime_type},
                            self.annotations, self.meta)


@dataclasses.dataclass
class EmbeddedResource(Content):
    uri: str
    text: str | None = None
    blob: str | None = None
    mime_type: str | None = None
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None

    def contents(self) -> dict[str, Any]:
        out: dict[str, Any] = {"uri": self.uri}
        if self.mime_type:
            out["mimeType"] = self.mime_type
        if self.blob is not None:
            out["blob"] = self.blob
        else:
            out["text"] = self.text or ""
        return out

    def to_dict(self) -> dict[str, Any]:
        return _with_extras({"type": "resource", "resource": self.contents()}, self.annotations, self.meta)


@dataclasses.dataclass
class ResourceLink(Content):
    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    size: int | None = None
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "resource_link", "uri": self.uri, "name": self.name}
        for key, value in (("title", self.title), ("description", self.description),
                           ("mimeType", self.mime_type), ("size", self.size)):
            if value is not None:
                out[key] = value
        return _with_extras(out, self.annotations, self.meta)


def text(value: str, *, annotations: dict[str, Any] | None = None) -> TextContent:
    return TextContent(value, annotations)


def image(data: bytes | str, mime_type: str = "image/png", *, annotations: dict[str, Any] | None = None) -> ImageContent:
    """Image content; ``data`` is raw bytes or an already base64-encoded string."""
    return ImageContent(_b64(data), mime_type, annotations)


def audio(data: bytes | str, mime_type: str = "audio/wav", *, annotations: dict[str, Any] | None = None) -> AudioContent:
    return AudioContent(_b64(data), mime_type, annotations)


def embedded_resource(uri: str, *, text: str | None = None, blob: bytes | str | None = None,
                      mime_type: str | None = None, annotations: dict[str, Any] | None = None) -> EmbeddedResource:
    if (text is None) == (blob is None):
        raise ValueError("embedded_resource needs exactly one of text= or blob=")
    return EmbeddedResource(uri, text, None if blob is None else _b64(blob), mime_type, annotations)


def resource_link(uri: str, name: str, *, title: str | None = None, description: str | None = None,
                  mime_type: str | None = None, size: int | None = None) -> ResourceLink:
    return ResourceLink(uri, name, title, description, mime_type, size)


@dataclasses.dataclass
class ToolResult:
    """An explicit tool result: content blocks, optional structured content, error flag."""

    content: list[Content | str] = dataclasses.field(default_factory=list)
    structured: Any = None
    is_error: bool = False
    meta: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"content": [_content_dict(c) for c in self.content]}
        if self.structured is not None:
            out["structuredContent"] = to_jsonable(self.structured)
        if self.is_error:
            out["isError"] = True
        if self.meta:
            out["_meta"] = self.meta
        return out


@dataclasses.dataclass
class Message:
    """A prompt message."""

    role: Literal["user", "assistant"]
    content: Content | str

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "content": _content_dict(self.content)}


def _content_dict(item: Any) -> dict[str, Any]:
    if isinstance(item, Content):
        return item.to_dict()
    if isinstance(item, str):
        return {"type": "text", "text": item}
    if isinstance(item, dict) and "type" in item:
        return item
    return {"type": "text", "text": _json_text(item)}


def _json_text(value: Any) -> str:
    return json_dumps(to_jsonable(value)).decode()


def _is_content_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(
        isinstance(v, Content) or (isinstance(v, dict) and "type" in v) for v in value)


def tool_result(value: Any, output_schema: dict[str, Any] | None, wrap: bool) -> dict[str, Any]:
    """Normalise a tool's return value into a ``CallToolResult`` dict."""
    if isinstance(value, ToolResult):
        return value.to_dict()
    if output_schema is not None:
        structured = to_jsonable(value)
        if wrap:
            structured = {"result": structured}
        return {"content": [{"type": "text", "text": json_dumps(structured).decode()}],
                "structuredContent": structured}
    if value is None:
        return {"content": []}
    if isinstance(value, str):
        return {"content": [{"type": "text", "text": value}]}
    if isinstance(value, Content):
        return {"content": [value.to_dict()]}
    if _is_content_list(value):
        return {"content": [_content_dict(v) for v in value]}
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, Content)) for v in value):
        return {"content": [_content_dict(v) for v in value]}
    return {"content": [{"type": "text", "text": _json_text(value)}]}


def resource_contents(uri: str, value: Any, mime_type: str | None) -> list[dict[str, Any]]:
    """Normalise a resource function's return value into ``ReadResourceResult.contents``."""
    if isinstance(value, EmbeddedResource):
        return [value.contents()]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, EmbeddedResource) for v in value):
        return [v.contents() for v in value]
    out: dict[str, Any] = {"uri": uri}
    if isinstance(value, (bytes, bytearray, memoryview)):
        out["mimeType"] = mime_type or "application/octet-stream"
        out["blob"] = base64.b64encode(bytes(value)).decode("ascii")
    elif isinstance(value, str):
        out["mimeType"] = mime_type or "text/plain"
        out["text"] = value
    else:
        out["mimeType"] = mime_type or "application/json"
        out["text"] = _json_text(value)
    return [out]


def prompt_messages(value: Any) -> list[dict[str, Any]]:
    """Normalise a prompt function's return value into ``GetPromptResult.messages``."""
    if isinstance(value, (str, Content, Message, dict)):
        value = [value]
    out = []
    for item in value if isinstance(value, Iterable) else [value]:
        if isinstance(item, Message):
            out.append(item.to_dict())
        elif isinstance(item, dict) and "role" in item:
            out.append({"role": item["role"], "content": _content_dict(item["content"])})
        else:
            out.append({"role": "user", "content": _content_dict(item)})
    return out
