"""The request prologue of a prediction route, shared by the JSON and the streaming endpoint.

Owns reading a predict body (:func:`read_predict_body`), the options it may carry
(``probabilities``, ``version``), the model name of a registry route, and turning an
:class:`~conduit.ml.validation.InvalidInput` into the 422 entries of the shared error
vocabulary. The rule is the framework's: a body that is not JSON is
:class:`~conduit.http.request.InvalidJSON` (400 ``invalid_json``, raised by the one
body parser); JSON that fails is a :class:`~conduit.exceptions.ValidationError` whose
entries point into the body, e.g. ``{"loc": ["body", "rows", 3, "age"], "msg": "row 3,
column 'age': expected a number, got 'x'", "type": "float_type"}``. A single row
(``{"row": [...]}`` or a bare flat list) has no row index in its locs.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Annotated, Any

from conduit.http.json_body import decode_json_body
from conduit.binding import Query
from conduit.exceptions import HTTPError, ValidationError

from ..validation import InvalidInput

__all__ = ["ROW_KEYS", "PredictBody", "ProbabilitiesQuery", "VersionQuery", "invalid_rows", "model_name",
           "parse_rows", "predict_body_schema", "read_predict_body", "without_parameter"]

#: The body members that may hold the rows, in the order they are looked for.
ROW_KEYS = ("rows", "row", "inputs", "instances")

#: The query parameters of a prediction route (the body may carry the same options),
#: bound and documented by the type layer like any handler's.
ProbabilitiesQuery = Annotated[bool | None, Query(description="include class probabilities")]
VersionQuery = Annotated[str | None, Query(description="the model version (default: the latest)")]


def _refuse(loc: list[Any], msg: str, type: str) -> ValidationError:
    return ValidationError([{"loc": loc, "msg": msg, "type": type}])


@dataclass(frozen=True)
class PredictBody:
    """A decoded predict body: the ``rows``, the whole object (``options``) and where the
    rows sit (``key``: the member, None for a bare list)."""

    rows: Any
    options: dict[str, Any]
    key: str | None

    @property
    def loc(self) -> list[Any]:
        return ["body"] if self.key is None else ["body", self.key]

    @property
    def single(self) -> bool:
        """One row rather than a list of rows (its locs carry no row index)."""
        if self.key == "row" or isinstance(self.rows, dict):
            return True
        return isinstance(self.rows, list) and bool(self.rows) and not isinstance(self.rows[0], (list, dict))

    def flag(self, key: str, query: bool | None, default: bool) -> bool:
        """A boolean option: the body's ``key`` (a JSON boolean), else the query's, else ``default``."""
        if key in self.options:
            value = self.options[key]
            if type(value) is not bool:
                raise _refuse(["body", key], f"{key} must be true or false, got {_short(value)}", "bool_type")
            return value
        return default if query is None else query

    def version(self, query: str | None) -> str | None:
        """The requested model version: the body's ``version``, else the query's."""
        if "version" not in self.options:
            return query
        value = self.options["version"]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise _refuse(["body", "version"], f"version must be a string, got {_short(value)}", "string_type")
        return str(value)


def without_parameter(endpoint: Any, name: str) -> inspect.Signature:
    """``endpoint``'s signature without ``name`` (so binding neither reads nor documents it)."""
    signature = inspect.signature(endpoint)
    return signature.replace(parameters=[p for p in signature.parameters.values() if p.name != name])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_predict_body(body: bytes, content_type: str | None = None) -> PredictBody:
    """Decode a predict body under the one body rule (:mod:`conduit.http.json_body`):
    415 for another media type, :class:`InvalidJSON` (400) or :class:`ValidationError` (422)."""
    if not body.strip():
        raise _refuse(["body"], "the body is empty: send {\"rows\": [[...], ...]}", "missing")
    payload = decode_json_body(body, content_type)
    if isinstance(payload, list):
        return PredictBody(payload, {}, None)
    if not isinstance(payload, dict):
        raise _refuse(["body"], "the body must be an object with \"rows\" (or \"row\"), or a list of rows",
                      "model_type")
    for key in ROW_KEYS:
        if key in payload:
            return PredictBody(payload[key], payload, key)
    raise _refuse(["body", "rows"], f"the body has no \"rows\" (or \"row\") field; it has {sorted(payload)[:20]}",
                  "missing")


def parse_rows(body: bytes) -> tuple[Any, dict[str, Any]]:
    """Rows and options from a JSON body (see :func:`read_predict_body`)."""
    predict = read_predict_body(body)
    return predict.rows, predict.options


def model_name(path_params: dict[str, Any]) -> str:
    """The model a registry route serves: its ``{name}`` parameter, else its only one."""
    if "name" in path_params:
        return str(path_params["name"])
    return str(next(iter(path_params.values())))


async def read_prediction(request: Any, registry: Any, name: str | None, version: str | None,
                          fallback: Any = None) -> tuple[PredictBody, Any]:
    """The prologue of every predict route: the decoded body and the registry entry it asks
    for, loaded (a lazy model loads here; one that is down is 503 naming it).

    ``name`` fixes the model (a route for one model); None reads it from the path.
    ``fallback`` (a ``ModelVersion``) answers instead when the model is down.
    """
    predict = read_predict_body(await request.body(), request.headers.get("content-type"))
    chosen = name if name is not None else model_name(request.path_params)
    asked = predict.version(version)
    if asked is None and chosen in registry.rollouts:  # a rollout picks (sticky per key when it has one)
        asked = registry.choose_version(chosen, registry.rollouts[chosen].key_value(request.headers,
                                                                                    predict.options))
    try:
        return predict, await registry.resolve(chosen, asked)
    except HTTPError as exc:
        if fallback is None or exc.status_code < 500:
            raise
        return predict, fallback


def _row_schema(model: Any) -> dict[str, Any]:
    """JSON Schema of one row, as narrow as the model allows (the document says what it accepts)."""
    schema = getattr(model, "schema", None)
    if schema is not None:
        columns = schema.columns
        return {"anyOf": [schema.row_schema(),
                          {"type": "array", "prefixItems": [c.schema() for c in columns],
                           "minItems": len(columns), "maxItems": len(columns)}]}
    number: dict[str, Any] = {"type": ["number", "null"] if getattr(model, "allow_nan", True) else "number"}
    row: dict[str, Any] = {"type": "array", "items": number}
    width = getattr(model, "n_features_in_", None)
    if isinstance(width, int):
        row["minItems"] = row["maxItems"] = width
    return row


def predict_body_schema(model: Any) -> dict[str, Any]:
    """OpenAPI request body of a prediction route (``model`` None: a registry route).

    ``{"rows": [...]}``, ``{"row": ...}`` or a bare list of rows; rows have the model's
    width and JSON types (named rows when the model has an input schema).
    """
    row = _row_schema(model)
    options: dict[str, Any] = {"version": {"type": "string"}}
    if model is None or model.has("predict_proba"):
        options["probabilities"] = {"type": "boolean"}
    rows = {"type": "array", "items": row, "minItems": 1}
    body = {"anyOf": [
        {"type": "object", "properties": {"rows": rows, **options}, "required": ["rows"]},
        {"type": "object", "properties": {"row": row, **options}, "required": ["row"]},
        rows]}
    return {"required": True, "content": {"application/json": {"schema": body}}}


#: Context an :class:`InvalidInput` may carry besides its loc, message and code.
_CONTEXT = ("expected_features", "got_features", "dtype", "ndim", "reason")


def invalid_rows(exc: InvalidInput, body: PredictBody) -> ValidationError:
    """The 422 for rows a model refused: one entry per failure, pointing at its row and column."""
    return ValidationError([_entry(detail, body) for detail in exc.failures])


def _entry(detail: dict[str, Any], body: PredictBody) -> dict[str, Any]:
    loc = body.loc
    if "row" in detail and not body.single:
        loc.append(detail["row"])
    if "column" in detail:
        loc.append(detail["column"])
    entry: dict[str, Any] = {"loc": loc, "msg": detail["message"], "type": detail.get("type", "value_error")}
    context = {k: detail[k] for k in _CONTEXT if k in detail}
    if context:
        entry["ctx"] = context
    return entry
