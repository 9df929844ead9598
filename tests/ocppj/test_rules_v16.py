"""The OCPP 1.6J rule groups (`proxy.ocppj.checks.v16_*`), each rule firing and not firing."""

from __future__ import annotations

import json
from importlib.resources import files

import jsonschema
import pytest

from proxy.ocppj.events import Frame
from proxy.ocppj.findings import Severity
from tests.ocppj.wire import rule_severities
from tests.ocppj.wire16 import Wire16, run16

E, W = Severity.ERROR, Severity.WARNING


def accepted() -> Wire16:
    return Wire16().open16().boot16().status(0).status(1)


def test_a_complete_clean_session_has_no_findings() -> None:
    wire = accepted().wait(40).authorize().status(1, "Preparing").start(1042)
    wire.status(1, "Charging")
    for wh in (20_400, 20_900, 21_400):
        wire.wait(60).meter_values(1042, wh)
    wire.wait(40).stop(1042, 21_700, reason="Local").status(1, "Finishing")
    wire.status(1, "Available").wait(250).heartbeat().wait(290).heartbeat()
    assert run16(wire) == []


def test_the_clean_session_follows_the_v16_schemas() -> None:
    """The payloads the other tests build are the ones the `ocpp` library's v16 schemas allow."""
    wire = accepted().authorize().start(1042).meter_values(1042, 20_400)
    wire.stop(1042, 21_700).heartbeat()
    schemas = files("ocpp") / "v16" / "schemas"
    actions: dict[str, str] = {}
    checked = 0
    for event in wire.events:
        if not isinstance(event, Frame):
            continue
        frame = json.loads(str(event.data))
        if frame[0] == 2:
            actions[frame[1]] = frame[2]
            name = frame[2]
        else:
            name = f"{actions[frame[1]]}Response"
        schema = json.loads((schemas / f"{name}.json").read_text())
        jsonschema.validate(frame[-1], schema)
        checked += 1
    assert checked == 2 * 8


# ---- BOOT16 ---------------------------------------------------------------------------------


def test_boot16_001_status_while_pending() -> None:
    wire = Wire16().open16().boot16("Pending", interval=60).wait(2).status(1)
    assert rule_severities(run16(wire)) == [("BOOT16-001", E)]


def test_boot16_001_triggered_status_while_pending_is_fine() -> None:
    wire = Wire16().open16().boot16("Pending", interval=60).wait(2)
    wire.call("TriggerMessage", {"requestedMessage": "StatusNotification"}, sender="csms")
    wire.result({"status": "Accepted"}, sender="charger").wait(0.2).status(1)
    assert run16(wire) == []


def test_boot16_001_before_the_answer_and_without_any_boot() -> None:
    wire = Wire16().open16()
    wire.call("BootNotification", {"chargePointVendor": "ABB", "chargePointModel": "Terra AC"})
    wire.call(
        "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    )
    # RPC-007 as well: the StatusNotification is a second CALL in flight
    assert rule_severities(run16(wire)) == [("RPC-007", E), ("BOOT16-001", E)]
    unbooted = Wire16().open16().heartbeat().heartbeat()
    assert rule_severities(run16(unbooted)) == [("BOOT16-001", W)]


def test_boot16_002_boot_retry_before_the_interval() -> None:
    wire = Wire16().open16().boot16("Rejected", interval=120).wait(30).boot16()
    assert [f.rule_id for f in run16(wire)] == ["BOOT16-002"]
    patient = Wire16().open16().boot16("Rejected", interval=120).wait(120).boot16()
    assert run16(patient) == []


def test_boot16_002_heartbeat_while_rejected() -> None:
    wire = Wire16().open16().boot16("Rejected", interval=120).wait(10).heartbeat()
    assert [f.rule_id for f in run16(wire)] == ["BOOT16-002"]


def test_boot16_003_remote_start_while_pending() -> None:
    wire = Wire16().open16().boot16("Pending", interval=60).wait(1)
    wire.call("RemoteStartTransaction", {"idTag": "04A2F35A6E5D80"}, sender="csms")
    wire.result({"status": "Rejected"}, sender="charger")
    assert [f.rule_id for f in run16(wire)] == ["BOOT16-003"]
    later = accepted().call("RemoteStartTransaction", {"idTag": "04A2F35A6E5D80"}, sender="csms")
    later.result({"status": "Accepted"}, sender="charger")
    assert run16(later) == []


# ---- HB16 -----------------------------------------------------------------------------------


def test_hb16_001_silence_beyond_the_boot_interval_is_info() -> None:
    """OCPP 1.6 §4.6: "With JSON over WebSocket, sending heartbeats is not mandatory"; a charge
    point may keep its connection alive with WebSocket pings, which the proxy does not see."""
    wire = Wire16().open16().boot16(interval=60).wait(200).heartbeat()
    findings = run16(wire)
    assert rule_severities(findings) == [("HB16-001", Severity.INFO)]
    assert findings[0].details["interval"] == 60
    assert findings[0].reference == (
        "OCPP-J 1.6 §5.3; OCPP 1.6 edition 2 §4.6 Heartbeat; §9.1.10 HeartbeatInterval"
    )


def test_hb16_001_a_day_without_any_message_is_a_warning() -> None:
    """OCPP 1.6 §4.6: "for time synchronization it is advised to at least send one heartbeat per
    24 hour"; this charge point relies on pings and was silent for 25 hours."""
    wire = Wire16().open16().boot16(interval=3600).wait(25 * 3600).heartbeat()
    findings = run16(wire)
    assert rule_severities(findings) == [("HB16-001", Severity.WARNING)]
    assert "a daily Heartbeat is advised" in findings[0].message


def test_hb16_001_daily_heartbeats_or_a_longer_granted_interval_are_no_warning() -> None:
    daily = Wire16().open16().boot16(interval=86_400)
    for _ in range(3):
        daily.wait(86_400).heartbeat()
    assert run16(daily) == []
    granted = Wire16().open16().boot16(interval=172_800).wait(36 * 3600).heartbeat()
    assert run16(granted) == []


def test_hb16_001_follows_an_accepted_change_configuration() -> None:
    wire = Wire16().open16().boot16(interval=60).wait(30)
    wire.call("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "900"}, sender="csms")
    wire.result({"status": "Accepted"}, sender="charger").wait(850).heartbeat()
    assert run16(wire) == []
    refused = Wire16().open16().boot16(interval=60).wait(30)
    refused.call("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "900"}, sender="csms")
    refused.result({"status": "Rejected"}, sender="charger").wait(850).heartbeat()
    assert [f.rule_id for f in run16(refused)] == ["HB16-001"]


# ---- STAT16 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("connector", "status", "code", "expected"),
    [
        (1, "Faulted", "NoError", ["STAT16-001"]),
        (1, "Faulted", "GroundFailure", []),
        (0, "Charging", "NoError", ["STAT16-002"]),
        (0, "Unavailable", "NoError", []),
        (2, "Charging", "OverCurrentFailure", ["STAT16-003"]),
        (2, "SuspendedEVSE", "EVCommunicationError", []),
        (1, "Charging", "HighTemperature", []),
    ],
)
def test_stat16_error_code_and_status_pairs(
    connector: int, status: str, code: str, expected: list[str]
) -> None:
    wire = accepted().status(connector, status, code)
    assert [f.rule_id for f in run16(wire)] == expected


# ---- TX16 -----------------------------------------------------------------------------------


def test_tx16_001_meter_values_after_the_stop_and_of_an_unknown_transaction() -> None:
    wire = accepted().start(17).meter_values(17, 20_100).stop(17, 20_300)
    wire.meter_values(17, 20_300).meter_values(99, 5_000).meter_values(99, 5_100)
    assert rule_severities(run16(wire)) == [("TX16-001", E), ("TX16-001", W)]
    idle = accepted().meter_values(None, 20_300)
    assert run16(idle) == []


def test_tx16_002_second_stop_after_a_confirmed_one() -> None:
    wire = accepted().start(17).stop(17, 20_300).wait(5).stop(17, 20_300)
    assert rule_severities(run16(wire)) == [("TX16-002", E)]


def test_tx16_002_retry_of_an_unanswered_stop_is_fine() -> None:
    wire = accepted().start(17)
    wire.call(
        "StopTransaction", {"transactionId": 17, "meterStop": 20_300, "timestamp": wire.time()}
    )
    wire.error("InternalError", description="database unavailable").wait(30)
    wire.call(
        "StopTransaction", {"transactionId": 17, "meterStop": 20_300, "timestamp": wire.time()}
    )
    wire.result({})
    assert run16(wire) == []


def test_tx16_002_stop_of_a_transaction_never_seen() -> None:
    wire = accepted().stop(4711, 20_300)
    assert rule_severities(run16(wire)) == [("TX16-002", W)]


def test_tx16_003_meter_stop_below_meter_start() -> None:
    wire = accepted().start(17, meter_start=20_000).stop(17, 19_990)
    findings = run16(wire)
    assert [f.rule_id for f in findings] == ["TX16-003"]
    assert findings[0].details == {"meter_start": 20_000, "meter_stop": 19_990}
    assert run16(accepted().start(17, meter_start=20_000).stop(17, 20_000)) == []


def test_tx16_004_csms_reuses_an_open_transaction_id() -> None:
    wire = accepted().status(2).start(17, connector=1).start(17, connector=2)
    assert [f.rule_id for f in run16(wire)] == ["TX16-004"]
    fine = accepted().status(2).start(17, connector=1).start(18, connector=2)
    assert run16(fine) == []


def test_tx16_005_deauthorised_transaction_stopped_for_another_reason() -> None:
    wire = accepted().start(17, status="Invalid").wait(1).stop(17, 20_001, reason="Local")
    assert [f.rule_id for f in run16(wire)] == ["TX16-005"]
    right = accepted().start(17, status="Invalid").wait(1).stop(17, 20_001, reason="DeAuthorized")
    assert run16(right) == []


def test_tx16_005_not_when_stop_on_invalid_id_is_off() -> None:
    wire = accepted().call("GetConfiguration", {"key": ["StopTransactionOnInvalidId"]}, "csms")
    wire.result(
        {
            "configurationKey": [
                {"key": "StopTransactionOnInvalidId", "readonly": False, "value": "false"}
            ]
        },
        sender="charger",
    )
    wire.start(17, status="Blocked").wait(200).stop(17, 20_001, reason="EVDisconnected")
    assert run16(wire) == []


def test_tx16_006_second_start_on_a_connector_without_a_stop() -> None:
    wire = accepted().start(17).wait(60).start(18).wait(60).stop(18, 20_900).start(19)
    assert [f.rule_id for f in run16(wire)] == ["TX16-006"]
    assert run16(accepted().start(17).stop(17, 20_500).start(18)) == []


# ---- CALLERROR codes on a 1.6 link: the shared RPC-012, judged by the 1.6 list ----------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("FormationViolation", []),
        ("OccurenceConstraintViolation", []),
        ("NotImplemented", []),
        ("FormatViolation", [("RPC-012", Severity.WARNING)]),
        ("OccurrenceConstraintViolation", [("RPC-012", Severity.WARNING)]),
        ("RpcFrameworkError", [("RPC-012", Severity.ERROR)]),
        ("MessageTypeNotSupported", [("RPC-012", Severity.ERROR)]),
        ("Rejected", [("RPC-012", Severity.ERROR)]),
    ],
)
def test_callerror_codes_of_a_16_link(code: str, expected: list[tuple[str, Severity]]) -> None:
    wire = accepted().call("DataTransfer", {"vendorId": "com.abb", "messageId": "x"})
    wire.error(code, description="cannot process")
    assert [(f.rule_id, f.severity) for f in run16(wire)] == expected


def test_a_20_spelling_on_a_16_link_names_the_16_one() -> None:
    wire = accepted().call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}, "csms")
    wire.error("OccurrenceConstraintViolation", sender="charger")
    (finding,) = run16(wire)
    assert finding.details["expected_code"] == "OccurenceConstraintViolation"


# ---- QUEUE16 --------------------------------------------------------------------------------


def rebooted_with_a_queue() -> Wire16:
    """A transaction ran while the charge point was offline; it rebooted and reconnects."""
    wire = accepted().wait(5).close(1006).wait(900)
    return wire.open16()


def test_queue16_001_queued_stop_before_the_boot_is_accepted() -> None:
    wire = accepted().start(17).wait(5).close(1006).wait(900).open16()
    wire.call("BootNotification", {"chargePointVendor": "ABB", "chargePointModel": "Terra AC"})
    wire.call(
        "StopTransaction", {"transactionId": 17, "meterStop": 21_000, "timestamp": wire.time(-600)}
    )
    assert [f.rule_id for f in run16(wire)] == ["RPC-007", "QUEUE16-001"]  # a 2nd CALL in flight


def test_queue16_001_queue_delivered_after_accepted_is_fine() -> None:
    wire = accepted().start(17).wait(5).close(1006).wait(900).open16().boot16()
    wire.meter_values(17, 20_700, at=-700).stop(17, 21_000, at=-600)
    assert run16(wire) == []


def test_queue16_001_queue_after_a_mere_reconnect_needs_no_boot() -> None:
    wire = accepted().start(17).wait(5).close(1006).wait(120).open16()
    wire.meter_values(17, 20_700, at=-60).stop(17, 21_000, at=-30).heartbeat()
    assert run16(wire) == []


def test_queue16_002_transaction_begun_offline_stopped_with_a_made_up_id() -> None:
    wire = rebooted_with_a_queue().boot16()
    wire.start(5001, meter_start=20_000, at=-800).meter_values(5001, 20_600, at=-700)
    wire.stop(0, 21_000, at=-600)
    findings = run16(wire)
    assert [f.rule_id for f in findings] == ["QUEUE16-002"]
    assert findings[0].details["given"] == "5001"


def test_queue16_002_once_per_made_up_id_and_the_connector_moves_on() -> None:
    wire = rebooted_with_a_queue().boot16()
    wire.start(5001, meter_start=20_000, at=-800).meter_values(0, 20_600, at=-700)
    wire.stop(0, 21_000, at=-600).wait(60).start(5002)
    assert [f.rule_id for f in run16(wire)] == ["QUEUE16-002"]


def test_queue16_002_stop_with_the_id_the_csms_gave_is_fine() -> None:
    wire = rebooted_with_a_queue().boot16()
    wire.start(5001, meter_start=20_000, at=-800).meter_values(5001, 20_600, at=-700)
    wire.stop(5001, 21_000, at=-600)
    assert run16(wire) == []


def test_queue16_003_transaction_left_open_by_the_outage() -> None:
    wire = accepted().start(17).wait(5).close(1006).wait(900).open16().boot16().start(18)
    assert [f.rule_id for f in run16(wire)] == ["QUEUE16-003"]
    delivered = accepted().start(17).wait(5).close(1006).wait(900).open16().boot16()
    delivered.stop(17, 21_000, at=-600).start(18)
    assert run16(delivered) == []
