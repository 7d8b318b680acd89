"""The Open Inference Protocol (KServe V2 / Triton HTTP) over a :class:`ModelRegistry`.

Owns :func:`serve_v2` (``app.serve_v2(registry, prefix="/v2")``): the protocol's routes ::

    GET  {prefix}                                              server metadata
    GET  {prefix}/health/live    {prefix}/health/ready           liveness, readiness
    GET  {prefix}/models/{name}[/versions/{version}]           model metadata: inputs, outputs
    GET  {prefix}/models/{name}[/versions/{version}]/ready     200 when it can serve, else 400
    POST {prefix}/models/{name}[/versions/{version}]/infer     inference (JSON or binary tensors)

A model's inputs are either one tensor ``input`` of shape ``[-1, n_features]`` (any numeric
datatype; FP64 is used as sent, without a copy when the bytes are aligned), or, for a model
with named columns, one tensor per column (shape ``[-1]``; ``BYTES`` for a category column).
Outputs: ``predictions`` (``[-1]`` or ``[-1, k]``) and, for a classifier, ``probabilities``
(``[-1, n_classes]``). Inference goes through the same registry (lazy loading, 503 for a model
that is down) and the same per-version dynamic batcher as ``app.predict``. Errors answer in the
protocol's own shape, ``{"error": "message"}``. The tensor codec is :mod:`.v2_tensors`.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import numpy as np

from conduit.exceptions import HTTPError
from conduit.http.request import Request
from conduit.http.response import JSONResponse, Response
from conduit.observability.model_metrics import batch_observer, track_prediction

from .batching import BatcherPool
from .registry import ModelRegistry, ModelVersion
from .serving import infer_unbatched, mirror_to_shadow
from .v2_tensors import TensorError, aligned_buffer, datatype_of, encode_response, parse_request
from ..validation import InvalidInput

__all__ = ["serve_v2"]

logger = logging.getLogger("conduit.ml")

_HEADER = "inference-header-content-length"
_PROTOCOL_EXTENSIONS = ["binary_tensor_data"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("conduit")
    except PackageNotFoundError:
        return "unknown"


def _error(message: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _from_http_error(exc: HTTPError) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    retry = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "retry-after"}
    return _error(detail, exc.status_code, retry or None)


class _Signature:
    """What a served model reads and gives, in V2 terms (probed once per model object)."""

    def __init__(self, model: Any) -> None:
        schema = getattr(model, "schema", None)
        self.columns = schema.columns if schema is not None else None
        self.n_features = int(model.n_features_in_)
        self.by_column = bool(self.columns) and any(c.categories is not None for c in self.columns)
        self.has_proba = model.has("predict_proba")
        classes = getattr(model, "classes_", None)
        self.n_classes = None if classes is None else len(classes)
        try:
            probe = np.asarray(model.predict_unchecked(model.validate(self._probe_rows())))
            self.output_type, self.output_tail = datatype_of(probe), list(probe.shape[1:])
        except Exception:  # noqa: BLE001 - a model that cannot run on a zero row: say what is common
            self.output_type, self.output_tail = "FP64", []

    def _probe_rows(self) -> Any:
        if self.by_column:
            return [{c.name: (c.categories[0] if c.categories is not None else 0.0) for c in self.columns}]
        return np.zeros((1, self.n_features))

    def inputs(self) -> list[dict[str, Any]]:
        if self.by_column:
            return [{"name": c.name, "datatype": "BYTES" if c.string_valued else "FP64", "shape": [-1]}
                    for c in self.columns]
        return [{"name": "input", "datatype": "FP64", "shape": [-1, self.n_features]}]

    def outputs(self) -> list[dict[str, Any]]:
        out = [{"name": "predictions", "datatype": self.output_type, "shape": [-1, *self.output_tail]}]
        if self.has_proba:
            out.append({"name": "probabilities", "datatype": "FP64", "shape": [-1, self.n_classes or -1]})
        return out

    def output_names(self) -> list[str]:
        return [o["name"] for o in self.outputs()]


def _rows(model: Any, signature: _Signature, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The input tensors as the model's validated feature matrix."""
    names = [c.name for c in signature.columns] if signature.columns else []
    if len(inputs) == 1 and not (signature.by_column and next(iter(inputs)) in names and len(names) > 1):
        (name, tensor), = inputs.items()
        if tensor.dtype == object:
            if not signature.by_column:
                raise TensorError(f"input {name!r}: BYTES, but this model reads numbers")
            return model.validate([[_text(v) for v in row] for row in np.atleast_2d(tensor)])
        if tensor.ndim not in (1, 2):
            raise TensorError(f"input {name!r}: shape {list(tensor.shape)}, expected [-1, {signature.n_features}]")
        if tensor.dtype != np.float64:
            tensor = tensor.astype(np.float64)
        return model.validate(tensor)
    unknown = [n for n in inputs if n not in names]
    if unknown:
        raise TensorError(f"unknown input {unknown[0]!r}: this model reads one tensor \"input\" of shape "
                          f"[-1, {signature.n_features}], or one tensor per column {names[:20]}")
    missing = [n for n in names if n not in inputs]
    if missing:
        raise TensorError(f"input {missing[0]!r} is missing (one tensor per column: {names[:20]})")
    columns = []
    for name in names:
        tensor = inputs[name]
        if tensor.ndim == 2 and tensor.shape[1] == 1:
            tensor = tensor[:, 0]
        if tensor.ndim != 1:
            raise TensorError(f"input {name!r}: shape {list(tensor.shape)}, expected [-1] (one value per row)")
        columns.append(tensor)
    lengths = {c.shape[0] for c in columns}
    if len(lengths) != 1:
        raise TensorError(f"the column tensors have different lengths: {sorted(lengths)[:5]}")
    if not signature.by_column and all(c.dtype != object for c in columns):
        return model.validate(np.column_stack(columns).astype(np.float64, copy=False))
    rows = [dict(zip(names, values)) for values in zip(*([_text(v) for v in c] if c.dtype == object
                                                         else c.tolist() for c in columns))]
    return model.validate(rows)


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise TensorError("a BYTES element is not UTF-8 text") from None
    return value


async def _read_body(request: Request) -> tuple[np.ndarray, int | None]:
    """The body in an aligned buffer (see :func:`aligned_buffer`), and the JSON header length."""
    declared = request.headers.get(_HEADER)
    header_length = None
    if declared is not None:
        if not declared.strip().isdigit():
            raise TensorError(f"Inference-Header-Content-Length must be a number of bytes, got {declared[:30]!r}")
        header_length = int(declared)
    length = request.headers.get("content-length")
    if length is None or not length.strip().isdigit():  # chunked: gather, then place
        data = await request.body()
        raw, pad = aligned_buffer(len(data), header_length or 0)
        raw[pad:pad + len(data)] = np.frombuffer(data, dtype=np.uint8)
        return raw[pad:pad + len(data)], header_length
    size = int(length)
    raw, pad = aligned_buffer(size, header_length or 0)
    at = pad
    async for chunk in request.stream():
        if at + len(chunk) > pad + size:
            raise TensorError("the body is longer than its Content-Length")
        raw[at:at + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
        at += len(chunk)
    return raw[pad:at], header_length


def serve_v2(app: Any, registry: ModelRegistry, *, prefix: str = "/v2", batching: bool = True,
             max_batch_size: int = 64, max_wait: float = 0.0015, max_queue: int = 4096,
             timeout: float = 5.0, latency_target: float | None = None,
             max_body_size: int | None = None) -> ModelRegistry:
    """Serve ``registry`` over the Open Inference Protocol under ``prefix`` (see the module docstring).

    The batching options are :func:`~conduit.ml.serve.serving.predict_route`'s.
    """
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    batchers = BatcherPool(max_batch_size=max_batch_size, max_wait=max_wait, max_queue=max_queue,
                           timeout=timeout, observe=batch_observer, latency_target=latency_target)
    signatures: weakref.WeakKeyDictionary[Any, _Signature] = weakref.WeakKeyDictionary()

    def signature_of(model: Any) -> _Signature:
        found = signatures.get(model)
        if found is None:
            found = signatures[model] = _Signature(model)
        return found

    async def server_metadata() -> JSONResponse:
        return JSONResponse({"name": "conduit", "version": _version(), "extensions": _PROTOCOL_EXTENSIONS})

    async def live() -> JSONResponse:
        return JSONResponse({"live": True})

    async def ready(request: Request) -> JSONResponse:
        from conduit.observability.health import is_ready

        ok, _ = await is_ready(app)
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    async def metadata(name: str, version: str | None = None) -> Response:
        try:
            entry = await registry.resolve(name, version)
        except HTTPError as exc:
            return _from_http_error(exc)
        signature = signature_of(entry.model)
        versions = [v.version for v in registry.entries() if v.name == name]
        return JSONResponse({"name": name, "versions": versions, "platform": f"conduit_{entry.model.path}",
                             "inputs": signature.inputs(), "outputs": signature.outputs()})

    async def model_ready(name: str, version: str | None = None) -> Response:
        try:
            entry = registry.get(name, version)
        except HTTPError as exc:
            return _from_http_error(exc)
        # loaded, or lazy and not known to be down: a request would be served
        ok = entry.loaded or entry.error is None
        return JSONResponse({"name": name, "ready": ok}, status_code=200 if ok else 400)

    async def infer(request: Request, name: str, version: str | None = None) -> Response:
        try:
            return await _infer(request, name, version)
        except TensorError as exc:
            return _error(str(exc), exc.status)
        except InvalidInput as exc:
            return _error(str(exc), 400)
        except HTTPError as exc:
            return _from_http_error(exc)
        except Exception as exc:  # noqa: BLE001 - never a traceback to the client
            logger.error("V2 inference on model %s failed", name, exc_info=exc)
            return _error(f"model {name!r} failed to predict", 500)

    async def _infer(request: Request, name: str, version: str | None) -> Response:
        body, header_length = await _read_body(request)
        decoded = parse_request(body, header_length)
        if version is None and name in registry.rollouts:  # sticky per key: a header or a request parameter
            plan = registry.rollouts[name]
            version = registry.choose_version(name, plan.key_value(request.headers, decoded.parameters))
        entry = await registry.resolve(name, version)
        model = entry.model
        signature = signature_of(model)
        known = signature.output_names()
        wanted = decoded.outputs if decoded.outputs is not None else None
        for output in wanted or ():
            if output.name not in known:
                raise TensorError(f"unknown output {output.name!r}: model {name!r} gives {known}")
        names = [o.name for o in wanted] if wanted is not None else known
        with track_prediction(entry.name, entry.version, getattr(model, "path", None)) as tracked:
            X = _rows(model, signature, decoded.inputs)
            tracked.rows = int(X.shape[0])
            labels, probabilities = await _run(entry, model, X, "probabilities" in names)
        mirror_to_shadow(registry, entry, X, labels, lambda e, rows, proba: _run(e, e.model, rows, proba))
        binary = {o.name for o in wanted if o.binary} if wanted is not None else set()
        if decoded.binary_output:
            binary = set(names)
        values = {"predictions": labels, "probabilities": probabilities}
        content, json_length = encode_response(entry.name, entry.version, decoded.id,
                                               [(n, np.asarray(values[n]), n in binary) for n in names])
        if json_length is None:
            return Response(content, media_type="application/json")
        return Response(content, media_type="application/octet-stream",
                        headers={"inference-header-content-length": str(json_length)})

    async def _run(entry: ModelVersion, model: Any, X: np.ndarray, proba: bool):
        if batching:
            return await batchers.get(entry, model).predict(X, proba=proba)
        return await infer_unbatched(model, X, proba)

    options: dict[str, Any] = {"tags": ["inference (V2)"]}
    body_options = dict(options, **({"max_body_size": max_body_size} if max_body_size is not None else {}))
    models = f"{prefix}/models/{{name}}"
    app.add_route(prefix or "/", server_metadata, ["GET"], **options)
    app.add_route(f"{prefix}/health/live", live, ["GET"], **options)
    app.add_route(f"{prefix}/health/ready", ready, ["GET"], **options)
    for base in (models, f"{models}/versions/{{version}}"):
        app.add_route(base, metadata, ["GET"], **options)
        app.add_route(f"{base}/ready", model_ready, ["GET"], **options)
        app.add_route(f"{base}/infer", infer, ["POST"], **body_options)
    app.state.__dict__.setdefault("ml_batchers", {})[f"{models}/infer"] = batchers
    from .warmup import warm_kernels

    app.add_warmup(warm_kernels)
    app.add_warmup(registry.warm_up)
    return registry
