"""A station's TransactionEvent queue (OCPP 2.0.1 E04): events are produced on the clock
whether or not the station is connected and delivered in order, one at a time, once it is; a
full queue gives up an Updated event before a Started or an Ended. Kept apart from the station
so that the queue's rules do not depend on how the events are sent."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

log = logging.getLogger("ocppscope.simulator")

DELIVERED_KEPT = 200
"""How many delivered TransactionEvents a station remembers (for tests and benches): a few
sessions' worth, ~1.6 KB each, for each of thousands of stations."""


class Outbox:
    """The queued TransactionEvent payloads of one station, oldest first."""

    def __init__(self, station_id: str, limit: int) -> None:
        self.station_id = station_id
        self.limit = limit
        self.queued: deque[dict[str, Any]] = deque()
        self.delivered: deque[dict[str, Any]] = deque(maxlen=DELIVERED_KEPT)
        self._pending = asyncio.Event()
        self._progress = asyncio.Condition()
        """Notified whenever a queued TransactionEvent is done with."""

    def __len__(self) -> int:
        return len(self.queued)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.queued)

    @property
    def last(self) -> dict[str, Any] | None:
        return self.queued[-1] if self.queued else None

    def put(self, payload: dict[str, Any], *, connected: bool) -> None:
        """Queue a TransactionEvent for delivery; offline when produced without a connection."""
        if not connected:
            payload["offline"] = True
        if len(self.queued) >= self.limit:
            self._drop_one()
        self.queued.append(payload)
        self._pending.set()

    def _drop_one(self) -> None:
        """A full queue gives up its oldest Updated event first, keeping Started and Ended."""
        victim = next((p for p in self.queued if p["event_type"] == "Updated"), self.queued[0])
        self.queued.remove(victim)
        log.warning("%s: offline queue full, dropped seqNo %s", self.station_id, victim["seq_no"])

    async def deliver(self, transmit: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """Send the queue's head until it is empty, forever; an exception of `transmit` (a lost
        connection) leaves the head queued."""
        while True:
            if not self.queued:
                self._pending.clear()
                await self._pending.wait()
                continue
            payload = self.queued[0]
            await transmit(payload)
            if self.queued and self.queued[0] is payload:
                self.queued.popleft()
            self.delivered.append(payload)
            async with self._progress:
                self._progress.notify_all()

    async def passed(self, payload: dict[str, Any]) -> None:
        """Until `payload` has left the queue (delivered or given up)."""
        async with self._progress:
            await self._progress.wait_for(lambda: not any(queued is payload for queued in self))
