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

from typing import Any

__all__ = ["NATIVE_SUFFIXES", "load_booster"]

#: Suffixes that name a library's own model format without ``format=``.
NATIVE_SUFFIXES = {".lgb": "lightgbm", ".ubj": "xgboost", ".xgb": "xgboost"}


def load_booster(kind: str, data: bytes) -> Any:
    """A ``lightgbm.Booster`` or ``xgboost.Booster`` from the bytes of its model file."""
    if kind == "lightgbm":
        import lightgbm

        return lightgbm.Booster(model_str=data.decode("utf-8"))
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(bytearray(data))
    return booster
