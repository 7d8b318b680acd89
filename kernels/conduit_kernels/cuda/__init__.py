"""numba.cuda twins of the similarity kernels (package ``numba-cuda``).

Same results as :mod:`conduit_kernels.topk` (same proxies, same ``(proxy, id)``
tie-break, the same heap code compiled as device functions). Only plain CUDA
features are used (no warp shuffles), so the CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``) runs every kernel on a CPU-only machine.
Importing this package imports ``numba.cuda``; ``conduit_kernels`` itself never does.
"""

from .topk import cuda_available, select_device, topk_cuda, topk_batch_cuda, to_device

__all__ = ["cuda_available", "select_device", "to_device", "topk_batch_cuda", "topk_cuda"]
