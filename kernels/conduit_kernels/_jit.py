"""The one place the JIT decorator policy lives.

Every kernel in ``conduit_kernels`` is compiled through these helpers so that the
policy (on-disk cache, released GIL, explicit fastmath flags) is stated once.
Numba's cache is keyed on the source file, so kernels must not read mutable
module globals: pass everything they need as arguments.
"""

from __future__ import annotations

import os

# Idle workers of the parallel layer must sleep, not spin (issue 23). Numba's default
# layer here is OpenMP (libgomp), whose workers spin for about 3 ms after every parallel
# region unless OMP_WAIT_POLICY is passive: a request served on the same machine right
# after a parallel fit then waits behind them (one-document TF-IDF transforms measured
# up to 734x their rested median). libgomp reads the policy once, when it is loaded,
# which numba does at the first parallel launch, so it is set here, before any kernel
# module compiles; setdefault keeps an operator's own choice. It applies to every
# library in the process that shares the system libgomp (LightGBM's does).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402  (after the policy: numba must not load libgomp first)

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


def _prefetch_intrinsic():
    """``prefetch(matrix, row)``: an ``llvm.prefetch`` hint for ``matrix[row, 0]`` (a no-op
    semantically). Graph search reads rows in an order only the graph knows, so the
    hardware prefetcher cannot help; hinting the next neighbour's row while scoring the
    current one hides part of the miss (hnswlib does the same with ``_mm_prefetch``)."""
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    ir = cgutils.ir  # llvmlite's IR module, as numba itself uses it

    @intrinsic
    def prefetch(typingctx, arr, index):
        if not isinstance(arr, types.Array) or arr.ndim != 2 or not isinstance(index, types.Integer):
            return None

        def codegen(context, builder, sig, args):
            ary = context.make_array(sig.args[0])(context, builder, args[0])
            zero = context.get_constant(types.intp, 0)
            row = context.cast(builder, args[1], sig.args[1], types.intp)
            ptr = cgutils.get_item_pointer(context, builder, sig.args[0], ary, [row, zero],
                                           wraparound=False)
            i8p = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
            # read (0), high temporal locality (3), data cache (1)
            builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
            return context.get_dummy_value()

        return types.none(arr, index), codegen

    return prefetch


prefetch = _prefetch_intrinsic()


def _popcount_intrinsic():
    """``popcount(x)``: the set bits of a uint64, as ``llvm.ctpop.i64`` (one ``popcnt``
    instruction, and vectorisable with AVX-512 VPOPCNTDQ). Numba has no popcount of
    its own; the Hamming scans of binary codes (:mod:`.binary`) are made of it."""
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    ir = cgutils.ir

    @intrinsic
    def popcount(typingctx, x):
        if not isinstance(x, types.Integer) or x.bitwidth != 64:
            return None

        def codegen(context, builder, sig, args):
            i64 = ir.IntType(64)
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i64, [i64]),
                                                "llvm.ctpop.i64")
            return builder.call(fn, [args[0]])

        return types.uint64(x), codegen

    return popcount


popcount = _popcount_intrinsic()
