"""A 1.6 and a 2.1 simulated station against an independent CSMS on 127.0.0.1, built here from
the `ocpp` library's v16 and v21 ChargePoint handlers (not the reference CSMS): boot, a session
with meter values, its stop, what the 1.6 CSMS asks (remote start/stop, configuration), and the
1.6 offline queue across a dropped connection: the messages queued while the CSMS was away
arrive in order after the reconnect, and a transaction started offline is named by the
transactionId its StartTransaction.conf gives."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from ocpp import v16, v21
from ocpp.routing import on
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from simulator.clock import Clock
from simulator.fleet import StationSpec
from simulator.station import SimulatedStation
from tests.proxy_harness import run, until, within
from tests.support import free_port

pytestmark = pytest.mark.integration

SPEED = 10.0
REFUSED = "BLOCKED-1"
"""The idTag the 1.6 CSMS refuses in StartTransaction.conf."""


def now() -> str:
    return datetime.now(UTC).isoformat()


class Csms16(v16.ChargePoint):
    """Accepts everything; numbers transactions with `ids` (the endpoint's, across connections)."""

    def __init__(
        self,
        station_id: str,
        ws: ServerConnection,
        log: list[tuple[str, dict[str, Any]]],
        ids: Iterator[int],
    ):
        super().__init__(station_id, ws)
        self.log = log
        self.ids = ids

    @on("BootNotification")
    def on_boot(self, **fields: Any) -> v16.call_result.BootNotification:
        self.log.append(("BootNotification", fields))
        return v16.call_result.BootNotification(current_time=now(), interval=300, status="Accepted")

    @on("StatusNotification")
    def on_status(self, **fields: Any) -> v16.call_result.StatusNotification:
        self.log.append(("StatusNotification", fields))
        return v16.call_result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, **fields: Any) -> v16.call_result.Authorize:
        self.log.append(("Authorize", fields))
        return v16.call_result.Authorize(id_tag_info={"status": "Accepted"})

    @on("StartTransaction")
    def on_start(self, **fields: Any) -> v16.call_result.StartTransaction:
        transaction_id = next(self.ids)
        self.log.append(("StartTransaction", {**fields, "given": transaction_id}))
        status = "Invalid" if fields["id_tag"] == REFUSED else "Accepted"
        return v16.call_result.StartTransaction(
            transaction_id=transaction_id, id_tag_info={"status": status}
        )

    @on("MeterValues")
    def on_meter_values(self, **fields: Any) -> v16.call_result.MeterValues:
        self.log.append(("MeterValues", fields))
        return v16.call_result.MeterValues()

    @on("StopTransaction")
    def on_stop(self, **fields: Any) -> v16.call_result.StopTransaction:
        self.log.append(("StopTransaction", fields))
        return v16.call_result.StopTransaction()

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> v16.call_result.Heartbeat:
        return v16.call_result.Heartbeat(current_time=now())


class Csms21(v21.ChargePoint):
    def __init__(
        self, station_id: str, ws: ServerConnection, log: list[tuple[str, dict[str, Any]]]
    ):
        super().__init__(station_id, ws)
        self.log = log

    @on("BootNotification")
    def on_boot(self, **fields: Any) -> v21.call_result.BootNotification:
        self.log.append(("BootNotification", fields))
        return v21.call_result.BootNotification(current_time=now(), interval=300, status="Accepted")

    @on("StatusNotification")
    def on_status(self, **fields: Any) -> v21.call_result.StatusNotification:
        self.log.append(("StatusNotification", fields))
        return v21.call_result.StatusNotification()

    @on("SecurityEventNotification")
    def on_security_event(self, **fields: Any) -> v21.call_result.SecurityEventNotification:
        self.log.append(("SecurityEventNotification", fields))
        return v21.call_result.SecurityEventNotification()

    @on("Authorize")
    def on_authorize(self, **fields: Any) -> v21.call_result.Authorize:
        self.log.append(("Authorize", fields))
        return v21.call_result.Authorize(id_token_info={"status": "Accepted"})

    @on("TransactionEvent")
    def on_transaction_event(self, **fields: Any) -> v21.call_result.TransactionEvent:
        self.log.append(("TransactionEvent", fields))
        return v21.call_result.TransactionEvent()

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> v21.call_result.Heartbeat:
        return v21.call_result.Heartbeat(current_time=now())


class Csms:
    """The CSMS endpoint: each station's messages in `logs`, its handler in `points`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"ws://127.0.0.1:{port}/ocpp"
        self.logs: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.points: dict[str, Csms16 | Csms21] = {}
        self.server: Server | None = None
        self.ids = itertools.count(1000)

    async def start(self) -> None:
        self.server = await serve(
            self._serve,
            "127.0.0.1",
            self.port,
            subprotocols=["ocpp1.6", "ocpp2.1"],  # type: ignore[list-item]
        )

    def refuse(self) -> None:
        """Stop listening; the connections there are stay."""
        assert self.server is not None
        self.server.close(close_connections=False)

    async def _serve(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        station_id = ws.request.path.rsplit("/", 1)[-1]
        log = self.logs.setdefault(station_id, [])
        point: Csms16 | Csms21 = (
            Csms16(station_id, ws, log, self.ids)
            if ws.subprotocol == "ocpp1.6"
            else Csms21(station_id, ws, log)
        )
        self.points[station_id] = point
        with contextlib.suppress(ConnectionClosed):
            await point.start()

    def actions(self, station_id: str) -> list[str]:
        return [action for action, _ in self.logs.get(station_id, [])]

    def of(self, station_id: str, action: str) -> list[dict[str, Any]]:
        return [fields for name, fields in self.logs.get(station_id, []) if name == action]


@contextlib.asynccontextmanager
async def running(*stations: SimulatedStation) -> AsyncIterator[Csms]:
    csms = Csms(free_port())
    await csms.start()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(station.run(csms.url, stop)) for station in stations]
    try:
        for station in stations:
            await until(lambda s=station: s.connected, 10, f"{station.spec.id} booted")  # type: ignore[misc]
        yield csms
    finally:
        stop.set()
        await within(asyncio.gather(*tasks, return_exceptions=True), 30)
        if csms.server is not None:
            csms.server.close()


def test_a_16_and_a_21_station_boot_charge_and_stop() -> None:
    async def scenario() -> Csms:
        clock = Clock(SPEED)
        old = SimulatedStation(
            StationSpec("cp16_01", 50.0, protocol="ocpp1.6"), clock, register_wh=20_000.0
        )
        new = SimulatedStation(StationSpec("cs21_01", 50.0, protocol="ocpp2.1"), clock)
        async with running(old, new) as csms:
            for station in (old, new):
                assert await station.plug_in_and_charge("04A2B3C4", 20) is not None
            for station in (old, new):
                await until(lambda s=station: not s.charging and not s.queued, 10, "sessions over")  # type: ignore[misc]
        return csms

    csms = run(scenario(), 60)
    assert csms.points["cp16_01"].__class__ is Csms16 and csms.points["cs21_01"].__class__ is Csms21
    old = csms.actions("cp16_01")
    assert old[:3] == ["BootNotification", "StatusNotification", "Authorize"]
    (boot,) = csms.of("cp16_01", "BootNotification")
    assert (
        boot["charge_point_vendor"] == "EMART"
        and boot["charge_point_serial_number"] == "SN-cp16_01-001"
    )
    (started,) = csms.of("cp16_01", "StartTransaction")
    (stopped,) = csms.of("cp16_01", "StopTransaction")
    meter_values = csms.of("cp16_01", "MeterValues")
    assert started["meter_start"] == 20_000 and started["connector_id"] == 1
    assert len(meter_values) == 3  # every 5 simulated s of 20
    assert {m["transaction_id"] for m in meter_values} == {stopped["transaction_id"]} == {1000}
    assert stopped["meter_stop"] == round(20_000 + 50_000 * 20 / 3600)  # 278 Wh in 20 s at 50 kW
    assert stopped["reason"] == "Local"
    statuses = [s["status"] for s in csms.of("cp16_01", "StatusNotification")]
    assert statuses[0] == "Available" and "Charging" in statuses and statuses[-1] == "Available"
    events = csms.of("cs21_01", "TransactionEvent")
    assert [e["event_type"] for e in events] == [
        "Started",
        "Updated",
        "Updated",
        "Updated",
        "Ended",
    ]
    assert [e["seq_no"] for e in events] == [0, 1, 2, 3, 4]
    assert csms.actions("cs21_01")[:2] == ["BootNotification", "StatusNotification"]
    assert "SecurityEventNotification" in csms.actions("cs21_01")


def test_a_16_station_does_what_its_csms_asks() -> None:
    async def scenario() -> tuple[list[Any], SimulatedStation, Csms]:
        station = SimulatedStation(StationSpec("cp16_02", 22.0, protocol="ocpp1.6"), Clock(SPEED))
        async with running(station) as csms:
            point = csms.points["cp16_02"]
            answers = [
                await point.call(
                    v16.call.ChangeConfiguration(key="HeartbeatInterval", value="120")
                ),
                await point.call(v16.call.GetConfiguration(key=["HeartbeatInterval", "Nope"])),
                await point.call(
                    v16.call.RemoteStartTransaction(id_tag="REMOTE-1", connector_id=1)
                ),
            ]
            await until(
                lambda: bool(csms.of("cp16_02", "StartTransaction")), 10, "StartTransaction"
            )
            given = csms.of("cp16_02", "StartTransaction")[0]["given"]
            answers.append(await point.call(v16.call.RemoteStopTransaction(transaction_id=given)))
            await until(lambda: bool(csms.of("cp16_02", "StopTransaction")), 10, "StopTransaction")
        return answers, station, csms

    answers, station, csms = run(scenario(), 60)
    assert answers[0].status == "Accepted" and station.settings.heartbeat_interval == 120
    assert answers[1].configuration_key == [
        {"key": "HeartbeatInterval", "readonly": False, "value": "120"}
    ]
    assert answers[1].unknown_key == ["Nope"]
    assert answers[2].status == "Accepted" and answers[3].status == "Accepted"
    (authorized,) = csms.of("cp16_02", "Authorize")  # AuthorizeRemoteTxRequests: true
    assert authorized["id_tag"] == "REMOTE-1"
    (stopped,) = csms.of("cp16_02", "StopTransaction")
    assert stopped["reason"] == "Remote" and stopped["transaction_id"] == 1000


def test_a_16_station_queues_its_transaction_messages_across_a_dropped_connection() -> None:
    """A session started online runs on through the outage; a second one starts and ends while
    the CSMS is away. After the reconnect both arrive in order, the second named by the id its
    StartTransaction.conf gave, with their original timestamps."""

    async def scenario() -> tuple[Csms, SimulatedStation, float, float, int]:
        clock = Clock(SPEED)
        spec = StationSpec("cp16_03", 50.0, evses=2, protocol="ocpp1.6")
        station = SimulatedStation(spec, clock)
        async with running(station) as csms:
            assert await station.plug_in_and_charge("04A2B3C4", 30, evse=1) is not None
            await until(lambda: bool(csms.of("cp16_03", "StartTransaction")), 10, "first start")
            csms.refuse()
            assert station.drop_connection()  # a network failure: no close handshake
            await until(lambda: not station.connected, 5, "connection lost")
            lost = clock.now() - 0.001  # timestamps have milliseconds
            assert await station.plug_in_and_charge("TAG-OFFLINE", 10, evse=2) is not None
            await until(lambda: not station.charging, 10, "both sessions over offline")
            queued = station.queued
            await csms.start()
            await until(lambda: station.connected and not station.queued, 20, "queue delivered")
            back = clock.now()
        return csms, station, lost, back, queued

    csms, station, lost, back, queued = run(scenario(), 90)
    assert station.reconnects >= 1 and queued >= 5
    assert [wait for _, wait in station.attempts][:3] == [1.0, 2.0, 4.0]  # the same back-off
    first, second = csms.of("cp16_03", "StartTransaction")
    assert (first["given"], first["connector_id"]) == (1000, 1)
    assert (second["given"], second["id_tag"], second["connector_id"]) == (1001, "TAG-OFFLINE", 2)
    assert lost <= moment(second) < back  # produced offline, sent after the reconnect
    log = csms.logs["cp16_03"]
    at = log.index(("StartTransaction", second))
    meter_values = csms.of("cp16_03", "MeterValues")
    assert {m["transaction_id"] for m in meter_values if m["connector_id"] == 1} == {1000}
    assert {m["transaction_id"] for m in meter_values if m["connector_id"] == 2} == {1001}
    assert all(  # nothing of the second session before its StartTransaction.conf
        fields["transaction_id"] == 1000 for _, fields in log[:at] if "transaction_id" in fields
    )
    stops = {stop["transaction_id"]: stop for stop in csms.of("cp16_03", "StopTransaction")}
    assert sorted(stops) == [1000, 1001]
    assert all(lost <= moment(stop) < back for stop in stops.values())  # when produced
    assert stops[1001]["meter_stop"] - second["meter_start"] == round(50_000 * 10 / 3600)
    times = [
        moment(f) for a, f in log if a in ("StartTransaction", "MeterValues", "StopTransaction")
    ]
    assert times == sorted(times)  # delivered in the order produced


def test_a_16_session_started_offline_with_a_refused_tag_ends_when_the_csms_says_so() -> None:
    """Offline the station trusts the idTag; the StartTransaction.conf after the reconnect
    refuses it, and the session ends (DeAuthorized) with its id."""

    async def scenario() -> Csms:
        station = SimulatedStation(StationSpec("cp16_04", 22.0, protocol="ocpp1.6"), Clock(SPEED))
        async with running(station) as csms:
            csms.refuse()
            assert station.drop_connection()
            await until(lambda: not station.connected, 5, "connection lost")
            assert await station.plug_in_and_charge(REFUSED) is not None  # no end of its own
            await until(lambda: station.queued >= 2, 10, "a meter value queued")
            await csms.start()
            await until(lambda: not station.charging and not station.queued, 20, "session ended")
        return csms

    csms = run(scenario(), 60)
    (started,) = csms.of("cp16_04", "StartTransaction")
    (stopped,) = csms.of("cp16_04", "StopTransaction")
    assert started["id_tag"] == REFUSED
    assert (stopped["transaction_id"], stopped["reason"]) == (started["given"], "DeAuthorized")


def moment(fields: dict[str, Any]) -> float:
    """The simulated time a 1.6 transaction message was produced."""
    stamp = fields.get("timestamp") or fields["meter_value"][0]["timestamp"]
    return datetime.fromisoformat(stamp).timestamp()
