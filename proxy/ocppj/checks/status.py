"""STAT group: StatusNotification values and their agreement with transactions (G01-G04)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.routing import RuleGroup, on_call

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call
    from proxy.ocppj.session import Session
    from proxy.ocppj.state import Transaction


class StatusGroup(RuleGroup):
    """Owns the connector statuses reported, which transactions are checked against."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.connector_status: dict[tuple[int, int], tuple[str, float]] = {}
        """(evseId, connectorId) -> last reported connectorStatus and when."""

    def check_status_agrees(self, transaction: Transaction) -> None:
        """STAT-002: a station still charging on an EVSE it reported Available during the session."""
        if not transaction.charging or transaction.status_conflict_reported:
            return
        session = self.session
        evse, connector = transaction.evse_id, transaction.connector_id
        reports = [
            report
            for (evse_id, connector_id), report in self.connector_status.items()
            if evse_id == evse and connector in (None, connector_id)
        ]
        # With the connector unknown, only an EVSE whose every connector says Available conflicts.
        if reports and all(
            status == "Available" and at > transaction.started_at for status, at in reports
        ):
            transaction.status_conflict_reported = True
            where = f"EVSE {evse}" + (f" connector {connector}" if connector is not None else "")
            latest = max(at for _status, at in reports)
            session.flag(
                "STAT-002",
                f"{where} was reported Available {session.now - latest:.0f} s ago while "
                f"transaction {transaction.transaction_id} is still charging on it",
            )

    @on_call("StatusNotification")
    def status_reported(self, call: Call) -> None:
        session = self.session
        payload = call.payload or {}
        evse_id, connector_id = payload.get("evseId"), payload.get("connectorId")
        if evse_id == 0 or connector_id == 0:
            session.flag(
                "STAT-001",
                f"StatusNotification for evseId {evse_id}, connectorId "
                f"{connector_id}: statuses are reported per connector, numbered from 1",
            )
        status = payload.get("connectorStatus")
        if type(evse_id) is int and type(connector_id) is int and isinstance(status, str):
            self.connector_status[evse_id, connector_id] = (status, session.now)
