"""The simulated station against the reference CSMS on real sockets (127.0.0.1) and a real
PostgreSQL: sessions, remote start/stop, power limits, variables, back-off and the offline queue.
Clocks run 10 times faster, so 30 s of charging take 3 s."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from ocpp import exceptions
from ocpp.v201 import call

from simulator.clock import Clock, iso
from simulator.fleet import StationSpec
from simulator.station import SimulatedStation
from tests.csms.sim import csms, http
from tests.pg import fetch
from tests.proxy_harness import run, until, within
from tests.support import free_port

SPEED = 10.0
STATION = "emart_jeju_01"


# ---- the clock (pure) ------------------------------------------------------------------------


@pytest.mark.unit
def test_iso_is_utc_with_milliseconds_and_z() -> None:
    assert iso(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso(1_700_000_000.1234) == "2023-11-14T22:13:20.123Z"


@pytest.mark.unit
def test_the_clock_runs_speed_times_faster() -> None:
    async def scenario() -> tuple[float, float]:
        clock = Clock(speed=20.0, start=1000.0)
        loop = asyncio.get_running_loop()
        began = loop.time()
        await clock.sleep(2.0)  # 0.1 s of real time
        return clock.now(), loop.time() - began

    simulated, real = run(scenario(), 5)
    assert simulated >= 1002.0 and real >= 0.095  # never early, whatever the machine's load
    assert simulated - 1000.0 == pytest.approx(real * 20.0, abs=0.05)  # one clock, 20x faster


@pytest.mark.unit
def test_offline_events_are_kept_in_a_bounded_queue_dropping_updated_first() -> None:
    """No CSMS at all: the whole session is produced offline (local authorization)."""

    async def scenario() -> list[dict[str, Any]]:
        station = SimulatedStation(
            StationSpec("offline_01", 100.0), Clock(1000.0), queue_limit=5, register_wh=0.0
        )
        assert await station.plug_in_and_charge("TAG-0001", 60) is not None
        session = station.evses[1].session
        assert session is not None and session.task is not None
        await within(session.task, 5)
        return list(station.outbox)

    queued = run(scenario(), 10)
    assert seq_nos(queued) == [0, 9, 10, 11, 12]
    assert [e["event_type"] for e in queued] == [
        "Started",
        "Updated",
        "Updated",
        "Updated",
        "Ended",
    ]
    assert all(e["offline"] for e in queued)
    ended = queued[-1]["meter_value"][0]["sampled_value"][0]["value"]
    assert ended == pytest.approx(100.0 * 60 / 3.6, abs=0.01)  # 1666.67 Wh: physics


# ---- helpers ---------------------------------------------------------------------------------


def ocpp_base(port: int) -> str:
    return f"ws://127.0.0.1:{port}/ocpp"


def new_station(power_kw: float = 100.0) -> SimulatedStation:
    return SimulatedStation(StationSpec(STATION, power_kw), Clock(SPEED), register_wh=1_000_000.0)


@contextlib.asynccontextmanager
async def running(station: SimulatedStation, port: int) -> AsyncIterator[asyncio.Task[None]]:
    """The station's run() until the block ends; connected on entry."""
    stop = asyncio.Event()
    task = asyncio.create_task(station.run(ocpp_base(port), stop))
    try:
        await until(lambda: station.connected, what="the station to boot")
        yield task
    finally:
        stop.set()
        await within(task, 20)


async def settled(station: SimulatedStation) -> None:
    """Idle, with every TransactionEvent answered by the CSMS."""
    await until(
        lambda: not station.charging and not station.queued and station.connected,
        15,
        "the session to end and its events to be delivered",
    )


def seq_nos(events: list[dict[str, Any]]) -> list[int]:
    return [event["seq_no"] for event in events]


def powers_w(event: dict[str, Any]) -> float:
    sampled = event["meter_value"][0]["sampled_value"]
    return next(s["value"] for s in sampled if s["measurand"] == "Power.Active.Import")


async def stored_events(database_url: str, transaction_id: str) -> list[dict[str, Any]]:
    """The TransactionEvents the CSMS kept (camelCase), by seqNo."""
    rows = await fetch(
        database_url,
        "SELECT request FROM charger_transaction_event WHERE transaction_id = $1 ORDER BY seq_no",
        transaction_id,
    )
    return [json.loads(row["request"]) for row in rows]


# ---- sessions --------------------------------------------------------------------------------


def test_a_30_s_session_at_100_kw_is_0_83_kwh_and_125_krw(database_url: str) -> None:
    async def scenario() -> tuple[str, SimulatedStation]:
        station = new_station()
        async with csms(database_url) as csms_running, running(station, csms_running.ocpp_port):
            transaction_id = await station.plug_in_and_charge("TAG-0001", 30)
            assert transaction_id is not None
            await settled(station)
        return transaction_id, station

    transaction_id, station = run(scenario(), 60)
    rows = run(
        fetch(
            database_url,
            "SELECT energy_consumed, cost, stopped_reason FROM charger_usage_log "
            "WHERE transaction_id = $1",
            transaction_id,
        )
    )
    assert float(rows[0]["energy_consumed"]) == pytest.approx(0.8333, rel=0.01)
    assert float(rows[0]["cost"]) == pytest.approx(125.0, rel=0.02)
    assert rows[0]["stopped_reason"] == "Local"
    events = [
        e for e in station.delivered if e["transaction_info"]["transaction_id"] == transaction_id
    ]
    assert seq_nos(events) == list(range(len(events)))
    assert [e["event_type"] for e in events] == ["Started"] + ["Updated"] * 5 + ["Ended"]
    assert not any(e.get("offline") for e in events)
    stored = run(stored_events(database_url, transaction_id))
    assert [e["seqNo"] for e in stored] == list(range(7))
    started = datetime.fromisoformat(stored[0]["timestamp"].replace("Z", "+00:00"))
    ended = datetime.fromisoformat(stored[-1]["timestamp"].replace("Z", "+00:00"))
    assert (ended - started).total_seconds() == pytest.approx(30.0, abs=0.01)
    assert station.boots == 1


def test_remote_start_and_stop_through_the_rest_api(database_url: str) -> None:
    async def scenario() -> None:
        station = new_station()
        async with csms(database_url) as csms_running, running(station, csms_running.ocpp_port):
            started = await http(
                csms_running, "POST", f"/chargers/{STATION}/start", {"idToken": "APP-42"}
            )
            assert started.status == 200, started.text
            session = station.evses[1].session
            assert session is not None
            assert session.transaction_id == started.body["transactionId"]
            assert session.remote_start_id == started.body["remoteStartId"]
            await until(lambda: bool(station.delivered), what="Started to be answered")
            first = station.delivered[0]
            assert first["trigger_reason"] == "RemoteStart"
            assert first["transaction_info"]["remote_start_id"] == started.body["remoteStartId"]
            busy = await http(
                csms_running, "POST", f"/chargers/{STATION}/start", {"idToken": "APP-43"}
            )
            assert busy.status == 422, busy.text
            await asyncio.sleep(1.0)  # 10 s of charging
            stopped = await http(
                csms_running,
                "POST",
                f"/chargers/{STATION}/stop",
                {"transactionId": started.body["transactionId"]},
            )
            assert stopped.status == 200, stopped.text
            assert stopped.body["stoppedReason"] == "Remote"
            assert stopped.body["energyKwh"] > 0.2
            unknown = await http(
                csms_running, "POST", f"/chargers/{STATION}/stop", {"transactionId": "TX-none"}
            )
            assert unknown.status == 422, unknown.text
            await settled(station)
            ended = station.delivered[-1]
            assert ended["event_type"] == "Ended"
            assert ended["trigger_reason"] == "RemoteStop"

    run(scenario(), 60)


def test_a_50_kw_limit_halves_the_power_in_the_next_meter_values(database_url: str) -> None:
    async def scenario() -> list[dict[str, Any]]:
        station = new_station()
        async with csms(database_url) as csms_running, running(station, csms_running.ocpp_port):
            await station.plug_in_and_charge("TAG-0001")
            await until(lambda: len(station.delivered) >= 2, what="an Updated at 100 kW")
            answer = await http(
                csms_running, "PATCH", f"/chargers/{STATION}/power", {"maxPowerKw": 50}
            )
            assert answer.status == 200, answer.text
            assert station.power_kw == pytest.approx(50.0)
            count = len(station.delivered)
            await until(lambda: len(station.delivered) >= count + 2, what="two more Updated")
            await station.stop_charging("Local")
            await settled(station)
            return list(station.delivered)

    events = run(scenario(), 60)
    updated = [e for e in events if e["event_type"] == "Updated"]
    assert powers_w(events[0]) == 100_000
    assert powers_w(updated[-1]) == 50_000
    registers = [e["meter_value"][0]["sampled_value"][0]["value"] for e in updated[-2:]]
    assert registers[1] - registers[0] == pytest.approx(50.0 * 5 / 3.6, abs=0.01)


def test_variables_trigger_message_and_the_rest(database_url: str) -> None:
    async def scenario() -> None:
        station = new_station()
        async with csms(database_url) as csms_running, running(station, csms_running.ocpp_port):
            link = csms_running.endpoint.stations[STATION]

            async def ask(request: Any) -> Any:
                return await within(link.call(request, suppress=False))

            def item(component: str, variable: str, value: str | None = None) -> dict[str, Any]:
                found: dict[str, Any] = {
                    "component": {"name": component},
                    "variable": {"name": variable},
                }
                if value is not None:
                    found["attribute_value"] = value
                return found

            got = await ask(
                call.GetVariables(
                    get_variable_data=[
                        item("OCPPCommCtrlr", "HeartbeatInterval"),
                        item("OCPPCommCtrlr", "RetryBackOffWaitMinimum"),
                        item("OCPPCommCtrlr", "NoSuchThing"),
                        item("NoSuchController", "HeartbeatInterval"),
                    ]
                )
            )
            results = got.get_variable_result
            assert [r["attribute_status"] for r in results] == [
                "Accepted",
                "Accepted",
                "UnknownVariable",
                "UnknownComponent",
            ]
            assert results[0]["attribute_value"] == "30"  # granted by BootNotification
            assert results[1]["attribute_value"] == "1"
            put = await ask(
                call.SetVariables(
                    set_variable_data=[
                        item("OCPPCommCtrlr", "RetryBackOffWaitMinimum", "3"),
                        item("OCPPCommCtrlr", "HeartbeatInterval", "zero"),
                        item("OCPPCommCtrlr", "Nope", "1"),
                    ]
                )
            )
            statuses = [r["attribute_status"] for r in put.set_variable_result]
            assert statuses == ["Accepted", "Rejected", "UnknownVariable"]
            assert station.reconnect.policy.wait_minimum == 3.0
            boots = station.boots
            trigger = await ask(call.TriggerMessage(requested_message="BootNotification"))
            assert trigger.status == "Accepted"
            await until(lambda: station.boots == boots + 1, what="the triggered boot")
            other = await ask(call.TriggerMessage(requested_message="LogStatusNotification"))
            assert other.status == "NotImplemented"
            with pytest.raises(exceptions.NotImplementedError):  # a CALLERROR
                await ask(call.ClearCache())

    run(scenario(), 60)


def test_basic_auth_with_the_station_id_and_its_password(database_url: str) -> None:
    async def scenario() -> tuple[SimulatedStation, SimulatedStation]:
        right = SimulatedStation(StationSpec(STATION, 100.0, password="s3cret"), Clock(SPEED))
        wrong = SimulatedStation(StationSpec(STATION, 100.0, password="guess"), Clock(SPEED))
        async with csms(database_url) as csms_running:
            await fetch(
                database_url,
                "UPDATE charger_info SET password_sha256 = encode(sha256('s3cret'), 'hex') "
                "WHERE charger_id = $1",
                STATION,
            )
            stop = asyncio.Event()
            refused = asyncio.create_task(wrong.run(ocpp_base(csms_running.ocpp_port), stop))
            try:
                await until(lambda: len(wrong.attempts) >= 2, what="the refused station to retry")
                async with running(right, csms_running.ocpp_port):
                    assert right.boots == 1
            finally:
                stop.set()
                await within(refused, 20)
        return right, wrong

    right, wrong = run(scenario(), 60)
    assert wrong.boots == 0
    assert right.connected is False  # stopped cleanly


# ---- reconnect and the offline queue ----------------------------------------------------------


def test_reconnect_backs_off_and_replays_the_offline_queue(database_url: str) -> None:
    port = free_port()

    async def scenario() -> tuple[SimulatedStation, str, int, float]:
        station = new_station()
        stop = asyncio.Event()
        task: asyncio.Task[None] | None = None
        try:
            async with csms(database_url, port=port):
                task = asyncio.create_task(station.run(ocpp_base(port), stop))
                await until(lambda: station.connected, what="the station to boot")
                transaction_id = await station.plug_in_and_charge("TAG-0001")
                assert transaction_id is not None
                await until(lambda: len(station.delivered) >= 2, what="an Updated online")
            await until(lambda: station.lost_at is not None, what="the loss to be noticed")
            lost_at = station.lost_at
            assert lost_at is not None
            before = len(station.attempts)
            await until(lambda: len(station.attempts) >= before + 4, 10, "four failed attempts")
            assert station.queued >= 2
            async with csms(database_url, port=port):
                await until(lambda: station.connected and not station.queued, 20, "the replay")
                await station.stop_charging("Local")
                await settled(station)
        finally:
            stop.set()
            if task is not None:
                await within(task, 20)
        return station, transaction_id, before, lost_at

    station, transaction_id, before, lost_at = run(scenario(), 90)
    attempts = station.attempts[before:]
    waits = [wait for _, wait in attempts]
    assert waits[:5] == [1.0, 2.0, 4.0, 8.0, 16.0]
    moments = [moment for moment, _ in attempts]
    assert moments[0] - lost_at == pytest.approx(1.0, abs=spacing_tolerance(1.0))
    for earlier, later, wait in zip(moments[:3], moments[1:4], waits[1:4], strict=True):
        assert later - earlier == pytest.approx(wait, abs=spacing_tolerance(wait))

    assert station.boots == 2
    stored = run(stored_events(database_url, transaction_id))
    assert [e["seqNo"] for e in stored] == list(range(len(stored)))
    offline = [e for e in stored if e.get("offline")]
    assert len(offline) >= 2
    started = datetime.fromisoformat(stored[0]["timestamp"].replace("Z", "+00:00"))
    for event in stored[1:-1]:  # Updated on the station's own 5 s grid, sent late or not
        moment = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
        assert (moment - started).total_seconds() % 5.0 == pytest.approx(0.0, abs=0.01)
    replayed = [e for e in station.delivered if e.get("offline")]
    assert seq_nos(replayed) == sorted(seq_nos(replayed))


def spacing_tolerance(wait: float) -> float:
    """±10 %, but at least 0.5 simulated s (50 ms of real time at speed 10: a busy CI machine's
    scheduling delay, not the station's back-off)."""
    return max(0.1 * wait, 0.5)
