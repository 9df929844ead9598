"""Heap tuning for a process that holds thousands of long-lived connections (the proxy, the
simulator): the garbage collector's thresholds, and glibc's allocator for big frames."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

GC_THRESHOLDS = (50_000, 20, 100)
"""CPython's default (700, 10, 10) ran a full collection over every connection's state every
couple of seconds at 1,000 stations: 165-250 ms pauses, the proxy's p99. With these, young
collections are rarer and a full one comes after ~10^8 allocations (about a minute at full load).
Not what kept big frames' memory (tests/bench/test_memory.py): their strings hold no cycles and
go when their last reference does."""

M_MMAP_THRESHOLD = -3
"""mallopt's parameter number in glibc's malloc.h."""
MMAP_THRESHOLD_BYTES = 1024 * 1024
"""Blocks from this size on get their own mapping, unmapped when freed. glibc raises the
threshold to the size of each such block freed (up to 32 MiB), after which a 16 MiB frame's
copies came from the heap and stayed: 20 such frames left the proxy ~90 MB bigger for good;
with the threshold fixed, 1-7 MB (the same as `MALLOC_MMAP_THRESHOLD_=1048576`; `malloc_trim`
after each big frame left 17-23 MB)."""


def tune_garbage_collector() -> None:
    """Move start-up objects out of the collector's way and make collections rarer."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def return_big_blocks_to_the_system() -> bool:
    """Fix glibc's mmap threshold (setting it turns its dynamic raising off); False where the C
    library is not glibc (musl unmaps big blocks anyway)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
