"""REM group: remote start/stop and TriggerMessage, and the events they must cause (F01-F06)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.transactions import TransactionsGroup
from proxy.ocppj.routing import RuleGroup, on_call, on_error, on_result
from proxy.ocppj.state import RemoteStart, TriggerRequest

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call, CallError, CallResult
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

REMEMBERED_STARTS = 32

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


class RemoteGroup(RuleGroup):
    """Owns the remote starts/stops and TriggerMessages awaiting their effect."""

    needs = (TransactionsGroup,)

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.remote_starts: dict[int, RemoteStart] = {}
        """remoteStartId of a RequestStartTransaction still awaiting its transaction."""
        self.remote_stops: dict[str, bool] = {}
        """transactionId of an accepted RequestStopTransaction -> RemoteStop event seen."""
        self.pending_triggers: dict[str, TriggerRequest] = {}
        """Action a TriggerMessage asked for -> the request, until its message is sent."""

    def _start_settled(self, remote_start_id: int, start: RemoteStart) -> None:
        session = self.session
        del self.remote_starts[remote_start_id]
        if start.named is not None and start.named != start.reported:
            session.flag(
                "REM-002",
                f"RequestStartTransactionResponse named transaction {start.named}, but the station "
                f"reports remoteStartId {remote_start_id} as {start.reported}",
            )

    def _started_remotely(self, remote_start_id: int, transaction_id: str, trigger: object) -> None:
        """The first TransactionEvent carrying a remote start's remoteStartId (TX-005, REM-002)."""
        start = self.remote_starts.get(remote_start_id)
        if start is None or start.reported is not None:
            return
        start.reported = transaction_id
        if trigger != "RemoteStart":
            self.session.flag(
                "TX-005",
                f"first TransactionEvent for remoteStartId {remote_start_id} "
                f"has triggerReason {trigger}; expected RemoteStart (F02.FR.01)",
            )
        if start.answered:
            self.session.fulfil(("remote-start", remote_start_id))
            self._start_settled(remote_start_id, start)

    def is_triggered(self, action: str) -> bool:
        """True for the CALL that answers an outstanding or accepted TriggerMessage (not stale).

        Valid for every handler of that CALL, whichever group runs first.
        """
        session = self.session
        request = self.pending_triggers.get(action)
        return (
            request is not None
            and session.now - request.asked_at <= session.config.followup_timeout
            and request.message_id in (None, session.message_id)
        )

    def awaits_trigger(self, action: str) -> bool:
        """A TriggerMessage asking for `action` is remembered (not refused, not found stale yet)."""
        return action in self.pending_triggers

    @on_call("RequestStartTransaction")
    def start_profile(self, call: Call) -> None:
        session = self.session
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

    @on_call("RequestStartTransaction")
    def start_requested(self, call: Call) -> None:
        remote_start_id = (call.payload or {}).get("remoteStartId")
        if type(remote_start_id) is int:
            self.remote_starts[remote_start_id] = RemoteStart()
            if len(self.remote_starts) > REMEMBERED_STARTS:
                del self.remote_starts[next(iter(self.remote_starts))]

    @on_error("RequestStartTransaction")
    def start_refused(self, pending: PendingCall, error: CallError) -> None:
        remote_start_id = pending.payload.get("remoteStartId")
        if isinstance(remote_start_id, int):
            self.remote_starts.pop(remote_start_id, None)

    @on_result("RequestStartTransaction")
    def start_answered(self, pending: PendingCall, result: CallResult) -> None:
        session = self.session
        payload = result.payload or {}
        remote_start_id = pending.payload.get("remoteStartId")
        if not isinstance(remote_start_id, int):
            return
        start = self.remote_starts.get(remote_start_id)
        if start is None:
            return
        if payload.get("status") != "Accepted":
            del self.remote_starts[remote_start_id]
            return
        named = payload.get("transactionId")
        start.answered, start.named = True, named if isinstance(named, str) else None
        if start.reported is not None:  # the station reported the transaction before answering
            self._start_settled(remote_start_id, start)
            return
        within = session.config.followup_timeout
        session.expect(
            ("remote-start", remote_start_id),
            within,
            "REM-002",
            f"RequestStartTransaction (remoteStartId {remote_start_id}) was Accepted but no "
            f"TransactionEvent with that remoteStartId followed within {within:g} s",
        )

    @on_result("RequestStopTransaction")
    def stop_accepted(self, pending: PendingCall, result: CallResult) -> None:
        session = self.session
        transaction_id = pending.payload.get("transactionId")
        if (result.payload or {}).get("status") != "Accepted" or not isinstance(
            transaction_id, str
        ):
            return
        transaction = session.group(TransactionsGroup).transactions.get(transaction_id)
        if transaction is not None and transaction.ended_at is not None:
            if transaction.ended_at <= pending.timestamp:  # ended before the request was sent
                session.flag(
                    "REM-003",
                    f"station accepted RequestStopTransaction for {transaction_id}, "
                    "which had already ended; it should answer Rejected (F03.FR.08)",
                )
            return
        self.remote_stops[transaction_id] = False
        within = session.config.followup_timeout
        session.expect(
            ("remote-stop", transaction_id),
            within,
            "REM-003",
            f"RequestStopTransaction for {transaction_id} was Accepted but no "
            f"TransactionEvent with triggerReason RemoteStop followed within {within:g} s",
        )

    @on_call("TransactionEvent")
    def remote_effects(self, call: Call) -> None:
        session = self.session
        payload = call.payload or {}
        info = payload.get("transactionInfo")
        if session.direction is not Direction.CHARGER_TO_CSMS or not isinstance(info, dict):
            return
        transaction_id, trigger = info.get("transactionId"), payload.get("triggerReason")
        remote_start_id = info.get("remoteStartId")
        if isinstance(remote_start_id, int) and isinstance(transaction_id, str):
            self._started_remotely(remote_start_id, transaction_id, trigger)
        if transaction_id not in self.remote_stops:
            return
        ended = payload.get("eventType") == "Ended"
        if trigger == "RemoteStop" or ended:
            session.fulfil(("remote-stop", transaction_id))
            if ended and not self.remote_stops[transaction_id] and trigger != "RemoteStop":
                session.flag(
                    "TX-005",
                    f"transaction {transaction_id} ended with triggerReason "
                    f"{trigger} after an accepted RequestStopTransaction; expected "
                    "RemoteStop (F03.FR.03)",
                )
            self.remote_stops[transaction_id] = True
        if ended:
            del self.remote_stops[transaction_id]
            if info.get("stoppedReason") != "Remote":
                session.flag(
                    "TX-006",
                    f"transaction {transaction_id} was stopped remotely but ended "
                    f"with stoppedReason {info.get('stoppedReason', 'Local (omitted)')}; "
                    "expected Remote (F03.FR.03)",
                )

    @on_call("TriggerMessage")
    def trigger_requested(self, call: Call) -> None:
        session = self.session
        payload = call.payload or {}
        requested = payload.get("requestedMessage")
        action = TRIGGERED_ACTION.get(requested) if isinstance(requested, str) else None
        if action is None:
            return
        evse = payload.get("evse")
        if requested == "StatusNotification" and not (
            isinstance(evse, dict) and "connectorId" in evse
        ):
            session.flag(
                "STAT-004",
                "TriggerMessage(StatusNotification) without evse.connectorId; "
                "the CSMS shall name the connector (F06.FR.12)",
            )
        self.pending_triggers[action] = TriggerRequest(session.now)

    @on_error("TriggerMessage")
    def trigger_refused(self, pending: PendingCall, error: CallError) -> None:
        action = TRIGGERED_ACTION.get(pending.payload.get("requestedMessage", ""))
        self.pending_triggers.pop(action or "", None)

    @on_result("TriggerMessage")
    def trigger_answered(self, pending: PendingCall, result: CallResult) -> None:
        session = self.session
        action = TRIGGERED_ACTION.get(pending.payload.get("requestedMessage", ""))
        if action is None:
            return
        request = self.pending_triggers.get(action)
        if request is None:
            return
        if (result.payload or {}).get("status") != "Accepted":
            del self.pending_triggers[action]
            return
        if request.message_id is None:  # not sent yet, as it should be
            within = session.config.followup_timeout
            session.expect(
                ("trigger", action),
                within,
                "REM-004",
                f"TriggerMessage({pending.payload.get('requestedMessage')}) was Accepted but "
                f"no {action} followed within {within:g} s",
            )

    @on_call()
    def triggered_message(self, call: Call) -> None:
        session = self.session
        if session.direction is not Direction.CHARGER_TO_CSMS:
            return
        request = self.pending_triggers.get(call.action)
        if request is None:
            return
        if not self.is_triggered(call.action):
            del self.pending_triggers[call.action]  # stale, or its message was sent already
            return
        request.message_id = call.message_id
        if not session.fulfil(("trigger", call.action)):
            session.flag(
                "REM-004",
                f"station sent the triggered {call.action} before its "
                "TriggerMessageResponse; the response comes first (F06.FR.04)",
            )
