"""HB group: silence against the granted HeartbeatInterval, and heartbeats far too frequent."""

from __future__ import annotations

import pytest

from proxy.ocppj.findings import Severity
from tests.ocppj.wire import Wire, rule_ids, run

COMM = {"name": "OCPPCommCtrlr"}
HEARTBEAT_INTERVAL = {"name": "HeartbeatInterval"}


def set_heartbeat_interval(wire: Wire, seconds: int, status: str = "Accepted") -> Wire:
    """CSMS SetVariables(OCPPCommCtrlr.HeartbeatInterval) and the station's answer."""
    wire.call(
        "SetVariables",
        {
            "setVariableData": [
                {
                    "attributeValue": str(seconds),
                    "component": COMM,
                    "variable": HEARTBEAT_INTERVAL,
                }
            ]
        },
        sender="csms",
    )
    result = {"attributeStatus": status, "component": COMM, "variable": HEARTBEAT_INTERVAL}
    return wire.result({"setVariableResult": [result]}, sender="charger", after=0.4)


def meter_values(wire: Wire, energy_kwh: float) -> Wire:
    sample = {
        "value": energy_kwh,
        "context": "Sample.Clock",
        "measurand": "Energy.Active.Import.Register",
        "unitOfMeasure": {"unit": "kWh"},
    }
    payload = {"evseId": 1, "meterValue": [{"timestamp": wire.time(), "sampledValue": [sample]}]}
    return wire.call("MeterValues", payload).result({})


# ---- HB-001: silence longer than the interval --------------------------------------------------


def test_silence_longer_than_the_interval_after_accepted():
    wire = Wire().boot(interval=30).wait(40).heartbeat()
    assert rule_ids(run(wire.events)) == ["HB-001"]


def test_regular_heartbeats_are_no_silence():
    wire = Wire().boot(interval=30)
    for _ in range(10):
        wire.wait(30).heartbeat()
    assert run(wire.events) == []


@pytest.mark.parametrize(
    ("interval", "silence", "expected"),
    [
        (30, 34, []),  # 30 s + 5 s floor
        (30, 36, ["HB-001"]),
        (300, 325, []),  # 300 s + 10 %
        (300, 335, ["HB-001"]),
    ],
)
def test_tolerance_is_five_seconds_or_ten_percent(interval, silence, expected):
    wire = Wire().boot(interval=interval).wait(silence).heartbeat()
    assert rule_ids(run(wire.events)) == expected


def test_interval_from_accepted_set_variables_overrides_the_boot_interval():
    wire = Wire().boot(interval=300)
    set_heartbeat_interval(wire.wait(2), 60)
    wire.wait(90).heartbeat()
    assert rule_ids(run(wire.events)) == ["HB-001"]


def test_rejected_set_variables_leaves_the_boot_interval():
    wire = Wire().boot(interval=300)
    set_heartbeat_interval(wire.wait(2), 60, status="Rejected")
    wire.wait(90).heartbeat()
    assert run(wire.events) == []


def test_longer_interval_from_set_variables_allows_longer_silence():
    wire = Wire().boot(interval=30)
    set_heartbeat_interval(wire.wait(2), 600)
    wire.wait(300).heartbeat()
    assert run(wire.events) == []


def test_silence_before_the_connection_closed():
    wire = Wire().boot(interval=30).wait(50).close(1006)
    assert rule_ids(run(wire.events)) == ["HB-001"]


def test_connection_lost_within_the_interval():
    wire = Wire().boot(interval=30).wait(20).close(1006)
    assert run(wire.events) == []


def test_silence_while_pending_is_not_heartbeat_silence():
    wire = Wire().boot(status="Pending", interval=120)
    wire.wait(120).boot_again(status="Accepted", interval=30)
    wire.wait(30).heartbeat()
    assert run(wire.events) == []


def test_silence_before_any_boot_is_only_the_registration_warning():
    wire = Wire().open().wait(120).heartbeat()
    findings = run(wire.events)
    assert [(f.rule_id, f.severity) for f in findings] == [("BOOT-001", Severity.WARNING)]


def test_csms_traffic_counts_as_activity():
    wire = Wire().boot(interval=30)
    for request_id in range(4):
        wire.wait(25).call(
            "GetVariables",
            {"getVariableData": [{"component": COMM, "variable": HEARTBEAT_INTERVAL}]},
            sender="csms",
            message_id=f"5c8e0b6a-1f2d-4a3b-9e7c-00000000000{request_id}",
        )
        result = {
            "attributeStatus": "Accepted",
            "component": COMM,
            "variable": HEARTBEAT_INTERVAL,
            "attributeValue": "30",
        }
        wire.result({"getVariableResult": [result]}, sender="charger", after=0.3)
    assert run(wire.events) == []


def test_meter_values_count_as_activity():
    wire = Wire().boot(interval=60)
    for quarter in range(1, 5):
        meter_values(wire.wait(50), 18452.31 + quarter * 2.75)
    assert run(wire.events) == []


# ---- HB-002: heartbeats far more frequent than the interval ------------------------------------


def test_frequent_heartbeats_are_noted_once_per_connection():
    wire = Wire().boot(interval=300)
    for _ in range(3):
        wire.wait(60).heartbeat()
    wire.wait(5).close(1006).wait(12).open()
    for _ in range(3):
        wire.wait(60).heartbeat()
    findings = run(wire.events)
    assert [(f.rule_id, f.severity) for f in findings] == [
        ("HB-002", Severity.INFO),
        ("HB-002", Severity.INFO),
    ]
    assert findings[0].connection_id != findings[1].connection_id


def test_heartbeats_at_the_interval_are_not_frequent():
    wire = Wire().boot(interval=300)
    for _ in range(4):
        wire.wait(300).heartbeat()
    assert run(wire.events) == []


def test_triggered_heartbeat_does_not_count():
    wire = Wire().boot(interval=300).wait(290).heartbeat()
    wire.wait(20).call("TriggerMessage", {"requestedMessage": "Heartbeat"}, sender="csms")
    wire.result({"status": "Accepted"}, sender="charger", after=0.2)
    wire.wait(0.1).heartbeat()
    wire.wait(275).heartbeat()
    assert run(wire.events) == []


# ---- HB-003: the CSMS answers a Heartbeat with its time -----------------------------------------


def test_valid_heartbeat_answered_with_callerror():
    wire = Wire().boot(interval=300).wait(300)
    wire.call("Heartbeat", {}).error("InternalError", description="clock service down")
    findings = run(wire.events)
    assert [(f.rule_id, f.severity) for f in findings] == [("HB-003", Severity.WARNING)]
    assert "InternalError" in findings[0].message


def test_heartbeat_before_registration_refused_with_security_error_is_fine():
    """A station not yet Accepted gets SecurityError (BOOT-001 judges the station)."""
    wire = Wire().boot(status="Pending", interval=300).wait(10)
    wire.call("Heartbeat", {}).error("SecurityError")
    assert "HB-003" not in rule_ids(run(wire.events))


def test_heartbeat_answered_with_its_time_is_fine():
    wire = Wire().boot(interval=300).wait(300).heartbeat()
    assert run(wire.events) == []
