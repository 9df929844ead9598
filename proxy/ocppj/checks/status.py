"""STAT group: StatusNotification values and their agreement with transactions (G01-G04)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.hooks import on_call

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call
    from proxy.ocppj.session import Session
    from proxy.ocppj.state import Transaction


@on_call("StatusNotification")
def connector_status(session: Session, call: Call) -> None:
    payload = call.payload or {}
    evse_id, connector_id = payload.get("evseId"), payload.get("connectorId")
    if evse_id == 0 or connector_id == 0:
        session.flag(
            "STAT-001",
            f"StatusNotification for evseId {evse_id}, connectorId "
            f"{connector_id}: statuses are reported per connector, numbered from 1",
        )
    status = payload.get("connectorStatus")
    if type(evse_id) is int and isinstance(status, str):
        session.evse_status[evse_id] = (status, session.now)


def check_status_agrees(session: Session, transaction: Transaction) -> None:
    """STAT-002: a station still charging on an EVSE it reported Available during the session."""
    if not transaction.charging or transaction.status_conflict_reported:
        return
    reported = session.evse_status.get(transaction.evse_id or -1)
    if reported and reported[0] == "Available" and reported[1] > transaction.started_at:
        transaction.status_conflict_reported = True
        session.flag(
            "STAT-002",
            f"EVSE {transaction.evse_id} was reported Available "
            f"{session.now - reported[1]:.0f} s ago while transaction "
            f"{transaction.transaction_id} is still charging on it",
        )
