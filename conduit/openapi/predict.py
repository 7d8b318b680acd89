"""The OpenAPI description of an ``app.predict`` route (its handler reads the body itself).

The body forms and answers are those of :mod:`conduit.ml.serving`; the error
statuses are the ones that module maps failures to.
"""

from __future__ import annotations

from typing import Any

_ROW = {"type": "array", "items": {"type": ["number", "string", "boolean", "null"]},
        "description": "one row of feature values, in the order the model was trained on"}
_ROWS = {"type": "array", "items": _ROW}

REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {"application/json": {"schema": {"oneOf": [
        {"type": "object", "title": "PredictRequest",
         "properties": {"rows": _ROWS, "row": _ROW,
                        "probabilities": {"type": "boolean", "description": "include class probabilities"},
                        "version": {"type": ["string", "integer"], "description": "a model version (default: current)"}},
         "anyOf": [{"required": ["rows"]}, {"required": ["row"]}]},
        {**_ROWS, "title": "Rows"},
    ]}}},
}

PREDICTION: dict[str, Any] = {
    "type": "object", "title": "Prediction",
    "required": ["model", "version", "predictions"],
    "properties": {
        "model": {"type": "string"},
        "version": {"type": "string"},
        "predictions": {"type": "array", "items": {}},
        "probabilities": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
        "classes": {"type": "array", "items": {}},
    },
}


def predict_route_options(model_name: str | None) -> dict[str, Any]:
    """Route options (``request_body``, ``responses``, ``errors``) for one prediction route."""
    what = f"model {model_name!r}" if model_name else "the named model"
    return {
        "summary": f"Predict with {what}",
        "request_body": REQUEST_BODY,
        "responses": {"200": {"description": "Predictions, in the order of the rows",
                              "content": {"application/json": {"schema": PREDICTION}}}},
        "errors": (404, 413, 422, 500, 503, 504),
        "tags": ["models"],
    }
