"""Reconnect and the offline queue, through the real proxy: the CSMS behind it goes away for 20 s
while a compliant station charges. The station's attempts come 1, 2, 4, 8 and 16 s apart (the
first four refused with 502 by the proxy, the fifth accepted), as the station itself recorded
them and as the proxy saw its handshakes arrive; then it boots again and delivers what it queued
in order, marked offline, with the times it happened. Real time (speed 1): about 40 s.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import http

from proxy.ocppj.actions import Direction
from proxy.ocppj.findings import Finding, Severity
from simulator.clock import Clock
from simulator.fleet import StationSpec
from simulator.station import SimulatedStation
from tests.csms.sim import csms_on
from tests.pg import fetch
from tests.proxy_harness import Recorder, run, running_proxy, until, within
from tests.support import free_port

STATION = "emart_jeju_01"  # 100 kW in the seed
POWER_KW = 100.0
METER_INTERVAL = 2.0
OUTAGE = 20.0
"""Seconds the CSMS is away: the attempts 1, 3, 7 and 15 s after the loss fail, the one at 31 s
(16 s after the fourth) gets through."""
WAITS = [1.0, 2.0, 4.0, 8.0, 16.0]
"""RetryBackOffWaitMinimum 1 s, RandomRange 0 s, RepeatTimes 4."""
TOLERANCE = 0.10


@dataclass
class Observed:
    transaction_id: str
    lost_at: float
    """When the station noticed the loss (its clock: epoch seconds that never jump)."""
    attempts: list[tuple[float, float]]
    """The station's own record: (moment, wait) of each reconnect attempt."""
    boots: int
    delivered: list[dict[str, Any]]
    recorder: Recorder

    @property
    def upgrades(self) -> list[http.HTTPFlow]:
        """The station's WebSocket handshakes at the proxy, in order."""
        return [f for f in self.recorder.upgrades if f.request.path.endswith(f"/{STATION}")]

    @property
    def reconnected_at(self) -> float:
        return self.attempts[len(WAITS) - 1][0]


def new_station() -> SimulatedStation:
    station = SimulatedStation(
        StationSpec(STATION, POWER_KW),
        Clock(speed=1.0),
        meter_interval=METER_INTERVAL,
        register_wh=1_000_000.0,
    )
    station.set_variable("RetryBackOffWaitMinimum", 1)
    station.set_variable("RetryBackOffRandomRange", 0)
    station.set_variable("RetryBackOffRepeatTimes", 4)
    return station


async def an_outage(database_url: str, port: int, confdir: Path) -> Observed:
    """Station → proxy → CSMS on `port`; a session; the CSMS away for OUTAGE s; the session
    ended after the replay. Everything started here is stopped here."""
    station = new_station()
    loop = asyncio.get_running_loop()
    async with running_proxy(confdir, f"ws://127.0.0.1:{port}", retry_backoff="1,0,4") as proxy:
        stop = asyncio.Event()
        task: asyncio.Task[None] | None = None
        try:
            async with csms_on(database_url, port):
                task = asyncio.create_task(station.run(proxy.url("/ocpp"), stop))
                await until(lambda: station.connected, what="the station to boot")
                transaction_id = await within(station.plug_in_and_charge("TAG-0001"))
                assert transaction_id is not None
                # The CSMS stops just after an Updated is answered: nothing is in flight.
                await until(
                    lambda: any(e["event_type"] == "Updated" for e in station.delivered),
                    what="an Updated delivered online",
                )
            down_at = loop.time()
            await until(lambda: station.lost_at is not None, what="the loss to be noticed")
            lost_at = station.lost_at
            await until(lambda: len(station.attempts) >= 4, OUTAGE, "four attempts")
            await asyncio.sleep(max(0.0, down_at + OUTAGE - loop.time()))
            assert len(station.attempts) == 4 and not station.connected
            async with csms_on(database_url, port):
                await until(
                    lambda: station.connected and not station.queued,
                    25,
                    "the fifth attempt, the boot and the replay",
                )
                await within(station.stop_charging("Local"))
                await until(
                    lambda: not station.queued and station.connected, what="Ended to be answered"
                )
                attempts = list(station.attempts)
                # The proxy stops first, while the CSMS is still there: it closes the station's
                # connection and ends the observation (the engine's end-of-capture reviews).
                await proxy.stop()
        finally:
            stop.set()
            if task is not None:
                await within(task, 20)
    assert lost_at is not None
    return Observed(
        transaction_id,
        lost_at,
        attempts,
        station.boots,
        list(station.delivered),
        proxy.recorder,
    )


def waits_at_the_station(observed: Observed) -> list[float]:
    """Seconds from the loss to the first attempt, then from each attempt to the next."""
    moments = [moment for moment, _ in observed.attempts[: len(WAITS)]]
    return [later - earlier for earlier, later in pairwise([observed.lost_at, *moments])]


def waits_at_the_proxy(observed: Observed) -> list[float]:
    """The same, from when the proxy received each handshake; the loss is when it ended the
    first connection."""
    first = observed.upgrades[0].websocket
    assert first is not None and first.timestamp_end is not None
    starts = [flow.request.timestamp_start for flow in observed.upgrades[1 : len(WAITS) + 1]]
    return [later - earlier for earlier, later in pairwise([first.timestamp_end, *starts])]


def forwarded_transaction_events(recorder: Recorder) -> list[dict[str, Any]]:
    """The TransactionEvent CALLs the proxy passed from the station to the CSMS, in order."""
    found = []
    for frame in recorder.frames:
        if frame.direction is not Direction.CHARGER_TO_CSMS or not isinstance(frame.data, str):
            continue
        message = json.loads(frame.data)
        if message[0] == 2 and message[2] == "TransactionEvent":
            found.append(message[3])
    return found


async def stored_events(
    database_url: str, transaction_id: str
) -> list[tuple[dict[str, Any], float]]:
    """(TransactionEventRequest, when the CSMS received it) by seqNo."""
    rows = await fetch(
        database_url,
        "SELECT request, received_at FROM charger_transaction_event "
        "WHERE transaction_id = $1 ORDER BY seq_no",
        transaction_id,
    )
    return [(json.loads(row["request"]), row["received_at"].timestamp()) for row in rows]


def moment(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def shown(findings: list[Finding]) -> str:
    return "\n".join(f"{f.rule_id} {f.severity} {f.action}: {f.message}" for f in findings)


def test_reconnect_backs_off_1_2_4_8_16_s_and_replays_the_offline_queue(
    database_url: str, tmp_path: Path
) -> None:
    observed = run(an_outage(database_url, free_port(), tmp_path), 90)

    # The back-off, as the station recorded it and as the proxy saw the handshakes come in.
    assert [wait for _, wait in observed.attempts] == WAITS, observed.attempts
    at_station, at_proxy = waits_at_the_station(observed), waits_at_the_proxy(observed)
    print(f"waits at the station {at_station}, at the proxy {at_proxy}")  # pytest -s shows them
    for measured in (at_station, at_proxy):
        for wait, expected in zip(measured, WAITS, strict=True):
            assert wait == pytest.approx(expected, rel=TOLERANCE), (measured, WAITS)
    upgrades = observed.upgrades
    # The first connection, four attempts refused, the fifth accepted.
    assert len(upgrades) == 1 + len(WAITS), [flow.request.timestamp_start for flow in upgrades]
    for refused in upgrades[1:-1]:  # the upstream was down: no WebSocket, a 502
        assert refused.websocket is None and refused.error is not None
    assert upgrades[-1].websocket is not None
    assert observed.boots == 2

    # The queue: every seqNo from Started to Ended, once, in order; offline ones marked so and
    # stamped with when they happened, not when they were sent.
    stored = run(stored_events(database_url, observed.transaction_id))
    events, received = [event for event, _ in stored], [at for _, at in stored]
    assert [e["seqNo"] for e in events] == list(range(len(events)))
    kinds = ["Started"] + ["Updated"] * (len(events) - 2) + ["Ended"]
    assert [e["eventType"] for e in events] == kinds
    assert received == sorted(received)
    assert forwarded_transaction_events(observed.recorder) == events  # each once, in order
    # ... with the timestamps the station gave them when they happened.
    assert [e["timestamp"] for e in observed.delivered] == [e["timestamp"] for e in events]
    started = moment(events[0]["timestamp"])
    offline = 0
    for event, arrived in zip(events[1:-1], received[1:-1], strict=True):
        happened = moment(event["timestamp"])
        on_grid = round((happened - started) / METER_INTERVAL) * METER_INTERVAL
        assert happened - started == pytest.approx(on_grid, abs=0.002), event
        if observed.lost_at < happened < observed.reconnected_at:
            assert event.get("offline") is True, event
            assert arrived > observed.reconnected_at
            offline += 1
        elif happened < observed.lost_at:
            assert "offline" not in event, event
    assert offline >= (sum(WAITS) - METER_INTERVAL) // METER_INTERVAL

    # The session's energy: 100 kW over its duration.
    check_energy(database_url, observed.transaction_id, events)

    # The conformance engine: nothing wrong with this station's back-off or transactions.
    findings = observed.recorder.findings
    wrong = [
        f
        for f in findings
        if f.rule_id.startswith(("BACKOFF-", "TX-"))
        and f.severity in (Severity.WARNING, Severity.ERROR)
    ]
    assert not wrong, shown(findings)


def check_energy(database_url: str, transaction_id: str, events: list[dict[str, Any]]) -> None:
    usage = run(
        fetch(
            database_url,
            "SELECT energy_consumed, start_time, end_time, stopped_reason FROM charger_usage_log "
            "WHERE transaction_id = $1",
            transaction_id,
        )
    )
    assert len(usage) == 1
    seconds = (usage[0]["end_time"] - usage[0]["start_time"]).total_seconds()
    assert seconds == pytest.approx(
        moment(events[-1]["timestamp"]) - moment(events[0]["timestamp"]), abs=0.001
    )
    assert seconds > OUTAGE
    assert float(usage[0]["energy_consumed"]) == pytest.approx(POWER_KW * seconds / 3600, rel=0.01)
    assert usage[0]["stopped_reason"] == "Local"
