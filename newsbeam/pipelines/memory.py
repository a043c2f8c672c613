"""Keep a long batch run's resident memory near what it uses (glibc only; a no-op elsewhere).

spaCy allocates its per-batch arrays (MBs each) and frees them. glibc raises its mmap threshold after
the first such free, so later arrays come from the heap, where freed space fragments and stays resident:
a run's memory would creep up with its length. Pinning the threshold keeps large arrays in mmap (given
back on free), and trimming between chunks returns the heap's free pages.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os

M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own initial value


def _glibc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _glibc()


def pin_mmap_threshold() -> bool:
    """Pin the mmap threshold in this process and in worker processes started after it; True if applied."""
    if _LIBC is None:
        return False
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(MMAP_THRESHOLD_BYTES))  # read by glibc in children
    return bool(_LIBC.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def release_free_memory() -> None:
    """Collect garbage cycles and give the allocator's free pages back to the system."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
