"""conduit_kernels: the Numba kernels behind Conduit, usable on their own.

Layering rule: this package imports only numpy and numba (never ``conduit``,
trio, h11, scikit-learn or onnxruntime). Each module pairs ``@njit`` kernels over
arrays with a thin Python layer that validates input and encodes it as arrays.
"""

from .http1 import scan_request_head
from .routing import (
    NOT_FOUND,
    ParamKind,
    PatternError,
    RouteConflict,
    RouteTable,
    build_route_table,
    match_route,
    match_routes,
    parse_pattern,
)

# --- vector search and TF-IDF (issue 6) ---
from .distances import Int8Matrix, Metric, METRIC_NAMES, inverse_norms, quantize_int8, resolve_metric
from .tfidf import TfidfModel, encode_documents, tfidf_fit, tfidf_transform
from .topk import MISSING_ID, topk, topk_batch

__all__ = [
    # vector search and TF-IDF (issue 6)
    "Int8Matrix", "METRIC_NAMES", "MISSING_ID", "Metric", "TfidfModel", "encode_documents",
    "inverse_norms", "quantize_int8", "resolve_metric", "tfidf_fit", "tfidf_transform", "topk",
    "topk_batch",
    "NOT_FOUND",
    "ParamKind",
    "PatternError",
    "RouteConflict",
    "RouteTable",
    "build_route_table",
    "match_route",
    "match_routes",
    "parse_pattern",
    "scan_request_head",
]
