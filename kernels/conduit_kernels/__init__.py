"""conduit_kernels: the Numba kernels behind Conduit, usable on their own.

Layering rule: this package imports only numpy and numba (never ``conduit``,
trio, h11, scikit-learn or onnxruntime). Each module pairs ``@njit`` kernels over
arrays with a thin Python layer that validates input and encodes it as arrays.

Names load lazily, by module, on first access: ``import conduit_kernels`` costs
nothing, and building a route table (``route_table``) does not import numba.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> submodule that defines it
_EXPORTS = {
    # route tables (numpy only) and route matching
    "NOT_FOUND": "route_table",
    "ParamKind": "route_table",
    "PatternError": "route_table",
    "RouteConflict": "route_table",
    "RouteTable": "route_table",
    "build_route_table": "route_table",
    "parse_pattern": "route_table",
    "match_route": "routing",
    "match_routes": "routing",
    # HTTP/1.1 request heads
    "scan_request_head": "http1",
    # WebSocket client frames (RFC 6455 §5.2)
    "scan_frames": "websocket_frames",
    "unmask": "websocket_frames",
    # model inference and ensemble aggregation (conduit.ml)
    "LabelRule": "_links",
    "Link": "_links",
    "argmax_rows": "ensemble",
    "hard_vote": "ensemble",
    "mean_vote": "ensemble",
    "median_vote": "ensemble",
    "soft_vote": "ensemble",
    "linear_labels": "linear",
    "linear_scores": "linear",
    "gaussian_nb_labels": "naive_bayes",
    "gaussian_nb_scores": "naive_bayes",
    "affine_stage": "preprocessing",
    "affine_transform": "preprocessing",
    "check_finite": "preprocessing",
    "fill_missing": "preprocessing",
    "no_preprocessing": "preprocessing",
    "one_hot": "preprocessing",
    "ordinal": "preprocessing",
    "polynomial": "preprocessing",
    "SvmKernel": "svm",
    "svm_labels": "svm",
    "svm_scores": "svm",
    "Forest": "trees",
    "check_tree": "trees",
    "Split": "trees",
    "forest_labels": "trees",
    "forest_scores": "trees",
    "make_forest": "trees",
    # vector search and TF-IDF (conduit.vector); GPU twins stay in conduit_kernels.cuda
    "bm25_idf": "bm25",
    "bm25_scores": "bm25",
    "Int8Matrix": "distances",
    "METRIC_NAMES": "distances",
    "Metric": "distances",
    "inverse_norms": "distances",
    "quantize_int8": "distances",
    "BinaryMatrix": "binary",
    "hamming_candidates": "binary",
    "hamming_candidates_batch": "binary",
    "quantize_binary": "binary",
    "resolve_metric": "distances",
    "TfidfModel": "tfidf",
    "encode_documents": "tfidf",
    "tfidf_fit": "tfidf",
    "tfidf_transform": "tfidf",
    "HnswIndex": "hnsw",
    "load_npy": "npyfile",
    "merge_topk": "merge",
    "MISSING_ID": "topk",
    "topk": "topk",
    "topk_batch": "topk",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'conduit_kernels' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
