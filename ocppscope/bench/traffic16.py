"""An OCPP 1.6 station's day for `ocppscope bench engine`: the 2.0.1 day's shape in 1.6 messages.

Boot, two StatusNotifications, a Heartbeat every 30 s, a GetConfiguration poll every 5 minutes,
and 30-minute sessions started remotely (RemoteStartTransaction, StartTransaction, MeterValues
every 5 s with energy and power, StopTransaction), so both versions' rates compare like for like.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
from proxy.ocppj.versions import OCPP16

ID_TAG = "04A1B2C3D4E5F6"
ACCEPTED = {"idTagInfo": {"status": "Accepted"}}


def station_traffic16(index: int, minutes: int) -> Iterator[Timed]:
    station = f"BENCH16-{index:05d}"
    talk = Talk(index, station)
    call = talk.call
    end = START + minutes * 60
    now = START + (index * 0.37) % HEARTBEAT
    yield talk.opened(now, OCPP16)
    yield from call(
        now,
        UP,
        "BootNotification",
        {
            "chargePointVendor": "EMART",
            "chargePointModel": "Simulator",
            "chargePointSerialNumber": f"SN-{index:05d}",
            "firmwareVersion": "2.4.1",
        },
        {"currentTime": format_datetime(now), "interval": int(HEARTBEAT), "status": "Accepted"},
    )
    for connector in (1, 2):
        now += 0.2
        yield from _status(call, now, connector, "Available")
    next_beat, next_poll, number = now + HEARTBEAT, now + POLL_PERIOD, 0
    next_session = now + 60 + (index % 7) * 20
    while next_beat < end:
        if next_session < next_beat:
            number += 1
            yield from _session(call, index * 10_000 + number, next_session)
            next_beat = max(next_beat, next_session + SESSION_LENGTH + HEARTBEAT)
            next_session += SESSION_LENGTH + 600
        elif next_poll < next_beat:
            yield from call(
                next_poll,
                DOWN,
                "GetConfiguration",
                {"key": ["HeartbeatInterval"]},
                {
                    "configurationKey": [
                        {"key": "HeartbeatInterval", "readonly": False, "value": "30"}
                    ]
                },
            )
            next_poll += POLL_PERIOD
        else:
            reply = {"currentTime": format_datetime(next_beat)}
            yield from call(next_beat, UP, "Heartbeat", {}, reply)
            next_beat += HEARTBEAT


Call = Callable[..., Iterator[Timed]]


def _status(call: Call, at: float, connector: int, status: str) -> Iterator[Timed]:
    request = {
        "connectorId": connector,
        "errorCode": "NoError",
        "status": status,
        "timestamp": format_datetime(at),
    }
    yield from call(at, UP, "StatusNotification", request, {})


def _session(call: Call, transaction_id: int, start: float) -> Iterator[Timed]:
    energy_wh, power_w = 12_000_000.0, 50_000.0
    request = {"connectorId": 1, "idTag": ID_TAG}
    yield from call(start, DOWN, "RemoteStartTransaction", request, {"status": "Accepted"})
    at = start + 1.5
    yield from call(
        at,
        UP,
        "StartTransaction",
        {**request, "meterStart": int(energy_wh), "timestamp": format_datetime(at)},
        {**ACCEPTED, "transactionId": transaction_id},
    )
    yield from _status(call, at + 0.2, 1, "Charging")
    while at + METER_PERIOD < start + SESSION_LENGTH:
        at += METER_PERIOD
        energy_wh += power_w * METER_PERIOD / 3600
        yield from call(at, UP, "MeterValues", _meter(at, transaction_id, energy_wh, power_w), {})
    at += METER_PERIOD
    yield from call(
        at,
        UP,
        "StopTransaction",
        {
            "transactionId": transaction_id,
            "idTag": ID_TAG,
            "meterStop": int(energy_wh),
            "timestamp": format_datetime(at),
            "reason": "EVDisconnected",
        },
        ACCEPTED,
    )
    yield from _status(call, at + 0.2, 1, "Available")


def _meter(at: float, transaction_id: int, energy_wh: float, power_w: float) -> dict[str, Any]:
    sampled = [
        {
            "value": f"{energy_wh:.1f}",
            "context": "Sample.Periodic",
            "measurand": "Energy.Active.Import.Register",
            "unit": "Wh",
        },
        {
            "value": f"{power_w:.0f}",
            "context": "Sample.Periodic",
            "measurand": "Power.Active.Import",
            "unit": "W",
        },
    ]
    return {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [{"timestamp": format_datetime(at), "sampledValue": sampled}],
    }
