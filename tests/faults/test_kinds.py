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
        return [f.fault for f in self.proxy.recorder.frames]


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
                {"kind": "drop", "action": "Heartbeat", "messageType": "CALLRESULT", "count": 1}
            )
            for number in (1, 2, 3):
                await it.send(heartbeat(number))
                await until(lambda: len(it.csms_side.connection.sent) == number, what="answer")
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
