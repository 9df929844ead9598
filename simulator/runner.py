"""`ocppscope simulate`: a fleet of simulated stations in one process, with a live summary.

Every station keeps itself connected (back-off, offline queue) until the run ends; with
`charge_seconds` each one plugs in once it has booted and charges that long. The run ends after
`duration` simulated seconds or on SIGINT/SIGTERM: sessions are Ended, queues delivered when the
CSMS is there, sockets closed, and a final table printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live
from rich.table import Table

from proxy.admin import HttpServer
from proxy.apiguard import ApiGuard
from proxy.heap import tune_garbage_collector
from proxy.settings import Endpoint
from simulator.clock import Clock
from simulator.control import control_app
from simulator.fleet import StationSpec
from simulator.station import SimulatedStation

STOP_TIMEOUT = 30.0
"""Real seconds the stations get to end their sessions and close."""
BOOT_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Summary:
    stations: int
    connected: int
    charging: int
    power_kw: float
    delivered_kwh: float
    reconnects: int
    queued: int


def summarize(stations: Sequence[SimulatedStation], started_wh: Sequence[float]) -> Summary:
    return Summary(
        stations=len(stations),
        connected=sum(s.connected for s in stations),
        charging=sum(s.charging for s in stations),
        power_kw=sum(s.power_kw for s in stations),
        delivered_kwh=sum(
            (s.register_wh - start) / 1000 for s, start in zip(stations, started_wh, strict=True)
        ),
        reconnects=sum(s.reconnects for s in stations),
        queued=sum(s.queued for s in stations),
    )


def render(summary: Summary, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in (
        "stations",
        "connected",
        "charging",
        "kW now",
        "kWh delivered",
        "reconnects",
        "queued",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        f"{summary.stations:,}",
        f"{summary.connected:,}",
        f"{summary.charging:,}",
        f"{summary.power_kw:,.1f}",
        f"{summary.delivered_kwh:,.3f}",
        f"{summary.reconnects:,}",
        f"{summary.queued:,}",
    )
    return table


async def run_fleet(
    specs: Sequence[StationSpec],
    url: str,
    *,
    speed: float = 1.0,
    duration: float | None = None,
    charge_seconds: float | None = None,
    console: Console | None = None,
    stop: asyncio.Event | None = None,
    control: Endpoint | None = None,
    api_token: str | None = None,
) -> Summary:
    """Run the fleet until `duration` simulated seconds pass or `stop` is set, with the control
    API on `control` (OSError naming --control when it cannot listen there), its changes needing
    `api_token`."""
    console = console or Console()
    clock = Clock(speed)
    began = clock.now()
    stop = stop or asyncio.Event()
    stations = [SimulatedStation(spec, clock) for spec in specs]
    tune_garbage_collector()  # thousands of long-lived stations (bench simulate measured it)
    server = None
    if control is not None:
        app = control_app({s.spec.id: s for s in stations}, ApiGuard(api_token))
        server = HttpServer(app, control, "--control")
        await server.start()
        console.print(f"control API on http://{control.host}:{server.port}/stations (see /docs)")
    started_wh = [s.register_wh for s in stations]
    tasks = [asyncio.create_task(s.run(url, stop)) for s in stations]
    if charge_seconds:
        tasks += [
            asyncio.create_task(_charge_once(s, number, charge_seconds, stop))
            for number, s in enumerate(stations, 1)
        ]
    ender = asyncio.create_task(_end_after(clock, duration, stop)) if duration else None
    live = Live(
        render(summarize(stations, started_wh), "fleet"),
        console=console,
        auto_refresh=False,
        transient=True,
    )
    with live:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            live.update(render(summarize(stations, started_wh), "fleet"), refresh=True)
    if ender is not None:
        ender.cancel()
    _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if server is not None:
        await server.stop()
    final = summarize(stations, started_wh)
    console.print(render(final, f"fleet after {clock.now() - began:,.0f} simulated s"))
    return final


async def _end_after(clock: Clock, duration: float, stop: asyncio.Event) -> None:
    await clock.sleep(duration)
    stop.set()


async def _charge_once(
    station: SimulatedStation, number: int, seconds: float, stop: asyncio.Event
) -> None:
    """Plug in once the station has booted; charge `seconds` (simulated)."""
    for _ in range(int(BOOT_TIMEOUT / 0.05)):
        if station.connected or stop.is_set():
            break
        await asyncio.sleep(0.05)
    if station.connected and not stop.is_set():
        await station.plug_in_and_charge(f"TAG-{number:05d}", seconds)


async def simulate(
    specs: Sequence[StationSpec],
    url: str,
    speed: float,
    duration: float | None,
    charge_seconds: float | None,
    control: Endpoint | None,
    api_token: str | None = None,
) -> Summary:
    """The command: as `run_fleet`, ended by SIGINT/SIGTERM too."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return await run_fleet(
        specs,
        url,
        speed=speed,
        duration=duration,
        charge_seconds=charge_seconds,
        stop=stop,
        control=control,
        api_token=api_token,
    )
