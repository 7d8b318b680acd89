"""LightGBM and XGBoost boosters: their model files, and their trees as tree-kernel arrays.

Owns reading a booster's own serialisation (LightGBM's ``dump_model()`` JSON, XGBoost's
JSON model) into :func:`conduit_kernels.trees.make_forest` parts, with each library's
split rules mapped onto the kernel's split kinds (:class:`conduit_kernels.trees.Split`),
its base score folded into the accumulator start, and its objective mapped onto an
output link. The libraries are optional extras (``conduit[lightgbm]``,
``conduit[xgboost]``), imported only here and only when such a model is loaded or
compiled.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from conduit_kernels import trees
from conduit_kernels._links import LabelRule, Link
from conduit_kernels.preprocessing import no_preprocessing

from .booster_files import check_lightgbm_text, check_xgboost_model, check_xgboost_tree
from .plan import FOREST_KERNELS, Plan, Unsupported

__all__ = ["BOOSTER_CONVERTERS", "NATIVE_SUFFIXES", "lightgbm_booster", "load_booster", "xgboost_booster"]

#: Suffixes that name a library's own model format without ``format=``.
NATIVE_SUFFIXES = {".lgb": "lightgbm", ".ubj": "xgboost", ".xgb": "xgboost"}


def load_booster(kind: str, data: bytes) -> Any:
    """A ``lightgbm.Booster`` or ``xgboost.Booster`` from the bytes of its model file.

    The trees are checked (:mod:`.booster_files`) before the library or a kernel walks
    them: a malformed table raises ``ValueError`` naming the tree and node.
    """
    if kind == "lightgbm":
        import lightgbm

        booster = lightgbm.Booster(model_str=check_lightgbm_text(data.decode("utf-8")))
        booster.dump_model()  # what conversion reads: a header it cannot describe fails here
        return booster
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(bytearray(data))
    check_xgboost_model(booster)
    return booster


# --- conversion ----------------------------------------------------------------------

_NUMERIC, _NAN_AS_ZERO, _ZERO_AS_MISSING, _CATEGORY = (int(k) for k in trees.Split)


class _Booster:
    """What both libraries' models reduce to: trees, a start, an objective family."""

    def __init__(self, parts: list[tuple], init: np.ndarray, family: str, n_features: int,
                 compare32: bool) -> None:
        self.forest = trees.make_forest(parts, init, compare32=compare32, n_features=n_features)
        self.family = family  # "identity" | "logistic" | "softmax" | "softmax_labels"
        self.n_features = n_features


def _plan(booster: _Booster, pre: np.ndarray | None, *, classes: Any = None, raw_booster: bool) -> Plan:
    """The :class:`Plan` of a converted booster, with the wrapper's or the booster's output rule."""
    pre = no_preprocessing(booster.n_features) if pre is None else np.ascontiguousarray(pre)
    args = (*booster.forest, pre)
    family = booster.family
    common = dict(accepts_nan=True)
    if family == "identity":
        return Plan("forest", booster.n_features, FOREST_KERNELS[0], None, args, ravel=booster.forest.init.shape[0] == 1,
                    n_outputs=booster.forest.init.shape[0], **common)
    binary = family == "logistic"
    link = Link.LOGISTIC if binary else Link.SOFTMAX
    if raw_booster:
        if family == "softmax_labels":  # multi:softmax: the booster predicts the class index
            k = booster.forest.init.shape[0]
            return Plan("forest", booster.n_features, *FOREST_KERNELS, args, np.arange(k, dtype=np.float32),
                        proba_link=Link.SOFTMAX, decision=True, **common)
        return Plan("forest", booster.n_features, FOREST_KERNELS[0], None, args, proba_link=link,
                    decision=True, ravel=binary, predict_link=link, **common)
    return Plan("forest", booster.n_features, *FOREST_KERNELS, args, np.asarray(classes), proba_link=link,
                label_rule=LabelRule.POSITIVE if binary else LabelRule.ARGMAX, decision=True, ravel=binary,
                **common)


# --- LightGBM --------------------------------------------------------------------------

_LGB_FAMILY = {"regression": "identity", "regression_l2": "identity", "regression_l1": "identity",
               "l2": "identity", "l1": "identity", "mse": "identity", "mae": "identity",
               "huber": "identity", "fair": "identity", "quantile": "identity", "mape": "identity",
               "binary": "logistic", "multiclass": "softmax", "softmax": "softmax"}
_LGB_MISSING = {"None": _NAN_AS_ZERO, "Zero": _ZERO_AS_MISSING, "NaN": _NUMERIC}


def _lgb_tree(structure: dict, scale: float) -> tuple:
    """One ``dump_model()`` tree -> make_forest part (nodes in depth-first order)."""
    feature, threshold, left, right, missing, value, kind, sets = [], [], [], [], [], [], [], []

    def add(node: dict) -> int:
        at = len(feature)
        for column in (feature, threshold, left, right, missing, kind):
            column.append(0)
        value.append(0.0)
        if "leaf_value" in node:
            feature[at], left[at], right[at] = -1, -1, -1
            value[at] = float(node["leaf_value"]) * scale
            return at
        feature[at] = int(node["split_feature"])
        if node["decision_type"] == "==":
            kind[at] = _CATEGORY
            threshold[at] = float(len(sets))
            sets.append([int(c) for c in str(node["threshold"]).split("||")])
            missing[at] = 0  # LightGBM's CategoricalDecision: NaN goes right
        else:
            kind[at] = _LGB_MISSING[node.get("missing_type", "None")]
            threshold[at] = float(node["threshold"])
            missing[at] = 1 if node.get("default_left", True) else 0
        left[at] = add(node["left_child"])
        right[at] = add(node["right_child"])
        return at

    add(structure)
    return (np.array(feature), np.array(threshold), np.array(left), np.array(right), np.array(missing),
            np.array(value).reshape(-1, 1), 0, np.array(kind), sets)


def lightgbm_booster(booster: Any) -> _Booster:
    """A ``lightgbm.Booster`` (its ``dump_model()``) as a :class:`_Booster`."""
    model = booster.dump_model()
    objective = str(model.get("objective", "regression")).split()
    family = _LGB_FAMILY.get(objective[0]) if objective else None
    if family is None:
        raise Unsupported(f"LightGBM objective {' '.join(objective)!r} is not compiled")
    if model.get("average_output"):
        raise Unsupported("LightGBM random-forest mode (average_output) is not compiled")
    scale = 1.0
    for option in objective[1:]:
        if option.startswith("sigmoid:"):
            scale = float(option.split(":", 1)[1])
    k = int(model["num_tree_per_iteration"])
    parts = []
    for i, info in enumerate(model["tree_info"]):
        if info.get("is_linear"):
            raise Unsupported("LightGBM linear trees are not compiled")
        part = _lgb_tree(info["tree_structure"], scale if family == "logistic" else 1.0)
        parts.append((*part[:6], i % k, *part[7:]))
    return _Booster(parts, np.zeros(k), family, int(model["max_feature_idx"]) + 1, compare32=False)


# --- XGBoost ----------------------------------------------------------------------------

_XGB_FAMILY = {"reg:squarederror": "identity", "reg:linear": "identity", "reg:absoluteerror": "identity",
               "reg:pseudohubererror": "identity", "reg:quantileerror": "identity",
               "binary:logitraw": "identity", "binary:logistic": "logistic", "reg:logistic": "logistic",
               "multi:softprob": "softmax", "multi:softmax": "softmax_labels"}


def _xgb_tree(tree: dict, column: int) -> tuple:
    left = np.asarray(tree["left_children"], dtype=np.int64)
    right = np.asarray(tree["right_children"], dtype=np.int64)
    leaf = left < 0
    conditions = np.asarray(tree["split_conditions"], dtype=np.float32)
    # XGBoost goes left when float32(x) < condition: the same as <= the float32 just below it.
    below = np.nextafter(conditions, np.float32(-np.inf)).astype(np.float64)
    threshold = np.where(leaf, 0.0, below)
    missing = np.asarray(tree["default_left"], dtype=np.int64)
    kind = np.zeros(left.shape[0], dtype=np.int64)
    sets = []
    split_type = np.asarray(tree.get("split_type", [0] * left.shape[0]))
    if np.any(split_type[~leaf] == 1):
        segments, sizes, categories = tree["categories_segments"], tree["categories_sizes"], tree["categories"]
        for at, node in enumerate(tree["categories_nodes"]):
            # XGBoost sends a category in the set right: swap the children so "in set" is left.
            left[node], right[node] = right[node], left[node]
            missing[node] = 1 - missing[node]
            kind[node] = _CATEGORY
            threshold[node] = float(len(sets))
            sets.append(categories[segments[at]:segments[at] + sizes[at]])
    feature = np.where(leaf, -1, np.asarray(tree["split_indices"], dtype=np.int64))
    value = np.where(leaf, conditions.astype(np.float64), 0.0).reshape(-1, 1)
    return (feature, threshold, left, right, missing, value, column, kind, sets)


def _margin(family: str, base: np.ndarray) -> np.ndarray:
    if family == "logistic":
        return np.log(base / (1.0 - base))
    return base


def xgboost_booster(booster: Any, best_iteration: int | None = None) -> _Booster:
    """An ``xgboost.Booster`` (its JSON model) as a :class:`_Booster`."""
    model = json.loads(bytes(booster.save_raw("json")))["learner"]
    objective = model["objective"]["name"]
    family = _XGB_FAMILY.get(objective)
    if family is None:
        raise Unsupported(f"XGBoost objective {objective!r} is not compiled")
    gradient = model["gradient_booster"]
    if gradient["name"] != "gbtree":
        raise Unsupported(f"XGBoost booster {gradient['name']!r} is not compiled (only gbtree)")
    params = model["learner_model_param"]
    k = max(int(params.get("num_class", "0")), 1)
    n_targets = int(params.get("num_target", "1"))
    if n_targets > 1:
        raise Unsupported("multi-target XGBoost models are not compiled")
    base_text = str(params["base_score"]).strip("[]")
    base = np.array([float(v) for v in base_text.split(",")], dtype=np.float32).astype(np.float64)
    init = np.broadcast_to(_margin(family, base), (k,)).astype(np.float32).astype(np.float64)
    tree_model = gradient["model"]
    info = tree_model["tree_info"]
    count = len(tree_model["trees"])
    if best_iteration is not None:
        count = int(tree_model["iteration_indptr"][best_iteration + 1])
    n_features = int(params["num_feature"])
    for i, tree in enumerate(tree_model["trees"][:count]):
        check_xgboost_tree(tree, n_features, f"tree {i}")
    parts = [_xgb_tree(tree, int(info[i])) for i, tree in enumerate(tree_model["trees"][:count])]
    return _Booster(parts, init, family, n_features, compare32=True)


def _lgb_wrapper(est: Any, pre: Any) -> Plan:
    booster = lightgbm_booster(est.booster_)
    if hasattr(est, "classes_"):
        if booster.family == "identity":
            raise Unsupported("LGBMClassifier with a regression objective is not compiled")
        return _plan(booster, pre, classes=est.classes_, raw_booster=False)
    return _plan(booster, pre, raw_booster=False)


def _xgb_wrapper(est: Any, pre: Any) -> Plan:
    booster = xgboost_booster(est.get_booster(), _xgb_wrapper_best(est))
    if hasattr(est, "classes_"):
        if booster.family not in ("logistic", "softmax"):
            raise Unsupported(f"XGBClassifier(objective={est.objective!r}) is not compiled")
        return _plan(booster, pre, classes=est.classes_, raw_booster=False)
    return _plan(booster, pre, raw_booster=False)


def _xgb_wrapper_best(est: Any) -> int | None:
    # the wrappers predict with the best iteration when early stopping found one
    try:
        return int(est.get_booster().attr("best_iteration")) if est.get_booster().attr("best_iteration") else None
    except (TypeError, ValueError):
        return None


BOOSTER_CONVERTERS = {
    "lightgbm.sklearn.LGBMClassifier": _lgb_wrapper,
    "lightgbm.sklearn.LGBMRegressor": _lgb_wrapper,
    "lightgbm.basic.Booster": lambda b, pre: _plan(lightgbm_booster(b), pre, raw_booster=True),
    "xgboost.sklearn.XGBClassifier": _xgb_wrapper,
    "xgboost.sklearn.XGBRegressor": _xgb_wrapper,
    "xgboost.core.Booster": lambda b, pre: _plan(
        xgboost_booster(b, int(b.attr("best_iteration")) if b.attr("best_iteration") else None),
        pre, raw_booster=True),
}
"""Exact class path -> converter ``(model, pre) -> Plan``."""
