"""Compile the HTTP path's kernels ahead of time into one extension (see :mod:`.aot`).

Uses ``numba.pycc``, the compiler Numba ships today (pending deprecation; Numba's
planned successor is PIXIE-based AOT, not released yet): the same Python kernels
as the JIT, so one algorithm, two ways of compiling it. Needs a C compiler.
Each export has exact types: the server's caller passes exactly these.
"""

from __future__ import annotations

import json
import os
import warnings

from numba import types

from . import aot, chunked, http1, routing

_BYTEARRAY = types.ByteArray(types.uint8, 1, "C")
_BYTES = types.Bytes(types.uint8, 1, "C", readonly=True)
_I64 = types.int64[::1]

#: export name -> (kernel, signature)
EXPORTS = {
    "scan_request_head": (http1._scan, types.int64(_BYTEARRAY, types.int64, _I64)),
    "match_route": (routing._match, types.UniTuple(types.int64, 2)(types.int32[::1], _BYTES, types.int64, _I64)),
    "decode_chunked": (chunked._decode,
                       types.int64(_BYTEARRAY, types.int64, types.int64, types.uint8[::1], _I64)),
}


def build(folder: str) -> str:
    """Compile :data:`EXPORTS` into ``folder``; write the manifest; return the extension's path."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba.pycc's pending-deprecation notice
        from numba.pycc import CC

    os.makedirs(folder, exist_ok=True)
    cc = CC(aot.MODULE)
    cc.output_dir = folder
    cc.verbose = False
    for name, (kernel, signature) in EXPORTS.items():
        cc.export(name, signature)(kernel.py_func)
    cc.compile()
    path = os.path.join(folder, cc.output_file)
    with open(os.path.join(folder, aot.MANIFEST), "w") as file:
        json.dump({"file": cc.output_file, "exports": sorted(EXPORTS), "fingerprint": aot.fingerprint()},
                  file, indent=2)
    return path
