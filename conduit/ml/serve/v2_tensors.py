"""Tensors of the Open Inference Protocol (KServe V2 / Triton HTTP), sans-IO.

Owns decoding an inference request -- JSON tensors (``"data"``, row-major, flat or nested)
and the binary tensor data extension (``Inference-Header-Content-Length: N``: the first N
bytes are the JSON header, the raw tensors follow in input order, each sized by its
``parameters.binary_data_size``; a ``BYTES`` element is a 4-byte little-endian length and its
bytes) -- and encoding a response the same two ways. A binary tensor whose bytes are aligned
for its type becomes a numpy view of the body buffer (no copy): :func:`aligned_buffer`
places the body so that the binary part starts on a 64-byte boundary. Every refusal is a
:class:`TensorError` with the status the protocol answers (400) and a message naming the
tensor. Knows nothing of models, routes or sockets.

Protocol: https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/ and
Triton's ``binary_data`` extension (docs/protocol/extension_binary_data.md).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conduit._json import dumps, loads_body

__all__ = ["DATATYPES", "InferRequest", "RequestedOutput", "TensorError", "aligned_buffer",
           "datatype_of", "encode_response", "parse_request"]

#: V2 datatype -> numpy dtype (little-endian, as the protocol sends them); BYTES is object.
DATATYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_), "UINT8": np.dtype("<u1"), "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"), "UINT64": np.dtype("<u8"), "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"), "INT32": np.dtype("<i4"), "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"), "FP32": np.dtype("<f4"), "FP64": np.dtype("<f8"),
    "BYTES": np.dtype(object),
}
_BY_KIND = {np.dtype(v).newbyteorder("=") if v.kind != "O" else v: k for k, v in DATATYPES.items()}
_MAX_DIMS = 8
_ALIGN = 64


class TensorError(ValueError):
    """A request the protocol refuses; ``status`` is the HTTP status (400 unless said)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RequestedOutput:
    name: str
    binary: bool


@dataclass
class InferRequest:
    """A decoded inference request: input tensors by name (in request order)."""

    id: str | None
    inputs: dict[str, np.ndarray]
    outputs: list[RequestedOutput] | None  # None: every output
    binary_output: bool  # the request-level binary_data_output parameter
    parameters: dict[str, Any] = field(default_factory=dict)


def datatype_of(array: np.ndarray) -> str:
    """The V2 datatype of a numpy array (strings and objects are BYTES)."""
    if array.dtype.kind in "OUS":
        return "BYTES"
    found = _BY_KIND.get(array.dtype.newbyteorder("="))
    if found is None:
        raise TensorError(f"no V2 datatype for numpy {array.dtype}", status=500)
    return found


def aligned_buffer(size: int, header_length: int) -> tuple[np.ndarray, int]:
    """A writable uint8 buffer for a body of ``size`` bytes, and the offset to write it at, chosen
    so that the binary part (after ``header_length`` bytes of JSON) starts 64-byte aligned."""
    raw = np.empty(size + _ALIGN, dtype=np.uint8)
    pad = (-(raw.ctypes.data + header_length)) % _ALIGN
    return raw, pad


def _shape(spec: dict[str, Any], name: str) -> tuple[int, ...]:
    shape = spec.get("shape")
    if not isinstance(shape, list) or len(shape) > _MAX_DIMS or not all(
            type(d) is int and d >= 0 for d in shape):
        raise TensorError(f"input {name!r}: shape must be a list of at most {_MAX_DIMS} non-negative "
                          f"integers, got {str(shape)[:60]}")
    return tuple(shape)


def _json_tensor(spec: dict[str, Any], name: str, shape: tuple[int, ...], datatype: str) -> np.ndarray:
    data = spec.get("data")
    if not isinstance(data, list):
        raise TensorError(f"input {name!r}: \"data\" must be a list (or send the tensor as binary data)")
    flat = _flatten(data, name)
    count = math.prod(shape)
    if len(flat) != count:
        raise TensorError(f"input {name!r}: shape {list(shape)} holds {count} elements, \"data\" has {len(flat)}")
    fits = _JSON_TYPES[datatype[:2]]
    bad = next((v for v in flat if not fits(v)), _NONE)
    if bad is not _NONE:
        raise TensorError(f"input {name!r}: {str(bad)[:40]!r} is not a {datatype} value")
    try:
        array = np.array(flat, dtype=DATATYPES[datatype])
    except (ValueError, TypeError, OverflowError):
        raise TensorError(f"input {name!r}: a value does not fit {datatype}") from None
    return array.reshape(shape)


_NONE = object()
#: What a JSON value may be in each datatype family (FP: null is NaN; no strings, no booleans).
_JSON_TYPES = {
    "FP": lambda v: v is None or (type(v) in (int, float)),
    "IN": lambda v: type(v) is int, "UI": lambda v: type(v) is int,
    "BO": lambda v: type(v) is bool, "BY": lambda v: type(v) is str,
}


def _flatten(data: list[Any], name: str) -> list[Any]:
    out: list[Any] = []
    stack = [iter(data)]
    while stack:
        for value in stack[-1]:
            if isinstance(value, list):
                if len(stack) > _MAX_DIMS:
                    raise TensorError(f"input {name!r}: \"data\" is nested deeper than {_MAX_DIMS}")
                stack.append(iter(value))
                break
            out.append(value)
        else:
            stack.pop()
    return out


def _binary_tensor(raw: np.ndarray, name: str, shape: tuple[int, ...], datatype: str) -> np.ndarray:
    count = math.prod(shape)
    if datatype == "BYTES":
        return _binary_bytes(raw, name, shape, count)
    dtype = DATATYPES[datatype]
    if raw.size != count * dtype.itemsize:
        raise TensorError(f"input {name!r}: binary_data_size is {raw.size} bytes, shape {list(shape)} of "
                          f"{datatype} needs {count * dtype.itemsize}")
    if raw.ctypes.data % dtype.itemsize:  # unaligned (an odd-sized tensor came first): copy
        raw = raw.copy()
    return raw.view(dtype).reshape(shape)


def _binary_bytes(raw: np.ndarray, name: str, shape: tuple[int, ...], count: int) -> np.ndarray:
    data = raw.tobytes()
    out, at = [], 0
    for _ in range(count):
        if at + 4 > len(data):
            raise TensorError(f"input {name!r}: BYTES data ends inside element {len(out)}")
        (length,) = struct.unpack_from("<I", data, at)
        at += 4
        if at + length > len(data):
            raise TensorError(f"input {name!r}: BYTES element {len(out)} is longer than the data")
        out.append(data[at:at + length])
        at += length
    if at != len(data):
        raise TensorError(f"input {name!r}: {len(data) - at} bytes left after {count} BYTES elements")
    return np.array(out, dtype=object).reshape(shape)


def parse_request(body: np.ndarray | bytes, header_length: int | None) -> InferRequest:
    """Decode an inference request (``body``: the whole body; ``header_length``: the
    ``Inference-Header-Content-Length`` header, None for a JSON-only body)."""
    raw = body if isinstance(body, np.ndarray) else np.frombuffer(body, dtype=np.uint8)
    if header_length is None:
        header_length = raw.size
    elif header_length > raw.size:
        raise TensorError(f"Inference-Header-Content-Length is {header_length}, the body has {raw.size} bytes")
    try:
        header = loads_body(raw[:header_length].tobytes())
    except ValueError as exc:  # InvalidJSON
        raise TensorError(f"the inference request is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise TensorError("the inference request must be a JSON object")
    specs = header.get("inputs")
    if not isinstance(specs, list) or not specs:
        raise TensorError("the inference request needs \"inputs\": a non-empty list of tensors")
    parameters = header.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise TensorError("\"parameters\" must be an object")
    offset = header_length
    inputs: dict[str, np.ndarray] = {}
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise TensorError(f"input {i}: each input must be an object with a \"name\"")
        name = spec["name"]
        if name in inputs:
            raise TensorError(f"input {name!r} appears twice")
        datatype = spec.get("datatype")
        if datatype not in DATATYPES:
            raise TensorError(f"input {name!r}: unknown datatype {str(datatype)[:30]!r} "
                              f"(one of {', '.join(DATATYPES)})")
        shape = _shape(spec, name)
        size = (spec.get("parameters") or {}).get("binary_data_size")
        if size is None:
            inputs[name] = _json_tensor(spec, name, shape, datatype)
            continue
        if type(size) is not int or size < 0 or offset + size > raw.size:
            raise TensorError(f"input {name!r}: binary_data_size {str(size)[:30]} goes past the end of the body")
        inputs[name] = _binary_tensor(raw[offset:offset + size], name, shape, datatype)
        offset += size
    if offset != raw.size:
        raise TensorError(f"{raw.size - offset} bytes of binary data follow the last input")
    outputs = _requested_outputs(header.get("outputs"))
    request_id = header.get("id")
    return InferRequest(None if request_id is None else str(request_id), inputs, outputs,
                        parameters.get("binary_data_output") is True, parameters)


def _requested_outputs(specs: Any) -> list[RequestedOutput] | None:
    if specs is None:
        return None
    if not isinstance(specs, list):
        raise TensorError("\"outputs\" must be a list")
    out = []
    for spec in specs:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise TensorError("each requested output must be an object with a \"name\"")
        out.append(RequestedOutput(spec["name"], (spec.get("parameters") or {}).get("binary_data") is True))
    return out


def _bytes_elements(array: np.ndarray) -> list[bytes]:
    return [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in array.reshape(-1)]


def encode_response(model_name: str, model_version: str, request_id: str | None,
                    outputs: list[tuple[str, np.ndarray, bool]]) -> tuple[bytes, int | None]:
    """The response body and, when some output is binary, its JSON header length."""
    tensors, chunks = [], []
    for name, array, binary in outputs:
        array = np.asarray(array)
        tensor: dict[str, Any] = {"name": name, "datatype": datatype_of(array), "shape": list(array.shape)}
        if binary:
            if tensor["datatype"] == "BYTES":
                raw = b"".join(struct.pack("<I", len(b)) + b for b in _bytes_elements(array))
            else:
                raw = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
            tensor["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        elif tensor["datatype"] == "BYTES":
            tensor["data"] = [b.decode("utf-8", "replace") for b in _bytes_elements(array)]
        else:
            tensor["data"] = array.reshape(-1)
        tensors.append(tensor)
    response: dict[str, Any] = {"model_name": model_name, "model_version": model_version, "outputs": tensors}
    if request_id is not None:
        response["id"] = request_id
    header = dumps(response)
    if not chunks:
        return header, None
    return header + b"".join(chunks), len(header)
