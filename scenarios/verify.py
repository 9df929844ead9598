"""Each scenario's checks, computed from the database only.

A run is identified by its window (wall-clock start and end) and its chargers, so `ocppscope
report` can verify a recorded run again later from the same tables the run wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RunWindow:
    """Where a scenario's rows are: between `started_at` and `ended_at`, for `charger_ids`.

    `speed` is the simulator's time compression (1 = real time) the run used.
    """

    started_at: datetime
    ended_at: datetime
    speed: float
    charger_ids: tuple[str, ...]


@dataclass(frozen=True)
class Check:
    """One judgement of a scenario: what it expected, what the database showed, and the verdict."""

    name: str
    expected: str
    observed: str
    passed: bool
