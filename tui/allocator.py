"""Large freed blocks go back to the system, so the app's RSS follows what it holds.

glibc's malloc serves a request of 128 KiB or more with a mapping of its own,
returned to the system on free, but the first time such a block is freed it
raises that threshold to the block's size (up to 32 MiB): from then on blocks
of that size come from the heap and, once freed, stay in the process. A
finished picture is decoded as a few 1-4 MiB images (1024x1024 RGBA, the RGB
page, the copies textual-image draws from), so every run left some behind:
in ``bench/memory_growth.py`` ~9 MiB of RSS that held nothing.
:func:`return_large_blocks` fixes the threshold (``mallopt(M_MMAP_THRESHOLD)``,
which also turns the raising off). Elsewhere than glibc it does nothing.

``mallopt`` is looked up among the symbols the process has loaded (libc's
among them), not by library name: ``ctypes.util.find_library`` runs
``ldconfig -p`` in a subprocess, ~5-13 ms before the first frame.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3
"""glibc's mallopt parameter number (malloc.h)."""
LARGE_BLOCK = 256 * 1024
"""Blocks of at least this size are mapped on their own and returned when freed."""


def return_large_blocks() -> bool:
    """Have glibc map blocks of :data:`LARGE_BLOCK` or more on their own, from now on.

    Returns whether it took (False: not glibc, or it refused).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # this process's symbols: libc's, on glibc
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK))
