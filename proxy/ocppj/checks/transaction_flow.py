"""TX rules on what a transaction's events carry and how the station follows the CSMS: the EVSE and
idToken an event must name (TX-008), deauthorization (TX-011), start and stop points (TX-012) and
GetTransactionStatus (TX-015). Numbering and delivery are `checks.transactions`'.

TX-008 judges only schema-valid events (a malformed evse is SCH-001's) and leaves StopAuthorized
alone: a stop button ends an authorization without any idToken.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.device_model import DeviceModelGroup
from proxy.ocppj.checks.transactions import TransactionsGroup
from proxy.ocppj.findings import Severity
from proxy.ocppj.routing import RuleGroup, on_call, on_result

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call, CallResult
    from proxy.ocppj.rpc import PendingCall

TX_CTRLR: Final = "TxCtrlr"
START_TRIGGERS: Final = {
    "ParkingBayOccupancy": ("EVDetected",),
    "EVConnected": ("CablePluggedIn", "EVDetected"),
    "Authorized": ("Authorized", "RemoteStart"),
    "DataSigned": ("SignedDataReceived",),
    "PowerPathClosed": ("CablePluggedIn", "Authorized", "RemoteStart"),
    "EnergyTransfer": ("ChargingStateChanged",),
}
"""TxStartPoint value -> the triggerReasons of a Started event it causes (E01.FR.01-06)."""
DEAUTHORIZING_STOP_POINTS: Final = ("Authorized", "PowerPathClosed")
"""TxStopPoints that end a transaction when its authorization ends (E06.FR.04; errata §2.17.4)."""


def _points(setting: str | None) -> list[str]:
    """A TxStartPoint/TxStopPoint value: a comma-separated list (Part 2 MemberList)."""
    return [point.strip() for point in (setting or "").split(",") if point.strip()]


def _transaction_id(payload: dict[str, Any]) -> str | None:
    info = payload.get("transactionInfo")
    transaction_id = info.get("transactionId") if isinstance(info, dict) else None
    return transaction_id if isinstance(transaction_id, str) else None


class TransactionFlowGroup(RuleGroup):
    """Stateless but for timers: it reads the transactions and device model of other groups."""

    needs = (DeviceModelGroup, TransactionsGroup)

    def _setting(self, variable: str) -> str | None:
        return self.session.group(DeviceModelGroup).model.setting(TX_CTRLR, variable)

    @on_call("TransactionEvent")
    def event_content(self, call: Call) -> None:
        session = self.session
        payload = call.payload or {}
        transaction_id = _transaction_id(payload)
        if session.direction is not Direction.CHARGER_TO_CSMS or transaction_id is None:
            return
        trigger, event_type = payload.get("triggerReason"), payload.get("eventType")
        evse = payload.get("evse")
        valid = session.current_call is not None and session.current_call.valid
        if (
            valid
            and trigger == "CablePluggedIn"
            and not (isinstance(evse, dict) and "id" in evse and "connectorId" in evse)
        ):
            session.flag(
                "TX-008",
                f"TransactionEvent for the cable plugged in (transaction {transaction_id}) "
                "does not name evse.id and evse.connectorId",
            )
        if valid and trigger == "Authorized" and "idToken" not in payload:
            session.flag(
                "TX-008",
                f"TransactionEvent with triggerReason Authorized (transaction "
                f"{transaction_id}) does not carry the idToken that was presented",
            )
        if event_type == "Ended" or trigger == "Deauthorized":
            session.fulfil(("deauthorized", transaction_id))
        if event_type == "Ended":
            session.fulfil(("status-ended", transaction_id))
        self._start_point(payload, transaction_id)

    def _start_point(self, payload: dict[str, Any], transaction_id: str) -> None:
        """TX-012: a Started event names a configured start point; an Ended one comes after the
        energy transfer stopped."""
        session = self.session
        event_type, trigger = payload.get("eventType"), payload.get("triggerReason")
        info = payload["transactionInfo"]
        if event_type == "Ended" and info.get("chargingState") == "Charging":
            session.flag(
                "TX-012",
                f"transaction {transaction_id} ended with chargingState Charging; it ends only "
                "after the energy transfer stopped, so that Ended carries the final meter "
                "values (Errata 2023-12 §2.17.4)",
                Severity.WARNING,
            )
        points = _points(self._setting("TxStartPoint"))
        if event_type != "Started" or not points or not isinstance(trigger, str):
            return
        allowed = {reason for point in points for reason in START_TRIGGERS.get(point, ())}
        if allowed and trigger not in allowed:
            session.flag(
                "TX-012",
                f"transaction {transaction_id} started with triggerReason {trigger}, which is "
                f"none of TxStartPoint {','.join(points)} ({', '.join(sorted(allowed))})",
                Severity.INFO,
            )

    @on_result("TransactionEvent")
    def deauthorized(self, pending: PendingCall, result: CallResult) -> None:
        """TX-011: a token refused after the transaction began ends its authorization."""
        session = self.session
        transaction_id = _transaction_id(pending.payload)
        info = (result.payload or {}).get("idTokenInfo")
        status = info.get("status") if isinstance(info, dict) else None
        if (
            transaction_id is None
            or "idToken" not in pending.payload
            or pending.payload.get("eventType") == "Ended"
            or status in (None, "Accepted")
            or not set(_points(self._setting("TxStopPoint"))) & set(DEAUTHORIZING_STOP_POINTS)
            or (self._setting("StopTxOnInvalidId") or "").lower() == "false"
        ):
            return
        transaction = session.group(TransactionsGroup).transactions.get(transaction_id)
        if transaction is None or transaction.ended_at is not None:
            return
        within = session.config.followup_timeout
        session.expect(
            ("deauthorized", transaction_id),
            within,
            "TX-011",
            f"CSMS answered the idToken of transaction {transaction_id} {status} and TxStopPoint "
            f"ends a transaction with its authorization, but no Ended (or Deauthorized) event "
            f"followed within {within:g} s (E06.FR.04)",
        )

    @on_result("GetTransactionStatus")
    def transaction_status(self, pending: PendingCall, result: CallResult) -> None:
        """TX-015: ongoingIndicator only with a transactionId, and true only while it runs."""
        session = self.session
        payload = result.payload or {}
        transaction_id = pending.payload.get("transactionId")
        ongoing = payload.get("ongoingIndicator")
        if not isinstance(transaction_id, str):
            if "ongoingIndicator" in payload:
                session.flag(
                    "TX-015",
                    "GetTransactionStatusResponse carries ongoingIndicator although the "
                    "request named no transaction (E14.FR.06)",
                    Severity.ERROR,
                )
            return
        if "ongoingIndicator" not in payload:
            session.flag(
                "TX-015",
                f"GetTransactionStatusResponse for transaction {transaction_id} has no "
                "ongoingIndicator; with a transactionId it says whether it runs (E14.FR.01-03)",
                Severity.ERROR,
            )
            return
        transaction = session.group(TransactionsGroup).transactions.get(transaction_id)
        if transaction is None:
            return
        if transaction.ended_at is not None and transaction.ended_at <= pending.timestamp:
            if ongoing is True:
                session.flag(
                    "TX-015",
                    f"ongoingIndicator true for transaction {transaction_id}, whose Ended event "
                    f"came {session.now - transaction.ended_at:.0f} s before (E14.FR.03)",
                    Severity.ERROR,
                )
            return
        if ongoing is False and payload.get("messagesInQueue") is False:
            within = session.config.followup_timeout
            session.expect(
                ("status-ended", transaction_id),
                within,
                "TX-015",
                f"station said transaction {transaction_id} is over with no message queued, "
                f"but its Ended event did not follow within {within:g} s (E14.FR.03, "
                "E14.FR.05)",
            )
