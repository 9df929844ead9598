"""Garbage-collector tuning for a process that holds thousands of long-lived connections (the
proxy, the simulator): CPython's defaults walk all of their state on every full collection."""

from __future__ import annotations

import gc

GC_THRESHOLDS = (50_000, 20, 100)
"""CPython's default (700, 10, 10) ran a full collection over every connection's state every
couple of seconds at 1,000 stations: 165-250 ms pauses, the proxy's p99. With these, young
collections are rarer and a full one comes after ~10^8 allocations (about a minute at full load)."""


def tune_garbage_collector() -> None:
    """Move start-up objects out of the collector's way and make collections rarer."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
