"""One sample request per route, built from the route's own parameters, or given by the user.

The request comes from the app's OpenAPI document (the one type layer's reading of
each handler's signature): the path parameters, the required query and header
parameters and a JSON body, each the smallest value its schema accepts (its
``default`` or first ``enum`` member where it has one, else a value within its
bounds; for a ``pattern``, the simplest match hypothesis finds). A route whose input
cannot be made up that way (a form or file body)
needs a sample from the user's examples file (:func:`load_examples`), keyed by
``"METHOD PATTERN"`` as ``conduit routes`` prints it::

    {"GET /books/{book_id:int}": {"path": "/books/7"},
     "POST /books": {"json": {"title": "Dune", "author": "Herbert", "year": 1965},
                     "headers": {"x-user": "ana"}}}
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..openapi.document import openapi_path


_TARGET = re.compile(r"/[\x21-\x7e]*")  # origin-form request target, visible ASCII (RFC 9112 §3.2)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2
_FIELD_VALUE = re.compile(r"[^\x00\r\n]*")


@dataclass(frozen=True)
class Sample:
    """One HTTP request: ``target`` is the path with its query string."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def to_bytes(self, host: str = "bench") -> bytes:
        """The request as HTTP/1.1 bytes (a ``Content-Length`` whenever there is a body)."""
        lines = [f"{self.method} {self.target} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "target": self.target, "headers": [list(h) for h in self.headers],
                "body": self.body.decode("latin-1")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Sample":
        return cls(data["method"], data["target"], tuple(tuple(h) for h in data["headers"]),
                   data["body"].encode("latin-1"))


@dataclass
class Plan:
    """The routes to measure (label -> sample) and those left out, each with the reason."""

    samples: dict[str, Sample] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def route_label(method: str, pattern: str) -> str:
    return f"{method} {pattern}"


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        extra = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**components[schema["$ref"].rsplit("/", 1)[1]], **extra}
    return schema


def example_value(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """The smallest value ``schema`` accepts (``ValueError`` where it cannot tell one)."""
    if depth > 20:
        raise ValueError("the schema nests more than 20 levels")
    schema = _resolve(schema, components)
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            choices = [_resolve(s, components) for s in schema[key]]
            usable = [s for s in choices if s.get("type") != "null"] or choices
            return example_value(usable[0], components, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "integer":
        low = schema.get("minimum", schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else None)
        high = schema.get("maximum", schema["exclusiveMaximum"] - 1 if "exclusiveMaximum" in schema else None)
        return int(math.ceil(low) if low is not None else 1 if high is None or high >= 1 else math.floor(high))
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        if low is not None and high is not None:
            return float(low + high) / 2 if low != high else float(low)  # inside both, exclusive or not
        if low is not None:
            return float(low) + (1.0 if "exclusiveMinimum" in schema else 0.0)
        return 1.0 if high is None or high > 1 else float(high) - (1.0 if "exclusiveMaximum" in schema else 0.0)
    if kind == "string":
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        if "pattern" in schema:
            return _string_matching(schema["pattern"], low, high)
        return "x" * (low or min(1, int(high if high is not None else 1)))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "array":
        items = schema.get("prefixItems") or [schema.get("items", {})] * max(int(schema.get("minItems", 1)), 1)
        return [example_value(item, components, depth + 1) for item in items]
    if kind == "object" or "properties" in schema:
        required = schema.get("required", [])
        return {name: example_value(sub, components, depth + 1)
                for name, sub in schema.get("properties", {}).items() if name in required}
    if not schema or set(schema) <= {"title", "description"}:
        return {}  # any JSON value is accepted (an ``Any`` body or field)
    raise ValueError(f"no example for the schema {json.dumps(schema)[:80]}")


def _string_matching(pattern: str, low: int, high: int | None) -> str:
    """The simplest string with a match of ``pattern`` (JSON Schema's search semantics) within the
    length bounds: hypothesis generates from the regex and shrinks to the minimal example."""
    try:
        from hypothesis import HealthCheck, find, settings
        from hypothesis import strategies as st
        from hypothesis.errors import NoSuchExample
    except ImportError:
        raise ValueError(f"a string with pattern {pattern!r} (install hypothesis, Conduit's bench extra, "
                         f"to build one)") from None
    fits = st.from_regex(pattern).filter(lambda s: low <= len(s) <= (high if high is not None else low + 64))
    try:
        return find(fits, lambda s: True, settings=settings(database=None, max_examples=200,
                                                                  suppress_health_check=list(HealthCheck)))
    except (NoSuchExample, re.error, ValueError):
        raise ValueError(f"a string with pattern {pattern!r} and length {low}..{high}") from None


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def sample_from_operation(method: str, path: str, operation: dict[str, Any],
                          components: dict[str, Any]) -> Sample:
    """The sample request for one OpenAPI operation (``ValueError`` naming what it cannot build)."""
    query: list[tuple[str, str]] = []
    headers: list[tuple[str, str]] = []
    for parameter in operation.get("parameters", []):
        where, name = parameter["in"], parameter["name"]
        if where != "path" and not parameter.get("required"):
            continue
        try:
            value = example_value(parameter.get("schema", {}), components)
        except ValueError as exc:
            raise ValueError(f"{where} parameter {name!r}: {exc}") from None
        values = value if isinstance(value, list) else [value]
        if where == "path":
            path = path.replace("{" + name + "}", urllib.parse.quote(_text(values[0]), safe=""))
        elif where == "query":
            query += [(name, _text(v)) for v in values]
        elif where == "header":
            headers.append((name, _text(values[0])))
        elif where == "cookie":
            headers.append(("cookie", f"{name}={_text(values[0])}"))
    body = b""
    content = operation.get("requestBody", {}).get("content", {})
    if content:
        if "application/json" not in content:
            raise ValueError(f"a {' or '.join(content)} body")
        try:
            value = example_value(content["application/json"].get("schema", {}), components)
        except ValueError as exc:
            raise ValueError(f"the JSON body: {exc}") from None
        body = json.dumps(value).encode()
        headers.append(("content-type", "application/json"))
    target = path + ("?" + urllib.parse.urlencode(query) if query else "")
    return Sample(method, target, tuple(headers), body)


def load_examples(path: str | Path) -> dict[str, Sample]:
    """The user's samples: a JSON object ``{"METHOD PATTERN": {"path", "headers", "json" | "body"}}``."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"cannot read the examples file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"the examples file {path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"the examples file {path} must hold a JSON object keyed by 'METHOD PATTERN'")
    samples = {}
    for label, entry in data.items():
        method, _, pattern = str(label).partition(" ")
        if not pattern.startswith("/") or not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise ValueError(f"examples file {path}: entry {label!r} needs a 'METHOD /pattern' key and an "
                             f"object with a 'path' (e.g. {{\"path\": \"/books/7\"}})")
        unknown = set(entry) - {"path", "headers", "json", "body"}
        if unknown:
            raise ValueError(f"examples file {path}: entry {label!r} has unknown keys {sorted(unknown)} "
                             f"(known: path, headers, json, body)")
        if not _TARGET.fullmatch(entry["path"]):
            raise ValueError(f"examples file {path}: entry {label!r}: the path {entry['path']!r} must start with "
                             f"'/' and hold no spaces or control characters (percent-encode them)")
        if not isinstance(entry.get("headers", {}), dict):
            raise ValueError(f"examples file {path}: entry {label!r}: 'headers' must be an object")
        headers = [(str(k), str(v)) for k, v in (entry.get("headers") or {}).items()]
        for name, value in headers:
            if not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
                raise ValueError(f"examples file {path}: entry {label!r}: the header {name!r}: {value!r} is not "
                                 f"a valid HTTP field (RFC 9110 token name, no CR, LF or NUL in the value)")
        body = b""
        if "json" in entry:
            body = json.dumps(entry["json"]).encode()
            if not any(k.lower() == "content-type" for k, _ in headers):
                headers.append(("content-type", "application/json"))
        elif "body" in entry:
            body = str(entry["body"]).encode()
        samples[route_label(method.upper(), pattern)] = Sample(method.upper(), entry["path"], tuple(headers), body)
    return samples


def _internal(route: Any) -> bool:
    return route.name.startswith("conduit.") or route.options.get("include_in_schema") is False


def plan_samples(app: Any, examples: dict[str, Sample] | None = None, only: list[str] | None = None) -> Plan:
    """A sample for every user route of ``app`` (framework routes left out), ``examples`` first.

    ``only`` keeps the routes whose label or pattern is one of its entries.
    """
    examples = dict(examples or {})
    document = app.openapi()
    components = document.get("components", {}).get("schemas", {})
    plan = Plan()
    for route in app.router.routes:
        if _internal(route):
            continue
        for method in route.methods:
            label = route_label(method, route.pattern)
            if only and label not in only and route.pattern not in only:
                continue
            if label in examples:
                plan.samples[label] = examples.pop(label)
                continue
            path = openapi_path(route.segments)
            operation = document.get("paths", {}).get(path, {}).get(method.lower())
            if operation is None:
                plan.skipped[label] = "not in the OpenAPI document: give a sample in the examples file"
                continue
            try:
                plan.samples[label] = sample_from_operation(method, path, operation, components)
            except ValueError as exc:
                plan.skipped[label] = f"no sample for {exc}: give one in the examples file"
    if examples:
        raise ValueError(f"the examples file names routes the app does not have: {', '.join(sorted(examples))}")
    return plan
