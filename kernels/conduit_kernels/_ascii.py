"""Byte-level helpers shared by the kernels that read text protocols (paths, chunk sizes)."""

from __future__ import annotations

from ._jit import inline


@inline
def hex_value(c):
    """The value of the hex digit ``c`` (an ASCII code), or -1 when it is not one."""
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    return -1
