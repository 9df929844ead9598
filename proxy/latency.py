"""Round-trip times of CALLs by action and by who answered, in bounded memory."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from proxy.ocppj.actions import Direction

WINDOW = 2048
"""Latest round trips kept per action and direction for percentiles."""


@dataclass(slots=True)
class _Series:
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    count: int = 0
    timeouts: int = 0


@dataclass(frozen=True, slots=True)
class LatencyRow:
    action: str
    caller: Direction
    """Who sent the CALL: charger_to_csms rows time the CSMS, csms_to_charger rows the station."""
    count: int
    p50_ms: float | None
    p99_ms: float | None
    timeouts: int


class LatencyBook:
    def __init__(self) -> None:
        self._series: dict[tuple[str, Direction], _Series] = {}

    def record(self, action: str, caller: Direction, seconds: float) -> None:
        series = self._series.setdefault((action, caller), _Series())
        series.recent.append(seconds)
        series.count += 1

    def timed_out(self, action: str, caller: Direction) -> None:
        self._series.setdefault((action, caller), _Series()).timeouts += 1

    def rows(self) -> list[LatencyRow]:
        return [
            LatencyRow(
                action,
                caller,
                series.count,
                percentile_ms(series.recent, 0.50),
                percentile_ms(series.recent, 0.99),
                series.timeouts,
            )
            for (action, caller), series in sorted(self._series.items())
        ]


def percentile_ms(seconds: Iterable[float], quantile: float) -> float | None:
    """The quantile of durations given in seconds, in milliseconds; None when there are none."""
    ordered = sorted(seconds)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] * 1000
