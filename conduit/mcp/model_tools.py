"""``mcp.add_model_tool(registry, name)``: a served model as an MCP tool.

The tool's input schema is the prediction route's own row schema (``predict_body_schema``:
the model's width, and its named features when the model has an input schema), under
``rows``, with ``version`` and (for classifiers with probabilities) ``probabilities``.
The version is resolved as the route resolves it (``registry.resolve``: loaded on first
use); a model registered with ``lazy=True`` is advertised with rows of any width until it
loads, then with its own features (the tool is replaced and clients get ``list_changed``).
Rows are checked by the model's own ``validate`` (a refusal is -32602 with the same
``{loc, msg, type}`` entries the HTTP route answers 422 with), then go through a
:class:`~conduit.ml.serve.batching.DynamicBatcher`. With ``app=`` it comes from the very
:class:`~conduit.ml.serve.batching.BatcherPool` the app's predict route at ``path`` uses
(``app.state.ml_batchers[path]``), so HTTP and MCP callers land in the same batches;
without it the tools of one registry share a pool of their own. Overload (503), a queue too small (413), a
timeout (504) or a model failure become tool errors the model can read, never a traceback.
"""

from __future__ import annotations

import weakref
from typing import Any

from conduit._json import dumps
from conduit.exceptions import HTTPError
from conduit.mcp.content import ToolResult
from conduit.mcp.protocol.jsonrpc import InvalidParams
from conduit.ml.serve.batching import BatcherPool
from conduit.ml.serve.requests import PredictBody, invalid_rows, predict_body_schema
from conduit.ml.validation import InvalidInput

__all__ = ["add_model_tool"]

# registry -> its pool: the tools of one registry (without an app) share it
_OWN_POOLS: weakref.WeakKeyDictionary[Any, BatcherPool] = weakref.WeakKeyDictionary()


def _route_batchers(app: Any, path: str | None) -> Any:
    routes = app.state.__dict__.get("ml_batchers", {})
    if path is None:
        if len(routes) != 1:
            raise ValueError(f"the app has {len(routes)} batched predict routes {sorted(routes)}: "
                             f"say which one the tool shares with path=")
        path = next(iter(routes))
    if path not in routes:
        raise ValueError(f"{path!r} is not a batched predict route of the app (those are {sorted(routes)})")
    return routes[path]


def _rows_schema(model: Any) -> dict[str, Any]:
    body = predict_body_schema(model)["content"]["application/json"]["schema"]
    return body["anyOf"][0]["properties"]["rows"]


def _tool_error(exc: HTTPError) -> ToolResult:
    retry = exc.headers.get("retry-after")
    return ToolResult([f"{exc.detail}" + (f" (retry after {retry} s)" if retry else "")], is_error=True)


def _describe(model: Any, name: str, description: str | None) -> tuple[dict[str, Any], str]:
    """The tool's input schema and description for ``model`` (None: not loaded yet, so any width)."""
    properties: dict[str, Any] = {"rows": {**_rows_schema(model), "description": "the rows to predict, one per item"},
                                  "version": {"type": "string", "description": "a model version (default: current)"}}
    if model is None or model.has("predict_proba"):
        properties["probabilities"] = {"type": "boolean", "description": "also return class probabilities"}
    features = getattr(getattr(model, "schema", None), "columns", None)
    width = getattr(model, "n_features_in_", None)
    shape = (f"features {', '.join(c.name for c in features)}" if features else
             f"{width} numeric features" if isinstance(width, int) else "numeric features")
    return ({"type": "object", "properties": properties, "required": ["rows"]},
            description or f"Predict with the model {name!r} ({shape} per row).")


def _jsonable(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value


def add_model_tool(server: Any, registry: Any, name: str, *, tool_name: str | None = None,
                   description: str | None = None, app: Any = None, path: str | None = None,
                   probabilities: bool = False, max_batch_size: int = 64, max_wait: float = 0.0015,
                   max_queue: int = 4096, timeout: float = 5.0) -> Any:
    """Register the tool; the batcher settings apply to a registry's own pool (without ``app``)."""
    if name not in registry:
        raise ValueError(f"the registry has no model named {name!r} (it has {registry.names()})")
    model = registry.get(name).model  # None while a lazily loaded model waits for its first use
    pool = _route_batchers(app, path) if app is not None else _OWN_POOLS.setdefault(registry, BatcherPool(
        max_batch_size=max_batch_size, max_wait=max_wait, max_queue=max_queue, timeout=timeout))

    async def predict(rows: Any = None, version: Any = None, probabilities: Any = None,
                      **unknown: Any) -> ToolResult:
        problems = [(["arguments", k], "unknown argument", "extra_forbidden") for k in unknown]
        if rows is None:
            problems.append((["arguments", "rows"], "field required", "missing"))
        if probabilities is not None and not isinstance(probabilities, bool):
            problems.append((["arguments", "probabilities"], "must be true or false", "bool_type"))
        if version is not None and (isinstance(version, bool) or not isinstance(version, (str, int))):
            problems.append((["arguments", "version"], "must be a string", "string_type"))
        if problems:
            raise InvalidParams(f"Invalid arguments for tool {tool_name}",
                                [{"loc": loc, "msg": msg, "type": kind} for loc, msg, kind in problems])
        try:
            entry = await registry.resolve(name, version)
        except HTTPError as exc:
            if exc.status_code != 404:  # a model that failed to load: 503 with retry advice
                return _tool_error(exc)
            raise InvalidParams(str(exc.detail), [{"loc": ["arguments", "version"], "msg": str(exc.detail),
                                                   "type": "value_error"}]) from None
        want = default_proba if probabilities is None else probabilities
        if want and not entry.model.has("predict_proba"):
            raise InvalidParams(f"model {name!r} does not give probabilities")
        try:
            X = entry.model.validate(rows)
        except InvalidInput as exc:
            errors = invalid_rows(exc, PredictBody(rows, {}, "rows")).errors
            for error in errors:  # the argument's location, in the HTTP route's vocabulary
                error["loc"] = ["arguments", *error["loc"][1:]]
            raise InvalidParams(f"Invalid rows for model {name!r}", errors) from None
        try:
            labels, probs = await pool.get(entry, entry.model).predict(X, proba=want)
        except HTTPError as exc:  # 413 / 503 / 504 / 500: a result the model can read and act on
            return _tool_error(exc)
        result: dict[str, Any] = {"model": entry.name, "version": entry.version, "predictions": _jsonable(labels)}
        if want:
            result["probabilities"] = _jsonable(probs)
            if entry.model.classes_ is not None:
                result["classes"] = _jsonable(entry.model.classes_)
        return ToolResult([dumps(result).decode()], result)

    default_proba = probabilities
    tool_name = tool_name or f"predict_{name}"

    def register(model: Any) -> Any:
        schema, text = _describe(model, name, description)
        return server.add_tool(predict, name=tool_name, description=text, input_schema=schema,
                               read_only=True, idempotent=True)

    def follow(entry: Any) -> None:
        """A version loaded (lazily, or a new current one): advertise its features (list_changed)."""
        nonlocal tool
        if entry.name != name or entry.model is None or server.tools.get(tool_name) is not tool:
            return
        if registry.get(name) is entry and _describe(entry.model, name, description)[0] != tool.wire["inputSchema"]:
            tool = register(entry.model)

    tool = register(model)
    registry.listeners.append(follow)
    return tool
