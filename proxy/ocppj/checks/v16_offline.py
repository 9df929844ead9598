"""What tells an OCPP 1.6 transaction message from the offline queue from a live one.

1.6 messages carry no offline flag (2.0.1's TransactionEvent has one): a StartTransaction,
StopTransaction or MeterValues stamped before the connection it arrives on was opened happened
while the station could not send it, so it was queued (OCPP 1.6 §3.7 Transaction-related
messages). The clock tolerance keeps a live message of a station whose clock runs a little
ahead from counting as queued.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from proxy.ocppj.timefmt import parse_datetime

if TYPE_CHECKING:
    from proxy.ocppj.session import Session

TRANSACTION_MESSAGES = frozenset({"StartTransaction", "StopTransaction", "MeterValues"})


def stamped(action: str, payload: dict[str, Any]) -> float | None:
    """When a transaction message says its event happened (MeterValues: its first sample)."""
    if action == "MeterValues":
        values = payload.get("meterValue")
        first = values[0] if isinstance(values, list) and values else None
        return parse_datetime(first.get("timestamp")) if isinstance(first, dict) else None
    return parse_datetime(payload.get("timestamp"))


def queued(session: Session, action: str, payload: dict[str, Any]) -> bool:
    """A transaction message (MeterValues only with a transactionId) from before its connection."""
    if action not in TRANSACTION_MESSAGES or (
        action == "MeterValues" and payload.get("transactionId") is None
    ):
        return False
    connection = session.connection
    at = stamped(action, payload)
    return (
        connection is not None
        and at is not None
        and at < connection.opened_at - session.config.clock_tolerance
    )
