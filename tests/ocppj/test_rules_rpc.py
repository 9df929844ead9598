"""RPC and SCH groups: MessageIds, request/response matching, timeouts, actions, error codes, schemas."""

from __future__ import annotations

import base64
import json
import tracemalloc
import uuid
from dataclasses import replace
from typing import Any

import pytest

from proxy.ocppj.errors import ERROR_CODES
from proxy.ocppj.findings import Severity
from proxy.ocppj.rpc import REMEMBERED_RESPONSES
from proxy.ocppj.session import Monitor
from tests.ocppj.wire import Wire, Wire21, rule_severities, run

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO  # N for notice: info
TX_ID = "c5a9f7a2-2b7e-4d2a-8a0b-6f2d9e3c1b47"
HEARTBEAT_INTERVAL = 300
"""Granted at boot in timing tests, so that long waits stay clear of HB-001."""


def uid(n: int) -> str:
    """A deterministic UUID MessageId, as stations and CSMSs generate them."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:ocppscope:test:{n}"))


def booted(interval: int = 30) -> Wire:
    return Wire().boot(interval=interval).wait(5)


def booted21() -> Wire:
    return Wire21().boot(interval=30).wait(5)


def status_notification(wire: Wire, status: str = "Occupied") -> dict[str, Any]:
    return {"timestamp": wire.time(), "connectorStatus": status, "evseId": 1, "connectorId": 1}


def meter_values(wire: Wire, kwh: float) -> dict[str, Any]:
    return {
        "evseId": 1,
        "meterValue": [
            {
                "timestamp": wire.time(),
                "sampledValue": [
                    {
                        "value": kwh,
                        "measurand": "Energy.Active.Import.Register",
                        "context": "Sample.Clock",
                        "unitOfMeasure": {"unit": "kWh"},
                    }
                ],
            }
        ],
    }


def tx_started(wire: Wire, **changes: Any) -> dict[str, Any]:
    """TransactionEvent Started as an Alfen sends it on cable plug-in, register in Wh."""
    payload = {
        "eventType": "Started",
        "timestamp": wire.time(),
        "triggerReason": "CablePluggedIn",
        "seqNo": 0,
        "transactionInfo": {"transactionId": TX_ID, "chargingState": "EVConnected"},
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [
            {
                "timestamp": wire.time(),
                "sampledValue": [
                    {
                        "value": 18234510.0,
                        "measurand": "Energy.Active.Import.Register",
                        "context": "Transaction.Begin",
                        "location": "Outlet",
                        "unitOfMeasure": {"unit": "Wh"},
                    }
                ],
            }
        ],
    }
    payload.update(changes)
    return payload


def message_timeout_data(seconds: int) -> dict[str, Any]:
    return {
        "component": {"name": "OCPPCommCtrlr"},
        "variable": {"name": "MessageTimeout", "instance": "Default"},
        "attributeValue": str(seconds),
    }


def set_message_timeout(wire: Wire, seconds: int, status: str = "Accepted") -> Wire:
    """The CSMS sets OCPPCommCtrlr.MessageTimeout; the station answers with `status`."""
    data = message_timeout_data(seconds)
    wire.call("SetVariables", {"setVariableData": [data]}, sender="csms", message_id=uid(900))
    answer = {"component": data["component"], "variable": data["variable"]}
    result = {"setVariableResult": [{**answer, "attributeStatus": status}]}
    return wire.result(result, sender="charger")


GET_HEARTBEAT_INTERVAL = {
    "getVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    ]
}
HEARTBEAT_INTERVAL_RESULT = {
    "getVariableResult": [
        {
            "attributeStatus": "Accepted",
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "HeartbeatInterval"},
            "attributeValue": "30",
        }
    ]
}


# ---- RPC-005: a CALL's MessageId is never reused by the same sender ---------------------------


def test_identical_retransmission_after_reconnect_is_rpc_005_warning():
    wire = booted()
    frame = json.dumps([2, uid(1), "MeterValues", meter_values(wire, 18234.51)])
    wire.raw(frame).wait(2).close(1006).wait(15).open()
    wire.raw(frame).result({}, message_id=uid(1))

    assert rule_severities(run(wire.events)) == [("RPC-005", W)]


@pytest.mark.parametrize("reconnect", [False, True], ids=["same-connection", "after-reconnect"])
def test_same_message_id_for_a_different_call_is_rpc_005_error(reconnect):
    wire = booted()
    wire.call("MeterValues", meter_values(wire, 18234.51), message_id=uid(1)).result({})
    wire.wait(20)
    if reconnect:
        wire.close(1006).wait(10).open()
    wire.call("MeterValues", meter_values(wire, 18236.02), message_id=uid(1)).result({})

    assert rule_severities(run(wire.events)) == [("RPC-005", E)]


def test_new_uuid_for_every_call_is_fine():
    wire = booted()
    wire.call("MeterValues", meter_values(wire, 18234.51), message_id=uid(1)).result({})
    wire.wait(20).close(1006).wait(10).open()
    wire.call("MeterValues", meter_values(wire, 18236.02), message_id=uid(2)).result({})

    assert run(wire.events) == []


def test_csms_using_a_message_id_the_station_used_is_fine():
    wire = booted()
    wire.call("StatusNotification", status_notification(wire), message_id=uid(1)).result({})
    wire.wait(3).call("GetVariables", GET_HEARTBEAT_INTERVAL, sender="csms", message_id=uid(1))
    wire.result(HEARTBEAT_INTERVAL_RESULT, sender="charger")

    assert run(wire.events) == []


def test_retransmission_serialised_differently_is_still_identical_rpc_005_warning():
    wire = booted()
    payload = meter_values(wire, 18234.51)
    wire.raw(json.dumps([2, uid(1), "MeterValues", payload])).wait(2).close(1006).wait(15).open()
    wire.raw(json.dumps([2, uid(1), "MeterValues", payload], separators=(",", ":")))
    wire.result({}, message_id=uid(1))

    assert rule_severities(run(wire.events)) == [("RPC-005", W)]


def test_ocpp21_retry_after_reconnect_may_keep_its_message_id():
    """OCPP-J 2.1 §4.1.4: "The message ID for a retried message ... MAY be identical to the
    message ID of the original message" (2.0.1 §4.1.4: "This also applies to retries")."""
    wire = booted21()
    frame = json.dumps([2, uid(1), "MeterValues", meter_values(wire, 18234.51)])
    wire.raw(frame).wait(2).close(1006).wait(15).open()
    wire.raw(frame).result({}, message_id=uid(1))

    assert run(wire.events) == []


def test_ocpp21_same_message_id_for_a_different_call_is_still_rpc_005_error():
    wire = booted21()
    wire.call("MeterValues", meter_values(wire, 18234.51), message_id=uid(1)).result({})
    wire.wait(20).close(1006).wait(10).open()
    wire.call("MeterValues", meter_values(wire, 18236.02), message_id=uid(1)).result({})

    findings = run(wire.events)

    assert rule_severities(findings) == [("RPC-005", E)]
    assert "for a different CALL or SEND" in findings[0].message
    assert findings[0].reference.startswith("OCPP-J 2.1 §4.1.4")


def test_ocpp21_send_reusing_a_call_message_id_is_rpc_005():
    """OCPP-J 2.1 §4.1.4: CALL and SEND messages share one message id space per sender."""
    wire = booted21()
    wire.call("Heartbeat", {}, message_id=uid(1)).result({"currentTime": wire.time(0.05)})
    stream = {"id": 1, "pending": 0, "basetime": wire.time(), "data": [{"t": 0, "v": "230.4"}]}
    wire.wait(5).raw(json.dumps([6, uid(1), "NotifyPeriodicEventStream", stream]))
    wire.wait(5).raw(json.dumps([6, uid(2), "NotifyPeriodicEventStream", stream]))

    assert rule_severities(run(wire.events)) == [("RPC-005", E)]


# ---- RPC-006: responses answer an outstanding CALL of the peer, once, in time -----------------


@pytest.mark.parametrize("responder", ["csms", "charger"])
def test_response_with_unknown_message_id_is_rpc_006_error(responder):
    wire = booted()
    asker = "charger" if responder == "csms" else "csms"
    if asker == "charger":
        wire.call("StatusNotification", status_notification(wire), message_id=uid(1))
    else:
        wire.call("GetVariables", GET_HEARTBEAT_INTERVAL, sender="csms", message_id=uid(1))
    wire.result({}, sender=responder, message_id=uid(2))

    assert rule_severities(run(wire.events)) == [("RPC-006", E)]


def test_second_response_to_the_same_call_is_rpc_006_error():
    wire = booted()
    wire.call("StatusNotification", status_notification(wire), message_id=uid(1)).result({})
    wire.result({}, after=0.4)

    assert rule_severities(run(wire.events)) == [("RPC-006", E)]


@pytest.mark.parametrize("answer", ["result", "error"])
def test_response_after_the_timeout_is_rpc_006_warning_after_rpc_008(answer):
    wire = booted(HEARTBEAT_INTERVAL)
    wire.call("Heartbeat", {}, message_id=uid(1))
    if answer == "result":
        wire.result({"currentTime": wire.time(34)}, after=34)
    else:
        wire.error("InternalError", description="database timeout", after=34)

    refused = [("HB-003", W)] if answer == "error" else []  # no currentTime for the station
    assert rule_severities(run(wire.events)) == [("RPC-008", W), ("RPC-006", W), *refused]


def test_response_in_time_is_fine():
    wire = booted()
    wire.call("StatusNotification", status_notification(wire), message_id=uid(1))
    wire.result({}, after=2.5)

    assert run(wire.events) == []


def test_an_answer_reported_after_its_connections_close_answers_the_call_sent_on_it():
    """An outage fault's Close raced the CSMS's answer: the proxy queued its Close ahead of
    the answer already on the wire, so the end of the connection is reported before the answer
    (after_close). The answer is to a CALL of that connection, with its MessageId: no RPC-006,
    and no new connection counted."""
    wire = booted()
    wire.call("StatusNotification", status_notification(wire), message_id=uid(1))
    wire.wait(0.02).close(1001, closed_by="csms")
    wire.result({}, after=0.01)
    wire.events[-1] = replace(wire.events[-1], after_close=True)
    monitor = Monitor()

    findings = [f for event in wire.events for f in monitor.feed(event).findings]

    assert rule_severities(findings) == [("WS-017", N)]
    assert monitor.sessions[wire.station].connections_opened == 1


# ---- RPC-007: one outstanding CALL per sender -------------------------------------------------


def test_second_call_while_first_is_unanswered_is_rpc_007():
    wire = booted()
    wire.call("StatusNotification", status_notification(wire), message_id=uid(1))
    wire.wait(1).call("MeterValues", meter_values(wire, 18234.51), message_id=uid(2))

    findings = run(wire.events)

    assert rule_severities(findings) == [("RPC-007", E)]
    assert findings[0].message_id == uid(2)


def test_calls_crossing_between_station_and_csms_are_fine():
    wire = booted()
    wire.call("StatusNotification", status_notification(wire), message_id=uid(1))
    wire.wait(0.02).call("GetVariables", GET_HEARTBEAT_INTERVAL, sender="csms", message_id=uid(2))
    wire.result({}, message_id=uid(1))
    wire.result(HEARTBEAT_INTERVAL_RESULT, sender="charger", message_id=uid(2))

    assert run(wire.events) == []


def test_new_call_after_the_previous_one_timed_out_is_not_rpc_007():
    wire = booted(HEARTBEAT_INTERVAL)
    wire.call("StatusNotification", status_notification(wire), message_id=uid(1))
    wire.wait(31).call("MeterValues", meter_values(wire, 18234.51), message_id=uid(2)).result({})

    assert rule_severities(run(wire.events)) == [("RPC-008", W)]


def test_new_call_on_a_new_connection_after_the_old_one_dropped_is_fine():
    wire = booted()
    wire.call("StatusNotification", status_notification(wire), message_id=uid(1))
    wire.wait(3).close(1006).wait(12).open()
    wire.call("StatusNotification", status_notification(wire), message_id=uid(2)).result({})

    assert run(wire.events) == []


# ---- RPC-008: every CALL is answered within MessageTimeout ------------------------------------


@pytest.mark.parametrize("sender", ["charger", "csms"])
def test_call_unanswered_for_30_s_is_rpc_008_at_the_next_event(sender):
    wire = booted(HEARTBEAT_INTERVAL)
    sent_at = wire.now
    if sender == "charger":
        wire.call("StatusNotification", status_notification(wire), message_id=uid(1))
        wire.wait(31).call("GetVariables", GET_HEARTBEAT_INTERVAL, sender="csms")
        wire.result(HEARTBEAT_INTERVAL_RESULT, sender="charger")
    else:
        wire.call("GetVariables", GET_HEARTBEAT_INTERVAL, sender="csms", message_id=uid(1))
        wire.wait(31).call("StatusNotification", status_notification(wire)).result({})

    findings = run(wire.events)

    assert rule_severities(findings) == [("RPC-008", W)]
    assert findings[0].message_id == uid(1)
    assert findings[0].timestamp == pytest.approx(sent_at + 30)


def test_call_answered_after_29_s_is_not_rpc_008():
    wire = booted(HEARTBEAT_INTERVAL)
    wire.call("StatusNotification", status_notification(wire)).result({}, after=29)

    assert run(wire.events) == []


@pytest.mark.parametrize(
    ("timeout", "answered_after", "expected"),
    [
        (60, 45, []),
        (60, 61, [("RPC-008", W), ("RPC-006", W)]),
        (10, 12, [("RPC-008", W), ("RPC-006", W)]),
    ],
    ids=["60s-answered-at-45", "60s-answered-at-61", "10s-answered-at-12"],
)
def test_learned_message_timeout_replaces_the_30_s_default(timeout, answered_after, expected):
    wire = booted(HEARTBEAT_INTERVAL)
    set_message_timeout(wire, timeout).wait(5)
    wire.call("StatusNotification", status_notification(wire)).result({}, after=answered_after)

    assert rule_severities(run(wire.events)) == expected


def test_rejected_message_timeout_is_not_learned():
    wire = booted(HEARTBEAT_INTERVAL)
    set_message_timeout(wire, 60, status="Rejected").wait(5)
    wire.call("StatusNotification", status_notification(wire)).result({}, after=45)

    assert rule_severities(run(wire.events)) == [("RPC-008", W), ("RPC-006", W)]


@pytest.mark.parametrize(("observed_for", "expected"), [(31, [("RPC-008", W)]), (29, [])])
def test_unanswered_call_is_judged_when_the_observation_ends(observed_for, expected):
    wire = booted(HEARTBEAT_INTERVAL)
    wire.call("StatusNotification", status_notification(wire), message_id=uid(1))

    findings = run(wire.events, until=wire.now + observed_for)

    assert rule_severities(findings) == expected


@pytest.mark.parametrize("closed_by", [None, "csms"])
def test_call_pending_when_the_connection_closes_is_not_rpc_008(closed_by):
    wire = booted(HEARTBEAT_INTERVAL)
    wire.call("StatusNotification", status_notification(wire), message_id=uid(1))
    wire.wait(5).close(1006 if closed_by is None else 1000, closed_by=closed_by)
    wire.wait(20).open().wait(40)
    wire.call("StatusNotification", status_notification(wire), message_id=uid(2)).result({})

    assert run(wire.events, until=wire.now + 5) == []


# ---- RPC-009: known action, sent by the side allowed to send it --------------------------------


@pytest.mark.parametrize(
    "action", ["heartbeat", "HeartbeatRequest", "StartTransaction", "Heartbeat "]
)
def test_unknown_action_is_rpc_009(action):
    wire = booted()
    wire.call(action, {}).error("NotImplemented", description=f"Unknown action {action}")

    assert rule_severities(run(wire.events)) == [("RPC-009", E)]


@pytest.mark.parametrize(
    ("sender", "action", "payload"),
    [
        ("charger", "Reset", {"type": "Immediate"}),
        ("charger", "GetVariables", GET_HEARTBEAT_INTERVAL),
        ("csms", "Heartbeat", {}),
        (
            "csms",
            "BootNotification",
            {"reason": "PowerUp", "chargingStation": {"vendorName": "ABB", "model": "Terra AC"}},
        ),
    ],
    ids=["station-Reset", "station-GetVariables", "csms-Heartbeat", "csms-BootNotification"],
)
def test_action_sent_in_the_wrong_direction_is_rpc_009(sender, action, payload):
    wire = booted()
    wire.call(action, payload, sender=sender)
    wire.error("NotSupported", sender="charger" if sender == "csms" else "csms")

    assert rule_severities(run(wire.events)) == [("RPC-009", E)]


def test_data_transfer_both_ways_is_fine():
    wire = booted()
    wire.call("DataTransfer", {"vendorId": "com.alfen", "messageId": "SocketInfo", "data": "T2"})
    wire.result({"status": "Accepted"})
    wire.wait(10).call(
        "DataTransfer",
        {"vendorId": "com.alfen", "messageId": "SetLedColor", "data": {"rgb": "00ff00"}},
        sender="csms",
    )
    wire.result({"status": "UnknownMessageId"}, sender="charger")

    assert run(wire.events) == []


# ---- RPC-011: empty optional fields are omitted; an empty payload is {} ------------------------


@pytest.mark.parametrize(
    ("field", "value", "schema_error"),
    [
        ("evse", {}, '"id" is a required property'),
        ("evse", None, 'null is not of type "object"'),
        ("meterValue", [], "[] has less than 1 item"),
    ],
    ids=["evse-empty-object", "evse-null", "meterValue-empty-list"],
)
def test_empty_field_the_schema_forbids_is_rpc_011_and_sch_001(field, value, schema_error):
    wire = booted()
    wire.call("TransactionEvent", tx_started(wire, **{field: value})).result({})

    findings = run(wire.events)

    # the CSMS that accepts it accepted an invalid request (RPC-010, on its CALLRESULT)
    assert rule_severities(findings) == [("RPC-011", E), ("SCH-001", E), ("RPC-010", W)]
    assert f"{field} is {json.dumps(value)}" in findings[0].message
    assert f"TransactionEventRequest: {field}: " in findings[1].message
    assert schema_error in findings[1].message


def test_call_with_an_empty_field_the_schema_forbids_is_invalid_for_later_rules():
    """An invalid TransactionEvent may be refused with a CALLERROR (here with the code that
    names its violation, a missing evse.id): no TX-010."""
    wire = booted()
    wire.call("TransactionEvent", tx_started(wire, evse={})).error("OccurrenceConstraintViolation")

    assert [rule for rule, _ in rule_severities(run(wire.events))] == ["RPC-011", "SCH-001"]


def test_empty_optional_object_in_response_is_rpc_011_error_and_sch_001_when_it_needs_fields():
    wire = booted()
    wire.call("TransactionEvent", tx_started(wire)).result({"idTokenInfo": {}})

    assert rule_severities(run(wire.events)) == [("RPC-011", E), ("SCH-001", E)]


def test_null_heartbeat_payload_is_rpc_011_warning():
    wire = booted()
    wire.call("Heartbeat", None).result({"currentTime": wire.time(0.05)})

    assert rule_severities(run(wire.events)) == [("RPC-011", W)]


def test_optional_fields_left_out_and_empty_response_are_fine():
    wire = booted()
    wire.call("TransactionEvent", tx_started(wire)).result({})
    wire.wait(25).call(
        "TransactionEvent",
        tx_started(
            wire,
            eventType="Updated",
            triggerReason="ChargingStateChanged",
            seqNo=1,
            transactionInfo={"transactionId": TX_ID, "chargingState": "Charging"},
            evse={"id": 1},
            meterValue=[
                {
                    "timestamp": wire.time(),
                    "sampledValue": [
                        {
                            "value": 18234.62,
                            "measurand": "Energy.Active.Import.Register",
                            "unitOfMeasure": {"unit": "kWh"},
                        }
                    ],
                }
            ],
        ),
    ).result({"totalCost": 0.0})

    assert run(wire.events) == []


def test_empty_optional_modem_object_in_boot_notification_is_rpc_011_error():
    wire = Wire().open()
    wire.call(
        "BootNotification",
        {
            "reason": "PowerUp",
            "chargingStation": {
                "vendorName": "Wallbox",
                "model": "Commander 2",
                "serialNumber": "CMX2-071234",
                "modem": {},
            },
        },
    )
    wire.result({"currentTime": wire.time(0.05), "interval": 30, "status": "Accepted"})

    assert rule_severities(run(wire.events)) == [("RPC-011", E)]


# ---- RPC-012: CALLERROR errorCode is one of the 2.0.1 codes ------------------------------------


@pytest.mark.parametrize(
    ("code", "severity"),
    [
        ("UnknownError", E),
        ("formatViolation", E),
        ("NotImplementedError", E),
        ("FormationViolation", W),
        ("OccurenceConstraintViolation", W),
    ],
)
def test_error_code_outside_table_8_is_rpc_012(code, severity):
    wire = booted()
    wire.call("DataTransfer", {"vendorId": "com.alfen", "messageId": "GetSocketInfo"})
    wire.error(code, description="rejected")

    assert rule_severities(run(wire.events)) == [("RPC-012", severity)]


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_every_table_8_error_code_is_fine(code):
    wire = booted()
    wire.call("GetVariables", GET_HEARTBEAT_INTERVAL, sender="csms")
    wire.error(code, sender="charger", description="")

    assert run(wire.events) == []


# ---- RPC-013: responses never answer a response -----------------------------------------------


def test_csms_callerror_rejecting_the_stations_callresult_is_rpc_013():
    wire = booted()
    wire.call("GetVariables", GET_HEARTBEAT_INTERVAL, sender="csms", message_id=uid(1))
    wire.result(HEARTBEAT_INTERVAL_RESULT, sender="charger")
    wire.error("FormatViolation", sender="csms", message_id=uid(1))

    assert rule_severities(run(wire.events)) == [("RPC-013", E)]


@pytest.mark.parametrize("answer", ["error", "result"])
def test_station_answering_the_csms_response_to_its_own_call_is_rpc_013(answer):
    wire = booted()
    wire.call("StatusNotification", status_notification(wire), message_id=uid(1)).result({})
    if answer == "error":
        wire.error("ProtocolError", sender="charger", message_id=uid(1))
    else:
        wire.result({}, sender="charger", message_id=uid(1))

    assert rule_severities(run(wire.events)) == [("RPC-013", E)]


def test_callerror_answering_a_call_is_fine():
    wire = booted()
    wire.call("Reset", {"type": "OnIdle"}, sender="csms")
    wire.error("NotSupported", sender="charger", description="Reset OnIdle not supported")

    assert run(wire.events) == []


# ---- RPC-014: CALLERROR to an unreadable message uses MessageId "-1" ---------------------------

TRUNCATED_CALL = f'[2,"{uid(1)}","StatusNotification",{{"timestamp":"2026-02-01T08:00:05.000Z",'


def test_callerror_to_unreadable_frame_with_invented_id_is_rpc_014():
    wire = booted()
    wire.raw(TRUNCATED_CALL).error("RpcFrameworkError", message_id=uid(77))

    assert rule_severities(run(wire.events)) == [("RPC-001", E), ("RPC-014", E)]


@pytest.mark.parametrize(
    ("frame", "first"),
    [
        (TRUNCATED_CALL, "RPC-001"),
        ('{"action":"Heartbeat"}', "RPC-002"),
        ('[2,57,"Heartbeat",{}]', "RPC-004"),
    ],
    ids=["invalid-json", "not-an-array", "integer-id"],
)
def test_callerror_minus_1_after_an_unreadable_frame_is_fine(frame, first):
    wire = booted()
    wire.raw(frame).error(
        "RpcFrameworkError", description="MessageId could not be read", message_id="-1"
    )
    wire.wait(10).heartbeat()

    assert rule_severities(run(wire.events)) == [(first, E)]


@pytest.mark.parametrize(
    ("frame", "first"),
    [
        ([7, uid(5), "Heartbeat", {}], "RPC-002"),
        ([6, uid(5), "NotifyPeriodicEventStream", {"id": 1, "pending": 0, "data": []}], "WS-003"),
    ],
    ids=["type-7", "send-on-ocpp2.0.1"],
)
def test_message_type_not_supported_quoting_the_readable_id_is_not_rpc_014(frame, first):
    wire = booted()
    wire.raw(json.dumps(frame)).error("MessageTypeNotSupported", message_id=uid(5))

    assert rule_severities(run(wire.events)) == [(first, E)]


# ---- RPC-017: no CALL repeats the MessageId of the sender's CALL still being processed ----------


@pytest.mark.parametrize(
    "answers",
    [("RpcFrameworkError", "result"), ("result", "result"), ("result",)],
    ids=["duplicate-refused", "both-answered", "answered-once"],
)
def test_repeating_an_unanswered_calls_message_id_is_rpc_017_only(answers):
    wire = booted()
    frame = json.dumps([2, uid(1), "MeterValues", meter_values(wire, 18234.51)])
    wire.raw(frame).wait(1.5).raw(frame)
    for answer in answers:
        if answer == "result":
            wire.result({}, message_id=uid(1))
        else:
            wire.error(answer, description="Already processing this call", message_id=uid(1))
    wire.wait(5).heartbeat()

    assert rule_severities(run(wire.events, until=wire.now + 120)) == [("RPC-017", W)]


def test_ocpp21_retry_of_an_unanswered_call_with_its_message_id_is_not_rpc_017():
    """The station's own timeout ran out before the proxy's: on 2.1 it may retry the same CALL
    with the same id (OCPP-J 2.1 §4.1.4), and the CSMS may answer both."""
    wire = booted21()
    frame = json.dumps([2, uid(1), "MeterValues", meter_values(wire, 18234.51)])
    wire.raw(frame).wait(10).raw(frame)
    wire.result({}, message_id=uid(1)).result({}, message_id=uid(1))
    wire.wait(5).heartbeat()

    assert run(wire.events, until=wire.now + 120) == []


def test_ocpp21_other_call_with_an_unanswered_calls_message_id_is_rpc_017():
    wire = booted21()
    wire.call("MeterValues", meter_values(wire, 18234.51), message_id=uid(1)).wait(1.5)
    wire.call("StatusNotification", status_notification(wire), message_id=uid(1))
    wire.result({}, message_id=uid(1)).result({}, message_id=uid(1))
    wire.wait(5).heartbeat()

    findings = run(wire.events, until=wire.now + 120)

    assert rule_severities(findings) == [("RPC-017", W)]
    assert "for another CALL" in findings[0].message
    assert findings[0].reference == "OCPP-J 2.1 §4.1.4, §4.2.3"


def test_answered_call_then_a_new_id_is_not_rpc_017():
    wire = booted()
    wire.call("MeterValues", meter_values(wire, 18234.51), message_id=uid(1)).result({})
    wire.wait(1.5).call("MeterValues", meter_values(wire, 18234.62), message_id=uid(2))
    wire.result({})

    assert run(wire.events) == []


# ---- RPC-018: a -Signed CALL carries a flattened JWS naming its action ------------------------


def b64url(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def jws(payload: dict[str, Any], **header: Any) -> dict[str, str]:
    protected = {"alg": "ES256", "OCPPAction": "MeterValues", "OCPPMessageTypedId": 2, **header}
    signature = base64.urlsafe_b64encode(bytes(range(64))).decode().rstrip("=")
    return {"protected": b64url(protected), "payload": b64url(payload), "signature": signature}


def test_signed_meter_values_with_a_well_formed_jws_is_fine():
    wire = booted()
    wire.call("MeterValues-Signed", jws(meter_values(wire, 18234.51))).result({})

    assert run(wire.events) == []


def test_signed_call_with_a_foreign_algorithm_and_action_is_rpc_018_info():
    wire = booted()
    signed = jws(meter_values(wire, 18234.51), alg="HS256", OCPPAction="TransactionEvent")
    wire.call("MeterValues-Signed", signed).result({})

    assert rule_severities(run(wire.events)) == [("RPC-018", N), ("RPC-018", N)]


def test_signed_call_whose_payload_is_no_jws_is_rpc_018_info():
    wire = booted()
    wire.call("MeterValues-Signed", meter_values(wire, 18234.51)).result({})

    assert rule_severities(run(wire.events)) == [("RPC-018", N)]


def test_signed_form_of_an_unknown_action_is_still_rpc_009():
    wire = booted()
    wire.call("MeterReading-Signed", jws({"evseId": 1})).error("NotImplemented")

    assert rule_severities(run(wire.events)) == [("RPC-009", E)]


# ---- SCH-001: payloads conform to the schema of their action -----------------------------------


ACCEPTED = ("RPC-010", W)
"""The receiver's CALLRESULT to an invalid CALL: judged in test_rules_answers.py."""


def test_transaction_id_longer_than_36_is_sch_001_naming_the_field():
    wire = booted()
    info = {"transactionId": f"{TX_ID}-1", "chargingState": "EVConnected"}
    wire.call("TransactionEvent", tx_started(wire, transactionInfo=info)).result({})

    findings = run(wire.events)

    assert rule_severities(findings) == [("SCH-001", E), ACCEPTED]
    assert "transactionInfo.transactionId" in findings[0].message
    assert "36" in findings[0].message


def test_wrong_type_deep_in_meter_value_is_sch_001_with_its_path():
    wire = booted()
    payload = meter_values(wire, 18234.51)
    payload["meterValue"][0]["sampledValue"][0]["value"] = "18234.51"
    wire.call("MeterValues", payload).result({})

    findings = run(wire.events)

    assert rule_severities(findings) == [("SCH-001", E), ACCEPTED]
    assert "meterValue[0].sampledValue[0].value" in findings[0].message


@pytest.mark.parametrize(
    "timestamp",
    ["2026-02-01T08:00:05", "2026-02-01 08:00:05Z", "01.02.2026 08:00:05", "1769932805"],
    ids=["no-offset", "space-separator", "german-format", "epoch-string"],
)
def test_timestamp_that_is_not_rfc_3339_is_sch_001(timestamp):
    wire = booted()
    payload = {**status_notification(wire), "timestamp": timestamp}
    wire.call("StatusNotification", payload).result({})

    findings = run(wire.events)

    assert rule_severities(findings) == [("SCH-001", E), ACCEPTED]
    assert "timestamp" in findings[0].message
    assert "date-time" in findings[0].message


@pytest.mark.parametrize(
    "timestamp",
    ["2026-02-01T08:00:05Z", "2026-02-01T08:00:05.120Z", "2026-02-01T09:00:05+01:00"],
)
def test_rfc_3339_timestamp_is_fine(timestamp):
    wire = booted()
    payload = {**status_notification(wire), "timestamp": timestamp}
    wire.call("StatusNotification", payload).result({})

    assert run(wire.events) == []


def test_callresult_is_checked_against_the_response_schema_of_its_call():
    wire = Wire().open()
    wire.call(
        "BootNotification",
        {
            "reason": "PowerUp",
            "chargingStation": {
                "vendorName": "Kempower",
                "model": "T-Series",
                "serialNumber": "KP-2311-004512",
            },
        },
    )
    wire.result({"interval": 60, "status": "Accepted"})

    findings = run(wire.events)

    assert rule_severities(findings) == [("SCH-001", E)]
    assert "BootNotificationResponse" in findings[0].message
    assert "currentTime" in findings[0].message


def test_at_most_five_schema_errors_per_payload_are_listed():
    wire = booted()
    payload = tx_started(
        wire,
        eventType="Start",
        timestamp="today",
        triggerReason="Plugged",
        seqNo="1",
        transactionInfo={"transactionId": "x" * 37},
        evse={"id": "1"},
    )
    wire.call("TransactionEvent", payload).result({})

    findings = run(wire.events)

    assert rule_severities(findings) == [("SCH-001", E)] * 6 + [ACCEPTED]
    assert findings[-2].message.endswith("further schema errors omitted")


# ---- SCH-002: no properties beyond the schema except in customData -----------------------------


@pytest.mark.parametrize(
    ("where", "payload_of", "named"),
    [
        (
            "top-level",
            lambda wire: {**status_notification(wire), "connectorType": "cType2"},
            "connectorType",
        ),
        (
            "nested",
            lambda wire: {
                "reason": "PowerUp",
                "chargingStation": {
                    "vendorName": "Wallbox",
                    "model": "Commander 2",
                    "meterSerialNumber": "MTR-88123",
                },
            },
            "meterSerialNumber",
        ),
    ],
    ids=["top-level", "nested"],
)
def test_unknown_property_is_sch_002_error(where, payload_of, named):
    wire = booted()
    action = "StatusNotification" if where == "top-level" else "BootNotification"
    wire.call(action, payload_of(wire))
    if action == "BootNotification":
        wire.result({"currentTime": wire.time(0.05), "interval": 30, "status": "Accepted"})
    else:
        wire.result({})

    findings = run(wire.events)

    assert rule_severities(findings) == [("SCH-002", E), ACCEPTED]
    assert named in findings[0].message


CUSTOM_STATUS = {"vendorId": "com.alfen", "lockState": "Locked", "socketTemperature": 31.5}


def test_custom_data_with_vendor_id_is_no_schema_error():
    wire = booted()
    payload = {**status_notification(wire), "customData": CUSTOM_STATUS}
    wire.call("StatusNotification", payload).result({})

    findings = run(wire.events)

    assert [(f.rule_id, f.severity) for f in findings if f.severity is not N] == []


def test_custom_data_is_sch_002_info_naming_the_vendor_id():
    wire = booted()
    payload = {**status_notification(wire), "customData": CUSTOM_STATUS}
    wire.call("StatusNotification", payload).result({})

    findings = run(wire.events)

    assert rule_severities(findings) == [("SCH-002", N)]
    assert "com.alfen" in findings[0].message


def test_custom_data_without_vendor_id_is_sch_001():
    wire = booted()
    payload = {**status_notification(wire), "customData": {"lockState": "Locked"}}
    wire.call("StatusNotification", payload).result({})

    findings = run(wire.events)

    assert rule_severities(findings) == [("SCH-001", E), ACCEPTED]
    assert "vendorId" in findings[0].message


# ---- SCH-003: what the schemas do not encode ---------------------------------------------------


def test_timestamp_with_microseconds_is_sch_003_warning():
    wire = booted()
    payload = {**status_notification(wire), "timestamp": "2026-02-01T08:00:05.123456Z"}
    wire.call("StatusNotification", payload).result({})

    assert rule_severities(run(wire.events)) == [("SCH-003", W)]


def test_csms_current_time_with_dotnet_ticks_is_sch_003_warning():
    wire = booted()
    wire.call("Heartbeat", {}).result({"currentTime": "2026-02-01T08:00:05.0512347Z"})

    assert rule_severities(run(wire.events)) == [("SCH-003", W)]


@pytest.mark.parametrize(
    "timestamp", ["2026-02-01T08:00:05Z", "2026-02-01T08:00:05.1Z", "2026-02-01T08:00:05.123Z"]
)
def test_timestamp_with_at_most_milliseconds_is_fine(timestamp):
    wire = booted()
    payload = {**status_notification(wire), "timestamp": timestamp}
    wire.call("StatusNotification", payload).result({})

    assert run(wire.events) == []


def test_meter_value_timestamp_with_microseconds_is_sch_003_warning():
    wire = booted()
    payload = meter_values(wire, 18234.51)
    payload["meterValue"][0]["timestamp"] = "2026-02-01T08:00:05.123456Z"
    wire.call("MeterValues", payload).result({})

    assert rule_severities(run(wire.events)) == [("SCH-003", W)]


def test_negative_boot_interval_is_sch_003_warning():
    wire = Wire().open()
    wire.call(
        "BootNotification",
        {
            "reason": "PowerUp",
            "chargingStation": {
                "vendorName": "ABB",
                "model": "Terra AC W22",
                "serialNumber": "TACW2245100451",
            },
        },
    )
    wire.result({"currentTime": wire.time(0.05), "interval": -1, "status": "Accepted"})

    assert rule_severities(run(wire.events)) == [("SCH-003", W)]


def test_nesting_deeper_than_the_json_parsers_recurse_goes_through_every_rule():
    """5000 levels are JSON: no RPC-001; deep in customData they are fine, as an evse SCH-001."""
    wire = booted()
    deep = "[" * 5_000 + "]" * 5_000
    payload = json.dumps({key: value for key, value in tx_started(wire).items() if key != "evse"})
    wire.raw(f'[2,"{uid(1)}","TransactionEvent",{payload[:-1]}, "evse": {deep}}}]')
    wire.wait(0.1).raw(f'[3,"{uid(1)}",{{"customData":{{"vendorId":"v","d":{deep}}}}}]', "csms")

    findings = run(wire.events)

    assert "RPC-001" not in [finding.rule_id for finding in findings]
    assert any(
        finding.rule_id == "SCH-001" and "TransactionEventRequest" in finding.message
        for finding in findings
    )


# ---- memory: what is remembered of answered and timed-out CALLs ---------------------------------


@pytest.mark.parametrize("answer", ["in time", "late"])
def test_remembered_calls_do_not_keep_big_payloads(answer):
    """64 answered (or timed-out) CALLs per sender are remembered to name repeated and late
    answers; with 1 MiB payloads each, keeping them whole held 64 MiB per station."""
    monitor, wire = Monitor(), booted()
    tracemalloc.start()
    try:
        for number in range(REMEMBERED_RESPONSES):
            data = {"vendorId": "ocppscope", "data": "x" * 1024 * 1024}
            wire.call("DataTransfer", data, message_id=uid(number))
            wire.result({"status": "Accepted"}, after=40 if answer == "late" else 0.05)
            del data
            for event in wire.events:
                monitor.feed(event)
            wire.events.clear()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 4 * 1024 * 1024, f"{held / 2**20:.0f} MiB held"
