"""The OpenAPI answers of an ``app.predict`` route (its handler reads the body itself).

The request body schema lives beside the parser, in :mod:`conduit.ml.serve.requests`
(``predict_body_schema``); the answer and the error statuses here are the ones
:mod:`conduit.ml.serve.serving` produces and maps failures to.
"""

from __future__ import annotations

from typing import Any

PREDICTION: dict[str, Any] = {
    "type": "object", "title": "Prediction",
    "required": ["model", "version", "predictions"],
    "properties": {
        "model": {"type": "string"},
        "version": {"type": "string"},
        "predictions": {"type": "array", "items": {}},
        # null where the model's arithmetic overflowed (features near +-1.8e308 give NaN)
        "probabilities": {"type": "array", "items": {"type": "array", "items": {"type": ["number", "null"]}}},
        "classes": {"type": "array", "items": {}},
        "path": {"type": "string", "enum": ["primary", "fallback"],
                 "description": "which model answered (routes with a fallback model)"},
    },
}


def predict_route_options(model_name: str | None) -> dict[str, Any]:
    """Route options (``summary``, ``responses``, ``errors``, ``tags``) for one prediction route."""
    what = f"model {model_name!r}" if model_name else "the named model"
    return {
        "summary": f"Predict with {what}",
        "responses": {"200": {"description": "Predictions, in the order of the rows",
                              "content": {"application/json": {"schema": PREDICTION}}}},
        "errors": (404, 413, 422, 500, 503, 504),
        "tags": ["models"],
    }
