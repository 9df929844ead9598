"""STAT group: StatusNotification values and their agreement with transactions (G01-G04)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.routing import RuleGroup, on_call

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call
    from proxy.ocppj.session import Session
    from proxy.ocppj.state import Transaction

PLUG_IN_WINDOW = 5.0
"""Seconds after a connector reported Occupied in which a report of another connector of its EVSE
counts as caused by that plug-in (STAT-003)."""
UNUSABLE = ("Occupied", "Unavailable")


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
            self._check_other_connectors(evse_id, connector_id, status)
            self.connector_status[evse_id, connector_id] = (status, session.now)

    def _check_other_connectors(self, evse_id: int, connector_id: int, status: str) -> None:
        """STAT-003: a plug-in makes the EVSE's other connectors unusable without a report of
        theirs (G01.FR.08 as the 2023-12 errata words it)."""
        session = self.session
        previous = self.connector_status.get((evse_id, connector_id))
        if status not in UNUSABLE or previous is None or previous[0] != "Available":
            return
        plugged = next(
            (
                other
                for (evse, other), (other_status, at) in self.connector_status.items()
                if evse == evse_id
                and other != connector_id
                and other_status == "Occupied"
                and session.now - at <= PLUG_IN_WINDOW
            ),
            None,
        )
        if plugged is not None:
            session.flag(
                "STAT-003",
                f"StatusNotification {status} for connector {connector_id} of EVSE {evse_id} "
                f"right after connector {plugged} was plugged in; the other connectors of a "
                "multi-connector EVSE should not be reported then (G01.FR.08)",
            )
