"""A route's inputs in words, for ``conduit routes``: source, name, type and constraints.

Read from the binding plan (the one analysis of the handler's signature), so the table
says what the binder enforces: ``query limit: int [ge=1, le=100] = 10``,
``body item: Item``, ``header x-token: str (required)``, ``file upload: UploadFile``.
"""

from __future__ import annotations

from typing import Any

from ..types.constraints import constraints_of
from ..types.kinds import strip_annotated, type_name
from .markers import MISSING
from .signature import ParamSpec, Plan


def constraints(spec: ParamSpec) -> dict[str, Any]:
    """The constraints the binder checks on ``spec`` (``ge``, ``max_length``, ``pattern``...)."""
    _, metadata = strip_annotated(spec.annotation)
    found = constraints_of(metadata + ((spec.marker,) if spec.marker is not None else ()))
    found.pop("allow_inf_nan", None)
    return found


def _type_text(spec: ParamSpec) -> str:
    tp = spec.type
    text = "Any" if tp is Any else type_name(tp)
    if spec.nullable and text != "Any":
        text += " | None"
    return text


def describe(spec: ParamSpec) -> str:
    """``"query limit: int [ge=1, le=100] = 10"``."""
    source = "form" if spec.source == "form" else spec.source
    text = f"{source} {spec.key}: {_type_text(spec)}"
    found = constraints(spec)
    if found:
        text += " [" + ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in found.items()) + "]"
    if spec.required:
        return text
    default = spec.default
    return text + (f" = {default!r}" if default is not MISSING else "")


def describe_inputs(plan: Plan | None) -> list[str]:
    """One line per input of ``plan``: path, query, header, cookie, body, form and file parameters."""
    return [] if plan is None else [describe(spec) for spec in plan.inputs()]


__all__ = ["constraints", "describe", "describe_inputs"]
