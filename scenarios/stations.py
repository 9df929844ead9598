"""The scenarios' own simulated stations, connected through the proxy for one scenario."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence

from scenarios.clients import StepFailed
from simulator.clock import Clock
from simulator.fleet import StationSpec
from simulator.station import SimulatedStation

METER_INTERVAL = 5.0
"""Simulated seconds between a session's Updated events (the guide's 5 s)."""
BOOT_TIMEOUT = 15.0
LINGER = 5.0
"""Simulated seconds the stations stay after a scenario, as parked stations would, so that
what they sent last (the StatusNotification after an Ended) is answered before they go."""
LINGER_AT_LEAST = 0.25
"""Real seconds: the answer takes milliseconds of real time whatever the speed."""
STOP_TIMEOUT = 30.0
"""Real seconds the stations get to end their sessions, deliver their queues and close."""


async def until(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll `predicate` every 10 ms for at most `seconds` (real); StepFailed names `what`."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise StepFailed(f"timed out after {seconds:.1f} s waiting for {what}")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running_stations(
    specs: Sequence[StationSpec], url: str, clock: Clock
) -> AsyncIterator[list[SimulatedStation]]:
    """The stations connected to `url` (/<stationId> appended) and booted; on exit their
    sessions end, their queues are delivered and they close (after lingering)."""
    stop = asyncio.Event()
    stations = [SimulatedStation(spec, clock, meter_interval=METER_INTERVAL) for spec in specs]
    tasks = [asyncio.create_task(s.run(url, stop)) for s in stations]
    try:
        names = ", ".join(spec.id for spec in specs)
        await until(
            lambda: all(s.connected for s in stations),
            BOOT_TIMEOUT,
            f"{names} to connect through {url} and boot",
        )
        yield stations
        await asyncio.sleep(max(clock.real(LINGER), LINGER_AT_LEAST))
    finally:
        stop.set()
        try:
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), STOP_TIMEOUT)
        except TimeoutError:
            raise StepFailed(f"the stations did not stop within {STOP_TIMEOUT:g} s") from None
