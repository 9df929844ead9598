"""STAT group: StatusNotification ids, status vs. transaction, TriggerMessage(StatusNotification)."""

from __future__ import annotations

import pytest

from tests.ocppj.wire import Wire, rule_ids, run

TX_ID = "9a4d6c1e-27b3-4f80-b5e2-c3a1f7d09e64"
TOKEN = {"idToken": "04E1B2C3D4A580", "type": "ISO14443"}


def status(wire: Wire, connector_status: str, evse: int = 1, connector: int = 1) -> Wire:
    payload = {
        "timestamp": wire.time(),
        "connectorStatus": connector_status,
        "evseId": evse,
        "connectorId": connector,
    }
    return wire.call("StatusNotification", payload).result({})


def transaction_event(
    wire: Wire,
    event_type: str,
    seq: int,
    trigger: str,
    energy_wh: float,
    charging_state: str | None = None,
    **info: object,
) -> Wire:
    """A TransactionEvent on EVSE 1 connector 1 as an Alfen Eve sends it, and its response."""
    transaction = {"transactionId": TX_ID, **info}
    if charging_state is not None:
        transaction["chargingState"] = charging_state
    context = {"Started": "Transaction.Begin", "Ended": "Transaction.End"}
    sample = {
        "value": energy_wh,
        "context": context.get(event_type, "Sample.Periodic"),
        "measurand": "Energy.Active.Import.Register",
        "unitOfMeasure": {"unit": "Wh"},
    }
    payload = {
        "eventType": event_type,
        "timestamp": wire.time(),
        "triggerReason": trigger,
        "seqNo": seq,
        "transactionInfo": transaction,
        "meterValue": [{"timestamp": wire.time(), "sampledValue": [sample]}],
    }
    if seq == 0:
        payload["evse"] = {"id": 1, "connectorId": 1}
        payload["idToken"] = TOKEN
        wire.call("TransactionEvent", payload)
        return wire.result({"idTokenInfo": {"status": "Accepted"}})
    return wire.call("TransactionEvent", payload).result({})


def trigger_status(wire: Wire, **evse: int) -> Wire:
    payload: dict[str, object] = {"requestedMessage": "StatusNotification"}
    if evse:
        payload["evse"] = evse
    wire.call("TriggerMessage", payload, sender="csms")
    return wire.result({"status": "Accepted"}, sender="charger", after=0.2)


# ---- STAT-001: real EVSE and connector ids ------------------------------------------------------


def test_status_for_evse_zero_connector_zero():
    wire = Wire().boot()
    status(wire, "Available", evse=0, connector=0)
    assert rule_ids(run(wire.events)) == ["STAT-001"]


def test_status_for_connector_zero_of_a_real_evse():
    wire = Wire().boot()
    status(wire, "Unavailable", evse=1, connector=0)
    assert rule_ids(run(wire.events)) == ["STAT-001"]


def test_status_of_every_connector_after_boot():
    wire = Wire().boot()
    status(wire, "Available", evse=1, connector=1)
    status(wire, "Available", evse=2, connector=1)
    assert run(wire.events) == []


# ---- STAT-002: status agrees with the transaction -----------------------------------------------


def test_available_while_the_transaction_keeps_charging():
    wire = Wire().boot()
    status(wire, "Occupied")
    transaction_event(wire.wait(1), "Started", 0, "Authorized", 0.0, "EVConnected")
    transaction_event(wire.wait(3), "Updated", 1, "ChargingStateChanged", 4.0, "Charging")
    status(wire.wait(30), "Available")
    transaction_event(wire.wait(30), "Updated", 2, "MeterValuePeriodic", 184.0, "Charging")
    transaction_event(wire.wait(30), "Updated", 3, "MeterValuePeriodic", 367.0, "Charging")
    assert rule_ids(run(wire.events)) == ["STAT-002"]


def test_plug_charge_unplug_session_agrees_with_status():
    wire = Wire().boot()
    status(wire, "Occupied")
    transaction_event(wire.wait(1), "Started", 0, "Authorized", 0.0, "EVConnected")
    transaction_event(wire.wait(3), "Updated", 1, "ChargingStateChanged", 4.0, "Charging")
    transaction_event(wire.wait(30), "Updated", 2, "MeterValuePeriodic", 184.0, "Charging")
    transaction_event(wire.wait(20), "Updated", 3, "StopAuthorized", 306.0, "EVConnected")
    transaction_event(
        wire.wait(8), "Ended", 4, "EVCommunicationLost", 306.0, "Idle", stoppedReason="Local"
    )
    status(wire.wait(0.5), "Available")
    assert run(wire.events) == []


def test_other_connector_of_the_evse_available_does_not_conflict():
    wire = Wire().boot()
    status(wire, "Occupied", evse=1, connector=1)
    transaction_event(wire.wait(1), "Started", 0, "Authorized", 0.0, "EVConnected")
    transaction_event(wire.wait(3), "Updated", 1, "ChargingStateChanged", 4.0, "Charging")
    status(wire.wait(10), "Available", evse=1, connector=2)
    transaction_event(wire.wait(20), "Updated", 2, "MeterValuePeriodic", 184.0, "Charging")
    assert run(wire.events) == []


# ---- STAT-004: TriggerMessage(StatusNotification) names the connector ---------------------------


def test_trigger_status_without_evse():
    wire = Wire().boot()
    trigger_status(wire.wait(5))
    status(wire.wait(0.1), "Available")
    assert rule_ids(run(wire.events)) == ["STAT-004"]


def test_trigger_status_with_evse_but_no_connector():
    wire = Wire().boot()
    trigger_status(wire.wait(5), id=1)
    status(wire.wait(0.1), "Available")
    assert rule_ids(run(wire.events)) == ["STAT-004"]


def test_trigger_status_naming_evse_and_connector():
    wire = Wire().boot()
    trigger_status(wire.wait(5), id=1, connectorId=1)
    status(wire.wait(0.1), "Available")
    assert run(wire.events) == []


# ---- STAT-003: the other connectors of a multi-connector EVSE -----------------------------------


def twin_evse(wire: Wire) -> Wire:
    """EVSE 1 with a Type 2 socket (connector 1) and a CCS cable (connector 2), both free."""
    status(wire.wait(1), "Available", connector=1)
    return status(wire.wait(0.2), "Available", connector=2)


@pytest.mark.parametrize("reported", ["Unavailable", "Occupied"])
def test_other_connector_reported_when_one_is_plugged_in(reported):
    wire = twin_evse(Wire().boot())
    status(wire.wait(20), "Occupied", connector=2)
    status(wire.wait(0.3), reported, connector=1)
    findings = run(wire.events)
    assert rule_ids(findings) == ["STAT-003"]
    assert findings[0].severity.value == "info"


def test_plug_in_on_a_multi_connector_evse_reports_only_that_connector():
    wire = twin_evse(Wire().boot())
    status(wire.wait(20), "Occupied", connector=2)
    status(wire.wait(25), "Available", connector=2)
    assert run(wire.events) == []


def test_other_connector_faulted_is_reported():
    wire = twin_evse(Wire().boot())
    status(wire.wait(20), "Occupied", connector=2)
    status(wire.wait(0.3), "Faulted", connector=1)
    assert run(wire.events) == []


def test_other_evse_plugged_in_at_the_same_time_is_fine():
    wire = Wire().boot()
    status(wire.wait(1), "Available", evse=1)
    status(wire.wait(0.2), "Available", evse=2)
    status(wire.wait(20), "Occupied", evse=1)
    status(wire.wait(0.5), "Occupied", evse=2)
    assert run(wire.events) == []
