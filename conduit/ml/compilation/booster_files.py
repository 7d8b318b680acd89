"""Checking LightGBM and XGBoost model files before the libraries or the kernels walk them.

The threat is a model file from elsewhere, loaded without a pin. Both libraries trust
their files' tree tables: a child index out of range or pointing back up the tree
crashes or hangs LightGBM's ``dump_model`` and XGBoost's ``predict``, a split on a
feature past the row reads out of bounds, and a LightGBM ``tree_sizes`` line that does
not match the trees aborts the process. So:

* a LightGBM text model is parsed here first, each tree's node table checked with
  :func:`conduit_kernels.trees.check_tree` (the same rule the kernels' forests obey),
  and its ``tree_sizes`` line dropped (LightGBM then reads trees in order instead of
  jumping to offsets a hostile file chose);
* an XGBoost model is loaded by XGBoost (its parser refuses inconsistent array
  lengths) and its trees, read back as JSON, are checked before anyone predicts.

A problem raises ``ValueError`` naming the tree and node; the loader turns it into
``ModelLoadError`` naming the file.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

from conduit_kernels.trees import check_tree

__all__ = ["check_lightgbm_text", "check_xgboost_model", "check_xgboost_tree"]

_PARAMETER = re.compile(r"^\[[A-Za-z0-9_]+: [^\[\]]*\]$")


def _ints(fields: dict, key: str, count: int, where: str) -> np.ndarray:
    return _numbers(fields, key, count, where, int)


def _numbers(fields: dict, key: str, count: int, where: str, kind=float) -> np.ndarray:
    text = fields.get(key)
    if text is None:
        if count == 0:
            return np.zeros(0, dtype=np.int64 if kind is int else np.float64)
        raise ValueError(f"{where} lacks {key}")
    items = text.split()
    if len(items) != count:
        raise ValueError(f"{where}: {key} has {len(items)} entries, expected {count}")
    try:
        return np.array([kind(v) for v in items], dtype=np.int64 if kind is int else np.float64)
    except (ValueError, OverflowError):
        raise ValueError(f"{where}: {key} holds a value that is not a number") from None


def _positive(fields: dict, key: str, where: str, default: str | None = None) -> int:
    text = fields.get(key, default)
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {key}={text!r} is not an integer") from None
    if value < 1:
        raise ValueError(f"{where}: {key}={value} must be >= 1")
    return value


def _lightgbm_tree(fields: dict, n_features: int, where: str) -> None:
    leaves = _positive(fields, "num_leaves", where)
    inner = leaves - 1
    value = _numbers(fields, "leaf_value", leaves, where)
    split = _ints(fields, "split_feature", inner, where)
    _numbers(fields, "threshold", inner, where)
    decision = _ints(fields, "decision_type", inner, where)
    left = _ints(fields, "left_child", inner, where)
    right = _ints(fields, "right_child", inner, where)
    # LightGBM numbers inner nodes 0..L-2 and leaf j as ~j; the check sees leaves after them.
    for children in (left, right):
        bad = (children < -leaves) | (children >= inner)
        if bad.any():
            at = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{where}: node {at} has child {children[at]}, outside "
                             f"nodes 0..{inner - 1} and leaves ~0..~{leaves - 1}")
    to_node = lambda c: np.where(c >= 0, c, inner + ~c)  # noqa: E731
    try:
        check_tree(np.concatenate([split, np.full(leaves, -1)]),
                   np.concatenate([to_node(left), np.full(leaves, -1)]),
                   np.concatenate([to_node(right), np.full(leaves, -1)]),
                   np.concatenate([np.zeros(inner), value]), n_features)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc} (leaf j is node {inner} + j)") from None
    n_cat = int(fields.get("num_cat", "0"))
    categorical = (decision & 1) != 0
    if n_cat < 0 or (categorical.any() and n_cat == 0):
        raise ValueError(f"{where}: num_cat={n_cat} for {int(categorical.sum())} categorical splits")
    if n_cat:
        bounds = _ints(fields, "cat_boundaries", n_cat + 1, where)
        words = len(fields.get("cat_threshold", "").split())
        if bounds[0] != 0 or (np.diff(bounds) < 0).any() or bounds[-1] != words:
            raise ValueError(f"{where}: cat_boundaries do not split the {words} cat_threshold words")
        sets = _numbers(fields, "threshold", inner, where)[categorical]
        if ((sets < 0) | (sets >= n_cat) | (sets != np.floor(sets))).any():
            raise ValueError(f"{where}: a categorical split names a set outside 0..{n_cat - 1}")


def _tail(lines: list[str]) -> list[str]:
    """What LightGBM may read after ``end of trees``: a well-formed parameters block and the
    Python package's ``pandas_categorical`` line, else nothing (its parameter parser crashes
    on a truncated or malformed block, and predictions do not depend on it)."""
    kept: list[str] = []
    if "parameters:" in lines:
        block = lines[lines.index("parameters:"):]
        if "end of parameters" in block:
            block = block[: block.index("end of parameters") + 1]
            if all(_PARAMETER.match(line) for line in block[1:-1]):
                kept += ["", *block, ""]
    for line in lines:
        if line.startswith("pandas_categorical:"):
            try:
                json.loads(line.partition(":")[2])
            except ValueError:
                break
            kept.append(line)
            break
    return kept


def check_lightgbm_text(text: str) -> str:
    """Check a LightGBM text model's trees; returns the text LightGBM may safely parse.

    The returned text is the header and the checked trees up to ``end of trees``, without
    ``tree_sizes``, and what :func:`_tail` keeps after them. Raises ``ValueError``
    naming the tree and what is wrong (see the module docstring).
    """
    lines = text.splitlines()
    if not lines or lines[0] != "tree":
        raise ValueError("not a LightGBM text model (no 'tree' header)")
    if "end of trees" not in lines:
        raise ValueError("the model has no 'end of trees' line (truncated?)")
    end = lines.index("end of trees")
    header: dict[str, str] = {}
    trees: list[tuple[str, dict]] = []
    fields = header
    for line in lines[1:end]:
        if line.startswith("Tree="):
            fields = {}
            trees.append((line, fields))
        elif "=" in line:
            key, _, value = line.partition("=")
            fields[key] = value
        elif line.strip():
            raise ValueError(f"unexpected line {line[:40]!r} among the trees")
    try:
        n_features = int(header["max_feature_idx"]) + 1
    except (KeyError, ValueError):
        raise ValueError("the header lacks an integer max_feature_idx") from None
    names = header.get("feature_names")
    if n_features < 1 or (names is not None and len(names.split()) != n_features):
        raise ValueError(f"max_feature_idx={n_features - 1} does not match the feature names")
    per_iteration = _positive(header, "num_tree_per_iteration", "the header", "1")
    classes = _positive(header, "num_class", "the header", "1")
    if not trees or max(per_iteration, classes) > len(trees):
        raise ValueError(f"num_class={classes} and num_tree_per_iteration={per_iteration} "
                         f"for {len(trees)} trees")
    for line, fields in trees:
        _lightgbm_tree(fields, n_features, line.strip())
    body = [line for line in lines[: end + 1] if not line.startswith("tree_sizes=")]
    return "\n".join(body + _tail(lines[end + 1:])) + "\n"


def check_xgboost_tree(tree: dict, n_features: int, where: str) -> None:
    """Check one tree of XGBoost's JSON model (``ValueError`` naming what is wrong)."""
    try:
        left, right = tree["left_children"], tree["right_children"]
        conditions, indices = tree["split_conditions"], tree["split_indices"]
        n = len(left)
        for key in ("right_children", "split_conditions", "split_indices", "default_left"):
            if len(tree[key]) != n:
                raise ValueError(f"{key} has {len(tree[key])} entries for {n} nodes")
        left_a, right_a = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
        leaf = left_a == -1  # XGBoost's IsLeaf: exactly -1, and then both children are
        odd = np.flatnonzero((leaf != (right_a == -1)) | (left_a < -1) | (right_a < -1))
        if odd.size:
            raise ValueError(f"node {odd[0]} has children {left_a[odd[0]]}, {right_a[odd[0]]}: "
                             "a leaf has -1 for both, a split two nodes")
        check_tree(np.where(leaf, -1, np.asarray(indices, dtype=np.int64)), left, right,
                   np.where(leaf, np.asarray(conditions, dtype=np.float64), 0.0), n_features)
        nodes = np.asarray(tree.get("categories_nodes", []), dtype=np.int64)
        if nodes.size and (nodes.min() < 0 or nodes.max() >= n or leaf[nodes].any()):
            raise ValueError("categories_nodes names a node that is not a split")
        if len(tree.get("categories_segments", [])) != nodes.size or \
                len(tree.get("categories_sizes", [])) != nodes.size:
            raise ValueError("categories_segments/sizes do not match categories_nodes")
    except (KeyError, TypeError, OverflowError) as exc:
        raise ValueError(f"{where}: malformed ({type(exc).__name__}: {exc})") from None
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def check_xgboost_model(booster: Any) -> None:
    """Check every tree of a loaded ``xgboost.Booster`` against its ``num_feature``."""
    model = json.loads(bytes(booster.save_raw("json")))["learner"]
    n_features = int(model["learner_model_param"]["num_feature"])
    gradient = model["gradient_booster"]
    if gradient.get("name") not in ("gbtree", "dart"):
        return  # gblinear: no trees
    trees = (gradient["model"] if gradient["name"] == "gbtree" else gradient["gbtree"]["model"])["trees"]
    for i, tree in enumerate(trees):
        check_xgboost_tree(tree, n_features, f"tree {i}")
    base = str(model["learner_model_param"].get("base_score", "0")).strip("[]")
    if not all(math.isfinite(float(v)) for v in base.split(",") if v.strip()):
        raise ValueError(f"base_score {base!r} is not finite")
