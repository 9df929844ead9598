"""TX group: TransactionEvent numbering, ordering, retries, meter registers and the offline flag (E, J)."""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Any

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.device_model import DeviceModelGroup, objects
from proxy.ocppj.checks.status import StatusGroup
from proxy.ocppj.findings import Severity
from proxy.ocppj.routing import RuleGroup, on_call, on_error, on_finish, on_result
from proxy.ocppj.state import Transaction, TxEvent
from proxy.ocppj.timefmt import format_datetime, parse_datetime

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call, CallError, CallResult
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

ENERGY_REGISTER = "Energy.Active.Import.Register"
EVENT_TYPES = ("Started", "Updated", "Ended")
REMEMBERED_TRANSACTIONS = 64
_UNIT_SCALE = {"Wh": 1.0, "kWh": 1000.0}
LIVE_LATENCY = 0.5
"""Seconds a live TransactionEvent may take from happening to reaching the observer: the spread
of the station clock's estimate (`station_clock`)."""


def energy_register_wh(meter_values: Any) -> float | None:
    """The highest Energy.Active.Import.Register reading (Outlet, all phases) in Wh, if any."""
    best = None
    for meter_value in objects(meter_values):
        for sample in objects(meter_value.get("sampledValue")):
            if (
                sample.get("measurand", ENERGY_REGISTER) != ENERGY_REGISTER
                or "phase" in sample
                or sample.get("location", "Outlet") != "Outlet"
            ):
                continue
            value = sample.get("value")
            unit = sample.get("unitOfMeasure")
            unit = unit if isinstance(unit, dict) else {}
            scale = _UNIT_SCALE.get(unit.get("unit", "Wh"))
            multiplier = unit.get("multiplier", 0)
            if (
                scale is None
                or not isinstance(value, int | float)
                or isinstance(value, bool)
                or type(multiplier) is not int
                or not -9 <= multiplier <= 9
            ):
                continue
            reading = value * scale * 10.0**multiplier
            best = reading if best is None else max(best, reading)
    return best


def _transaction_of(payload: dict[str, Any]) -> tuple[str, int] | None:
    info = payload.get("transactionInfo")
    if not isinstance(info, dict):
        return None
    transaction_id, seq = info.get("transactionId"), payload.get("seqNo")
    if not isinstance(transaction_id, str) or type(seq) is not int:
        return None
    return transaction_id, seq


def _after_end(transaction: Transaction, seq: int, timestamp: float | None) -> bool:
    """A Started that happened after the transaction's Ended opens a new one (a reused id).

    Judged by time when both are known, so a Started back-filled after a queued Ended is not one.
    """
    if transaction.ended_seq is None:
        return False
    ended = transaction.events[transaction.ended_seq]
    if timestamp is not None and ended.timestamp is not None:
        return timestamp > ended.timestamp
    return seq > transaction.ended_seq


def _repeated(
    session: Session,
    transaction: Transaction,
    seq: int,
    earlier: TxEvent,
    signature: tuple[Any, ...],
) -> None:
    name = f"seqNo {seq} of transaction {transaction.transaction_id}"
    if signature != earlier.signature:
        session.flag(
            "TX-003",
            f"{name} sent again with different content (was {earlier.event_type}"
            f" at {earlier.signature[1]}, now {signature[0]} at {signature[1]})",
            Severity.ERROR,
        )
        return
    earlier.attempts += 1
    if earlier.acknowledged:
        session.flag(
            "TX-009", f"{name} sent again although the CSMS already acknowledged it", Severity.ERROR
        )
        return
    limit = session.group(DeviceModelGroup).model.number("MessageAttempts", "TransactionEvent")
    if limit is not None and earlier.attempts > limit:
        session.flag(
            "TX-009",
            f"{name} sent {earlier.attempts} times; MessageAttempts for "
            f"TransactionEvent is {limit:g}",
            Severity.WARNING,
        )
    else:
        session.flag("TX-009", f"{name} retransmitted (attempt {earlier.attempts})")


def _check_order(session: Session, transaction: Transaction, seq: int, event_type: str) -> None:
    tx_id = transaction.transaction_id
    if event_type == "Started":
        if transaction.started_seq is not None:
            session.flag(
                "TX-002",
                f"second Started (seqNo {seq}) for transaction {tx_id}; the "
                f"first was seqNo {transaction.started_seq}",
            )
        else:
            transaction.started_seq = seq
            earlier = min(transaction.events, default=seq)
            if earlier < seq:
                session.flag(
                    "TX-002",
                    f"Started of transaction {tx_id} has seqNo {seq}, but "
                    f"seqNo {earlier} was numbered before it",
                )
            elif seq != 0:
                session.flag(
                    "TX-003",
                    f"transaction {tx_id} starts at seqNo {seq}; Edition 2 "
                    "numbers every transaction from 0",
                    Severity.INFO,
                )
    elif seq == 0:
        session.flag(
            "TX-002",
            f"the first event (seqNo 0) of transaction {tx_id} is {event_type}; it must be Started",
        )
    elif transaction.started_seq is not None and seq < transaction.started_seq:
        session.flag(
            "TX-002",
            f"{event_type} seqNo {seq} of transaction {tx_id} is numbered "
            f"before its Started (seqNo {transaction.started_seq})",
        )
    if event_type == "Ended":
        if transaction.ended_seq is not None:
            session.flag(
                "TX-002",
                f"second Ended (seqNo {seq}) for transaction {tx_id}; the "
                f"first was seqNo {transaction.ended_seq}",
            )
            return
        transaction.ended_seq = seq
        later = max(transaction.events, default=seq)
        if later > seq:
            session.flag(
                "TX-002",
                f"Ended of transaction {tx_id} has seqNo {seq}, but seqNo "
                f"{later} is numbered after it",
            )
    elif transaction.ended_seq is not None and seq > transaction.ended_seq:
        session.flag(
            "TX-002",
            f"{event_type} seqNo {seq} of transaction {tx_id} is numbered "
            f"after its Ended (seqNo {transaction.ended_seq})",
        )


def _check_neighbours(session: Session, transaction: Transaction, seq: int, event: TxEvent) -> None:
    """Energy and timestamps must not go backwards in seqNo order (arrival order may differ)."""
    events = transaction.events
    if events and seq > transaction.max_seq:  # the usual case: in order
        before = [(transaction.max_seq, events[transaction.max_seq])]
        after: list[tuple[int, TxEvent]] = []
    else:
        before = sorted((s, e) for s, e in events.items() if s < seq)[-1:]
        after = sorted((s, e) for s, e in events.items() if s > seq)[:1]
        if after and not transaction.out_of_order_noted:
            transaction.out_of_order_noted = True
            session.flag(
                "TX-004",
                f"seqNo {seq} of transaction {transaction.transaction_id} arrived after seqNo "
                f"{transaction.max_seq}{' (offline)' if event.offline else ''}: delivery out "
                "of order is allowed, ordering is judged by seqNo",
            )
    transaction.max_seq = max(transaction.max_seq, seq)
    tx_id = transaction.transaction_id
    for (first_seq, first), (second_seq, second) in [
        *(((s, e), (seq, event)) for s, e in before),
        *(((seq, event), (s, e)) for s, e in after),
    ]:
        if (
            first.energy_wh is not None
            and second.energy_wh is not None
            and (second.energy_wh < first.energy_wh - 0.5)
        ):
            session.flag(
                "TX-013",
                f"{ENERGY_REGISTER} fell from {first.energy_wh / 1000:.3f} kWh"
                f" (seqNo {first_seq}) to {second.energy_wh / 1000:.3f} kWh (seqNo "
                f"{second_seq}) in transaction {tx_id}",
            )
        if (
            first.timestamp is not None
            and second.timestamp is not None
            and (second.timestamp < first.timestamp)
        ):
            session.flag(
                "TX-014",
                f"timestamp of seqNo {second_seq} "
                f"({format_datetime(second.timestamp)}) is earlier than that of seqNo "
                f"{first_seq} ({format_datetime(first.timestamp)}) in transaction {tx_id}",
            )


def _check_clock(session: Session, timestamp: float | None) -> None:
    if timestamp is not None and timestamp > session.now + session.config.clock_tolerance:
        session.flag(
            "TX-014",
            f"event timestamp {format_datetime(timestamp)} is "
            f"{timestamp - session.now:.0f} s ahead of the observer's clock",
        )


def station_clock(session: Session) -> tuple[float, float]:
    """How far the station's clock may be ahead of the observer's (negative: behind), in seconds.

    Without knowledge, the clock tolerance either way. Once live TransactionEvents were seen, their
    timestamps bound it: an event is stamped when it happens and arrives no earlier, so the
    station's clock is at least `Link.clock_offset` ahead, and at most `LIVE_LATENCY` more when
    the station sends promptly. An estimate beyond the tolerance is not trusted.
    """
    tolerance = session.config.clock_tolerance
    offset = session.link.clock_offset
    if offset is None or not -tolerance <= offset <= tolerance:
        return -tolerance, tolerance
    return offset, min(tolerance, offset + LIVE_LATENCY)


def happened_offline(session: Session, period: tuple[float, float], timestamp: float) -> bool:
    """Inside the period on the observer's clock whatever the station's clock deviation is."""
    behind, ahead = station_clock(session)
    return period[0] + ahead < timestamp < period[1] + behind


def near_offline(session: Session, period: tuple[float, float], timestamp: float) -> bool:
    """Inside the period widened by the clock tolerance: offline=true may be right."""
    margin = session.config.clock_tolerance
    return period[0] - margin <= timestamp <= period[1] + margin


def _check_offline(session: Session, offline: bool, timestamp: float | None) -> None:
    if timestamp is None:
        return
    margin = session.config.clock_tolerance
    periods = session.link.offline_periods
    period = next((p for p in periods if happened_offline(session, p, timestamp)), None)
    near_period = any(near_offline(session, p, timestamp) for p in periods)
    if period is not None and not offline:
        session.flag(
            "TX-007",
            f"event at {format_datetime(timestamp)} happened while the station "
            f"was disconnected ({format_datetime(period[0])} to "
            f"{format_datetime(period[1])}) but offline is not true",
        )
    first_seen = session.link.first_connected
    if (
        offline
        and not near_period
        and first_seen is not None
        and first_seen + margin < timestamp < session.now + margin
    ):
        session.flag(
            "TX-007",
            f"offline=true on an event at {format_datetime(timestamp)}, while "
            "the station was connected",
            Severity.INFO,
        )


def seq_gaps(transaction: Transaction) -> list[tuple[int, int]]:
    """(seqNo before, seqNo after) of each gap in the numbers seen so far, in seqNo order."""
    return [(low, high) for low, high in pairwise(sorted(transaction.events)) if high - low > 1]


def missing_seqs(low: int, high: int) -> str:
    """The seqNos a gap lost, as findings name them: '4' or '2-3'."""
    return str(low + 1) if high - low == 2 else f"{low + 1}-{high - 1}"


def review_numbering(session: Session, transaction: Transaction) -> None:
    """TX-003: report each seqNo gap once (after the grace period for late offline messages)."""
    for low, high in seq_gaps(transaction):
        if (low, high) not in transaction.reported_gaps:
            transaction.reported_gaps.add((low, high))
            lost = high - low - 1
            session.flag(
                "TX-003",
                f"TransactionEvent seqNo jumped from {low} to {high} in "
                f"transaction {transaction.transaction_id}: {lost} message"
                f"{'s' if lost > 1 else ''} lost (seqNo {missing_seqs(low, high)})",
                ref=transaction.events[high].ref,
                details={
                    "transaction_id": transaction.transaction_id,
                    "seq_before": low,
                    "seq_after": high,
                    "lost": lost,
                },
            )


class TransactionsGroup(RuleGroup):
    """Owns the transactions seen (S-TX), which remote and backoff read."""

    needs = (DeviceModelGroup, StatusGroup)

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.transactions: dict[str, Transaction] = {}

    def _transaction(
        self, transaction_id: str, event_type: str, seq: int, timestamp: float | None
    ) -> Transaction:
        session = self.session
        transaction = self.transactions.get(transaction_id)
        if transaction is not None and not (
            event_type == "Started" and _after_end(transaction, seq, timestamp)
        ):
            return transaction
        if transaction is not None:
            session.flag(
                "TX-001",
                f"transactionId {transaction_id} is reused by a new Started event "
                "after that transaction ended; every transaction needs its own id",
            )
            session.cancel(("tx-review", transaction_id))
            review_numbering(session, transaction)
        transaction = Transaction(transaction_id, started_at=session.now)
        self.transactions[transaction_id] = transaction
        if len(self.transactions) > REMEMBERED_TRANSACTIONS:
            self._forget_oldest()
        return transaction

    def _forget_oldest(self) -> None:
        """Drop the oldest ended transaction (the oldest of all when none ended), reviewed first."""
        session = self.session
        transactions = self.transactions
        transaction_id = next(
            (key for key, tx in transactions.items() if tx.ended_seq is not None),
            next(iter(transactions)),
        )
        transaction = transactions[transaction_id]
        session.cancel(("tx-review", transaction_id))
        review_numbering(session, transaction)
        del self.transactions[transaction_id]

    @on_call("TransactionEvent")
    def transaction_event(self, call: Call) -> None:
        session = self.session
        payload = call.payload
        if session.direction is not Direction.CHARGER_TO_CSMS or not payload:
            return
        key, event_type = _transaction_of(payload), payload.get("eventType")
        if key is None or event_type not in EVENT_TYPES:
            return  # the schema check has said what is wrong
        transaction_id, seq = key
        if seq < 0:
            session.flag(
                "TX-003", f"seqNo {seq} of transaction {transaction_id} is negative", Severity.ERROR
            )
            return
        timestamp = parse_datetime(payload.get("timestamp"))
        transaction = self._transaction(transaction_id, event_type, seq, timestamp)
        evse = payload.get("evse")
        if isinstance(evse, dict) and type(evse.get("id")) is int:
            transaction.evse_id = evse["id"]
            if type(evse.get("connectorId")) is int:
                transaction.connector_id = evse["connectorId"]
        energy = energy_register_wh(payload.get("meterValue"))
        # The offline flag is left out on purpose: a retried message may set it (libocpp does).
        signature = (event_type, payload.get("timestamp"), payload.get("triggerReason"), energy)
        earlier = transaction.events.get(seq)
        if earlier is not None:
            _repeated(session, transaction, seq, earlier, signature)
            return
        event = TxEvent(
            event_type,
            timestamp,
            signature,
            energy,
            offline=payload.get("offline") is True,
            ref=session.event.ref if session.event else None,
        )
        _check_order(session, transaction, seq, event_type)
        _check_neighbours(session, transaction, seq, event)
        transaction.events[seq] = event
        _check_clock(session, timestamp)
        _check_offline(session, event.offline, timestamp)
        connection = session.connection
        if (
            timestamp is not None
            and not event.offline
            and connection is not None
            and timestamp > connection.opened_at + session.config.clock_tolerance
        ):  # live for sure: it happened on this connection, so it is no late replay
            session.link.clocked(connection.connection_id, timestamp - session.now)
        info = payload["transactionInfo"]
        if "chargingState" in info:
            transaction.charging = info["chargingState"] == "Charging"
            session.group(StatusGroup).check_status_agrees(transaction)
        if "stoppedReason" in info and event_type != "Ended":
            session.flag(
                "TX-006",
                f"stoppedReason on a {event_type} event of transaction "
                f"{transaction_id}; it belongs to Ended",
                Severity.INFO,
            )
        if event_type == "Ended":
            transaction.ended_at = session.now
            session.at(
                ("tx-review", transaction_id),
                session.now + session.config.transaction_grace,
                lambda: review_numbering(session, transaction),
            )

    @on_finish
    def review_all(self) -> None:
        session = self.session
        for transaction_id, transaction in self.transactions.items():
            session.cancel(("tx-review", transaction_id))
            review_numbering(session, transaction)

    @on_result("TransactionEvent")
    def acknowledged(self, pending: PendingCall, result: CallResult) -> None:
        session = self.session
        key = _transaction_of(pending.payload)
        transaction = self.transactions.get(key[0]) if key else None
        if key and transaction and key[1] in transaction.events:
            transaction.events[key[1]].acknowledged = True
        if "idToken" in pending.payload and "idTokenInfo" not in (result.payload or {}):
            session.flag(
                "TX-010",
                "TransactionEventResponse has no idTokenInfo although the event "
                "carried an idToken (E01.FR.12)",
                Severity.WARNING,
            )

    @on_error("TransactionEvent")
    def refused(self, pending: PendingCall, error: CallError) -> None:
        session = self.session
        if pending.valid and not pending.forbidden:  # SecurityError is the right answer then
            session.flag(
                "TX-010",
                f"CSMS answered a valid TransactionEvent with CALLERROR "
                f"{error.error_code}; a TransactionEvent cannot be rejected, the station "
                "will resend it (J02.FR.19)",
            )
