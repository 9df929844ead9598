"""The behaviour profiles against the conformance engine: station → the real proxy (in-process)
→ the reference CSMS, on real sockets of 127.0.0.1. A compliant station gives no finding at all;
each misbehaviour gives exactly the rule it is meant to (among warnings and errors: a refused
TransactionEvent is retried, which the engine notes as info), over the whole observation. The clocks
run in real time (a faster one puts timestamps ahead of the observer's, which TX-014 rightly
reports)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from proxy.ocppj.findings import Finding, Severity
from simulator.clock import Clock
from simulator.fleet import StationSpec
from simulator.profiles import BEHAVIOURS, PROFILES
from simulator.station import SimulatedStation
from tests.csms.sim import csms, csms_on
from tests.proxy_harness import Proxy, Recorder, run, running_proxy, until, within
from tests.support import free_port

RULES = {
    "skips-seqno": "TX-003",
    "no-boot": "BOOT-001",
    "bad-schema": "SCH-001",
    "wrong-backoff": "BACKOFF-002",
    "duplicate-ids": "RPC-005",
}


def station_for(profile: str) -> SimulatedStation:
    """A 100 kW station of the profile, metering every 2 s so that a session is short, and
    retrying a refused TransactionEvent after 0.5 s x transmissions (E13)."""
    spec = StationSpec(f"sim_{profile.replace('-', '_')}", 100.0, profile=profile)
    station = SimulatedStation(spec, Clock(), meter_interval=2.0, register_wh=1_000_000.0)
    station.set_variable("MessageAttemptInterval", 1)
    return station


@asynccontextmanager
async def observed(
    station: SimulatedStation, database_url: str, confdir: Path
) -> AsyncIterator[Proxy]:
    """The station's run() through a proxy to the reference CSMS, connected on entry. On exit the
    proxy stops first:
    it closes the station's connection itself (a station closing is WS-007) and ends the
    observation, so its recorder holds every finding; then the station stops."""
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    try:
        async with (
            csms(database_url) as upstream,
            running_proxy(confdir, f"ws://127.0.0.1:{upstream.ocpp_port}") as proxy,
        ):
            task = asyncio.create_task(station.run(proxy.url("/ocpp"), stop))
            await until(lambda: station.connected, what=f"{station.spec.id} to connect")
            yield proxy
    finally:
        stop.set()
        if task is not None:
            await within(task, 20)


async def a_session(station: SimulatedStation) -> None:
    """Five seconds of charging (Started, Updated at 2 and 4 s, Ended), all delivered."""
    assert await station.plug_in_and_charge("TAG-0001", 5) is not None
    await until(
        lambda: not station.charging and not station.queued,
        15,
        "the session to end and its events to be delivered",
    )


def shown(findings: list[Finding]) -> str:
    return "\n".join(f"{f.rule_id} {f.severity.name} {f.action}: {f.message}" for f in findings)


@pytest.mark.unit
def test_every_profile_has_a_behaviour_and_every_misbehaviour_a_rule_here() -> None:
    assert set(BEHAVIOURS) == set(PROFILES)
    assert set(RULES) == set(PROFILES) - {"compliant"}


def test_a_compliant_station_gives_no_finding(database_url: str, tmp_path: Path) -> None:
    async def scenario() -> list[Finding]:
        station = station_for("compliant")
        async with observed(station, database_url, tmp_path) as proxy:
            await a_session(station)
            await station.heartbeat()
        return proxy.recorder.findings

    findings = run(scenario(), 60)
    assert not findings, shown(findings)


@pytest.mark.parametrize("profile", sorted(set(RULES) - {"wrong-backoff"}))
def test_a_misbehaviour_triggers_its_rule(profile: str, database_url: str, tmp_path: Path) -> None:
    async def scenario() -> list[Finding]:
        station = station_for(profile)
        async with observed(station, database_url, tmp_path) as proxy:
            await station.heartbeat()
            await a_session(station)
        return proxy.recorder.findings

    findings = run(scenario(), 60)
    serious = [f for f in findings if f.severity is not Severity.INFO]
    assert {f.rule_id for f in serious} == {RULES[profile]}, shown(findings)
    assert {f.station for f in findings} == {station_for(profile).spec.id}


def test_wrong_backoff_reconnects_at_once(database_url: str, tmp_path: Path) -> None:
    """The CSMS goes away and the proxy drops the station's connection. With RetryBackOff 1 s,
    no random range, 4 doublings, the engine expects the first attempt a second later (the
    station's own setting says the same); it comes at once."""
    port = free_port()

    async def scenario() -> Recorder:
        station = station_for("wrong-backoff")
        station.set_variable("RetryBackOffWaitMinimum", 1)
        station.set_variable("RetryBackOffRandomRange", 0)
        upstream = f"ws://127.0.0.1:{port}"
        async with running_proxy(tmp_path, upstream, retry_backoff="1,0,4") as proxy:
            stop = asyncio.Event()
            task = asyncio.create_task(station.run(proxy.url("/ocpp"), stop))
            try:
                async with csms_on(database_url, port):
                    await until(lambda: station.connected, what="the station to connect")
                await until(lambda: station.reconnects >= 1, 5, "a reconnect attempt")
            finally:
                stop.set()
                await within(task, 20)
        return proxy.recorder

    recorder = run(scenario(), 60)
    assert set(recorder.rules("sim_wrong_backoff")) == {"BACKOFF-002"}, shown(recorder.findings)
