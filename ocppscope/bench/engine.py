"""`ocppscope bench engine`: frames/s of the conformance engine against the ocpp library's validation.

Both run in the same process on the same frames, so the ratio holds on a noisy machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.table import Table

from ocppscope.bench.engine_traffic import (
    DOWN,
    HEARTBEAT,
    METER_PERIOD,
    POLL_PERIOD,
    SESSION_LENGTH,
    START,
    UP,
    Talk,
    Timed,
)
from ocppscope.bench.traffic16 import station_traffic16
from proxy.ocppj.events import Event, Frame
from proxy.ocppj.schemas import compile_all
from proxy.ocppj.session import Monitor
from proxy.ocppj.timefmt import format_datetime
from proxy.ocppj.versions import OCPP16, OCPP201, VERSIONS

BASELINE_FRAMES = 3000


def _station_traffic(index: int, minutes: int) -> Iterator[Timed]:
    """One station's day: boot, status, heartbeats, metered sessions, CSMS polls and remote starts."""
    station = f"BENCH-{index:05d}"
    talk = Talk(index, station)
    call = talk.call
    offset = (index * 0.37) % HEARTBEAT
    end = START + minutes * 60
    kwh_unit = index % 3 == 0  # some vendors report the register in kWh

    now = START + offset
    yield talk.opened(now, OCPP201)
    yield from call(
        now,
        UP,
        "BootNotification",
        {
            "reason": "PowerUp",
            "chargingStation": {
                "vendorName": "EMART",
                "model": "Simulator",
                "serialNumber": f"SN-{station}-001",
                "firmwareVersion": "2.4.1",
            },
        },
        {"currentTime": format_datetime(now), "interval": int(HEARTBEAT), "status": "Accepted"},
    )
    for connector in (1, 2):
        now += 0.2
        yield from call(
            now,
            UP,
            "StatusNotification",
            {
                "timestamp": format_datetime(now),
                "connectorStatus": "Available",
                "evseId": connector,
                "connectorId": 1,
            },
            {},
        )
    now += 0.2
    yield from call(
        now,
        UP,
        "SecurityEventNotification",
        {"type": "StartupOfTheDevice", "timestamp": format_datetime(now)},
        {},
    )
    next_beat, next_poll, tx_number = now + HEARTBEAT, now + POLL_PERIOD, 0
    next_session = now + 60 + (index % 7) * 20
    while next_beat < end:
        if next_session < next_beat:
            tx_number += 1
            yield from _session(call, station, tx_number, next_session, kwh_unit)
            next_beat = max(next_beat, next_session + SESSION_LENGTH + HEARTBEAT)
            next_session += SESSION_LENGTH + 600
            continue
        if next_poll < next_beat:
            yield from call(
                next_poll,
                DOWN,
                "GetVariables",
                {
                    "getVariableData": [
                        {
                            "component": {"name": "OCPPCommCtrlr"},
                            "variable": {"name": "HeartbeatInterval"},
                        }
                    ]
                },
                {
                    "getVariableResult": [
                        {
                            "attributeStatus": "Accepted",
                            "attributeValue": str(int(HEARTBEAT)),
                            "component": {"name": "OCPPCommCtrlr"},
                            "variable": {"name": "HeartbeatInterval"},
                        }
                    ]
                },
            )
            next_poll += POLL_PERIOD
            continue
        yield from call(next_beat, UP, "Heartbeat", {}, {"currentTime": format_datetime(next_beat)})
        next_beat += HEARTBEAT


def _session(call: Any, station: str, number: int, start: float, kwh_unit: bool) -> Iterator[Timed]:
    transaction_id = f"{station}-TX{number:04d}"
    power_w, energy_wh, seq = 50_000.0, 12_000_000.0 + number * 40_000, 0
    yield from call(
        start,
        DOWN,
        "RequestStartTransaction",
        {
            "idToken": {"idToken": "04A1B2C3D4E5F6", "type": "ISO14443"},
            "remoteStartId": number,
            "evseId": 1,
        },
        {"status": "Accepted"},
    )

    def event(at: float, event_type: str, trigger: str, **info: Any) -> dict[str, Any]:
        value = round(energy_wh / 1000, 3) if kwh_unit else round(energy_wh, 1)
        return {
            "eventType": event_type,
            "timestamp": format_datetime(at),
            "triggerReason": trigger,
            "seqNo": seq,
            "evse": {"id": 1, "connectorId": 1},
            "transactionInfo": {"transactionId": transaction_id, **info},
            "meterValue": [
                {
                    "timestamp": format_datetime(at),
                    "sampledValue": [
                        {
                            "value": value,
                            "measurand": "Energy.Active.Import.Register",
                            "unitOfMeasure": {"unit": "kWh" if kwh_unit else "Wh"},
                        },
                        {
                            "value": power_w,
                            "measurand": "Power.Active.Import",
                            "unitOfMeasure": {"unit": "W"},
                        },
                    ],
                }
            ],
        }

    at = start + 1.5
    yield from call(
        at,
        UP,
        "TransactionEvent",
        event(at, "Started", "RemoteStart", chargingState="Charging", remoteStartId=number),
        {},
    )
    while at + METER_PERIOD < start + SESSION_LENGTH:
        at += METER_PERIOD
        seq += 1
        energy_wh += power_w * METER_PERIOD / 3600
        yield from call(
            at,
            UP,
            "TransactionEvent",
            event(at, "Updated", "MeterValuePeriodic", chargingState="Charging"),
            {},
        )
    at += METER_PERIOD
    seq += 1
    yield from call(
        at,
        UP,
        "TransactionEvent",
        event(at, "Ended", "EVDeparted", chargingState="Idle", stoppedReason="EVDisconnected"),
        {},
    )


DAYS: dict[str, Callable[[int, int], Iterator[Timed]]] = {
    OCPP201: _station_traffic,
    OCPP16: station_traffic16,
}
"""The station day of each version the benchmark feeds."""


def synthetic_traffic(stations: int, minutes: int, version: str = OCPP201) -> list[Event]:
    """A fleet's frames interleaved in time order, as the proxy would see them."""
    timeline = [
        (at, index, order, event)
        for index in range(stations)
        for at, order, event in DAYS[version](index, minutes)
    ]
    timeline.sort(key=lambda item: item[:3])
    return [item[3] for item in timeline]


def _engine_rate(events: list[Event]) -> tuple[float, int, int]:
    monitor = Monitor()
    frames = findings = 0
    started = time.process_time()
    for event in events:
        findings += len(monitor.feed(event).findings)
        frames += isinstance(event, Frame)
    findings += len(monitor.finish(events[-1].timestamp))
    return frames / (time.process_time() - started), frames, findings


def _ocpp_library_rate(frames: list[Frame]) -> float:
    """The ocpp package's own path: unpack the frame, then validate its payload by schema."""
    from ocpp.messages import Call, CallResult, _validate_payload, unpack  # noqa: PLC0415

    actions: dict[str, str] = {}
    started = time.process_time()
    for frame in frames:
        message = unpack(frame.data)
        if isinstance(message, Call):
            actions[message.unique_id] = message.action
            _validate_payload(message, "2.0.1")
        elif isinstance(message, CallResult):
            message.action = actions.pop(message.unique_id)
            _validate_payload(message, "2.0.1")
    return len(frames) / (time.process_time() - started)


def run_engine_benchmark(stations: int, minutes: int, console: Console) -> None:
    """Both fleets, 2.0.1 first; the library baseline runs on the 2.0.1 frames."""
    fleets = {version: synthetic_traffic(stations, minutes, version) for version in DAYS}
    frames = [event for event in fleets[OCPP201] if isinstance(event, Frame)]
    for version in DAYS:
        compile_all(VERSIONS[version])
    _ocpp_library_rate(frames[:50])  # warm both sides' schema caches
    rates = {version: _engine_rate(events) for version, events in fleets.items()}
    library_rate = _ocpp_library_rate(frames[:BASELINE_FRAMES])
    counts = " and ".join(f"{count:,} {version}" for version, (_, count, _) in rates.items())
    table = Table(
        title=f"Conformance engine, {stations} stations x {minutes} min per version "
        f"({counts} frames), CPU time on one core",
        title_justify="left",
    )
    for column in ("what", "frames/s", "µs/frame", "vs ocpp library"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for version, (rate, _, _) in rates.items():
        table.add_row(
            f"ocppscope engine, {version}, all rules",
            f"{rate:,.0f}",
            f"{1e6 / rate:.1f}",
            f"{rate / library_rate:.0f}x",
        )
    table.add_row(
        f"ocpp library unpack + validate ({min(BASELINE_FRAMES, len(frames)):,} frames)",
        f"{library_rate:,.0f}",
        f"{1e6 / library_rate:.1f}",
        "1x",
    )
    console.print(table)
    ratio = rates[OCPP16][0] / rates[OCPP201][0]
    console.print(f"ocpp1.6 / ocpp2.0.1 engine throughput: {ratio:.2f}")
    for version, (_, _, findings) in rates.items():
        console.print(f"findings on this compliant {version} traffic: {findings}")
