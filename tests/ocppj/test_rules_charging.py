"""SC group: SetChargingProfile against the K01 rules, the station's answer, reasonCode lengths."""

from __future__ import annotations

import json
from typing import Any

import pytest

from proxy.ocppj.findings import Severity
from tests.ocppj.wire import Wire, rule_ids, rule_severities, run

TX_ID = "7c2e9f41-5b8a-4d03-9e6f-2a1b8c7d4e50"
OTHER_TX_ID = "d4a0b7e3-16c9-4f52-8a2d-9e3f1b6c0a78"
TOKEN = {"idToken": "04C3D2E1F0A5B6", "type": "ISO14443"}
E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO
SMART = {"name": "SmartChargingCtrlr"}


def period(start: int, limit: float = 16.0, **extra: Any) -> dict[str, Any]:
    return {"startPeriod": start, "limit": limit, **extra}


def profile(
    purpose: str = "TxProfile",
    kind: str = "Relative",
    periods: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A profile as a CSMS sends it: 16 A, then 10 A after an hour unless `periods` says."""
    schedule: dict[str, Any] = {
        "id": 1,
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": periods or [period(0), period(3600, 10.0)],
    }
    if kind != "Relative":
        schedule["startSchedule"] = "2026-02-01T08:00:00.000Z"
    body: dict[str, Any] = {
        "id": 401,
        "stackLevel": 1,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": [schedule],
        **extra,
    }
    if purpose == "TxProfile" and "transactionId" not in extra:
        body["transactionId"] = TX_ID
    return body


def set_profile(
    wire: Wire, body: dict[str, Any], evse_id: int = 1, status: str = "Rejected"
) -> Wire:
    wire.call("SetChargingProfile", {"evseId": evse_id, "chargingProfile": body}, sender="csms")
    answer: dict[str, Any] = {"status": status}
    if status == "Rejected":
        answer["statusInfo"] = {"reasonCode": "InvalidSchedule"}
    return wire.result(answer, sender="charger", after=0.2)


def charging(transaction_id: str = TX_ID, evse_id: int = 1) -> Wire:
    """Booted, a transaction started on `evse_id` and acknowledged."""
    wire = Wire().boot()
    payload = {
        "eventType": "Started",
        "timestamp": wire.time(),
        "triggerReason": "Authorized",
        "seqNo": 0,
        "transactionInfo": {"transactionId": transaction_id, "chargingState": "Charging"},
        "evse": {"id": evse_id, "connectorId": 1},
        "idToken": TOKEN,
    }
    wire.wait(2).call("TransactionEvent", payload).result({"idTokenInfo": {"status": "Accepted"}})
    return wire.wait(3)


def ended(wire: Wire, transaction_id: str = TX_ID) -> Wire:
    payload = {
        "eventType": "Ended",
        "timestamp": wire.time(),
        "triggerReason": "StopAuthorized",
        "seqNo": 1,
        "transactionInfo": {
            "transactionId": transaction_id,
            "chargingState": "EVConnected",
            "stoppedReason": "Local",
        },
        "idToken": TOKEN,
    }
    return wire.call("TransactionEvent", payload).result({"idTokenInfo": {"status": "Accepted"}})


def learn(wire: Wire, variable: str, value: str) -> Wire:
    """GetVariables(SmartChargingCtrlr.<variable>) answered with `value`."""
    query = {"component": SMART, "variable": {"name": variable}}
    wire.call("GetVariables", {"getVariableData": [query]}, sender="csms")
    answer = {"attributeStatus": "Accepted", "attributeValue": value, **query}
    return wire.result({"getVariableResult": [answer]}, sender="charger", after=0.2)


# ---- compliant profiles -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "evse_id"),
    [
        (profile(), 1),
        (profile("TxDefaultProfile"), 0),
        (profile("TxDefaultProfile", "Recurring", recurrencyKind="Daily"), 1),
        (profile("ChargingStationMaxProfile", "Absolute"), 0),
        (profile(periods=[period(0, 32.0, numberPhases=1, phaseToUse=2)]), 1),
    ],
)
def test_compliant_profiles_accepted(body, evse_id):
    wire = set_profile(charging(), body, evse_id, status="Accepted")
    assert run(wire.events) == []


# ---- SC-001: TxProfile and its transaction ------------------------------------------------------


def test_tx_profile_without_transaction_id():
    body = profile()
    del body["transactionId"]
    wire = set_profile(charging(), body)
    assert rule_severities(run(wire.events)) == [("SC-001", E)]


def test_tx_profile_for_evse_zero():
    wire = set_profile(charging(), profile(), evse_id=0)
    assert rule_severities(run(wire.events)) == [("SC-001", W)]


def test_tx_profile_on_another_evse_than_its_transaction():
    wire = set_profile(charging(evse_id=2), profile(), evse_id=1)
    findings = run(wire.events)
    assert rule_severities(findings) == [("SC-001", W)]
    assert "runs on EVSE 2" in findings[0].message


def test_tx_profile_for_another_transaction_than_the_one_running():
    wire = set_profile(charging(), profile(transactionId=OTHER_TX_ID))
    assert rule_severities(run(wire.events)) == [("SC-001", W)]


def test_tx_profile_for_an_unknown_transaction_is_not_judged():
    """A transaction begun before the observation: the station knows, the observer does not."""
    wire = set_profile(Wire().boot(), profile(transactionId=OTHER_TX_ID), status="Accepted")
    assert run(wire.events) == []


def test_station_accepting_a_broken_tx_profile_is_warned_too():
    body = profile()
    del body["transactionId"]
    wire = set_profile(charging(), body, status="Accepted")
    findings = run(wire.events)
    assert rule_severities(findings) == [("SC-001", E), ("SC-001", W)]
    assert findings[1].direction is not None and findings[1].direction.sender == "station"


# ---- SC-002: ChargingStationMaxProfile ----------------------------------------------------------


def test_station_max_profile_on_an_evse():
    wire = set_profile(charging(), profile("ChargingStationMaxProfile", "Absolute"), evse_id=1)
    assert rule_severities(run(wire.events)) == [("SC-002", E)]


def test_relative_station_max_profile():
    wire = set_profile(charging(), profile("ChargingStationMaxProfile"), evse_id=0)
    assert rule_severities(run(wire.events)) == [("SC-002", E)]


# ---- SC-003: schedule periods --------------------------------------------------------------------


def test_first_period_not_at_zero():
    wire = set_profile(charging(), profile(periods=[period(60), period(3600)]))
    assert rule_severities(run(wire.events)) == [("SC-003", E)]


def test_periods_not_strictly_increasing():
    wire = set_profile(charging(), profile(periods=[period(0), period(1800), period(1800, 8.0)]))
    findings = run(wire.events)
    assert rule_severities(findings) == [("SC-003", E)]
    assert "[0, 1800, 1800]" in findings[0].message


# ---- SC-004: startSchedule and phases ------------------------------------------------------------


def test_absolute_profile_without_start_schedule():
    body = profile("TxDefaultProfile", "Absolute")
    del body["chargingSchedule"][0]["startSchedule"]
    wire = set_profile(charging(), body, evse_id=0)
    assert rule_severities(run(wire.events)) == [("SC-004", W)]


def test_relative_profile_with_start_schedule():
    body = profile()
    body["chargingSchedule"][0]["startSchedule"] = "2026-02-01T08:00:00.000Z"
    wire = set_profile(charging(), body)
    assert rule_severities(run(wire.events)) == [("SC-004", W)]


def test_phase_to_use_with_three_phases():
    wire = set_profile(charging(), profile(periods=[period(0, 16.0, numberPhases=3, phaseToUse=1)]))
    assert rule_severities(run(wire.events)) == [("SC-004", W)]


def test_phase_to_use_on_a_station_that_cannot_switch_phases():
    wire = learn(charging(), "ACPhaseSwitchingSupported", "false")
    set_profile(wire, profile(periods=[period(0, 32.0, numberPhases=1, phaseToUse=2)]))
    findings = run(wire.events)
    assert rule_severities(findings) == [("SC-004", W)]
    assert "ACPhaseSwitchingSupported false" in findings[0].message


# ---- SC-005: external constraints, stations without smart charging -------------------------------


def test_csms_sends_external_constraints():
    body = profile("ChargingStationExternalConstraints", "Absolute")
    wire = set_profile(charging(), body, evse_id=0)
    assert rule_severities(run(wire.events)) == [("SC-005", W)]


def test_station_without_smart_charging_answers_with_a_result():
    wire = learn(charging(), "Available", "false")
    set_profile(wire, profile(), status="Rejected")
    assert rule_severities(run(wire.events)) == [("SC-005", W)]


def test_station_without_smart_charging_answers_not_supported():
    wire = learn(charging(), "Available", "false")
    wire.call("SetChargingProfile", {"evseId": 1, "chargingProfile": profile()}, sender="csms")
    wire.error("NotSupported", sender="charger", after=0.2)
    assert run(wire.events) == []


# ---- SC-006: stack level, TxProfile of an ended transaction --------------------------------------


def test_tx_profile_for_an_ended_transaction():
    wire = set_profile(ended(charging()).wait(5), profile())
    assert rule_severities(run(wire.events)) == [("SC-006", N)]


def test_station_accepting_a_tx_profile_for_an_ended_transaction():
    wire = set_profile(ended(charging()).wait(5), profile(), status="Accepted")
    assert rule_severities(run(wire.events)) == [("SC-006", N), ("SC-006", W)]


def test_stack_level_above_the_station_maximum():
    wire = learn(charging(), "ProfileStackLevel", "3")
    set_profile(wire, profile(stackLevel=4))
    assert rule_severities(run(wire.events)) == [("SC-006", N)]


def test_stack_level_at_the_station_maximum():
    wire = learn(charging(), "ProfileStackLevel", "3")
    set_profile(wire, profile(stackLevel=3), status="Accepted")
    assert run(wire.events) == []


# ---- SC-007: reasonCode length ------------------------------------------------------------------


def test_pre_errata_reason_code_is_named_next_to_the_schema_error():
    wire = charging()
    wire.call("SetChargingProfile", {"evseId": 1, "chargingProfile": profile()}, sender="csms")
    answer = {"status": "Rejected", "statusInfo": {"reasonCode": "MissingDeviceModelInfo"}}
    wire.result(answer, sender="charger", after=0.2)
    findings = run(wire.events)
    assert rule_severities(findings) == [("SC-007", N), ("SCH-001", E)]
    assert "MissingDevModelInfo" in findings[0].message


def test_long_reason_code_in_an_answer_to_an_unseen_call():
    """The capture began after the CSMS's CALL: no schema to check the answer by, SC-007 does."""
    wire = charging()
    answer = {"status": "Rejected", "statusInfo": {"reasonCode": "InvalidMessageSequence"}}
    wire.raw(json.dumps([3, "cs-4d1f", answer]))
    findings = run(wire.events)
    assert rule_severities(findings) == [("SC-007", E), ("RPC-006", E)]
    assert "22 characters" in findings[0].message


def test_errata_reason_code_in_an_answer_to_an_unseen_call():
    wire = charging()
    answer = {"status": "Rejected", "statusInfo": {"reasonCode": "InvalidMessageSeq"}}
    wire.raw(json.dumps([3, "cs-4d1f", answer]))
    assert rule_ids(run(wire.events)) == ["RPC-006"]
