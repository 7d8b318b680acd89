"""HTTP operations as MCP tools: from an OpenAPI 3.x document to tool schemas, and back to requests.

One conversion serves both ``MCPServer.from_app`` (the document is the app's own, generated
by the type layer from the handlers' signatures, and each call goes through the app
in-process) and ``MCPServer.from_openapi`` (any document, each call made with httpx).

A tool's input schema holds the operation's path, query and header parameters by name and,
for a JSON body, the body's properties flattened beside them when the body is an object
whose property names collide with no parameter (otherwise one ``body`` argument). Schema
``$ref``s into ``#/components/schemas`` are carried along as ``$defs``. Tool names are the
operationIds (or ``<method>_<path>``); descriptions the summaries and descriptions. GET and
HEAD are marked read-only, PUT and DELETE idempotent, DELETE destructive.

The answer: a 2xx body is the tool's text (and its ``structuredContent`` when it is a JSON
object); a 422 carrying ``{loc, msg, type}`` entries is -32602 with those entries as data
(DESIGN "One type layer"); any other status is a tool error the model can read.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

from conduit.mcp.content import ToolResult
from conduit.mcp.protocol.context import Context
from conduit.mcp.protocol.jsonrpc import InvalidParams

__all__ = ["Operation", "operations", "HTTPCall", "add_operation_tools"]

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_NAME_BAD = re.compile(r"[^A-Za-z0-9_.-]+")
_SCHEMA_REF = "#/components/schemas/"
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


@dataclasses.dataclass
class Operation:
    """One HTTP operation as a tool: where each argument goes, and the schema that says so."""

    name: str
    method: str
    path: str
    description: str | None
    input_schema: dict[str, Any]
    locations: dict[str, tuple[str, str]]  # argument -> (path | query | header | body | body-whole, wire name)
    tags: tuple[str, ...]

    def request_parts(self, arguments: dict[str, Any]) -> tuple[str, str, dict[str, str], bytes | None]:
        """``(path, query string, headers, JSON body or None)`` for ``arguments``; bad ones are -32602."""
        unknown = sorted(set(arguments) - set(self.locations))
        if unknown:
            raise InvalidParams(f"Invalid arguments for tool {self.name}: unknown argument(s) {unknown}",
                                [{"loc": ["arguments", k], "msg": "unknown argument", "type": "extra_forbidden"}
                                 for k in unknown])
        path_values: dict[str, str] = {}
        query: list[tuple[str, str]] = []
        headers: dict[str, str] = {}
        body: dict[str, Any] = {}
        whole: Any = _ABSENT
        for argument, value in arguments.items():
            where, wire = self.locations[argument]
            if value is None and where != "body":
                continue
            if where == "path":
                path_values[wire] = quote(_text(value), safe="")
            elif where == "query":
                query.extend((wire, _text(v)) for v in (value if isinstance(value, list) else [value]))
            elif where == "header":
                headers[wire] = _text(value)
            elif where == "body":
                body[wire] = value
            else:
                whole = value
        missing = [wire for where, wire in self.locations.values() if where == "path" and wire not in path_values]
        if missing:
            raise InvalidParams(f"Invalid arguments for tool {self.name}: missing path parameter(s) {missing}",
                                [{"loc": ["arguments", m], "msg": "field required", "type": "missing"}
                                 for m in missing])
        path = re.sub(r"\{([^}]+)\}", lambda m: path_values.get(m.group(1), m.group(0)), self.path)
        payload = whole if whole is not _ABSENT else (body if body or self._has_body() else _ABSENT)
        data = None if payload is _ABSENT else json.dumps(payload).encode()
        return path, urlencode(query), headers, data

    def _has_body(self) -> bool:
        return any(where == "body" for where, _ in self.locations.values())


_ABSENT = object()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


# ---------------------------------------------------------------- the document
def _resolve(spec: dict[str, Any], node: Any, where: str) -> Any:
    """Follow a local ``$ref`` (parameters, request bodies); anything else is refused by name."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise ValueError(f"{where}: only local $refs are supported, not {ref!r}")
        target: Any = spec
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise ValueError(f"{where}: $ref {ref!r} points at nothing in the document")
            target = target[part]
        node, seen = target, seen + 1
        if seen > 32:
            raise ValueError(f"{where}: $ref {ref!r} loops")
    return node


def _schema_with_defs(spec: dict[str, Any], schema: Any, defs: dict[str, Any], where: str) -> Any:
    """A copy of ``schema`` whose component refs point at ``#/$defs/...``, collecting them in ``defs``."""
    components = (spec.get("components") or {}).get("schemas") or {}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                if not value.startswith(_SCHEMA_REF):
                    raise ValueError(f"{where}: schema $ref {value!r} is not under {_SCHEMA_REF}")
                name = value[len(_SCHEMA_REF):]
                if name not in components:
                    raise ValueError(f"{where}: schema $ref {value!r} points at nothing in the document")
                if name not in defs:
                    defs[name] = {}  # placeholder first: recursive schemas terminate
                    defs[name] = walk(components[name])
                out[key] = "#/$defs/" + name
            else:
                out[key] = walk(value)
        return out
    return walk(copy.deepcopy(schema))


def _json_body_schema(request_body: dict[str, Any]) -> Any:
    content = request_body.get("content") or {}
    for media, entry in content.items():
        if media == "application/json" or media.endswith("+json"):
            return (entry or {}).get("schema") or {}
    return _ABSENT


def _tool_name(method: str, path: str, op: dict[str, Any]) -> str:
    given = op.get("operationId")
    name = _NAME_BAD.sub("_", str(given)) if given else re.sub("_+", "_", _NAME_BAD.sub("_", f"{method}_{path}"))
    name = name.strip("_")[:128]
    return name or method


def _operation(spec: dict[str, Any], method: str, path: str, op: dict[str, Any],
               shared_params: list[Any]) -> Operation | None:
    name = _tool_name(method, path, op)
    where = f"operation {method.upper()} {path} ({name})"
    defs: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    locations: dict[str, tuple[str, str]] = {}
    params = {}
    for raw in list(shared_params) + list(op.get("parameters") or []):
        param = _resolve(spec, raw, where)
        if isinstance(param, dict) and isinstance(param.get("name"), str):
            params[(param["name"], param.get("in"))] = param  # an operation's own overrides its path's
    for (pname, location), param in params.items():
        if location not in ("path", "query", "header"):
            continue  # cookies are the client's business, not the model's
        argument = pname if pname not in locations else f"{pname}_{location}"
        schema = _schema_with_defs(spec, param.get("schema") or {}, defs, where)
        if param.get("description") and isinstance(schema, dict):
            schema = {**schema, "description": param["description"]}
        properties[argument] = schema
        locations[argument] = (location, pname)
        if param.get("required") or location == "path":
            required.append(argument)
    body = _resolve(spec, op.get("requestBody"), where) if op.get("requestBody") else None
    if isinstance(body, dict):
        schema = _json_body_schema(body)
        if schema is _ABSENT:
            if body.get("required"):
                return None  # a required non-JSON body (a form, a file) is not a tool call
        else:
            top = _resolve(spec, schema, where) if isinstance(schema, dict) else schema
            fields = top.get("properties") if isinstance(top, dict) and top.get("type", "object") == "object" else None
            if isinstance(fields, dict) and fields and not set(fields) & set(locations):
                for field, field_schema in fields.items():
                    properties[field] = _schema_with_defs(spec, field_schema, defs, where)
                    locations[field] = ("body", field)
                if body.get("required"):
                    required.extend(f for f in top.get("required") or [] if f in fields)
            else:
                argument = "body" if "body" not in locations else "request_body"
                properties[argument] = _schema_with_defs(spec, schema, defs, where)
                locations[argument] = ("body-whole", argument)
                if body.get("required"):
                    required.append(argument)
    input_schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        input_schema["required"] = required
    if defs:
        input_schema["$defs"] = defs
    parts = [p for p in (op.get("summary"), op.get("description")) if isinstance(p, str) and p]
    tags = tuple(t for t in op.get("tags") or [] if isinstance(t, str))
    return Operation(name, method.upper(), path, "\n\n".join(parts) or None, input_schema, locations, tags)


def operations(spec: dict[str, Any], *, include: list[str] | None = None,
               tags: list[str] | None = None) -> list[Operation]:
    """The operations of an OpenAPI 3.x document, kept by name/path (``include``) or tag (``tags``)."""
    if not isinstance(spec, dict) or not str(spec.get("openapi", "")).startswith("3."):
        raise ValueError("not an OpenAPI 3.x document: its 'openapi' field must be '3.x.y'")
    paths = spec.get("paths")
    if not isinstance(paths, dict):
        raise ValueError("the OpenAPI document has no 'paths' object")
    found: dict[str, Operation] = {}
    for path, item in paths.items():
        item = _resolve(spec, item, f"path {path}")
        if not isinstance(item, dict):
            continue
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            operation = _operation(spec, method, path, op, item.get("parameters") or [])
            if operation is None:
                continue
            if operation.name in found:
                other = found[operation.name]
                raise ValueError(f"tool name {operation.name!r} is both {other.method} {other.path} and "
                                 f"{operation.method} {operation.path}: give them distinct operationIds")
            found[operation.name] = operation
    chosen = list(found.values())
    if include is not None or tags is not None:
        wanted, wanted_tags = set(include or ()), set(tags or ())
        unknown = wanted - {o.name for o in chosen} - {o.path for o in chosen}
        if unknown:
            raise ValueError(f"include names no operation: {sorted(unknown)} (known: {sorted(found)})")
        chosen = [o for o in chosen if o.name in wanted or o.path in wanted or wanted_tags & set(o.tags)]
    return chosen


# ---------------------------------------------------------------- calls
# (method, path, query string, headers, body, context) -> (status, content type, body bytes)
HTTPCall = Callable[[str, str, str, dict[str, str], "bytes | None", Any], Awaitable[tuple[int, str, bytes]]]


def tool_answer(operation: Operation, status: int, content_type: str, body: bytes) -> ToolResult:
    text = body.decode("utf-8", "replace")
    parsed: Any = _ABSENT
    if "json" in content_type:
        try:
            parsed = json.loads(body)
        except ValueError:
            pass
    if 200 <= status < 300:
        return ToolResult([text] if text else [], parsed if isinstance(parsed, dict) else None)
    if status == 422 and isinstance(parsed, dict):
        error = parsed.get("error") if isinstance(parsed.get("error"), dict) else parsed
        detail = error.get("detail")
        if isinstance(detail, list) and all(isinstance(d, dict) and "loc" in d for d in detail):
            raise InvalidParams(f"Invalid arguments for tool {operation.name}", detail)
    return ToolResult([f"HTTP {status}: {text}"], is_error=True)


def add_operation_tools(server: Any, chosen: list[Operation], send: HTTPCall) -> None:
    """Register one tool per operation on ``server``; ``send`` makes the HTTP call."""
    for operation in chosen:
        server.add_tool(_caller(operation, send), name=operation.name,
                        description=operation.description, input_schema=operation.input_schema,
                        read_only=operation.method in ("GET", "HEAD") or None,
                        idempotent=operation.method in ("GET", "HEAD", "PUT", "DELETE") or None,
                        destructive=operation.method == "DELETE" or None)


def _caller(operation: Operation, send: HTTPCall) -> Callable[..., Awaitable[ToolResult]]:
    # The context's parameter name is one no HTTP parameter is likely to have.
    async def call(mcp_call_context: Context, **arguments: Any) -> ToolResult:
        path, query, headers, body = operation.request_parts(arguments)
        status, content_type, data = await send(operation.method, path, query, headers, body, mcp_call_context)
        return tool_answer(operation, status, content_type, data)
    return call
