"""The one place the JIT decorator policy lives.

Every kernel in ``conduit_kernels`` is compiled through these helpers so that the
policy (on-disk cache, released GIL, explicit fastmath flags) is stated once.
Numba's cache is keyed on the source file, so kernels must not read mutable
module globals: pass everything they need as arguments.
"""

from __future__ import annotations

import numba

# fastmath as an explicit flag set, never ``True``: ``nnan``/``ninf`` would let LLVM
# assume no NaN or inf ever appears, and the kernels rely on +inf sentinels.
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})


def kernel(fn=None, *, parallel: bool = False, fastmath: bool = False):
    """Compile ``fn`` with the project's policy: ``cache=True, nogil=True``.

    ``parallel=True`` enables ``prange``; ``fastmath=True`` applies :data:`FASTMATH`.
    Usable bare (``@kernel``) or with options (``@kernel(parallel=True)``).
    """

    def wrap(f):
        return numba.njit(
            cache=True,
            nogil=True,
            parallel=parallel,
            fastmath=set(FASTMATH) if fastmath else False,
        )(f)

    return wrap(fn) if fn is not None else wrap


def inline(fn):
    """A small helper inlined into its callers at Numba IR level.

    Calls between separately compiled kernels are real calls (with Numba's
    status-code protocol); for byte-level helpers in inner loops that costs more
    than the work, so they are inlined instead.
    """
    return numba.njit(inline="always", cache=True, nogil=True)(fn)


def serial_and_parallel(fn, *, fastmath: bool = False):
    """Compile one plain function twice: a serial and a ``parallel=True`` variant.

    The plain function stays importable and debuggable; callers choose a variant
    by problem size (threads cost more than they save on small inputs).
    """
    return kernel(fn, fastmath=fastmath), kernel(fn, parallel=True, fastmath=fastmath)
