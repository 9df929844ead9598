"""REM group: remote start/stop and TriggerMessage, and the events they must cause (F01-F06)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.actions import Direction
from proxy.ocppj.hooks import on_call, on_result

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call, CallResult
    from proxy.ocppj.session import PendingCall, Session

# TriggerMessage requestedMessage -> the action the station then sends (MessageTriggerEnumType).
TRIGGERED_ACTION = {
    "BootNotification": "BootNotification",
    "LogStatusNotification": "LogStatusNotification",
    "FirmwareStatusNotification": "FirmwareStatusNotification",
    "Heartbeat": "Heartbeat",
    "MeterValues": "MeterValues",
    "SignChargingStationCertificate": "SignCertificate",
    "SignV2GCertificate": "SignCertificate",
    "SignCombinedCertificate": "SignCertificate",
    "StatusNotification": "StatusNotification",
    "TransactionEvent": "TransactionEvent",
    "PublishFirmwareStatusNotification": "PublishFirmwareStatusNotification",
}


@on_call("RequestStartTransaction")
def start_profile(session: Session, call: Call) -> None:
    profile = (call.payload or {}).get("chargingProfile")
    if not isinstance(profile, dict):
        return
    purpose = profile.get("chargingProfilePurpose")
    if purpose != "TxProfile":
        session.flag(
            "REM-001",
            f"RequestStartTransaction carries a {purpose} charging profile; "
            "only TxProfile is allowed (F01.FR.09)",
        )
    if "transactionId" in profile:
        session.flag(
            "REM-001",
            "RequestStartTransaction's charging profile carries a "
            "transactionId; the transaction does not exist yet (F01.FR.11)",
        )


@on_result("RequestStartTransaction")
def start_accepted(session: Session, pending: PendingCall, result: CallResult) -> None:
    payload = result.payload or {}
    remote_start_id = pending.payload.get("remoteStartId")
    if payload.get("status") != "Accepted" or type(remote_start_id) is not int:
        return
    named = payload.get("transactionId")
    session.remote_starts[remote_start_id] = named if isinstance(named, str) else None
    within = session.config.followup_timeout
    session.expect(
        ("remote-start", remote_start_id),
        within,
        "REM-002",
        f"RequestStartTransaction (remoteStartId {remote_start_id}) was Accepted but no "
        f"TransactionEvent with that remoteStartId followed within {within:g} s",
    )


@on_result("RequestStopTransaction")
def stop_accepted(session: Session, pending: PendingCall, result: CallResult) -> None:
    transaction_id = pending.payload.get("transactionId")
    if (result.payload or {}).get("status") != "Accepted" or not isinstance(transaction_id, str):
        return
    transaction = session.transactions.get(transaction_id)
    if transaction is not None and transaction.ended_seq is not None:
        session.flag(
            "REM-003",
            f"station accepted RequestStopTransaction for {transaction_id}, "
            "which had already ended; it should answer Rejected (F03.FR.08)",
        )
        return
    session.remote_stops[transaction_id] = False
    within = session.config.followup_timeout
    session.expect(
        ("remote-stop", transaction_id),
        within,
        "REM-003",
        f"RequestStopTransaction for {transaction_id} was Accepted but no "
        f"TransactionEvent with triggerReason RemoteStop followed within {within:g} s",
    )


@on_call("TransactionEvent")
def remote_effects(session: Session, call: Call) -> None:
    payload = call.payload or {}
    info = payload.get("transactionInfo")
    if session.direction is not Direction.CHARGER_TO_CSMS or not isinstance(info, dict):
        return
    transaction_id, trigger = info.get("transactionId"), payload.get("triggerReason")
    remote_start_id = info.get("remoteStartId")
    if type(remote_start_id) is int and session.fulfil(("remote-start", remote_start_id)):
        named = session.remote_starts.pop(remote_start_id, None)
        if trigger != "RemoteStart":
            session.flag(
                "TX-005",
                f"first TransactionEvent for remoteStartId {remote_start_id} "
                f"has triggerReason {trigger}; expected RemoteStart (F02.FR.01)",
            )
        if named is not None and named != transaction_id:
            session.flag(
                "REM-002",
                f"RequestStartTransactionResponse named transaction {named}, "
                f"but the station reports remoteStartId {remote_start_id} as "
                f"{transaction_id}",
            )
    if transaction_id not in session.remote_stops:
        return
    ended = payload.get("eventType") == "Ended"
    if trigger == "RemoteStop" or ended:
        session.fulfil(("remote-stop", transaction_id))
        if ended and not session.remote_stops[transaction_id] and trigger != "RemoteStop":
            session.flag(
                "TX-005",
                f"transaction {transaction_id} ended with triggerReason "
                f"{trigger} after an accepted RequestStopTransaction; expected "
                "RemoteStop (F03.FR.03)",
            )
        session.remote_stops[transaction_id] = True
    if ended:
        del session.remote_stops[transaction_id]
        if info.get("stoppedReason") != "Remote":
            session.flag(
                "TX-006",
                f"transaction {transaction_id} was stopped remotely but ended "
                f"with stoppedReason {info.get('stoppedReason', 'Local (omitted)')}; "
                "expected Remote (F03.FR.03)",
            )


@on_call("TriggerMessage")
def trigger_requested(session: Session, call: Call) -> None:
    payload = call.payload or {}
    requested = payload.get("requestedMessage")
    action = TRIGGERED_ACTION.get(requested) if isinstance(requested, str) else None
    if action is None:
        return
    evse = payload.get("evse")
    if requested == "StatusNotification" and not (isinstance(evse, dict) and "connectorId" in evse):
        session.flag(
            "STAT-004",
            "TriggerMessage(StatusNotification) without evse.connectorId; "
            "the CSMS shall name the connector (F06.FR.12)",
        )
    session.pending_triggers[action] = session.now


@on_result("TriggerMessage")
def trigger_answered(session: Session, pending: PendingCall, result: CallResult) -> None:
    action = TRIGGERED_ACTION.get(pending.payload.get("requestedMessage", ""))
    if action is None:
        return
    if (result.payload or {}).get("status") != "Accepted":
        session.pending_triggers.pop(action, None)
        return
    if action == "BootNotification" and session.registration.status == "Accepted":
        session.flag(
            "BOOT-005",
            "station accepted TriggerMessage(BootNotification) although it "
            "is already Accepted; it should answer Rejected (F06.FR.17)",
        )
    if action in session.pending_triggers:
        within = session.config.followup_timeout
        session.expect(
            ("trigger", action),
            within,
            "REM-004",
            f"TriggerMessage({pending.payload.get('requestedMessage')}) was Accepted but "
            f"no {action} followed within {within:g} s",
        )


@on_call()
def triggered_message(session: Session, call: Call) -> None:
    if (
        session.direction is not Direction.CHARGER_TO_CSMS
        or call.action not in session.pending_triggers
    ):
        return
    del session.pending_triggers[call.action]
    if not session.fulfil(("trigger", call.action)):
        session.flag(
            "REM-004",
            f"station sent the triggered {call.action} before its "
            "TriggerMessageResponse; the response comes first (F06.FR.04)",
        )
