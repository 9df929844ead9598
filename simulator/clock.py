"""Simulated time for a station: `speed` times faster than real time, so a 30 s session can take
3 s in a test while its meter values and timestamps still say 30 s. Pure apart from asyncio."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime


class Clock:
    """Epoch seconds that run `speed` times faster than the wall clock, from now on."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}")
        self.speed = speed
        self._start = time.time() if start is None else start
        self._origin = time.monotonic()

    def now(self) -> float:
        """Simulated epoch seconds (monotonic: never jumps back with the wall clock)."""
        return self._start + (time.monotonic() - self._origin) * self.speed

    def real(self, seconds: float) -> float:
        """Real seconds that `seconds` of simulated time take."""
        return max(0.0, seconds) / self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(self.real(seconds))

    async def sleep_until(self, moment: float) -> None:
        await self.sleep(moment - self.now())

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait for `event` at most `seconds` of simulated time; whether it is set."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), self.real(seconds))
        return event.is_set()


def iso(moment: float) -> str:
    """OCPP dateTime: UTC, milliseconds, `Z`."""
    stamp = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")
