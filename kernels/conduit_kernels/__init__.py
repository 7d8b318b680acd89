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

__all__ = [
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
