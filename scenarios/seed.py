"""What the seed guide's five scenarios do: its stations, the REST commands and the outage.
Whether they did it right is `scenarios.checks`' business, from the database alone.

Each scenario's stations start on a clock that begins at the scenario's start and runs `speed`
times faster (`scenarios.model.RunWindow`), and close again at its end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from proxy.faults.client import AdminClient, AdminError
from scenarios.clients import CsmsClient, StepFailed
from scenarios.guide import (
    BACKOFF_WAITS,
    HEARTBEAT_INTERVAL,
    LIMIT_KW,
    SESSION_SECONDS,
    TIMING_TOLERANCE,
)
from scenarios.stations import METER_INTERVAL, running_stations, until
from simulator.clock import Clock
from simulator.fleet import StationSpec
from simulator.station import SimulatedStation

OUTAGE_SECONDS = 10.0
"""The guide's server outage; its reconnect attempts come 1, 3, 7 and 15 s after the loss."""


@dataclass(frozen=True)
class Stage:
    """What a scenario acts through."""

    clock: Clock
    proxy_url: str
    csms: CsmsClient
    admin: AdminClient
    progress: Callable[[str], None]

    def real(self, simulated: float) -> float:
        return self.clock.real(simulated)


Play = Callable[[Stage, Sequence[StationSpec]], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    number: int
    title: str
    play: Play
    chargers: int
    """How many of the fleet's stations it uses (from the first)."""


async def _session_over(stage: Stage, station: SimulatedStation, transaction_id: str) -> None:
    await until(
        lambda: station.session_of(transaction_id) is None and not station.queued,
        stage.real(SESSION_SECONDS) + 10,
        f"{transaction_id} to end and its events to reach the CSMS",
    )


def id_token(station: SimulatedStation) -> str:
    return f"TAG-{station.spec.id}"


async def _charge(station: SimulatedStation, seconds: float | None) -> str:
    transaction_id = await station.plug_in_and_charge(id_token(station), seconds)
    if transaction_id is None:
        raise StepFailed(f"{station.spec.id} could not start a session (the token was refused)")
    return transaction_id


async def connection_and_boot(stage: Stage, specs: Sequence[StationSpec]) -> None:
    """Boot, then stay until the first Heartbeat is due and answered (30 s + 10 %)."""
    async with running_stations(specs, stage.proxy_url, stage.clock) as [station]:
        interval = station.settings.heartbeat_interval
        stage.progress(f"{station.spec.id} booted (interval {interval} s); waiting for heartbeats")
        await stage.clock.sleep(HEARTBEAT_INTERVAL * (1 + TIMING_TOLERANCE))


async def charging_session(stage: Stage, specs: Sequence[StationSpec]) -> None:
    async with running_stations(specs, stage.proxy_url, stage.clock) as [station]:
        transaction_id = await _charge(station, SESSION_SECONDS)
        stage.progress(f"{transaction_id} charging for {SESSION_SECONDS} s")
        await _session_over(stage, station, transaction_id)
        stage.progress(f"{transaction_id} ended: {station.evse(1).meter.session_kwh:.4f} kWh")


async def server_commands(stage: Stage, specs: Sequence[StationSpec]) -> None:
    """Remote start with an idToken, status while charging, a 50 kW limit, remote stop; two
    meter intervals between the steps so the CSMS sees the power before and after the limit."""
    async with running_stations(specs, stage.proxy_url, stage.clock) as [station]:
        charger = f"/chargers/{station.spec.id}"
        started = await stage.csms.post(f"{charger}/start", {"idToken": id_token(station)})
        transaction_id = started["transactionId"]
        stage.progress(f"POST {charger}/start: {transaction_id}")
        await stage.clock.sleep(2 * METER_INTERVAL)
        status = await stage.csms.get(charger)
        stage.progress(
            f"GET {charger}: {status['connector_status']}, {status['power_kw']:g} kW, "
            f"{status['energy_kwh']} kWh"
        )
        limited = await stage.csms.patch(f"{charger}/power", {"maxPowerKw": LIMIT_KW})
        stage.progress(f"PATCH {charger}/power {LIMIT_KW:g} kW: {limited['status']}")
        await stage.clock.sleep(2 * METER_INTERVAL)
        stopped = await stage.csms.post(f"{charger}/stop", {"transactionId": transaction_id})
        stage.progress(
            f"POST {charger}/stop: {stopped['energyKwh']} kWh, {stopped['cost']} KRW, "
            f"{stopped['durationSeconds']} s"
        )


async def five_at_once(stage: Stage, specs: Sequence[StationSpec]) -> None:
    async with running_stations(specs, stage.proxy_url, stage.clock) as stations:
        transactions = await asyncio.gather(*(_charge(s, SESSION_SECONDS) for s in stations))
        stage.progress(f"{len(transactions)} sessions charging together for {SESSION_SECONDS} s")
        await asyncio.gather(
            *(_session_over(stage, s, t) for s, t in zip(stations, transactions, strict=True))
        )


async def outage_and_recovery(stage: Stage, specs: Sequence[StationSpec]) -> None:
    """The first station charges through the outage; everyone backs off and comes back."""
    async with running_stations(specs, stage.proxy_url, stage.clock) as stations:
        charging = stations[0]
        transaction_id = await _charge(charging, None)
        await stage.clock.sleep(METER_INTERVAL)
        outage = {"kind": "outage", "for": stage.real(OUTAGE_SECONDS)}
        try:
            await asyncio.to_thread(stage.admin.each, "POST", "/faults", outage)
        except AdminError as error:
            raise StepFailed(str(error)) from None
        stage.progress(f"outage: the proxy refuses every charger for {OUTAGE_SECONDS:g} s")
        await until(
            lambda: all(s.boots >= 2 and s.connected for s in stations),
            stage.real(OUTAGE_SECONDS + sum(BACKOFF_WAITS)) + 10,
            "every station to reconnect and boot again",
        )
        stage.progress("every station reconnected and booted again")
        await stage.clock.sleep(2 * METER_INTERVAL)
        kwh = await charging.stop_charging("Local")
        await until(lambda: not charging.queued, 10, f"{charging.spec.id} to deliver its events")
        stage.progress(f"{transaction_id} charged through the outage: {kwh:.4f} kWh")


SCENARIOS = {
    1: Scenario(1, "Connection and BootNotification", connection_and_boot, 1),
    2: Scenario(2, "A 30 s charging session", charging_session, 1),
    3: Scenario(3, "Server commands through the REST API", server_commands, 1),
    4: Scenario(4, "Five chargers at once", five_at_once, 5),
    5: Scenario(5, "Outage and recovery", outage_and_recovery, 5),
}
