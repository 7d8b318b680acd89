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

# --- model inference and ensemble aggregation (conduit.ml) ---
from ._links import LabelRule, Link
from .ensemble import argmax_rows, hard_vote, mean_vote, median_vote, soft_vote
from .linear import linear_labels, linear_scores
from .naive_bayes import gaussian_nb_labels, gaussian_nb_scores
from .preprocessing import affine_stage, affine_transform, check_finite, no_preprocessing
from .trees import Forest, forest_labels, forest_scores, make_forest

__all__ = [
    "Forest",
    "LabelRule",
    "Link",
    "affine_stage",
    "affine_transform",
    "argmax_rows",
    "check_finite",
    "forest_labels",
    "forest_scores",
    "gaussian_nb_labels",
    "gaussian_nb_scores",
    "hard_vote",
    "linear_labels",
    "linear_scores",
    "make_forest",
    "mean_vote",
    "median_vote",
    "no_preprocessing",
    "soft_vote",
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
