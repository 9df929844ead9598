"""What a simulated station does when the CSMS asks for a Reset or a ChangeAvailability, and a
station with two EVSEs: station → the real proxy (in-process) → the reference CSMS, on real
sockets of 127.0.0.1, clocks 10 times faster. The frames are read where the proxy saw them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocpp.v201 import call

from csms.app import RunningCsms
from proxy.ocppj.actions import Direction
from proxy.ocppj.findings import Severity
from simulator.clock import Clock
from simulator.fleet import StationSpec
from simulator.station import SimulatedStation
from tests.csms.sim import csms
from tests.proxy_harness import Proxy, run, running_proxy, until, within

SPEED = 10.0


@dataclass
class Lab:
    station: SimulatedStation
    proxy: Proxy
    csms: RunningCsms

    async def ask(self, request: Any) -> Any:
        """A CALL from the CSMS to the station; its answer."""
        link = self.csms.endpoint.stations[self.station.spec.id]
        return await within(link.call(request, suppress=False))

    def sent(self, action: str) -> list[dict[str, Any]]:
        """Payloads of the station's CALLs of `action`, in the order the proxy saw them."""
        found = []
        for frame in self.proxy.recorder.frames:
            message = json.loads(frame.data)
            outgoing = frame.direction is Direction.CHARGER_TO_CSMS
            if outgoing and message[:1] == [2] and message[2] == action:
                found.append(message[3])
        return found

    def statuses(self, evse: int = 1) -> list[str]:
        return [
            s["connectorStatus"] for s in self.sent("StatusNotification") if s["evseId"] == evse
        ]

    def serious_findings(self) -> list[str]:
        return [
            f"{f.rule_id}: {f.message}"
            for f in self.proxy.recorder.findings
            if f.severity is Severity.ERROR
        ]


@asynccontextmanager
async def lab(database_url: str, confdir: Path, evses: int = 1) -> AsyncIterator[Lab]:
    """emart_jeju_01 (100 kW) connected through the proxy to the reference CSMS."""
    station = SimulatedStation(
        StationSpec("emart_jeju_01", 100.0, evses=evses), Clock(SPEED), register_wh=1_000_000.0
    )
    stop = asyncio.Event()
    async with (
        csms(database_url) as upstream,
        running_proxy(confdir, f"ws://127.0.0.1:{upstream.ocpp_port}") as proxy,
    ):
        task = asyncio.create_task(station.run(proxy.url("/ocpp"), stop))
        try:
            await until(lambda: station.connected, what="the station to boot")
            yield Lab(station, proxy, upstream)
        finally:
            stop.set()
            await within(task, 20)


def test_reset_immediate_ends_the_session_and_boots_again_at_once(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> Lab:
        async with lab(database_url, tmp_path) as it:
            station = it.station
            assert await station.plug_in_and_charge("TAG-0001") is not None
            assert (await it.ask(call.Reset(type="Immediate"))).status == "Accepted"
            await until(lambda: station.boots == 2 and station.connected, what="the reboot")
            await until(lambda: not station.queued, what="the Ended event")
            assert not station.charging and station.attempts == []  # no back-off: a reboot
            return it

    it = run(scenario(), 60)
    ended = it.sent("TransactionEvent")[-1]
    assert ended["eventType"] == "Ended"
    assert ended["transactionInfo"]["stoppedReason"] == "ImmediateReset"
    assert ended["triggerReason"] == "ResetCommand"
    assert [boot["reason"] for boot in it.sent("BootNotification")] == ["PowerUp", "RemoteReset"]
    assert not it.serious_findings()


def test_reset_on_idle_waits_for_the_session_to_end(database_url: str, tmp_path: Path) -> None:
    async def scenario() -> Lab:
        async with lab(database_url, tmp_path) as it:
            station = it.station
            assert await station.plug_in_and_charge("TAG-0001") is not None
            assert (await it.ask(call.Reset(type="OnIdle"))).status == "Scheduled"
            evse_reset = await it.ask(call.Reset(type="Immediate", evse_id=1))
            assert evse_reset.status == "Rejected"
            await asyncio.sleep(0.5)  # 5 simulated s: still charging, not rebooted
            assert station.charging and station.boots == 1
            await station.stop_charging("Local")
            await until(lambda: station.boots == 2 and station.connected, what="the reboot")
            return it

    it = run(scenario(), 60)
    ended = it.sent("TransactionEvent")[-1]
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    assert [boot["reason"] for boot in it.sent("BootNotification")] == ["PowerUp", "RemoteReset"]


def test_change_availability_now_when_idle_and_after_the_session_when_charging(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> Lab:
        async with lab(database_url, tmp_path) as it:
            station = it.station
            off = call.ChangeAvailability(operational_status="Inoperative")
            assert (await it.ask(off)).status == "Accepted"
            await until(lambda: it.statuses()[-1:] == ["Unavailable"], what="Unavailable")
            start = call.RequestStartTransaction(
                id_token={"id_token": "APP-1", "type": "Central"}, remote_start_id=7
            )
            assert (await it.ask(start)).status == "Rejected"
            on = call.ChangeAvailability(operational_status="Operative")
            assert (await it.ask(on)).status == "Accepted"
            await until(lambda: it.statuses()[-1:] == ["Available"], what="Available")
            assert (await it.ask(start)).status == "Accepted"
            await until(lambda: station.charging, what="the remote start")
            evse_off = call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1})
            assert (await it.ask(evse_off)).status == "Scheduled"
            await asyncio.sleep(0.3)
            assert station.charging and it.statuses()[-1] == "Occupied"
            await station.stop_charging("Local")
            await until(lambda: it.statuses()[-1:] == ["Unavailable"], what="Unavailable")
            no_such = call.ChangeAvailability(operational_status="Inoperative", evse={"id": 2})
            assert (await it.ask(no_such)).status == "Rejected"
            return it

    it = run(scenario(), 60)
    assert it.statuses() == [
        "Available",
        "Unavailable",
        "Available",
        "Occupied",
        "Unavailable",
    ]
    assert not it.serious_findings()


def test_two_evses_charge_at_once_each_with_its_own_transaction(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> Lab:
        async with lab(database_url, tmp_path, evses=2) as it:
            station = it.station
            first = await station.plug_in_and_charge("TAG-0001")
            start = call.RequestStartTransaction(
                id_token={"id_token": "APP-1", "type": "Central"}, remote_start_id=8, evse_id=2
            )
            assert (await it.ask(start)).status == "Accepted"
            await until(lambda: station.evses[2].session is not None, what="EVSE 2's session")
            assert first is not None and station.power_kw == 200.0
            assert (await it.ask(start)).status == "Rejected"  # EVSE 2 is busy now
            await station.stop_all("Local")
            for evse in (1, 2):
                await until(
                    lambda e=evse: it.statuses(e)[-2:] == ["Occupied", "Available"],
                    what="Occupied, then Available",
                )
            return it

    it = run(scenario(), 60)
    events = it.sent("TransactionEvent")
    started = {e["transactionInfo"]["transactionId"]: e["evse"]["id"] for e in events[:2]}
    assert sorted(started.values()) == [1, 2] and len(started) == 2
    for transaction_id in started:
        seq_nos = [
            e["seqNo"] for e in events if e["transactionInfo"]["transactionId"] == transaction_id
        ]
        assert seq_nos == list(range(len(seq_nos))) and len(seq_nos) >= 2
    assert it.statuses(1) == ["Available", "Occupied", "Available"]
    assert it.statuses(2) == ["Available", "Occupied", "Available"]
    assert not it.serious_findings()
