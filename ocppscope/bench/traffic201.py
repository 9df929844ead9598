"""An OCPP 2.0.1 station's day for `ocppscope bench engine`: boot, status, heartbeats, metered
sessions, CSMS polls and remote starts (traffic16.py has the same day in 1.6 messages)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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
from proxy.ocppj.timefmt import format_datetime
from proxy.ocppj.versions import OCPP201


def station_traffic201(index: int, minutes: int) -> Iterator[Timed]:
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
