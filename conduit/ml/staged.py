"""Compiled scikit-learn ``Pipeline``\\ s: named inputs -> transformer steps -> a model.

Owns :class:`StagedModel`, the :class:`~conduit.ml.CompiledModel` of a pipeline whose
steps go beyond scalers (those fuse into the model's own kernel, see
:mod:`conduit.ml.compilation.convert`): a leading ``ColumnTransformer`` (and its
:class:`~conduit.ml.columns.InputSchema`: named rows, category strings, missing
values), then compiled transformer steps (:mod:`conduit.ml.compilation.preprocess`), then the final
estimator compiled on its own. :meth:`StagedModel.describe` lists each stage and
whether it compiled.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .columns import Column, InputSchema
from .model import CompiledModel
from .compilation.plan import Unsupported
from .compilation.preprocess import Step, column_transformer, feature_names, numeric_step
from .validation import InvalidInput, as_features

__all__ = ["StagedModel", "compile_staged"]

_METHODS = ("predict", "predict_proba", "decision_function")


class StagedModel(CompiledModel):
    """A pipeline run as compiled stages; same interface as :class:`CompiledModel`."""

    def __init__(self, estimator: Any, schema: InputSchema, steps: list[Step],
                 final: CompiledModel | None, stages: list[dict[str, Any]]) -> None:
        self.estimator = estimator
        self.schema = schema
        self.members = []
        self._plan = None
        self._steps = steps
        self.final = final
        self.stages = stages
        self.n_features_in_ = len(schema.columns)
        self.classes_ = final.classes_ if final is not None else None
        self.kind = "pipeline"
        self.path = "compiled" if final is None or final.path == "compiled" else "partial"
        self.reason = None if self.path == "compiled" else f"final step: {final.reason}"
        final_nan = final.allow_nan if final is not None else True
        self._missing_ok = self._probe_missing(final_nan)
        for j, column in enumerate(schema.columns):
            if column.categories is None:
                column.accepts_missing = bool(self._missing_ok[j])
        # accepts_nan (describe) is true only when NaN is fine in every column, as the
        # estimator's own predict does; a per-column answer is in features[].accepts_missing.
        self.allow_nan = all(c.takes_missing for c in schema.columns)
        self._nan_somewhere = bool(self._missing_ok.any())
        self.allow_inf = False
        transform = self.transform_rows
        if final is None:
            self.transform_unchecked = transform
        else:
            for name in _METHODS:
                if final.has(name):
                    method = final._method(name)
                    setattr(self, f"{name}_unchecked", lambda Z, m=method: m(transform(Z)))
            if final.has("predict_index"):
                index = final.predict_index_unchecked
                self.predict_index_unchecked = lambda Z: index(transform(Z))

    def transform_rows(self, Z: np.ndarray) -> np.ndarray:
        """Run every transformer step on an encoded matrix."""
        for step in self._steps:
            Z = step.run(Z)
        return Z

    def _probe_row(self) -> np.ndarray:
        # a valid encoded row: 0 for numbers, the first category's code for categories
        return np.zeros((1, len(self.schema.columns)))

    def _probe_missing(self, final_nan: bool) -> np.ndarray:
        """Per number column: may it be missing (NaN) without the final model refusing?"""
        ok = np.ones(len(self.schema.columns), dtype=bool)
        if final_nan:
            return ok
        for j, column in enumerate(self.schema.columns):
            if column.categories is None:
                row = self._probe_row()
                row[0, j] = np.nan
                ok[j] = not np.isnan(self.transform_rows(row)).any()
        return ok

    def validate(self, X: Any) -> np.ndarray:
        """Named rows, positional rows or a matrix -> the encoded ``float64`` matrix."""
        if self.schema.wants_encoding(X):
            return self.schema.encode(X)
        Z = as_features(X, self.n_features_in_, allow_nan=self._nan_somewhere)
        if self._nan_somewhere and not self._missing_ok.all():
            bad = np.isnan(Z) & ~self._missing_ok
            if bad.any():
                i, j = map(int, np.argwhere(bad)[0])
                name = self.schema.names[j]
                raise InvalidInput(f"row {i}, column {name!r}: missing value, which this model does not accept",
                                   row=i, column=j, reason="missing", type="missing")
        return Z

    def has(self, method: str) -> bool:
        return hasattr(self, f"{method}_unchecked")

    def warm_up(self) -> None:
        row = self._probe_row()
        for name in (*_METHODS, "transform"):
            if self.has(name):
                getattr(self, f"{name}_unchecked")(row)
        if self.final is not None:
            self.final.warm_up()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "stages": self.stages}


def compile_staged(est: Any, compile_member: Callable[[Any], CompiledModel]) -> StagedModel:
    """Compile a ``Pipeline`` (or a lone ``ColumnTransformer``) stage by stage.

    The final estimator is compiled by ``compile_member`` (:func:`conduit.ml.compilation.compiler.compile`,
    handed in by it). Raises :class:`Unsupported` naming the first transformer that has no
    compiled step.
    """
    cls = type(est).__name__
    if cls == "ColumnTransformer":
        steps_in: list[tuple[str, Any]] = [("columns", est)]
        final_est = None
    elif cls == "Pipeline":
        steps_in = [(n, s) for n, s in est.steps if s is not None and s != "passthrough"]
        final_est = steps_in[-1][1] if steps_in and hasattr(steps_in[-1][1], "predict") else None
        if final_est is not None:
            steps_in = steps_in[:-1]
    else:
        raise Unsupported(f"{cls} is not a pipeline")
    if not steps_in and final_est is None:
        raise Unsupported("empty Pipeline")
    stages: list[dict[str, Any]] = []
    steps: list[Step] = []
    first_name, first = steps_in[0] if steps_in else ("", None)
    if type(first).__name__ == "ColumnTransformer":
        schema, step, blocks = column_transformer(first)
        steps.append(step)
        stages.append({"name": first_name, "estimator": "ColumnTransformer", "compiled": True,
                       "blocks": blocks})
        rest = steps_in[1:]
    else:
        n_in = int(est.n_features_in_)
        schema = InputSchema([Column(n) for n in feature_names(est, n_in)])
        rest = steps_in
    width = steps[-1].n_out if steps else len(schema.columns)
    for name, sub in rest:
        sub_steps = numeric_step(sub, width, name)
        steps += sub_steps
        width = sub_steps[-1].n_out if sub_steps else width
        stages.append({"name": name, "estimator": type(sub).__name__, "compiled": True})
    final = None
    if final_est is not None:
        expected = getattr(final_est, "n_features_in_", width)
        if int(expected) != width:
            raise Unsupported(f"final step reads {expected} features, the compiled steps give {width}")
        final = compile_member(final_est)
        stages.append({"name": est.steps[-1][0], "estimator": type(final_est).__name__,
                       "compiled": final.path == "compiled", "kind": final.kind,
                       **({"reason": final.reason} if final.reason else {})})
    return StagedModel(est, schema, steps, final, stages)
