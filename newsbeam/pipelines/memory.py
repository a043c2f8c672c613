"""Keep a long batch run's resident memory near what it uses (glibc only; a no-op elsewhere).

spaCy allocates its per-batch arrays (MBs each) and frees them. glibc raises its mmap threshold after
the first such free, up to 32 MiB, so later arrays come from the heap, where freed space fragments and
stays resident: a run's memory would creep up with its length. Pinning the threshold keeps the largest
arrays in mmap (given back on free), and trimming between chunks returns the heap's free pages.

The pin is 8 MiB, not glibc's initial 128 KiB: at 128 KiB-2 MiB every mid-sized array is a fresh mmap
whose pages fault in zeroed, which made spaCy's `nlp.pipe` 18-27 % slower (benchmarks/results/performance.md,
2026-11-27 02:20-05:20 UTC); at 8 MiB it runs as fast as unpinned and a 10,000-article run still peaks lower.

Pinning also freezes glibc's trim threshold at 128 KiB (unpinned, it rises with the mmap threshold), so
every free that left more than that at the top of the heap gave the pages back, and the next batch faulted
them in again: 2.7-3.6 s of kernel time in a 3,000-article run. The trim threshold is pinned at 256 MiB,
above a batch's transient peak; the heap is still trimmed between chunks.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers in glibc's malloc.h
MMAP_THRESHOLD_BYTES = 8 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 256 * 1024 * 1024


def _glibc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _glibc()


def pin_allocator_thresholds() -> bool:
    """Pin the mmap and trim thresholds here and in worker processes started later; False if glibc refused.

    A threshold set in the environment (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`) is the user's
    choice: glibc has applied it already, and it is left alone.
    """
    if _LIBC is None:
        return False
    applied = True
    for parameter, variable, value in (
        (M_MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_", MMAP_THRESHOLD_BYTES),
        (M_TRIM_THRESHOLD, "MALLOC_TRIM_THRESHOLD_", TRIM_THRESHOLD_BYTES),
    ):
        if variable not in os.environ:
            os.environ[variable] = str(value)  # read by glibc when a worker process starts
            applied = bool(_LIBC.mallopt(parameter, value)) and applied
    return applied


# What Dask's nanny puts in its workers' environment (`distributed.nanny.pre-spawn-environ`): a trim
# threshold set there also stops glibc from raising its mmap threshold, so every spaCy array above 128 KiB
# is a fresh mmap that faults in zeroed; NER on a Dask worker ran ~1.5 x slower than `nlp.pipe`.
DASK_DEFAULT_TRIM_THRESHOLD = "65536"


def pin_on_dask_worker() -> bool:
    """`pin_allocator_thresholds` in a Dask worker process, where a trim threshold of Dask's default is not
    the user's choice and is replaced; a threshold the user configured for the workers is left alone."""
    if os.environ.get("MALLOC_TRIM_THRESHOLD_") == DASK_DEFAULT_TRIM_THRESHOLD:
        del os.environ["MALLOC_TRIM_THRESHOLD_"]
    return pin_allocator_thresholds()


def release_free_memory() -> None:
    """Collect garbage cycles and give the allocator's free pages back to the system."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
