"""Keep freed heap memory in the process (glibc), so big CPU tensors are not mapped and zeroed anew each step.

glibc's ``malloc`` serves every request above its mmap threshold (at most 32 MiB) with a fresh ``mmap``
and gives it back with ``munmap`` on free. A CPU training step allocates and frees tensors of tens of
MiB (DeepBind's scans of a 128 x 1-kb batch are 64 MiB each), so every step maps them again and the
kernel zeroes each page on its first touch: about 110k minor page faults and half the step's time in
the kernel. :func:`keep_freed_memory` turns that off with ``mallopt``: no mmap for requests
(``M_MMAP_MAX = 0``; glibc still falls back to it when the heap cannot grow) and no trimming of the
heap's top (``M_TRIM_THRESHOLD`` at its maximum), so freed blocks are reused by the next step. The
price: the process keeps its peak heap until it exits (as a GPU caching allocator keeps its pool).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_TRIM_MAX = 2**31 - 1  # mallopt takes an int


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse (no mmap per large block, no heap trimming).

    Returns:
        True when both settings were applied; False where the C library is not glibc (macOS, musl,
        Windows), where nothing is changed.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - glibc only: musl has mallopt as a no-op
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_MAX))
