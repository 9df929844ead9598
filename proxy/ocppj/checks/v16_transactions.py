"""TX16 group: OCPP 1.6 StartTransaction, MeterValues and StopTransaction agree (OCPP 1.6 §4.8
Start Transaction, §4.10 Stop Transaction, §4.7 Meter Values, §6.45-§6.50).

The Central System gives each transaction its id in StartTransaction.conf; the charge point
names the transaction by that id in its MeterValues and in the one StopTransaction that ends it,
whose meterStop cannot be below the meterStart. A StartTransaction.conf whose idTagInfo is not
Accepted deauthorises the transaction: unless StopTransactionOnInvalidId is known to be false,
the charge point ends it with reason DeAuthorized. A transaction the observation never saw start
may have begun before it, so an unknown id is a warning; one already stopped is an error. Ids of
transactions started offline are the queue group's (QUEUE16-002, `checks.v16_queue`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.v16_offline import queued
from proxy.ocppj.findings import Severity
from proxy.ocppj.routing import RuleGroup, on_call, on_result

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call, CallResult
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

REMEMBERED_STOPS = 256
"""Stopped transactions remembered per charge point, to name a second stop or late values."""


@dataclass(slots=True)
class Transaction16:
    """An open transaction as its StartTransaction and the Central System's answer set it."""

    transaction_id: int
    connector: object
    meter_start: object
    id_tag_status: object
    queued: bool
    """Its StartTransaction came from the offline queue: the charge point began it offline."""
    connection: int
    """`Session.connections_opened` when it was started: a larger count means a reconnect since."""
    misnamed: bool = False
    """Begun offline and, it seems, stopped under an id the Central System never gave
    (QUEUE16-002): no longer open for the rules about a connector's next transaction."""


class Transactions16Group(RuleGroup):
    """Owns the open and the stopped transactions that the queue group reads."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.open: dict[int, Transaction16] = {}
        self.stopped: dict[int, bool] = {}
        """transactionId -> whether the Central System answered its StopTransaction with a
        CALLRESULT (a StopTransaction whose answer never came may be sent again)."""
        self.unknown_reported: set[object] = set()
        self.stop_on_invalid_id: bool | None = None
        """StopTransactionOnInvalidId as the traffic showed it (§9.1); None while unknown."""

    def started_offline(self) -> list[Transaction16]:
        """Open transactions whose StartTransaction came from the offline queue."""
        return [transaction for transaction in self.open.values() if transaction.queued]

    def known(self, transaction_id: object) -> bool:
        return transaction_id in self.open or transaction_id in self.stopped

    @on_result("StartTransaction")
    def started(self, pending: PendingCall, result: CallResult) -> None:
        session = self.session
        payload = result.payload or {}
        transaction_id = payload.get("transactionId")
        info = payload.get("idTagInfo")
        if type(transaction_id) is not int or not isinstance(info, dict):
            return  # the schema check reports it
        request = pending.payload
        earlier = self.open.get(transaction_id)
        if earlier is not None:
            session.flag(
                "TX16-004",
                f"Central System gave transactionId {transaction_id} to the transaction on "
                f"connector {request.get('connectorId')}, while that id still names the open "
                f"transaction on connector {earlier.connector}",
                details={"transaction_id": transaction_id},
            )
        self.stopped.pop(transaction_id, None)
        connector = request.get("connectorId")
        for superseded in [t for t in self.open.values() if t.connector == connector]:
            del self.open[superseded.transaction_id]  # reported at this StartTransaction
        self.open[transaction_id] = Transaction16(
            transaction_id,
            connector,
            request.get("meterStart"),
            info.get("status"),
            queued(session, "StartTransaction", request),
            session.connections_opened,
        )

    @on_call("StartTransaction")
    def starting(self, call: Call) -> None:
        session = self.session
        if session.direction is not Direction.CHARGER_TO_CSMS:
            return
        connector = (call.payload or {}).get("connectorId")
        for transaction in self.open.values():
            if (
                transaction.connector == connector
                and transaction.connection == session.connections_opened
                and not transaction.misnamed
            ):
                session.flag(
                    "TX16-006",
                    f"StartTransaction on connector {connector} while its transaction "
                    f"{transaction.transaction_id} was never stopped",
                    details={"transaction_id": transaction.transaction_id},
                )
                return

    @on_call("MeterValues")
    def meter_values(self, call: Call) -> None:
        session = self.session
        transaction_id = (call.payload or {}).get("transactionId")
        if (
            session.direction is not Direction.CHARGER_TO_CSMS
            or transaction_id is None
            or transaction_id in self.open
        ):
            return
        if transaction_id in self.stopped:
            session.flag(
                "TX16-001",
                f"MeterValues of transaction {transaction_id} after its StopTransaction",
                details={"transaction_id": transaction_id},
            )
        elif not self.started_offline() and transaction_id not in self.unknown_reported:
            self.unknown_reported.add(transaction_id)
            session.flag(
                "TX16-001",
                f"MeterValues of transaction {transaction_id}, which no StartTransaction.conf "
                "of this observation gave; fine only if it began before the observation",
                Severity.WARNING,
                details={"transaction_id": transaction_id},
            )

    @on_call("StopTransaction")
    def stopping(self, call: Call) -> None:
        session = self.session
        payload = call.payload or {}
        transaction_id = payload.get("transactionId")
        if session.direction is not Direction.CHARGER_TO_CSMS or type(transaction_id) is not int:
            return
        transaction = self.open.pop(transaction_id, None)
        if transaction is not None:
            self._stopped(transaction, payload)
        elif self.stopped.get(transaction_id):
            session.flag(
                "TX16-002",
                f"StopTransaction of transaction {transaction_id}, which an earlier "
                "StopTransaction ended and the Central System confirmed",
                details={"transaction_id": transaction_id},
            )
            return
        elif transaction_id in self.stopped:
            return  # a retry of a StopTransaction that got no CALLRESULT
        elif self.started_offline():
            for offline in self.started_offline():  # QUEUE16-002: its id made up
                offline.misnamed = True
            return
        else:
            session.flag(
                "TX16-002",
                f"StopTransaction of transaction {transaction_id}, which no "
                "StartTransaction.conf of this observation gave; fine only if it began before "
                "the observation",
                Severity.WARNING,
                details={"transaction_id": transaction_id},
            )
        self.stopped[transaction_id] = False
        if len(self.stopped) > REMEMBERED_STOPS:
            del self.stopped[next(iter(self.stopped))]

    def _stopped(self, transaction: Transaction16, payload: dict[str, object]) -> None:
        session = self.session
        start, stop = transaction.meter_start, payload.get("meterStop")
        if type(start) is int and type(stop) is int and stop < start:
            session.flag(
                "TX16-003",
                f"transaction {transaction.transaction_id} stopped at meterStop {stop} Wh, "
                f"below its meterStart {start} Wh",
                details={"meter_start": start, "meter_stop": stop},
            )
        reason = payload.get("reason", "Local")
        if (
            transaction.id_tag_status not in (None, "Accepted")
            and reason != "DeAuthorized"
            and self.stop_on_invalid_id is not False
        ):
            session.flag(
                "TX16-005",
                f"transaction {transaction.transaction_id}, deauthorised by idTagInfo status "
                f"{transaction.id_tag_status} in its StartTransaction.conf, stopped with reason "
                f"{reason}; the reason for that is DeAuthorized",
                details={"id_tag_status": str(transaction.id_tag_status), "reason": str(reason)},
            )

    @on_result("ChangeConfiguration")
    def configured(self, pending: PendingCall, result: CallResult) -> None:
        if (
            pending.payload.get("key") == "StopTransactionOnInvalidId"
            and (result.payload or {}).get("status") == "Accepted"
        ):
            self.stop_on_invalid_id = str(pending.payload.get("value")).lower() == "true"

    @on_result("GetConfiguration")
    def reported(self, pending: PendingCall, result: CallResult) -> None:
        keys = (result.payload or {}).get("configurationKey")
        for entry in keys if isinstance(keys, list) else ():
            if isinstance(entry, dict) and entry.get("key") == "StopTransactionOnInvalidId":
                self.stop_on_invalid_id = str(entry.get("value")).lower() == "true"

    @on_result("StopTransaction")
    def stop_confirmed(self, pending: PendingCall, result: CallResult) -> None:
        transaction_id = pending.payload.get("transactionId")
        if transaction_id in self.stopped:
            self.stopped[transaction_id] = True
