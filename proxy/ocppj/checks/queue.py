"""QUEUE group: what a station queued while offline reaches the CSMS after the reconnect (E04,
Part 6 §2.1).

BACKOFF-007 already judges the offline flag and the seqNo gaps of the transactions an outage
concerned, and TX-003 every gap; this group judges what neither can see: a transaction left open
by the outage that is never ended although the EVSE moved on (QUEUE-001). Queued events sent
before the station is accepted are the registration gate's (QUEUE-003, `checks.boot`), which
uses `queued` from here. Status reports overtaking queued events is allowed (QUEUE-004), so
nothing is reported for it.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.transactions import TransactionsGroup, happened_offline
from proxy.ocppj.routing import RuleGroup, on_call, on_finish
from proxy.ocppj.timefmt import format_datetime, parse_datetime

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call
    from proxy.ocppj.session import Session


def queued(session: Session, payload: dict[str, Any]) -> bool:
    """A TransactionEvent from the queue: flagged offline, or stamped inside an outage."""
    if payload.get("offline") is True:
        return True
    timestamp = parse_datetime(payload.get("timestamp"))
    return timestamp is not None and any(
        happened_offline(session, period, timestamp) for period in session.link.offline_periods
    )


class QueueGroup(RuleGroup):
    """Remembers when each transaction was last heard of, to find those an outage left open."""

    needs = (TransactionsGroup,)

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.heard: dict[str, float] = {}
        """transactionId -> when its latest TransactionEvent arrived."""
        self.awaited: dict[str, tuple[str, tuple[float, float], object]] = {}
        """transactionId left open by an outage -> (the transaction started after it on the same
        EVSE, the outage, that Started's frame)."""
        self.judged: set[str] = set()
        """Transactions left open by an outage whose queue was judged already."""

    @on_call("TransactionEvent")
    def transaction_event(self, call: Call) -> None:
        session = self.session
        payload = call.payload or {}
        info = payload.get("transactionInfo")
        if session.direction is not Direction.CHARGER_TO_CSMS or not isinstance(info, dict):
            return
        transaction_id = info.get("transactionId")
        if not isinstance(transaction_id, str):
            return
        if payload.get("eventType") == "Started":
            self._left_open(transaction_id)
        self.heard[transaction_id] = session.now
        known = session.group(TransactionsGroup).transactions
        if len(self.heard) > 2 * len(known):
            self.heard = {key: at for key, at in self.heard.items() if key in known}
            self.judged &= set(known)

    def _left_open(self, started: str) -> None:
        """QUEUE-001: a transaction started on an EVSE whose previous transaction was open when
        the link was lost; unless that one's queued Ended arrives within the grace period, the
        queue lost it."""
        session = self.session
        transactions = session.group(TransactionsGroup).transactions
        new = transactions.get(started)
        if new is None or new.evse_id is None:
            return
        for transaction_id, old in transactions.items():
            heard = self.heard.get(transaction_id)
            if (
                transaction_id == started
                or old.evse_id != new.evse_id
                or old.ended_seq is not None
                or heard is None
                or transaction_id in self.awaited
                or transaction_id in self.judged
            ):
                continue
            outage = next(
                (p for p in session.link.offline_periods if heard <= p[0] and p[1] <= session.now),
                None,
            )
            if outage is None:
                continue
            ref = session.event.ref if session.event else None
            self.awaited[transaction_id] = (started, outage, ref)
            session.at(
                ("queue-open", transaction_id),
                session.now + session.config.transaction_grace,
                partial(self._review, transaction_id),
            )

    def _review(self, transaction_id: str) -> None:
        started, outage, ref = self.awaited.pop(transaction_id)
        self.judged.add(transaction_id)
        old = self.session.group(TransactionsGroup).transactions.get(transaction_id)
        if old is None or old.ended_seq is not None:
            return
        self.session.flag(
            "QUEUE-001",
            f"transaction {transaction_id} on EVSE {old.evse_id} was open when the connection "
            f"was lost at {format_datetime(outage[0])} and never ended, yet transaction "
            f"{started} started on that EVSE after the reconnect: the Ended the station "
            "should have queued was not delivered",
            ref=ref,
            action="TransactionEvent",
            details={"transaction_id": transaction_id, "started": started},
        )

    @on_finish
    def review_all(self) -> None:
        for transaction_id in list(self.awaited):
            if self.session.cancel(("queue-open", transaction_id)):
                self._review(transaction_id)
