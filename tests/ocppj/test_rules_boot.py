"""BOOT group: the registration gate (B02/B03), retry intervals, TriggerMessage(Boot), clocks."""

from __future__ import annotations

import pytest

from proxy.ocppj.findings import Finding, Severity
from tests.ocppj.wire import Wire, rule_ids, run

E, W = Severity.ERROR, Severity.WARNING

KEMPOWER_BOOT = {
    "reason": "PowerUp",
    "chargingStation": {
        "vendorName": "Kempower",
        "model": "S-Series Satellite",
        "serialNumber": "KPS2204711",
        "firmwareVersion": "1.32.4",
        "modem": {"iccid": "89358151000012345678", "imsi": "244051234567890"},
    },
}


def graded(findings: list[Finding]) -> list[tuple[str, Severity]]:
    return [(finding.rule_id, finding.severity) for finding in findings]


def status_notification(wire: Wire, status: str = "Available", evse: int = 1) -> Wire:
    payload = {
        "timestamp": wire.time(),
        "connectorStatus": status,
        "evseId": evse,
        "connectorId": 1,
    }
    return wire.call("StatusNotification", payload)


def transaction_started(wire: Wire) -> Wire:
    payload = {
        "eventType": "Started",
        "timestamp": wire.time(),
        "triggerReason": "CablePluggedIn",
        "seqNo": 0,
        "transactionInfo": {
            "transactionId": "6f1c2a9e-3b7d-4e58-a0c4-91d2e8f7b350",
            "chargingState": "EVConnected",
        },
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [
            {
                "timestamp": wire.time(),
                "sampledValue": [
                    {
                        "value": 18452.31,
                        "context": "Transaction.Begin",
                        "measurand": "Energy.Active.Import.Register",
                        "unitOfMeasure": {"unit": "kWh"},
                    }
                ],
            }
        ],
    }
    return wire.call("TransactionEvent", payload)


def trigger(wire: Wire, requested: str, **extra: object) -> Wire:
    return wire.call("TriggerMessage", {"requestedMessage": requested, **extra}, sender="csms")


def answer(wire: Wire, payload: dict) -> Wire:
    """The station's CALLRESULT to the CSMS's latest CALL."""
    return wire.result(payload, sender="charger", after=0.3)


# ---- BOOT-001: nothing but BootNotification before Accepted ---------------------------------


def test_accepted_station_reports_status_and_heartbeats_freely():
    wire = Wire().boot()
    status_notification(wire).result({})
    wire.wait(30).heartbeat()
    assert run(wire.events) == []


def test_traffic_without_any_boot_warns_once():
    wire = Wire().open()
    status_notification(wire).result({})
    wire.wait(20).heartbeat()
    status_notification(wire.wait(5), "Occupied").result({})
    assert graded(run(wire.events)) == [("BOOT-001", W)]


def test_traffic_without_any_boot_says_none_was_seen():
    wire = Wire().open()
    status_notification(wire).result({})
    [finding] = run(wire.events)
    assert finding.message == (
        "StatusNotification before any BootNotification was seen; "
        "fine only if the station was accepted before this observation began"
    )
    assert finding.details == {"registration": "none"}


def test_traffic_after_an_unanswered_boot_says_it_is_not_answered_yet():
    """The station boots, and 2.5 s later, before the CSMS answered, reports its connector."""
    wire = Wire().open()
    sent = wire.time()
    wire.call("BootNotification", KEMPOWER_BOOT, message_id="boot-1")
    status_notification(wire.wait(2.5)).result({})
    status_notification(wire.wait(1), "Occupied").result({})
    wire.wait(0.5).result(
        {"currentTime": wire.time(), "interval": 300, "status": "Accepted"}, message_id="boot-1"
    )
    wire.wait(30).heartbeat()

    findings = run(wire.events)
    assert rule_ids(findings) == ["RPC-007", "BOOT-001", "RPC-007"]  # one BOOT-001 per boot
    finding = findings[1]
    assert finding.severity is E
    assert finding.message == (
        f"StatusNotification sent 2.5 s after the BootNotification of {sent}, which the CSMS "
        "has not answered yet; the station must wait for an Accepted answer"
    )
    assert finding.details == {"registration": "unanswered", "boot_sent_at": sent, "waited": 2.5}


def test_boot_unanswered_on_an_earlier_connection():
    """The first connection drops before the CSMS answers; the station goes on without booting."""
    wire = Wire().open()
    sent = wire.time()
    wire.call("BootNotification", KEMPOWER_BOOT)
    wire.wait(10).close(1006)
    wire.wait(5).open()
    status_notification(wire.wait(1)).result({})

    [finding] = [f for f in run(wire.events) if f.rule_id == "BOOT-001"]
    assert finding.severity is E
    assert finding.message == (
        "StatusNotification on a connection without BootNotification; the BootNotification "
        f"of {sent}, sent 16.0 s earlier on another connection, was never answered"
    )
    assert finding.details == {"registration": "none", "boot_sent_at": sent, "waited": 16.0}


def test_messages_after_the_boot_was_answered_accepted_are_fine():
    wire = Wire().open()
    wire.call("BootNotification", KEMPOWER_BOOT)
    wire.result({"currentTime": wire.time(1.2), "interval": 300, "status": "Accepted"}, after=1.2)
    status_notification(wire.wait(0.1)).result({})
    assert run(wire.events) == []


def test_pending_and_rejected_are_named_in_details():
    pending = Wire().boot(status="Pending", interval=60)
    status_notification(pending.wait(1)).error("SecurityError")
    [finding] = run(pending.events)
    assert finding.details == {"registration": "Pending"}
    assert "while registration is Pending" in finding.message

    rejected = Wire().boot(status="Rejected", interval=10)
    status_notification(rejected.wait(20)).error("SecurityError")
    [finding] = run(rejected.events)
    assert finding.details == {"registration": "Rejected"}
    assert "while Rejected: the station must send a new BootNotification first" in finding.message


def test_status_notification_while_pending_is_an_error():
    wire = Wire().boot(status="Pending", interval=60)
    status_notification(wire.wait(1)).error("SecurityError")
    assert graded(run(wire.events)) == [("BOOT-001", E)]


def test_transaction_event_while_pending_is_an_error():
    wire = Wire().boot(status="Pending", interval=60)
    transaction_started(wire.wait(2)).result({})
    assert graded(run(wire.events)) == [("BOOT-001", E), ("BOOT-001", W)]


def test_transaction_event_while_pending_refused_with_security_error():
    wire = Wire().boot(status="Pending", interval=60)
    transaction_started(wire.wait(2)).error("SecurityError")
    assert graded(run(wire.events)) == [("BOOT-001", E)]


def test_notify_report_while_pending_is_allowed():
    wire = Wire().boot(status="Pending", interval=60)
    wire.wait(1).call(
        "GetBaseReport", {"requestId": 3001, "reportBase": "ConfigurationInventory"}, "csms"
    )
    answer(wire, {"status": "Accepted"})
    report = {
        "requestId": 3001,
        "generatedAt": wire.time(),
        "seqNo": 0,
        "reportData": [
            {
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "HeartbeatInterval"},
                "variableAttribute": [
                    {"type": "Actual", "value": "300", "mutability": "ReadWrite"}
                ],
                "variableCharacteristics": {"dataType": "integer", "supportsMonitoring": False},
            }
        ],
    }
    wire.wait(0.5).call("NotifyReport", report).result({})
    assert run(wire.events) == []


def test_triggered_status_notification_while_pending_is_allowed():
    wire = Wire().boot(status="Pending", interval=60)
    trigger(wire.wait(1), "StatusNotification", evse={"id": 1, "connectorId": 1})
    answer(wire, {"status": "Accepted"})
    status_notification(wire.wait(0.2)).result({})
    assert run(wire.events) == []


def test_call_while_rejected_after_the_interval_needs_a_new_boot_first():
    wire = Wire().boot(status="Rejected", interval=30)
    wire.wait(45).call("Heartbeat", {}).error("SecurityError")
    assert graded(run(wire.events)) == [("BOOT-001", E)]


def test_csms_answering_a_forbidden_call_with_callresult_is_warned():
    wire = Wire().boot(status="Pending", interval=60)
    wire.wait(5).heartbeat()
    assert graded(run(wire.events)) == [("BOOT-001", E), ("BOOT-001", W)]


def test_csms_answering_a_forbidden_call_with_another_callerror_is_warned():
    wire = Wire().boot(status="Pending", interval=60)
    status_notification(wire.wait(1)).error("GenericError", description="station not accepted")
    assert graded(run(wire.events)) == [("BOOT-001", E), ("BOOT-001", W)]


def test_csms_answering_a_forbidden_call_with_security_error_is_fine():
    wire = Wire().boot(status="Rejected", interval=30)
    status_notification(wire.wait(40)).error("SecurityError", description="not registered")
    assert graded(run(wire.events)) == [("BOOT-001", E)]


# ---- BOOT-002: silence while Rejected ---------------------------------------------------------


def test_station_sending_while_rejected_before_the_interval():
    wire = Wire().boot(status="Rejected", interval=300)
    status_notification(wire.wait(10)).error("SecurityError")
    assert rule_ids(run(wire.events)) == ["BOOT-002"]


def test_csms_initiating_a_call_after_rejecting():
    wire = Wire().boot(status="Rejected", interval=300)
    wire.wait(5).call(
        "GetVariables",
        {
            "getVariableData": [
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
            ]
        },
        sender="csms",
    )
    wire.error("SecurityError", sender="charger", description="not accepted", after=0.2)
    assert rule_ids(run(wire.events)) == ["BOOT-002"]


def test_rejected_station_reconnects_and_boots_after_the_interval():
    wire = Wire().boot(status="Rejected", interval=60)
    wire.wait(1).close(1000, closed_by="charger")
    wire.wait(60).boot()
    status_notification(wire).result({})
    assert run(wire.events) == []


# ---- BOOT-003: the retry interval after Pending/Rejected --------------------------------------


def test_reboot_before_the_pending_interval():
    wire = Wire().boot(status="Pending", interval=60)
    wire.wait(20).boot_again(status="Pending", interval=60)
    assert rule_ids(run(wire.events)) == ["BOOT-003"]


def test_reboot_before_the_rejected_interval():
    wire = Wire().boot(status="Rejected", interval=120)
    wire.wait(30).boot_again(status="Accepted")
    assert rule_ids(run(wire.events)) == ["BOOT-003"]


def test_triggered_reboot_before_the_interval_is_exempt():
    wire = Wire().boot(status="Pending", interval=60)
    trigger(wire.wait(5), "BootNotification")
    answer(wire, {"status": "Accepted"})
    wire.wait(0.5).boot_again(status="Accepted", reason="Triggered")
    assert run(wire.events) == []


def test_reboot_after_the_pending_interval():
    wire = Wire().boot(status="Pending", interval=60)
    wire.wait(60).boot_again(status="Accepted")
    status_notification(wire).result({})
    assert run(wire.events) == []


# ---- BOOT-005: TriggerMessage(BootNotification) once Accepted ---------------------------------


def test_station_accepting_trigger_boot_while_accepted():
    wire = Wire().boot()
    trigger(wire.wait(10), "BootNotification")
    answer(wire, {"status": "Accepted"})
    wire.wait(0.5).boot_again(reason="Triggered")
    assert rule_ids(run(wire.events)) == ["BOOT-005"]


def test_station_rejecting_trigger_boot_while_accepted():
    wire = Wire().boot()
    trigger(wire.wait(10), "BootNotification")
    answer(wire, {"status": "Rejected"})
    assert run(wire.events) == []


# ---- BOOT-009: the CSMS clock ------------------------------------------------------------------


def kempower_boot(wire: Wire, clock_offset: float) -> Wire:
    wire.open().call("BootNotification", KEMPOWER_BOOT)
    current = wire.time(0.05 + clock_offset)
    return wire.result({"currentTime": current, "interval": 30, "status": "Accepted"})


def test_boot_response_clock_ten_seconds_ahead():
    wire = kempower_boot(Wire("KEMPOWER-KPS2204711"), clock_offset=10)
    assert rule_ids(run(wire.events)) == ["BOOT-009"]


def test_heartbeat_response_clock_six_seconds_behind():
    wire = kempower_boot(Wire("KEMPOWER-KPS2204711"), clock_offset=0)
    wire.wait(30).call("Heartbeat", {})
    wire.result({"currentTime": wire.time(0.05 - 6)})
    assert rule_ids(run(wire.events)) == ["BOOT-009"]


def test_clocks_within_four_seconds_agree():
    wire = kempower_boot(Wire("KEMPOWER-KPS2204711"), clock_offset=3)
    wire.wait(30).call("Heartbeat", {})
    wire.result({"currentTime": wire.time(0.05 - 3.5)})
    assert run(wire.events) == []


def test_current_time_with_a_utc_offset_is_compared_as_the_same_instant():
    wire = kempower_boot(Wire("KEMPOWER-KPS2204711"), clock_offset=0)
    wire.wait(30).call("Heartbeat", {})
    # 09:00:30.050+01:00 is 08:00:30.050Z, the observer's time of the response.
    wire.result({"currentTime": "2026-02-01T09:00:30.050+01:00"})
    assert run(wire.events) == []


# ---- BOOT-004: a Pending station answers the CSMS ------------------------------------------

REMOTE_START = {
    "idToken": {"idToken": "7C3F21A9", "type": "Central"},
    "remoteStartId": 4711,
    "evseId": 1,
}
GET_HEARTBEAT_INTERVAL = {
    "getVariableData": [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    ]
}
HEARTBEAT_INTERVAL_RESULT = {
    "getVariableResult": [
        {
            "attributeStatus": "Accepted",
            "attributeValue": "300",
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "HeartbeatInterval"},
        }
    ]
}


def test_pending_station_accepting_a_remote_start():
    wire = Wire().boot(status="Pending", interval=60)
    wire.wait(5).call("RequestStartTransaction", REMOTE_START, sender="csms")
    answer(wire, {"status": "Accepted"})
    findings = run(wire.events)
    assert graded(findings) == [("BOOT-004", W)]
    assert "RequestStartTransaction with Accepted while its registration is Pending" in (
        findings[0].message
    )


def test_pending_station_refusing_get_variables_with_security_error():
    wire = Wire().boot(status="Pending", interval=60)
    wire.wait(5).call("GetVariables", GET_HEARTBEAT_INTERVAL, sender="csms")
    wire.error("SecurityError", sender="charger", after=0.2)
    assert graded(run(wire.events)) == [("BOOT-004", W)]


def test_pending_station_answers_get_variables_and_rejects_remote_start():
    wire = Wire().boot(status="Pending", interval=60)
    wire.wait(5).call("GetVariables", GET_HEARTBEAT_INTERVAL, sender="csms")
    answer(wire, HEARTBEAT_INTERVAL_RESULT)
    wire.wait(2).call("RequestStartTransaction", REMOTE_START, sender="csms")
    answer(wire, {"status": "Rejected"})
    wire.wait(55).boot_again()
    assert run(wire.events) == []


def test_accepted_station_may_accept_a_remote_start():
    wire = Wire().boot()
    wire.wait(5).call("RequestStartTransaction", REMOTE_START, sender="csms")
    answer(wire, {"status": "Accepted"})
    assert "BOOT-004" not in rule_ids(run(wire.events))


# ---- BOOT-006 / BOOT-008: every connector reported after a boot or a long outage ------------


def two_evses_known() -> Wire:
    """A two-EVSE station boots and reports both connectors; the CSMS sets OfflineThreshold."""
    wire = Wire().boot()
    status_notification(wire.wait(1), evse=1).result({})
    status_notification(wire.wait(0.2), evse=2).result({})
    set_variables = {
        "setVariableData": [
            {
                "attributeValue": "60",
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "OfflineThreshold"},
            }
        ]
    }
    wire.wait(5).call("SetVariables", set_variables, sender="csms")
    result = {key: value for key, value in set_variables["setVariableData"][0].items()}
    del result["attributeValue"]
    answer(wire, {"setVariableResult": [{"attributeStatus": "Accepted", **result}]})
    return wire.wait(20).heartbeat()


def heartbeats(wire: Wire, seconds: float) -> Wire:
    """Quiet time with a Heartbeat every 25 s (HeartbeatInterval 30 s)."""
    for _ in range(int(seconds // 25) + 1):
        wire.wait(25).heartbeat()
    return wire


def availability_event(wire: Wire, evse: int) -> Wire:
    """The connector's status as a NotifyEvent of Connector.AvailabilityState."""
    payload = {
        "generatedAt": wire.time(),
        "seqNo": 0,
        "eventData": [
            {
                "eventId": 1,
                "timestamp": wire.time(),
                "trigger": "Delta",
                "actualValue": "Available",
                "component": {"name": "Connector", "evse": {"id": evse, "connectorId": 1}},
                "variable": {"name": "AvailabilityState"},
                "eventNotificationType": "HardWiredNotification",
            }
        ],
    }
    return wire.call("NotifyEvent", payload).result({})


def test_boot006_connector_left_out_after_a_reboot():
    wire = two_evses_known()
    wire.wait(10).close(1006).wait(25).boot(reason="PowerUp")  # a power cut
    status_notification(wire.wait(0.5), evse=1).result({})
    heartbeats(wire, 60)
    findings = run(wire.events)
    assert graded(findings) == [("BOOT-006", W)]
    assert findings[0].message.startswith("no status for EVSE 2 connector 1 within 60 s after")


def test_boot006_every_connector_reported_after_a_reboot():
    wire = two_evses_known()
    wire.wait(10).close(1006).wait(25).boot(reason="PowerUp")
    status_notification(wire.wait(0.5), evse=1).result({})
    availability_event(wire.wait(0.2), evse=2)
    heartbeats(wire, 60)
    assert run(wire.events) == []


def test_boot006_triggered_boot_needs_no_status():
    wire = two_evses_known()
    trigger(wire.wait(5), "BootNotification")
    answer(wire, {"status": "Rejected"})
    wire.wait(1).boot_again(reason="Triggered")
    heartbeats(wire, 60)
    assert "BOOT-006" not in rule_ids(run(wire.events))


def test_boot008_long_outage_reports_one_connector_of_two():
    wire = two_evses_known()
    wire.wait(10).close(1006).wait(90).open()  # 90 s offline, OfflineThreshold 60 s
    wire.wait(0.5).heartbeat()
    status_notification(wire.wait(0.5), evse=2).result({})
    findings = run(heartbeats(wire, 60).events)
    assert graded(findings) == [("BOOT-008", W)]
    assert "EVSE 1 connector 1" in findings[0].message
    assert "reconnecting from 90 s offline (OfflineThreshold 60 s)" in findings[0].message


def test_boot008_short_outage_needs_no_status():
    wire = two_evses_known()
    wire.wait(10).close(1006).wait(30).open()  # back within OfflineThreshold
    assert run(heartbeats(wire.wait(0.5).heartbeat(), 60).events) == []


def test_boot008_long_outage_with_every_connector_reported():
    wire = two_evses_known()
    wire.wait(10).close(1006).wait(90).open()
    status_notification(wire.wait(0.5), evse=1).result({})
    status_notification(wire.wait(0.2), evse=2).result({})
    assert run(heartbeats(wire, 60).events) == []


# ---- BOOT-007: no BootNotification on a mere reconnect ----------------------------------------


@pytest.mark.parametrize("reason", ["Unknown", "RemoteReset"])
def test_boot007_unchanged_boot_on_a_reconnect(reason: str):
    """Lost connection, back 10 s later with the same BootNotification; no reset was asked for."""
    wire = Wire().boot().wait(30).heartbeat()
    wire.wait(5).close(1006).wait(10).boot(reason=reason)
    findings = run(wire.events)
    assert graded(findings) == [("BOOT-007", Severity.INFO)]
    assert f"(reason {reason}) on a reconnect after a lost connection" in findings[0].message


def test_boot007_boot_after_a_requested_reset_is_fine():
    wire = Wire().boot().wait(30).heartbeat()
    wire.wait(5).call("Reset", {"type": "Immediate"}, sender="csms")
    answer(wire, {"status": "Accepted"})
    wire.wait(1).close(1006).wait(20).boot(reason="RemoteReset")
    assert run(wire.events) == []


def test_boot007_power_up_after_a_lost_connection_may_be_a_power_cut():
    wire = Wire().boot().wait(30).heartbeat()
    wire.wait(5).close(1006).wait(10).boot(reason="PowerUp")
    assert run(wire.events) == []


def test_boot007_station_not_yet_accepted_boots_again_on_a_reconnect():
    """Pending, the CSMS drops the connection: the station must register again."""
    wire = Wire().boot(status="Pending", interval=20)
    wire.wait(5).close(1000, closed_by="csms").wait(20).boot(reason="Unknown")
    assert run(wire.events) == []
