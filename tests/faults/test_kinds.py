"""Each fault kind through a real proxy (in-process mitmproxy) between a charger and a CSMS built
with the `ocpp` library, on real sockets of 127.0.0.1: what each end receives is exactly what the
rule says, in counts and order, and the record (Frame.fault, the ocpp_fault events) says so."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from addons.faults import Faults
from proxy.faults.record import FaultEvent
from proxy.faults.spec import parse_spec
from tests.pg import fetch
from tests.proxy_harness import (
    Charger,
    Csms,
    CsmsSide,
    Proxy,
    charger,
    run,
    running_csms,
    running_proxy,
    until,
    within,
)

STATION = "CS-FAULT"
AT_THE_EDGES = {"BOOT-001", "WS-007"}
"""What these bare exchanges cause regardless of faults: no BootNotification, the charger
closing at the end."""


class FaultLog:
    """Test addon: every ocpp_fault event."""

    def __init__(self) -> None:
        self.events: list[FaultEvent] = []

    def ocpp_fault(self, event: FaultEvent) -> None:
        self.events.append(event)

    def applied(self) -> list[FaultEvent]:
        return [e for e in self.events if e.event == "applied"]


@dataclass
class Link:
    proxy: Proxy
    csms: Csms
    station: Charger
    faults: Faults
    log: FaultLog

    @property
    def csms_side(self) -> CsmsSide:
        return self.csms.side(STATION)

    def csms_received(self) -> list[Any]:
        return [_decoded(m) for m in self.csms_side.connection.received]

    def charger_received(self) -> list[Any]:
        return [_decoded(m) for m in self.station.connection.received]

    async def send(self, message: list[Any]) -> None:
        await self.station.connection.send(json.dumps(message))

    def judged_rules(self) -> set[str]:
        return set(self.proxy.recorder.rules(STATION))

    def frame_faults(self) -> list[str | None]:
        return [f.fault.label if f.fault else None for f in self.proxy.recorder.frames]


def _decoded(message: str | bytes) -> Any:
    try:
        return json.loads(message)
    except ValueError:
        return message


def heartbeat(number: int) -> list[Any]:
    return [2, f"hb-{number}", "Heartbeat", {}]


@asynccontextmanager
async def link(tmp_path: Path, **settings: Any) -> AsyncIterator[Link]:
    async with (
        running_csms() as csms,
        running_proxy(tmp_path, csms.url, **settings) as proxy,
    ):
        faults = next(a for a in proxy.addons if isinstance(a, Faults))
        log = FaultLog()
        proxy.running.master.addons.add(log)
        async with charger(proxy.url(f"/ocpp/{STATION}")) as station:
            await until(lambda: bool(csms.sides), what="the CSMS to see the connection")
            yield Link(proxy, csms, station, faults, log)


def test_drop_an_answer_once_and_the_engine_stops_waiting_for_it(tmp_path: Path) -> None:
    async def scenario() -> Link:
        async with link(tmp_path, message_timeout=1.0) as it:
            it.faults.add(
                parse_spec(
                    {"kind": "drop", "action": "Heartbeat", "messageType": "CALLRESULT", "count": 1}
                )
            )
            answered = it.csms_side.connection.sent
            for number in (1, 2, 3):
                await it.send(heartbeat(number))
                await until(lambda n=number: len(answered) == n, what="the CSMS's answer")
                await asyncio.sleep(0.05)
            await until(lambda: len(it.charger_received()) == 2, what="two answers")
            await asyncio.sleep(1.5)  # past MessageTimeout: no RPC-008 for the dropped answer
            return it

    it = run(scenario(), 30)
    assert [m[1] for m in it.csms_received()] == ["hb-1", "hb-2", "hb-3"]
    assert [m[1] for m in it.charger_received()] == ["hb-2", "hb-3"]
    assert [(e.kind, e.action, e.message_id) for e in it.log.applied()] == [
        ("drop", "Heartbeat", "hb-1")
    ]
    assert it.frame_faults().count("dropped (fault 1)") == 1
    assert it.judged_rules() <= AT_THE_EDGES, it.proxy.recorder.findings


def test_delay_holds_a_call_and_keeps_the_order_behind_it(tmp_path: Path) -> None:
    async def scenario() -> tuple[Link, float]:
        async with link(tmp_path) as it:
            it.faults.add(
                parse_spec({"kind": "delay", "action": "Heartbeat", "delay": "400ms", "count": 1})
            )
            began = time.monotonic()
            await it.send(heartbeat(1))
            await it.send([2, "dt-1", "DataTransfer", {"vendorId": "ocppscope"}])
            await until(lambda: len(it.charger_received()) == 2, what="both answers")
            return it, time.monotonic() - began

    it, took = run(scenario(), 30)
    assert [m[1] for m in it.csms_received()] == ["hb-1", "dt-1"]  # the order was kept
    assert took >= 0.4
    assert [e.kind for e in it.log.applied()] == ["delay"]
    assert it.frame_faults()[:2] == ["delayed 400 ms (fault 1)", "held behind a delayed message"]


def test_duplicate_delivers_a_call_twice_and_judges_it_once(tmp_path: Path) -> None:
    async def scenario() -> Link:
        async with link(tmp_path) as it:
            it.faults.add(parse_spec({"kind": "duplicate", "action": "Heartbeat", "count": 1}))
            await it.send(heartbeat(1))
            await until(lambda: len(it.charger_received()) == 2, what="two answers")
            await it.send(heartbeat(2))
            await until(lambda: len(it.charger_received()) == 3, what="the next answer")
            return it

    it = run(scenario(), 30)
    assert [m[1] for m in it.csms_received()] == ["hb-1", "hb-1", "hb-2"]
    assert [m[1] for m in it.charger_received()] == ["hb-1", "hb-1", "hb-2"]
    faults = it.frame_faults()
    assert faults.count("duplicate (fault 1)") == 1
    assert faults.count("answer to a duplicated CALL") == 1
    assert it.judged_rules() <= AT_THE_EDGES, it.proxy.recorder.findings  # no RPC-005


@pytest.mark.parametrize(
    ("field", "what_the_csms_gets"),
    [(None, "invalid JSON"), ("reason", "a number where the schema wants a string")],
)
def test_corrupt_breaks_what_the_receiver_gets_not_what_the_engine_judges(
    tmp_path: Path, field: str | None, what_the_csms_gets: str
) -> None:
    boot = [
        2,
        "boot-1",
        "BootNotification",
        {"chargingStation": {"model": "M", "vendorName": "V"}, "reason": "PowerUp"},
    ]

    async def scenario() -> Link:
        async with link(tmp_path) as it:
            rule: dict[str, Any] = {"kind": "corrupt", "action": "BootNotification", "count": 1}
            if field:
                rule["field"] = field
            it.faults.add(parse_spec(rule))
            await it.send(boot)
            await until(lambda: bool(it.csms_received()), what="the CSMS to get something")
            if field:  # the ocpp library answers a schema violation with a CALLERROR
                await until(lambda: bool(it.charger_received()), what="the CALLERROR")
            return it

    it = run(scenario(), 30)
    received = it.csms_received()[0]
    if field is None:
        assert isinstance(received, str) and received == json.dumps(boot)[:-1]
    else:
        assert received[3]["reason"] == 12345
        answer = it.charger_received()[0]
        assert answer[0] == 4 and answer[1] == "boot-1", answer
    judged = [f for f in it.proxy.recorder.frames if f.judged]
    assert judged[0].data == json.dumps(boot)  # the engine judged what the charger sent
    assert "SCH-001" not in it.judged_rules()
    assert judged[0].fault is not None and judged[0].fault.label.startswith("corrupted")


def test_reply_error_answers_a_call_from_the_proxy(tmp_path: Path) -> None:
    async def scenario() -> Link:
        async with link(tmp_path, message_timeout=1.0) as it:
            it.faults.add(
                parse_spec(
                    {"kind": "reply-error", "action": "Heartbeat", "errorCode": "NotSupported"}
                )
            )
            await it.send(heartbeat(1))
            await until(lambda: bool(it.charger_received()), what="the proxy's CALLERROR")
            await asyncio.sleep(1.5)
            return it

    it = run(scenario(), 30)
    assert it.csms_received() == []
    answer = it.charger_received()[0]
    assert answer[:3] == [4, "hb-1", "NotSupported"]
    assert it.frame_faults() == [
        "answered by the proxy with NotSupported (fault 1)",
        "injected by fault 1",
    ]
    assert "RPC-008" not in it.judged_rules()


def test_blackhole_swallows_one_direction_until_it_expires(tmp_path: Path) -> None:
    async def scenario() -> Link:
        async with link(tmp_path, message_timeout=5.0) as it:
            it.faults.add(
                parse_spec({"kind": "blackhole", "direction": "csms-to-charger", "for": "1s"})
            )
            await it.send(heartbeat(1))
            await until(lambda: len(it.csms_received()) == 1, what="the CSMS to get hb-1")
            await asyncio.sleep(1.2)  # the rule expires
            await it.send(heartbeat(2))
            await until(lambda: len(it.charger_received()) == 1, what="hb-2's answer")
            await until(lambda: any(e.event == "expired" for e in it.log.events), what="expired")
            return it

    it = run(scenario(), 30)
    assert [m[1] for m in it.csms_received()] == ["hb-1", "hb-2"]
    assert [m[1] for m in it.charger_received()] == ["hb-2"]
    assert [e.kind for e in it.log.applied()] == ["blackhole"]


@pytest.mark.parametrize(("reset", "charger_code"), [(False, 4000), (True, 1006)])
def test_disconnect_now_closes_with_a_code_or_resets(
    tmp_path: Path, reset: bool, charger_code: int
) -> None:
    async def scenario() -> tuple[Link, int | None]:
        async with link(tmp_path) as it:
            it.faults.add(
                parse_spec({"kind": "disconnect", "station": "CS-*", "code": 4000, "reset": reset})
            )
            code = await within(it.station.closed(), 10)
            await within(it.csms_side.closed.wait(), 10)
            return it, code

    it, code = run(scenario(), 30)
    assert code == charger_code
    if not reset:
        assert it.csms_side.close_code == 4000
    assert [(e.kind, e.station) for e in it.log.applied()] == [("disconnect", STATION)]
    assert it.faults.rules() == []  # done once, retired at once
    assert it.faults.applied["disconnect"] == 1
    assert [e.event for e in it.log.events] == ["added", "applied", "expired"]


def test_disconnect_on_the_nth_matching_frame(tmp_path: Path) -> None:
    async def scenario() -> Link:
        async with link(tmp_path) as it:
            it.faults.add(
                parse_spec(
                    {"kind": "disconnect", "action": "Heartbeat", "messageType": "CALL", "nth": 2}
                )
            )
            await it.send(heartbeat(1))
            await until(lambda: len(it.charger_received()) == 1, what="hb-1's answer")
            await it.send(heartbeat(2))
            await within(it.station.closed(), 10)
            return it

    it = run(scenario(), 30)
    assert [m[1] for m in it.csms_received()] == ["hb-1"]
    assert [(e.kind, e.message_id) for e in it.log.applied()] == [("disconnect", "hb-2")]


def test_outage_closes_connections_and_refuses_handshakes_for_its_time(tmp_path: Path) -> None:
    async def scenario() -> tuple[Link, list[int], float]:
        async with link(tmp_path) as it:
            it.faults.add(parse_spec({"kind": "outage", "for": "1.5s"}))
            await within(it.station.closed(), 10)
            began = time.monotonic()
            refused = []
            for _ in range(100):
                try:
                    async with charger(it.proxy.url(f"/ocpp/{STATION}")):
                        break
                except InvalidStatus as exc:
                    refused.append(exc.response.status_code)
                    await asyncio.sleep(0.2)
            return it, refused, time.monotonic() - began

    it, refused, took = run(scenario(), 30)
    assert refused and set(refused) == {503}
    assert 1.0 <= took <= 3.0
    applied = it.log.applied()
    assert applied[0].detail == "closed" and len(applied) == 1 + len(refused)


def test_slow_accept_holds_the_handshake(tmp_path: Path) -> None:
    async def scenario() -> float:
        async with link(tmp_path) as it:
            it.faults.add(parse_spec({"kind": "slow-accept", "delay": "600ms", "count": 1}))
            began = time.monotonic()
            async with charger(it.proxy.url("/ocpp/CS-SLOW")):
                return time.monotonic() - began

    assert run(scenario(), 30) >= 0.6


def test_the_store_records_each_fault_and_what_it_did_to_each_frame(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with link(tmp_path, store=True, database_url=database_url) as it:
            it.faults.add(parse_spec({"kind": "duplicate", "action": "Heartbeat", "count": 1}))
            it.faults.add(parse_spec({"kind": "reply-error", "action": "DataTransfer", "count": 1}))
            await it.send(heartbeat(1))  # duplicated
            await until(lambda: len(it.charger_received()) == 2, what="both answers")
            it.faults.add(
                parse_spec(
                    {"kind": "drop", "action": "Heartbeat", "messageType": "CALL", "count": 1}
                )
            )
            await it.send([2, "dt-1", "DataTransfer", {"vendorId": "ocppscope"}])
            await until(lambda: len(it.charger_received()) == 3, what="the proxy's CALLERROR")
            await it.send(heartbeat(2))  # dropped
            await until(lambda: len(it.csms_received()) == 2, what="nothing more")

    run(scenario(), 60)
    rows = run(
        fetch(
            database_url,
            "SELECT message_id, message_type, action, status, payload::text AS payload "
            "FROM ocpp_message_log ORDER BY seq",
        )
    )
    statuses = [(r["message_id"], r["message_type"], r["status"]) for r in rows]
    assert statuses == [
        ("hb-1", "CALL", "sent"),
        ("hb-1", "CALL", "duplicated"),
        ("hb-1", "CALLRESULT", "sent"),
        ("hb-1", "CALLRESULT", "sent"),  # the answer to the copy (not judged)
        ("dt-1", "CALL", "dropped"),  # answered by the proxy instead
        ("dt-1", "CALLERROR", "injected"),
        ("hb-2", "CALL", "dropped"),
    ]
    actions = {r["message_id"]: r["action"] for r in rows}
    assert actions == {"hb-1": "Heartbeat", "dt-1": "DataTransfer", "hb-2": "Heartbeat"}
    payloads = [r["payload"] for r in rows if r["message_id"] == "hb-2"]
    assert payloads == ["{}"]  # the payload object, as for judged frames
    events = run(
        fetch(
            database_url,
            "SELECT fault_id, kind, event, charger_id, action, message_id FROM fault_events "
            "WHERE event = 'applied' ORDER BY seq",
        )
    )
    assert [tuple(r.values()) for r in events] == [
        (1, "duplicate", "applied", STATION, "Heartbeat", "hb-1"),
        (2, "reply-error", "applied", STATION, "DataTransfer", "dt-1"),
        (3, "drop", "applied", STATION, "Heartbeat", "hb-2"),
    ]
