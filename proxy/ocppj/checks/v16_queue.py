"""QUEUE16 group: what an OCPP 1.6 charge point queued while offline, after the reconnect (OCPP
1.6 §3.7 Transaction-related messages, §4.2 Boot Notification).

Queued StartTransaction, StopTransaction and MeterValues (`checks.v16_offline.queued`) wait until
a charge point that rebooted is accepted again (QUEUE16-001); a transaction begun offline is
named, in its later MeterValues and StopTransaction, by the id the Central System gave in the
StartTransaction.conf of its queued StartTransaction, not by one the charge point made up
(QUEUE16-002); and a transaction open when the connection was lost is stopped by a queued
StopTransaction before its connector starts another (QUEUE16-003).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.v16_boot import Boot16Group
from proxy.ocppj.checks.v16_offline import TRANSACTION_MESSAGES, queued
from proxy.ocppj.checks.v16_transactions import Transactions16Group
from proxy.ocppj.routing import RuleGroup, on_call

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call
    from proxy.ocppj.session import Session


class Queue16Group(RuleGroup):
    """Judges queued transaction messages against the registration and the transactions."""

    needs = (Boot16Group, Transactions16Group)

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.reported_on: str | None = None
        """The connection whose queued messages before Accepted were reported (once each)."""
        self.made_up: set[object] = set()
        """Transaction ids reported for QUEUE16-002 (once each: a flushed queue repeats them)."""

    @on_call(*TRANSACTION_MESSAGES)
    def queued_before_accepted(self, call: Call) -> None:
        session = self.session
        boot = session.group(Boot16Group)
        here = session.connection.connection_id if session.connection else None
        if (
            session.direction is not Direction.CHARGER_TO_CSMS
            or not boot.waiting
            or self.reported_on == here
            or not queued(session, call.action, call.payload or {})
        ):
            return
        self.reported_on = here
        state = boot.registration.status or "not yet answered"
        session.flag(
            "QUEUE16-001",
            f"queued {call.action} sent while the registration is {state}; after a reboot "
            "queued transaction messages wait until the Central System accepts the charge point",
            details={"registration": boot.registration.status or "unanswered"},
        )

    @on_call("StopTransaction", "MeterValues")
    def offline_transaction_id(self, call: Call) -> None:
        session = self.session
        transaction_id = (call.payload or {}).get("transactionId")
        transactions = session.group(Transactions16Group)
        if (
            session.direction is not Direction.CHARGER_TO_CSMS
            or transaction_id is None
            or transactions.known(transaction_id)
            or transaction_id in self.made_up
        ):
            return
        offline = transactions.started_offline()
        if offline:
            self.made_up.add(transaction_id)
            given = ", ".join(str(transaction.transaction_id) for transaction in offline)
            session.flag(
                "QUEUE16-002",
                f"{call.action} names transaction {transaction_id}, an id the Central System "
                f"never gave; the transaction started offline got {given} in the "
                "StartTransaction.conf of its queued StartTransaction",
                details={"transaction_id": str(transaction_id), "given": given},
            )

    @on_call("StartTransaction")
    def left_open(self, call: Call) -> None:
        session = self.session
        connector = (call.payload or {}).get("connectorId")
        if session.direction is not Direction.CHARGER_TO_CSMS:
            return
        for transaction in session.group(Transactions16Group).open.values():
            if (
                transaction.connector == connector
                and transaction.connection < session.connections_opened
                and not transaction.misnamed
            ):
                session.flag(
                    "QUEUE16-003",
                    f"StartTransaction on connector {connector}, whose transaction "
                    f"{transaction.transaction_id} was open when the connection was lost and "
                    "was never stopped: its queued StopTransaction was not delivered",
                    details={"transaction_id": transaction.transaction_id},
                )
                return
