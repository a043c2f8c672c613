"""Keep a long batch run's resident memory near what it uses (glibc only; a no-op elsewhere).

spaCy allocates its per-batch arrays (MBs each) and frees them. glibc raises its mmap threshold after
the first such free, up to 32 MiB, so later arrays come from the heap, where freed space fragments and
stays resident: a run's memory would creep up with its length. Pinning the threshold keeps the largest
arrays in mmap (given back on free), and trimming between chunks returns the heap's free pages.

The pin is 8 MiB, not glibc's initial 128 KiB: at 128 KiB-2 MiB every mid-sized array is a fresh mmap
whose pages fault in zeroed, which made spaCy's `nlp.pipe` 18-27 % slower (benchmarks/results/performance.md,
sixth session); at 8 MiB it runs as fast as unpinned and a 10,000-article run still peaks lower.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os

M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h
MMAP_THRESHOLD_BYTES = 8 * 1024 * 1024


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
