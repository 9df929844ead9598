"""REM group (and the TX-005/TX-006 correlations of remote.py): remote start/stop, TriggerMessage."""

from __future__ import annotations

from typing import Any

from tests.ocppj.wire import Wire, rule_ids, run

TX_ID = "3e7f9b2a-8c41-4d6e-a0f5-6b1c2d9e8f07"
OTHER_TX_ID = "c05d1e8b-92f4-4a37-b6e1-7d8f2a4c9b13"
REMOTE_START_ID = 120553
TOKEN = {"idToken": "04A2B3C4D5E680", "type": "ISO14443"}


def charging_profile(purpose: str = "TxProfile", **extra: Any) -> dict[str, Any]:
    return {
        "id": 231,
        "stackLevel": 0,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Relative",
        "chargingSchedule": [
            {
                "id": 231,
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0, "numberPhases": 3}],
            }
        ],
        **extra,
    }


def remote_start(
    wire: Wire,
    status: str = "Accepted",
    transaction_id: str | None = None,
    profile: dict[str, Any] | None = None,
) -> Wire:
    payload: dict[str, Any] = {"idToken": TOKEN, "remoteStartId": REMOTE_START_ID, "evseId": 1}
    if profile is not None:
        payload["chargingProfile"] = profile
    wire.call("RequestStartTransaction", payload, sender="csms")
    result = {"status": status}
    if transaction_id is not None:
        result["transactionId"] = transaction_id
    return wire.result(result, sender="charger", after=0.3)


def remote_stop(wire: Wire, status: str = "Accepted", transaction_id: str = TX_ID) -> Wire:
    wire.call("RequestStopTransaction", {"transactionId": transaction_id}, sender="csms")
    return wire.result({"status": status}, sender="charger", after=0.3)


def transaction_event(
    wire: Wire,
    event_type: str,
    seq: int,
    trigger: str,
    energy_kwh: float,
    transaction_id: str = TX_ID,
    respond: bool = True,
    **info: Any,
) -> Wire:
    """A TransactionEvent on EVSE 1 with the register in kWh; the CSMS answers unless told not."""
    context = {"Started": "Transaction.Begin", "Ended": "Transaction.End"}
    sample = {
        "value": energy_kwh,
        "context": context.get(event_type, "Sample.Periodic"),
        "measurand": "Energy.Active.Import.Register",
        "unitOfMeasure": {"unit": "kWh"},
    }
    payload: dict[str, Any] = {
        "eventType": event_type,
        "timestamp": wire.time(),
        "triggerReason": trigger,
        "seqNo": seq,
        "transactionInfo": {"transactionId": transaction_id, **info},
        "meterValue": [{"timestamp": wire.time(), "sampledValue": [sample]}],
    }
    if event_type == "Started":
        payload["evse"] = {"id": 1, "connectorId": 1}
    if trigger in ("Authorized", "RemoteStart"):
        payload["idToken"] = TOKEN
    wire.call("TransactionEvent", payload)
    if not respond:
        return wire
    answer = {"idTokenInfo": {"status": "Accepted"}} if "idToken" in payload else {}
    return wire.result(answer)


def heartbeats(wire: Wire, count: int) -> Wire:
    """Keep the link alive (interval 30) while a follow-up deadline passes."""
    for _ in range(count):
        wire.wait(30).heartbeat()
    return wire


def started_locally(wire: Wire) -> Wire:
    """A transaction started by an RFID card, charging."""
    transaction_event(wire, "Started", 0, "Authorized", 18452.31, chargingState="EVConnected")
    return transaction_event(
        wire.wait(2), "Updated", 1, "ChargingStateChanged", 18452.33, chargingState="Charging"
    )


def trigger(wire: Wire, requested: str, **extra: Any) -> Wire:
    return wire.call("TriggerMessage", {"requestedMessage": requested, **extra}, sender="csms")


def status(wire: Wire, connector_status: str = "Available") -> Wire:
    payload = {
        "timestamp": wire.time(),
        "connectorStatus": connector_status,
        "evseId": 1,
        "connectorId": 1,
    }
    return wire.call("StatusNotification", payload)


# ---- compliant flows ----------------------------------------------------------------------------


def test_remote_start_then_remote_stop_raise_nothing():
    wire = Wire().boot()
    remote_start(wire.wait(5))
    transaction_event(
        wire.wait(0.5),
        "Started",
        0,
        "RemoteStart",
        18452.31,
        chargingState="EVConnected",
        remoteStartId=REMOTE_START_ID,
    )
    transaction_event(
        wire.wait(3), "Updated", 1, "ChargingStateChanged", 18452.33, chargingState="Charging"
    )
    transaction_event(wire.wait(20), "Updated", 2, "MeterValuePeriodic", 18452.42)
    remote_stop(wire.wait(5))
    transaction_event(
        wire.wait(0.5),
        "Ended",
        3,
        "RemoteStop",
        18452.45,
        chargingState="EVConnected",
        stoppedReason="Remote",
    )
    heartbeats(wire, 3)
    assert run(wire.events) == []


def test_remote_stop_ending_at_unplug_after_a_remote_stop_event():
    """TxStopPoint EVConnected: RemoteStop ends charging, the unplug ends the transaction."""
    wire = Wire().boot()
    started_locally(wire)
    remote_stop(wire.wait(25))
    transaction_event(
        wire.wait(0.5), "Updated", 2, "RemoteStop", 18452.51, chargingState="EVConnected"
    )
    transaction_event(
        wire.wait(20),
        "Ended",
        3,
        "EVCommunicationLost",
        18452.51,
        chargingState="Idle",
        stoppedReason="Remote",
    )
    assert run(wire.events) == []


# ---- REM-001: the profile of a remote start -----------------------------------------------------


def test_start_with_a_tx_default_profile():
    wire = Wire().boot()
    remote_start(wire.wait(5), status="Rejected", profile=charging_profile("TxDefaultProfile"))
    assert rule_ids(run(wire.events)) == ["REM-001"]


def test_start_profile_carrying_a_transaction_id():
    wire = Wire().boot()
    profile = charging_profile(transactionId=TX_ID)
    remote_start(wire.wait(5), status="Rejected", profile=profile)
    assert rule_ids(run(wire.events)) == ["REM-001"]


def test_start_with_a_tx_profile():
    wire = Wire().boot()
    remote_start(wire.wait(5), profile=charging_profile())
    transaction_event(
        wire.wait(0.5),
        "Started",
        0,
        "RemoteStart",
        18452.31,
        chargingState="EVConnected",
        remoteStartId=REMOTE_START_ID,
    )
    assert run(wire.events) == []


# ---- REM-002: the transaction of an accepted remote start ---------------------------------------


def test_accepted_start_without_its_transaction():
    wire = Wire().boot()
    remote_start(wire.wait(5))
    heartbeats(wire, 3)
    assert rule_ids(run(wire.events)) == ["REM-002"]


def test_start_response_naming_another_transaction():
    wire = Wire().boot()
    transaction_event(
        wire.wait(5),
        "Started",
        0,
        "CablePluggedIn",
        18452.31,
        transaction_id=OTHER_TX_ID,
        chargingState="EVConnected",
    )
    remote_start(wire.wait(10), transaction_id=OTHER_TX_ID)
    transaction_event(
        wire.wait(0.5),
        "Started",
        0,
        "RemoteStart",
        18452.31,
        chargingState="EVConnected",
        remoteStartId=REMOTE_START_ID,
    )
    assert rule_ids(run(wire.events)) == ["REM-002"]


def test_remote_start_on_a_transaction_started_by_plug_in():
    """TxStartPoint EVConnected: the response names the running transaction, which goes on."""
    wire = Wire().boot()
    transaction_event(
        wire.wait(5), "Started", 0, "CablePluggedIn", 18452.31, chargingState="EVConnected"
    )
    remote_start(wire.wait(10), transaction_id=TX_ID)
    transaction_event(
        wire.wait(0.5),
        "Updated",
        1,
        "RemoteStart",
        18452.31,
        chargingState="Charging",
        remoteStartId=REMOTE_START_ID,
    )
    heartbeats(wire, 3)
    assert run(wire.events) == []


def test_remote_started_transaction_reported_before_the_start_response():
    wire = Wire().boot()
    wire.wait(5).call(
        "RequestStartTransaction",
        {"idToken": TOKEN, "remoteStartId": REMOTE_START_ID, "evseId": 1},
        sender="csms",
    )
    start_id = wire.last_id["csms"]
    transaction_event(
        wire.wait(0.2),
        "Started",
        0,
        "RemoteStart",
        18452.31,
        chargingState="EVConnected",
        remoteStartId=REMOTE_START_ID,
    )
    wire.result({"status": "Accepted"}, sender="charger", message_id=start_id)
    heartbeats(wire, 3)
    assert run(wire.events) == []


# ---- REM-003: an accepted remote stop -----------------------------------------------------------


def test_accepted_stop_of_an_ended_transaction():
    wire = Wire().boot()
    started_locally(wire)
    transaction_event(
        wire.wait(20),
        "Ended",
        2,
        "StopAuthorized",
        18452.60,
        chargingState="EVConnected",
        stoppedReason="Local",
    )
    remote_stop(wire.wait(10))
    assert rule_ids(run(wire.events)) == ["REM-003"]


def test_rejected_stop_of_an_ended_transaction():
    wire = Wire().boot()
    started_locally(wire)
    transaction_event(
        wire.wait(20),
        "Ended",
        2,
        "StopAuthorized",
        18452.60,
        chargingState="EVConnected",
        stoppedReason="Local",
    )
    remote_stop(wire.wait(10), status="Rejected")
    assert run(wire.events) == []


def test_accepted_stop_without_a_remote_stop_event():
    wire = Wire().boot()
    started_locally(wire)
    remote_stop(wire.wait(10))
    heartbeats(wire, 3)
    assert rule_ids(run(wire.events)) == ["REM-003"]


def test_remote_stop_ended_before_the_stop_response():
    wire = Wire().boot()
    started_locally(wire)
    wire.wait(10).call("RequestStopTransaction", {"transactionId": TX_ID}, sender="csms")
    stop_id = wire.last_id["csms"]
    transaction_event(
        wire.wait(0.2),
        "Ended",
        2,
        "RemoteStop",
        18452.45,
        chargingState="EVConnected",
        stoppedReason="Remote",
    )
    wire.result({"status": "Accepted"}, sender="charger", message_id=stop_id)
    assert run(wire.events) == []


# ---- REM-004: the message an accepted TriggerMessage asks for ----------------------------------


def test_accepted_trigger_without_the_message():
    wire = Wire().boot()
    trigger(wire.wait(5), "MeterValues", evse={"id": 1})
    wire.result({"status": "Accepted"}, sender="charger", after=0.2)
    heartbeats(wire, 3)
    assert rule_ids(run(wire.events)) == ["REM-004"]


def test_triggered_message_sent_before_the_trigger_response():
    wire = Wire().boot()
    trigger(wire.wait(5), "StatusNotification", evse={"id": 1, "connectorId": 1})
    trigger_id = wire.last_id["csms"]
    status(wire.wait(0.1)).result({})
    wire.result({"status": "Accepted"}, sender="charger", message_id=trigger_id)
    assert rule_ids(run(wire.events)) == ["REM-004"]


def test_triggered_message_after_the_trigger_response():
    wire = Wire().boot()
    trigger(wire.wait(5), "StatusNotification", evse={"id": 1, "connectorId": 1})
    wire.result({"status": "Accepted"}, sender="charger", after=0.2)
    status(wire.wait(0.1)).result({})
    heartbeats(wire, 3)
    assert run(wire.events) == []


def test_trigger_answered_not_implemented_expects_nothing():
    wire = Wire().boot()
    trigger(wire.wait(5), "SignV2GCertificate")
    wire.result({"status": "NotImplemented"}, sender="charger", after=0.2)
    heartbeats(wire, 3)
    assert run(wire.events) == []


def test_trigger_refused_with_callerror_leaves_later_messages_alone():
    wire = Wire().boot()
    trigger(wire.wait(5), "StatusNotification", evse={"id": 1, "connectorId": 1})
    wire.error("NotSupported", sender="charger", description="TriggerMessage", after=0.2)
    status(wire.wait(20), "Occupied").result({})
    assert run(wire.events) == []


# ---- TX-005 / TX-006 after remote start and stop -----------------------------------------------


def test_remote_started_transaction_with_another_trigger_reason():
    wire = Wire().boot()
    remote_start(wire.wait(5))
    transaction_event(
        wire.wait(0.5),
        "Started",
        0,
        "Authorized",
        18452.31,
        chargingState="EVConnected",
        remoteStartId=REMOTE_START_ID,
    )
    assert rule_ids(run(wire.events)) == ["TX-005"]


def test_remote_stop_ended_with_another_trigger_reason():
    wire = Wire().boot()
    started_locally(wire)
    remote_stop(wire.wait(10))
    transaction_event(
        wire.wait(0.5),
        "Ended",
        2,
        "StopAuthorized",
        18452.45,
        chargingState="EVConnected",
        stoppedReason="Remote",
    )
    assert rule_ids(run(wire.events)) == ["TX-005"]


def test_remote_stop_ended_with_stopped_reason_local():
    wire = Wire().boot()
    started_locally(wire)
    remote_stop(wire.wait(10))
    transaction_event(
        wire.wait(0.5),
        "Ended",
        2,
        "RemoteStop",
        18452.45,
        chargingState="EVConnected",
        stoppedReason="Local",
    )
    assert rule_ids(run(wire.events)) == ["TX-006"]


def test_remote_stop_ended_without_stopped_reason():
    wire = Wire().boot()
    started_locally(wire)
    remote_stop(wire.wait(10))
    transaction_event(wire.wait(0.5), "Ended", 2, "RemoteStop", 18452.45, chargingState="Idle")
    assert rule_ids(run(wire.events)) == ["TX-006"]


def test_remote_stop_ended_as_a_local_stop():
    wire = Wire().boot()
    started_locally(wire)
    remote_stop(wire.wait(10))
    transaction_event(
        wire.wait(0.5),
        "Ended",
        2,
        "EVCommunicationLost",
        18452.45,
        chargingState="Idle",
        stoppedReason="EVDisconnected",
    )
    assert rule_ids(run(wire.events)) == ["TX-005", "TX-006"]
