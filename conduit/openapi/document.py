"""Build the OpenAPI 3.1 document from the routes and their binding plans.

Sources, per operation: the pattern (path and its parameters), the binding plan
(query/header/cookie parameters and the request body, with their schemas and
constraints), the docstring (summary: first line; description: the rest), the
return annotation (the success response) and the errors the route can produce
(404 for patterns with parameters, 422 where anything is validated, and the
``errors=[...]`` route option for declared :class:`~conduit.exceptions.HTTPError` s).

Route options read here: ``include_in_schema`` (default True), ``tags``,
``summary``, ``description``, ``operation_id``, ``deprecated``, ``status_code``,
``errors`` (HTTPError classes or status codes), ``responses`` (raw OpenAPI
response objects by status, merged last) and ``request_body`` (a raw request body
object, for handlers that read the body themselves, as prediction routes do).
Auth middleware becomes ``securitySchemes`` and per-operation ``security``
(:mod:`.security`).
"""

from __future__ import annotations

import inspect
import re
from http import HTTPStatus
from collections.abc import Sequence
from typing import Any

from conduit_kernels.route_table import ParamKind, Segment

from ..binding.markers import MISSING, Param
from ..binding.response_model import documented_annotation
from ..binding.signature import TEXT_SOURCES, Plan
from ..types.kinds import NoneType, strip_annotated
from ..exceptions import HTTPError
from ..http.response import EventSourceResponse, HTMLResponse, PlainTextResponse, Response, StreamingResponse
from .schema import REF, SchemaBuilder, json_default

_KIND_SCHEMAS = {ParamKind.INT: {"type": "integer"}, ParamKind.FLOAT: {"type": "number"},
                 ParamKind.UUID: {"type": "string", "format": "uuid"}, ParamKind.STR: {"type": "string"},
                 ParamKind.PATH: {"type": "string"}}

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["status", "type", "detail"],
        "properties": {"status": {"type": "integer"}, "type": {"type": "string"}, "detail": {},
                       "request_id": {"type": ["string", "null"]}},
    }},
}

_VALIDATION_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["status", "type", "detail"],
        "properties": {
            "status": {"type": "integer", "const": 422},
            "type": {"type": "string"},
            "detail": {"type": "array", "items": {
                "type": "object", "required": ["loc", "msg", "type"],
                "properties": {"loc": {"type": "array", "items": {"type": ["string", "integer"]},
                                       "description": 'e.g. ["query", "page"], ["body", "items", 3, "price"]'},
                               "msg": {"type": "string"},
                               "type": {"type": "string", "description": "a code of the error vocabulary "
                                                                         "(docs/errors.md), e.g. int_parsing"}}}},
            "request_id": {"type": ["string", "null"]},
        },
    }},
}


#: One event of a ``text/event-stream`` answer: OpenAPI 3.1 tools read this media type's
#: schema per event (HTML's fields), not as one string.
_SSE_EVENT = {"type": "object", "properties": {"event": {"type": "string"}, "data": {"type": "string"},
                                               "id": {"type": "string"}, "retry": {"type": "integer"}}}

def openapi_path(segments: Sequence[Segment]) -> str:
    """A route's parsed pattern as an OpenAPI path: ``/users/{id:int}/files/*rest`` -> ``/users/{id}/files/{rest}``."""
    return "/" + "/".join(s.text if s.kind == ParamKind.STATIC else "{" + s.text + "}" for s in segments)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _error_response(status: int, description: str | None = None) -> dict[str, Any]:
    ref = "HTTPValidationError" if status == 422 else "Error"
    return {"description": description or _phrase(status),
            "content": {"application/json": {"schema": {"$ref": REF + ref}}}}


def _docstring(handler: Any) -> tuple[str | None, str | None]:
    doc = inspect.getdoc(handler)
    if not doc:
        return None, None
    summary, _, rest = doc.partition("\n")
    return summary.strip() or None, rest.strip() or None


class _Builder:
    def __init__(self, app: Any):
        from .security import SecurityPlan

        self.app = app
        self.schemas = SchemaBuilder()
        self.operation_ids: set[str] = set()
        self.security = SecurityPlan(app)

    def document(self) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        tags: dict[str, None] = {}
        for route in self.app.router.routes:
            if not route.options.get("include_in_schema", True):
                continue
            item = paths.setdefault(openapi_path(route.segments), {})
            for method in route.methods:
                operation = self.operation(route, method, len(route.methods) > 1)
                tags.update(dict.fromkeys(operation.get("tags", ())))
                item[method.lower()] = operation
        components = {"schemas": {**self.schemas.components, "Error": _ERROR_SCHEMA,
                                  "HTTPValidationError": _VALIDATION_SCHEMA},
                      "responses": {"NotFound": _error_response(404),
                                    "MethodNotAllowed": _error_response(405, "Method Not Allowed (see the Allow header)"),
                                    "ValidationError": _error_response(422, "Validation Error")}}
        info: dict[str, Any] = {"title": self.app.title, "version": self.app.version}
        description = getattr(self.app, "description", None)
        if description:
            info["description"] = description
        if self.security.schemes:
            components["securitySchemes"] = self.security.schemes
        document = {"openapi": "3.1.0", "info": info, "paths": paths, "components": components}
        if tags:
            document["tags"] = [{"name": t} for t in tags]
        return document

    def operation(self, route: Any, method: str, several: bool) -> dict[str, Any]:
        options = route.options
        plan: Plan | None = getattr(route, "binding", None)
        handler = route.handler
        summary, description = _docstring(handler)
        name = getattr(handler, "__name__", "handler")
        if name == "<lambda>":
            name = re.sub(r"\W+", "_", route.pattern).strip("_") or "root"
        operation_id = options.get("operation_id") or (f"{name}_{method.lower()}" if several else name)
        base, n = operation_id, 2
        while operation_id in self.operation_ids:
            operation_id, n = f"{base}_{n}", n + 1
        self.operation_ids.add(operation_id)

        op: dict[str, Any] = {"operationId": operation_id,
                              "summary": options.get("summary") or summary or name.replace("_", " ").capitalize()}
        if options.get("description") or description:
            op["description"] = options.get("description") or description
        tags = options.get("tags") or self._default_tags(route.segments)
        if tags:
            op["tags"] = list(tags)
        if options.get("deprecated"):
            op["deprecated"] = True

        parameters, validated = self.parameters(route, plan)
        if parameters:
            op["parameters"] = parameters
        body = self.request_body(plan) if plan is not None else None
        if body is None:
            body = options.get("request_body")  # a handler that reads its own body (ML predict)
        if body is not None:
            op["requestBody"] = body
            validated = True
        op["responses"] = self.responses(route, plan, validated)
        if body is not None and "application/json" in body.get("content", {}):  # conduit/_json.py's rule
            op["responses"].setdefault("400", _error_response(400, "The body is not JSON (invalid_json)"))
        security = self.security.operation_security(route)
        if security is not None:
            op["security"] = security
            if security:
                op["responses"].setdefault("401", _error_response(401, "No API key, or an unknown one"))
                op["responses"].setdefault("403", _error_response(403, "The API key lacks a required scope"))
        return op

    @staticmethod
    def _default_tags(segments: Sequence[Segment]) -> list[str]:
        first = next((s for s in segments if s.kind == ParamKind.STATIC and s.text), None)
        return [first.text] if first is not None else []

    def parameters(self, route: Any, plan: Plan | None) -> tuple[list[dict[str, Any]], bool]:
        out: list[dict[str, Any]] = []
        validated = False
        specs = {(s.source, s.key): s for s in plan.inputs()} if plan is not None else {}
        for name, kind in zip(route.param_names, route.param_kinds):
            spec = specs.pop(("path", name), None)
            schema = dict(_KIND_SCHEMAS[kind])
            if spec is not None:
                marker = spec.marker if isinstance(spec.marker, Param) else None
                schema = self.schemas.schema(spec.annotation, (marker,)) or schema
                schema.pop("default", None)
                validated = validated or not spec.router_typed or schema != _KIND_SCHEMAS[kind]
            out.append({"name": name, "in": "path", "required": True, "schema": schema})
        for (source, key), spec in specs.items():
            if source not in TEXT_SOURCES or source == "path":
                continue
            marker = spec.marker if isinstance(spec.marker, Param) else None
            if marker is not None and not marker.include_in_schema:
                continue
            validated = True
            if spec.nullable and not spec.required and spec.default is None:
                # an absent optional parameter is None; on the wire it is simply left out
                schema = self.schemas.schema(spec.type, strip_annotated(spec.annotation)[1] + (marker,))
            else:
                schema = self.schemas.schema(spec.annotation, (marker,))
            default = spec.default
            if not spec.required and default is not None and default is not MISSING:
                if json_default(default) is not ...:
                    schema["default"] = json_default(default)
            parameter: dict[str, Any] = {"name": key, "in": source, "required": spec.required, "schema": schema}
            if marker is not None and marker.description:
                parameter["description"] = marker.description
            if marker is not None and marker.deprecated:
                parameter["deprecated"] = True
            if spec.is_list and source == "query":
                parameter["style"], parameter["explode"] = "form", True
            out.append(parameter)
        return out, validated

    def form_body(self, plan: Plan) -> dict[str, Any] | None:
        """Form fields and files as an urlencoded or multipart body (files: binary strings)."""
        fields = plan.form_params
        if not fields:
            return None
        properties: dict[str, Any] = {}
        for spec in fields:
            if spec.source == "file":
                schema: dict[str, Any] = {"type": "string", "format": "binary"}
                if spec.is_list:
                    schema = {"type": "array", "items": schema}
            else:
                marker = spec.marker if isinstance(spec.marker, Param) else None
                schema = self.schemas.schema(spec.annotation, (marker,))
            properties[spec.key] = schema
        schema = {"type": "object", "properties": properties}
        names = [s.key for s in fields if s.required]
        if names:
            schema["required"] = names
        media = "multipart/form-data" if any(s.source == "file" for s in fields) else "application/x-www-form-urlencoded"
        return {"required": bool(names), "content": {media: {"schema": schema}}}

    def request_body(self, plan: Plan) -> dict[str, Any] | None:
        bodies = [s for s in plan.body_params]
        if not bodies:
            return self.form_body(plan)
        if not bodies[0].embedded:
            spec = bodies[0]
            schema = self._body_schema(spec)
            required = spec.required
        else:
            schema = {"type": "object", "properties": {s.key: self._body_schema(s) for s in bodies}}
            names = [s.key for s in bodies if s.required]
            if names:
                schema["required"] = names
            required = bool(names)
        media_type = getattr(bodies[0].marker, "media_type", None) or "application/json"
        return {"required": required, "content": {media_type: {"schema": schema}}}

    def _body_schema(self, spec: Any) -> dict[str, Any]:
        marker = spec.marker if isinstance(spec.marker, Param) else None
        return self.schemas.schema(spec.annotation, (marker,))

    def responses(self, route: Any, plan: Plan | None, validated: bool) -> dict[str, Any]:
        options = route.options
        status = int(options.get("status_code") or 200)
        annotation = documented_annotation(options, plan.return_annotation) if plan is not None else MISSING
        responses: dict[str, Any] = {}
        base = strip_annotated(annotation)[0] if annotation is not MISSING else MISSING
        if base is None or base is NoneType:
            responses["204"] = {"description": "No Content"}
        else:
            success: dict[str, Any] = {"description": "Successful Response"}
            content = self._content(base, annotation)
            if content is not None:
                success["content"] = content
            responses[str(status)] = success
        if route.param_names:
            responses["404"] = _error_response(404)
        if validated:
            responses["422"] = _error_response(422, "Validation Error")
        for error in options.get("errors", ()):
            code = error if isinstance(error, int) else error.status_code
            description = None if isinstance(error, int) else (error.__doc__ or "").strip() or None
            if isinstance(error, HTTPError):
                description = str(error.detail)
            responses[str(code)] = _error_response(code, description)
        for code, response in (options.get("responses") or {}).items():
            responses[str(code)] = response if isinstance(response, dict) else {"description": str(response)}
        return responses

    def _content(self, base: Any, annotation: Any) -> dict[str, Any] | None:
        if base is MISSING:
            return None
        if isinstance(base, type) and issubclass(base, Response):
            if issubclass(base, EventSourceResponse):
                return {"text/event-stream": {"schema": _SSE_EVENT}}
            if issubclass(base, StreamingResponse):
                return None
            if issubclass(base, HTMLResponse):
                return {"text/html": {"schema": {"type": "string"}}}
            if issubclass(base, PlainTextResponse):
                return {"text/plain": {"schema": {"type": "string"}}}
            return None
        if base is str:
            return {"text/plain": {"schema": {"type": "string"}}}
        if base in (bytes, bytearray):
            return {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
        return {"application/json": {"schema": self.schemas.schema(annotation)}}


def build_document(app: Any) -> dict[str, Any]:
    """A fresh OpenAPI 3.1 document for ``app``."""
    return _Builder(app).document()


def openapi_for(app: Any) -> dict[str, Any]:
    """``build_document`` cached on the app until its route list changes."""
    key = tuple(map(id, app.router.routes))
    cached = getattr(app, "_openapi_cache", None)
    if cached is None or cached[0] != key:
        cached = (key, build_document(app))
        app._openapi_cache = cached
    return cached[1]


__all__ = ["build_document", "openapi_for", "openapi_path"]
