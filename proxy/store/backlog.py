"""The store's bounded queue: rows wait here until PostgreSQL has committed them. Pure code.

Rows leave only once written (`peek`, then `commit`), so a failed batch is simply tried again.
When the bound is reached new rows are discarded (the table keeps an unbroken history up to the
outage, and the gap is recorded), never the ones already waiting.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import islice

from proxy.store.records import Row, Table


@dataclass(slots=True)
class Pending:
    table: Table
    row: Row
    queued_at: float
    """Monotonic seconds, for the write lag."""


@dataclass(slots=True)
class DiscardWindow:
    first_at: float
    last_at: float
    """Wall-clock seconds of the first and last discarded row."""
    records: int


class Backlog:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("the store buffer must hold at least one row")
        self.capacity = capacity
        self._rows: deque[Pending] = deque()
        self.discarded = 0
        """Rows discarded since start."""
        self.window: DiscardWindow | None = None
        """The discards not yet recorded in store_discards."""

    def __len__(self) -> int:
        return len(self._rows)

    def put(self, pending: Pending, wall_time: float) -> bool:
        """Queue a row; False (and counted) when the buffer is full."""
        if len(self._rows) >= self.capacity:
            self.discarded += 1
            if self.window is None:
                self.window = DiscardWindow(wall_time, wall_time, 1)
            else:
                self.window.last_at = wall_time
                self.window.records += 1
            return False
        self._rows.append(pending)
        return True

    def put_anyway(self, pending: Pending) -> None:
        """Queue a row past the bound: the record of a discard must not itself be discarded."""
        self._rows.append(pending)

    def take_window(self) -> DiscardWindow | None:
        window, self.window = self.window, None
        return window

    def peek(self, limit: int) -> list[Pending]:
        """The oldest rows, still queued until `commit`."""
        return list(islice(self._rows, limit))

    def commit(self, count: int) -> None:
        for _ in range(count):
            self._rows.popleft()

    def oldest_queued_at(self) -> float | None:
        return self._rows[0].queued_at if self._rows else None
