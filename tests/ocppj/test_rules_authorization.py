"""AUTH group: idTokens the station authorizes, the CSMS's verdicts and remote starts."""

from __future__ import annotations

from typing import Any

import pytest

from proxy.ocppj.findings import Severity
from tests.ocppj.wire import Wire, rule_severities, run

TX_ID = "5b8e1c3a-9f24-4d67-b0a1-3c7e9d2f6a14"
RFID = {"idToken": "04A7B3C2D1E0F9", "type": "ISO14443"}
APP = {"idToken": "APP-7F3K2Q9M", "type": "Central"}
REMOTE_START_ID = 88124
W, N = Severity.WARNING, Severity.INFO


def authorize(wire: Wire, token: dict[str, str], status: str = "Accepted") -> Wire:
    wire.call("Authorize", {"idToken": token})
    return wire.result({"idTokenInfo": {"status": status}}, after=0.2)


def started(wire: Wire, token: dict[str, str], trigger: str = "Authorized", **info: Any) -> Wire:
    payload = {
        "eventType": "Started",
        "timestamp": wire.time(),
        "triggerReason": trigger,
        "seqNo": 0,
        "transactionInfo": {"transactionId": TX_ID, "chargingState": "Charging", **info},
        "evse": {"id": 1, "connectorId": 1},
        "idToken": token,
    }
    wire.call("TransactionEvent", payload)
    return wire.result({"idTokenInfo": {"status": "Accepted"}})


def authorize_remote_start(wire: Wire, value: str) -> Wire:
    """SetVariables(AuthCtrlr.AuthorizeRemoteStart) accepted by the station."""
    data = {
        "attributeValue": value,
        "component": {"name": "AuthCtrlr"},
        "variable": {"name": "AuthorizeRemoteStart"},
    }
    wire.call("SetVariables", {"setVariableData": [data]}, sender="csms")
    result = {
        "attributeStatus": "Accepted",
        "component": data["component"],
        "variable": data["variable"],
    }
    return wire.result({"setVariableResult": [result]}, sender="charger", after=0.3)


def remote_start(wire: Wire, token: dict[str, str]) -> Wire:
    payload = {"idToken": token, "remoteStartId": REMOTE_START_ID, "evseId": 1}
    wire.call("RequestStartTransaction", payload, sender="csms")
    return wire.result({"status": "Accepted"}, sender="charger", after=0.3)


def test_card_authorized_then_charging():
    wire = Wire().boot()
    started(authorize(wire.wait(3), RFID).wait(2), RFID)
    assert run(wire.events) == []


# ---- AUTH-002: tokens not authorized online -----------------------------------------------------


@pytest.mark.parametrize("kind", ["Central", "NoAuthorization"])
def test_authorize_for_a_token_not_authorized_online(kind):
    token = {"idToken": "" if kind == "NoAuthorization" else "APP-7F3K2Q9M", "type": kind}
    wire = authorize(Wire().boot().wait(3), token)
    assert rule_severities(run(wire.events)) == [("AUTH-002", W)]


# ---- AUTH-003: a refused token does not start charging ------------------------------------------


def test_transaction_authorized_for_a_blocked_token():
    wire = Wire().boot()
    started(authorize(wire.wait(3), RFID, status="Blocked").wait(2), RFID)
    findings = run(wire.events)
    assert rule_severities(findings) == [("AUTH-003", W)]
    assert "Blocked" in findings[0].message


def test_token_refused_then_accepted_again():
    wire = Wire().boot()
    authorize(wire.wait(3), RFID, status="Expired")
    authorize(wire.wait(25), RFID)  # the driver tries again
    started(wire.wait(2), RFID)
    assert run(wire.events) == []


def test_token_case_does_not_matter():
    wire = Wire().boot()
    authorize(wire.wait(3), RFID, status="Invalid")
    started(wire.wait(2), {**RFID, "idToken": RFID["idToken"].lower()})
    assert rule_severities(run(wire.events)) == [("AUTH-003", W)]


def test_offline_start_with_a_refused_token_is_not_judged():
    """Offline the station decides alone (local authorization, unknown-id settings)."""
    wire = Wire().boot()
    authorize(wire.wait(3), RFID, status="Blocked")
    payload = {
        "eventType": "Started",
        "timestamp": wire.time(),
        "triggerReason": "Authorized",
        "seqNo": 0,
        "offline": True,
        "transactionInfo": {"transactionId": TX_ID},
        "evse": {"id": 1, "connectorId": 1},
        "idToken": RFID,
    }
    wire.wait(2).call("TransactionEvent", payload).result({"idTokenInfo": {"status": "Blocked"}})
    assert "AUTH-003" not in [finding.rule_id for finding in run(wire.events)]


# ---- AUTH-004: remote start and AuthorizeRemoteStart ---------------------------------------------


def test_remote_start_without_authorize_although_required():
    wire = authorize_remote_start(Wire().boot().wait(2), "true")
    remote_start(wire.wait(5), RFID)
    started(wire.wait(1), RFID, trigger="RemoteStart", remoteStartId=REMOTE_START_ID)
    assert rule_severities(run(wire.events)) == [("AUTH-004", N)]


def test_remote_start_authorized_as_required():
    wire = authorize_remote_start(Wire().boot().wait(2), "true")
    remote_start(wire.wait(5), RFID)
    authorize(wire.wait(0.5), RFID)
    started(wire.wait(1), RFID, trigger="RemoteStart", remoteStartId=REMOTE_START_ID)
    assert run(wire.events) == []


def test_remote_start_authorized_although_not_required():
    wire = authorize_remote_start(Wire().boot().wait(2), "false")
    remote_start(wire.wait(5), RFID)
    authorize(wire.wait(0.5), RFID)
    started(wire.wait(1), RFID, trigger="RemoteStart", remoteStartId=REMOTE_START_ID)
    assert rule_severities(run(wire.events)) == [("AUTH-004", N)]


def test_remote_start_with_central_token_needs_no_authorize():
    wire = authorize_remote_start(Wire().boot().wait(2), "true")
    remote_start(wire.wait(5), APP)
    started(wire.wait(1), APP, trigger="RemoteStart", remoteStartId=REMOTE_START_ID)
    assert run(wire.events) == []


# ---- AUTH-005: token formats ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        {"idToken": "TAG-7", "type": "ISO14443"},
        {"idToken": "04A7B3C2D1E0", "type": "ISO14443"},
        {"idToken": "E004010012345", "type": "ISO15693"},
        {"idToken": "DE*8AC*C12E45*6", "type": "eMAID"},
    ],
)
def test_token_value_not_of_its_type(token):
    wire = Wire().boot()
    started(authorize(wire.wait(3), token).wait(2), token)
    findings = run(wire.events)
    assert rule_severities(findings) == [("AUTH-005", N)]  # once per token


@pytest.mark.parametrize(
    "token",
    [
        {"idToken": "04A7B3C2", "type": "ISO14443"},
        {"idToken": "E0040100123456AB", "type": "ISO15693"},
        {"idToken": "DE8ACC12E456L8", "type": "eMAID"},
        {"idToken": "DE-8AC-C12E45678-9", "type": "eMAID"},
        {"idToken": "2580", "type": "KeyCode"},
    ],
)
def test_token_value_of_its_type(token):
    wire = Wire().boot()
    started(authorize(wire.wait(3), token).wait(2), token)
    assert run(wire.events) == []


def test_remote_start_reported_before_the_station_answers():
    """The station may send the transaction's first event before its RequestStartTransaction
    response; the remote start is judged all the same."""
    wire = authorize_remote_start(Wire().boot().wait(2), "true")
    payload = {"idToken": RFID, "remoteStartId": REMOTE_START_ID, "evseId": 1}
    wire.wait(5).call("RequestStartTransaction", payload, sender="csms", message_id="cs-rs-1")
    started(wire.wait(0.2), RFID, trigger="RemoteStart", remoteStartId=REMOTE_START_ID)
    wire.result({"status": "Accepted"}, sender="charger", after=0.1, message_id="cs-rs-1")
    assert rule_severities(run(wire.events)) == [("AUTH-004", N)]


def test_refused_remote_start_is_not_judged():
    wire = authorize_remote_start(Wire().boot().wait(2), "true")
    payload = {"idToken": RFID, "remoteStartId": REMOTE_START_ID, "evseId": 1}
    wire.wait(5).call("RequestStartTransaction", payload, sender="csms")
    wire.result({"status": "Rejected"}, sender="charger", after=0.3)
    started(authorize(wire.wait(20), RFID).wait(1), RFID, remoteStartId=REMOTE_START_ID)
    assert run(wire.events) == []
