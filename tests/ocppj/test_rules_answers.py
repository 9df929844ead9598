"""How the receiver answers: RPC-010, RPC-016, RPC-020 (AnswersGroup), RPC-014/015 (the RPC
layer), who RPC-008 blames, and the action of the CALL on findings about its response."""

from __future__ import annotations

import json
from typing import Any

import pytest

from proxy.ocppj.actions import Direction
from proxy.ocppj.findings import Severity
from tests.ocppj.wire import Wire, Wire21, rule_ids, rule_severities, run

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO  # N for notice: info
MSG_ID = "0f4b6f0e-8a53-4c3e-9d5f-0f6a0c2d9b11"
TRUNCATED_CALL = f'[2,"{MSG_ID}","StatusNotification",{{"timestamp":"2026-02-01T08:00:05.000Z",'


def booted() -> Wire:
    return Wire().boot(interval=300).wait(5)


def status(wire: Wire, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "timestamp": wire.time(),
        "connectorStatus": "Occupied",
        "evseId": 1,
        "connectorId": 1,
    }
    payload.update(changes)
    return {key: value for key, value in payload.items() if value is not None}


# ---- RPC-010: a CALL that breaks its schema is not accepted ------------------------------------


def test_csms_accepting_a_status_notification_without_status_is_rpc_010():
    wire = booted()
    wire.call("StatusNotification", status(wire, connectorStatus=None)).result({})

    findings = run(wire.events)

    assert rule_severities(findings) == [("SCH-001", E), ("RPC-010", W)]
    accepted = findings[1]
    assert accepted.action == "StatusNotification"
    assert accepted.direction is Direction.CSMS_TO_CHARGER
    assert accepted.details["expected_code"] == "OccurrenceConstraintViolation"
    assert accepted.details["violated"] == "Required"


def test_station_accepting_a_reset_of_an_unknown_type_is_rpc_010():
    wire = booted()
    wire.call("Reset", {"type": "Hard"}, sender="csms")
    wire.result({"status": "Accepted"}, sender="charger")

    findings = run(wire.events)

    assert rule_severities(findings) == [("SCH-001", E), ("RPC-010", W)]
    assert findings[1].direction is Direction.CHARGER_TO_CSMS
    assert findings[1].details["expected_code"] == "PropertyConstraintViolation"


def test_valid_call_accepted_and_invalid_call_refused_are_not_rpc_010():
    wire = booted()
    wire.call("StatusNotification", status(wire)).result({})
    wire.call("StatusNotification", status(wire, connectorStatus=None))
    wire.error("OccurrenceConstraintViolation", description="connectorStatus is required")

    assert rule_severities(run(wire.events)) == [("SCH-001", E)]


# ---- RPC-016: the CALLERROR code names the violation ------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code", "expected"),
    [
        ({"connectorStatus": None}, "GenericError", "OccurrenceConstraintViolation"),
        ({"connectorStatus": None}, "ProtocolError", "OccurrenceConstraintViolation"),
        ({"evseId": "1"}, "InternalError", "TypeConstraintViolation"),
        ({"evseId": "1"}, "PropertyConstraintViolation", "TypeConstraintViolation"),
        ({"connectorStatus": "Charging"}, "FormatViolation", "PropertyConstraintViolation"),
        (
            {"connectorStatus": "Charging"},
            "OccurrenceConstraintViolation",
            "PropertyConstraintViolation",
        ),
    ],
    ids=[
        "required-generic",
        "required-protocol",
        "type-internal",
        "type-property",
        "enum-format",
        "enum-occurrence",
    ],
)
def test_callerror_code_not_naming_the_violation_is_rpc_016(changes, code, expected):
    wire = booted()
    wire.call("StatusNotification", status(wire, **changes)).error(code, description="rejected")

    findings = run(wire.events)

    assert rule_severities(findings) == [("SCH-001", E), ("RPC-016", W)]
    assert findings[1].action == "StatusNotification"
    assert findings[1].details["expected_code"] == expected
    assert findings[1].details["got_code"] == code
    assert expected in findings[1].message


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"connectorStatus": None}, "OccurrenceConstraintViolation"),
        ({"evseId": "1"}, "TypeConstraintViolation"),
        ({"connectorStatus": "Charging"}, "PropertyConstraintViolation"),
        ({"connectorStatus": "Charging"}, "TypeConstraintViolation"),  # an EnumType is a type
        ({"timestamp": "01/02/2026 08:00"}, "FormatViolation"),
        ({"timestamp": "01/02/2026 08:00"}, "PropertyConstraintViolation"),
        ({"connectorStatus": None}, "NotSupported"),
    ],
)
def test_callerror_code_naming_the_violation_is_not_rpc_016(changes, code):
    wire = booted()
    wire.call("StatusNotification", status(wire, **changes)).error(code)

    assert rule_severities(run(wire.events)) == [("SCH-001", E)]


def test_legacy_spelling_of_the_right_code_is_rpc_012_warning_only():
    wire = booted()
    wire.call("StatusNotification", status(wire, connectorStatus=None))
    wire.error("OccurenceConstraintViolation")

    findings = run(wire.events)

    assert rule_severities(findings) == [("SCH-001", E), ("RPC-012", W)]
    assert findings[1].action == "StatusNotification"
    assert findings[1].details == {
        "got_code": "OccurenceConstraintViolation",
        "expected_code": "OccurrenceConstraintViolation",
    }


def test_callerror_to_a_valid_call_is_not_rpc_016():
    wire = booted()
    wire.call("StatusNotification", status(wire)).error("InternalError", description="db down")

    assert run(wire.events) == []


# ---- RPC-020: an unknown action gets NotImplemented -------------------------------------------


@pytest.mark.parametrize(
    ("answer", "severity"), [("result", E), ("NotSupported", W), ("GenericError", W)]
)
def test_unknown_action_not_answered_with_not_implemented_is_rpc_020(answer, severity):
    wire = booted()
    wire.call("StartTransaction", {"connectorId": 1, "idTag": "04A2B3C4", "meterStart": 0})
    if answer == "result":
        wire.result({"transactionId": 1, "idTagInfo": {"status": "Accepted"}})
    else:
        wire.error(answer, description="StartTransaction")

    findings = run(wire.events)

    assert rule_severities(findings) == [("RPC-009", E), ("RPC-020", severity)]
    assert findings[1].action == "StartTransaction"
    assert findings[1].direction is Direction.CSMS_TO_CHARGER
    assert findings[1].details["expected_code"] == "NotImplemented"


def test_csms_closing_instead_of_answering_an_unknown_action_is_rpc_020():
    wire = booted()
    wire.call("StartTransaction", {"connectorId": 1, "idTag": "04A2B3C4", "meterStart": 0})
    wire.wait(0.2).close(1008, closed_by="csms")

    findings = run(wire.events)

    assert rule_severities(findings) == [("RPC-009", E), ("RPC-020", W)]
    assert findings[1].details["unanswered_by"] == "CSMS"


@pytest.mark.parametrize("then", ["answered", "connection-lost"])
def test_unknown_action_answered_not_implemented_or_cut_off_is_fine(then):
    wire = booted()
    wire.call("StartTransaction", {"connectorId": 1, "idTag": "04A2B3C4", "meterStart": 0})
    if then == "answered":
        wire.error("NotImplemented", description="Unknown action StartTransaction")
    else:
        wire.wait(0.2).close(1006, closed_by=None)

    assert rule_severities(run(wire.events)) == [("RPC-009", E)]


# ---- RPC-015: an unknown MessageTypeId gets MessageTypeNotSupported (2.0.1), is ignored (2.1) --

TYPE_7 = json.dumps([7, MSG_ID, "Heartbeat", {}])


def test_unknown_message_type_answered_with_another_code_is_rpc_015():
    wire = booted()
    wire.raw(TYPE_7).error("RpcFrameworkError", message_id=MSG_ID)

    findings = run(wire.events)

    assert rule_severities(findings) == [("RPC-002", E), ("RPC-015", E)]
    assert findings[1].details == {
        "expected_code": "MessageTypeNotSupported",
        "got_code": "RpcFrameworkError",
    }


def test_unknown_message_type_left_unanswered_is_rpc_015_on_the_receiver():
    wire = booted()
    wire.raw(TYPE_7).wait(31).heartbeat()

    findings = run(wire.events)

    assert rule_severities(findings) == [("RPC-002", E), ("RPC-015", E)]
    assert findings[1].details["unanswered_by"] == "CSMS"
    assert findings[1].message_id == MSG_ID


def test_unknown_message_type_answered_by_closing_is_rpc_015_on_the_closer():
    wire = booted()
    wire.raw(TYPE_7).wait(0.2).close(1002, closed_by="csms")

    findings = run(wire.events)

    assert rule_severities(findings) == [("RPC-002", E), ("RPC-015", E)]
    assert findings[1].details == {"closed_by": "csms", "expected_code": "MessageTypeNotSupported"}
    assert findings[1].message_id == MSG_ID


def test_a_lost_connection_or_the_sender_closing_is_not_rpc_015():
    for closer in (None, "charger"):
        wire = booted()
        wire.raw(TYPE_7).wait(0.2).close(1006 if closer is None else 1000, closed_by=closer)
        assert "RPC-015" not in rule_ids(run(wire.events)), closer


def test_unknown_message_type_answered_in_time_is_not_rpc_015():
    wire = booted()
    wire.raw(TYPE_7).error("MessageTypeNotSupported", message_id=MSG_ID)
    wire.wait(40).heartbeat()

    assert rule_severities(run(wire.events)) == [("RPC-002", E)]


# OCPP-J 2.1 §4.1.3 and §4.4 (edition 2): "When a system receives a message with a Message Type
# Number not in this list, it SHALL ignore the message payload."


def booted21() -> Wire:
    return Wire21().boot(interval=300).wait(5)


def test_ocpp21_unknown_message_type_ignored_is_not_rpc_015():
    wire = booted21()
    wire.raw(TYPE_7).wait(40).heartbeat()

    assert rule_severities(run(wire.events, until=wire.now + 60)) == [("RPC-002", E)]


def test_ocpp21_unknown_message_type_answered_with_message_type_not_supported_is_fine():
    """Table 9 of OCPP-J 2.1 keeps MessageTypeNotSupported: a 2.0.1-style answer is no fault."""
    wire = booted21()
    wire.raw(TYPE_7).error("MessageTypeNotSupported", message_id=MSG_ID)
    wire.wait(40).heartbeat()

    assert rule_severities(run(wire.events)) == [("RPC-002", E)]


def test_ocpp21_unknown_message_type_answered_by_closing_is_rpc_015():
    wire = booted21()
    wire.raw(TYPE_7).wait(0.2).close(1002, closed_by="csms")

    findings = run(wire.events)

    assert rule_severities(findings) == [("RPC-002", E), ("RPC-015", E)]
    assert findings[1].details == {"closed_by": "csms"}
    assert "instead of ignoring it (OCPP-J 2.1 §4.1.3, §4.4)" in findings[1].message
    assert findings[1].reference == "OCPP-J 2.1 §4.1.3, §4.4"


def test_ocpp21_unknown_message_type_answered_with_another_code_is_rpc_015_warning():
    wire = booted21()
    wire.raw(TYPE_7).error("RpcFrameworkError", message_id=MSG_ID)

    findings = run(wire.events)

    assert rule_severities(findings) == [("RPC-002", E), ("RPC-015", W)]
    assert "OCPP-J 2.1 §4.3 Table 9 names MessageTypeNotSupported" in findings[1].message


def test_minus_1_although_the_id_was_readable_is_rpc_014_info():
    wire = booted()
    wire.raw(TYPE_7).error("MessageTypeNotSupported", message_id="-1")

    findings = run(wire.events)

    assert rule_severities(findings) == [("RPC-002", E), ("RPC-014", N)]
    assert findings[1].details["expected_message_id"] == MSG_ID


# ---- RPC-014: an unparsable frame gets RpcFrameworkError ---------------------------------------


def test_unparsable_frame_answered_with_format_violation_is_rpc_014_warning():
    wire = booted()
    wire.raw(TRUNCATED_CALL).error("FormatViolation", description="invalid JSON", message_id="-1")

    findings = run(wire.events)

    assert rule_severities(findings) == [("RPC-001", E), ("RPC-014", W)]
    assert findings[1].details == {
        "expected_code": "RpcFrameworkError",
        "got_code": "FormatViolation",
    }


def test_unparsable_frame_dropped_silently_is_fine():
    wire = booted()
    wire.raw(TRUNCATED_CALL).wait(40).heartbeat()

    assert rule_severities(run(wire.events)) == [("RPC-001", E)]


# ---- RPC-008 blames the receiver; responses carry their CALL's action -------------------------


@pytest.mark.parametrize(("sender", "receiver"), [("charger", "CSMS"), ("csms", "station")])
def test_rpc_008_names_the_receiver_that_did_not_answer(sender, receiver):
    wire = booted()
    if sender == "charger":
        wire.call("StatusNotification", status(wire))
    else:
        wire.call("Reset", {"type": "OnIdle"}, sender="csms")

    findings = run(wire.events, until=wire.now + 31)

    assert rule_severities(findings) == [("RPC-008", W)]
    assert findings[0].details["unanswered_by"] == receiver
    assert findings[0].message.startswith(f"the {receiver} left")


def test_late_response_finding_carries_the_action_of_its_call():
    wire = booted()
    wire.call("Heartbeat", {}).error("InternalError", after=34)

    findings = run(wire.events)

    assert rule_severities(findings) == [("RPC-008", W), ("RPC-006", W), ("HB-003", W)]
    assert [finding.action for finding in findings] == ["Heartbeat"] * 3
