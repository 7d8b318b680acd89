"""What a compiled model runs: the :class:`Plan` a converter returns, and :class:`Unsupported`.

The vocabulary shared by the converters: :mod:`.convert` (scikit-learn estimators)
and :mod:`.boosters` (LightGBM, XGBoost) both return a ``Plan`` or raise
``Unsupported``, and both run forests on :data:`FOREST_KERNELS`. It has a module of
its own so that ``convert`` may dispatch to ``boosters`` without the two importing
each other.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from conduit_kernels import trees
from conduit_kernels._links import LabelRule

__all__ = ["FOREST_KERNELS", "Plan", "Unsupported"]


class Unsupported(Exception):
    """This fitted estimator cannot be compiled; the message says why."""


class Plan(NamedTuple):
    """What a compiled model runs (see :mod:`conduit.ml.compilation.compiler`).

    ``scores`` / ``labels`` are (serial, parallel) kernel pairs called as
    ``kernel(X, *args, link_or_rule)``.
    """

    kind: str
    n_features: int
    scores: tuple[Callable, Callable]
    labels: tuple[Callable, Callable] | None
    args: tuple
    classes: np.ndarray | None = None
    proba_link: int | None = None
    label_rule: int = LabelRule.ARGMAX
    decision: bool = False  # has decision_function (the IDENTITY link)
    ravel: bool = False  # single-output regression / binary decision -> 1-D
    n_outputs: int = 1
    predict_link: int | None = None  # predict = this link's output (raw boosters), not the raw score
    accepts_nan: bool | None = None  # known without probing the estimator (boosters)


#: (serial, parallel) pairs of the tree kernels: scores, then labels.
FOREST_KERNELS = ((trees.forest_scores, trees.forest_scores_parallel),
                  (trees.forest_labels, trees.forest_labels_parallel))
