"""BOOT16 group: the OCPP 1.6 registration gate (OCPP 1.6 §4.2 Boot Notification, §6.3/§6.4).

Until the Central System answers a BootNotification with Accepted the charge point sends no other
request: while Pending only what a TriggerMessage asked for, while Rejected nothing at all until
the interval has passed, and after a Pending or Rejected answer its next BootNotification waits
the interval (the retry time then, the heartbeat interval only once Accepted). A Pending charge
point still answers the Central System, which may not ask it to start or stop a transaction
remotely yet. Queued transaction messages sent through the gate are judged as QUEUE16-001
(`checks.v16_queue`): one defect, named by its cause.
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

NOT_WHILE_PENDING = frozenset({"RemoteStartTransaction", "RemoteStopTransaction"})
RETRY_SLACK = 1.0
"""Seconds a retry may come before the interval ends (rounding of the observed clocks)."""


@dataclass(slots=True)
class Registration16:
    """The latest BootNotification.conf and its BootNotification."""

    status: str | None = None
    """Accepted, Pending or Rejected; None before any answer was seen."""
    interval: int = 0
    answered_at: float = 0.0
    requested_on: str | None = None
    """The connection of a BootNotification not answered yet."""
    unbooted_reported: bool = False


class Boot16Group(RuleGroup):
    """Owns the 1.6 registration state that the heartbeat and queue groups read."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.registration = Registration16()
        self.triggered: set[str] = set()
        """Messages the charge point accepted to send by TriggerMessage while not Accepted."""

    @property
    def accepted(self) -> bool:
        return self.registration.status == "Accepted"

    @property
    def waiting(self) -> bool:
        """A BootNotification was sent or answered and the charge point is not Accepted."""
        registration = self.registration
        return not self.accepted and (
            registration.status is not None or registration.requested_on is not None
        )

    @on_call("BootNotification")
    def boot_requested(self, call: Call) -> None:
        """Judge the retry, then wait for the answer: a charge point that boots (again) is not
        Accepted until this BootNotification is."""
        session = self.session
        if session.direction is not Direction.CHARGER_TO_CSMS:
            return
        registration = self.registration
        if "BootNotification" in self.triggered:
            self.triggered.discard("BootNotification")
        elif registration.status in ("Pending", "Rejected") and registration.interval > 0:
            waited = session.now - registration.answered_at
            if waited < registration.interval - RETRY_SLACK:
                session.flag(
                    "BOOT16-002",
                    f"BootNotification {waited:.1f} s after the Central System answered "
                    f"{registration.status} with interval {registration.interval} s; the "
                    "interval is the minimum wait before the next BootNotification",
                    details={"registration": registration.status, "waited": round(waited, 3)},
                )
        registration.status = None
        registration.requested_on = session.connection.connection_id if session.connection else None

    @on_result("BootNotification")
    def boot_answered(self, pending: PendingCall, result: CallResult) -> None:
        payload = result.payload or {}
        status, interval = payload.get("status"), payload.get("interval")
        registration = self.registration
        registration.requested_on = None
        if status not in ("Accepted", "Pending", "Rejected") or type(interval) is not int:
            return  # the schema check reports it
        registration.status, registration.interval = status, interval
        registration.answered_at = self.session.now
        self.triggered.clear()

    @on_result("TriggerMessage")
    def trigger_accepted(self, pending: PendingCall, result: CallResult) -> None:
        if not self.accepted and (result.payload or {}).get("status") == "Accepted":
            requested = pending.payload.get("requestedMessage")
            if isinstance(requested, str):
                self.triggered.add(requested)

    @on_call()
    def registration_gate(self, call: Call) -> None:
        session = self.session
        registration = self.registration
        if session.direction is Direction.CSMS_TO_CHARGER:
            if registration.status == "Pending" and call.action in NOT_WHILE_PENDING:
                session.flag(
                    "BOOT16-003",
                    f"Central System sent {call.action} to a charge point whose registration "
                    "is Pending; remote start and stop wait until it is Accepted",
                )
            return
        if self.accepted or call.action == "BootNotification":
            return
        if self.waiting and queued(session, call.action, call.payload or {}):
            return  # QUEUE16-001
        if call.action in self.triggered:
            self.triggered.discard(call.action)
            return
        if registration.status is None:
            self._unregistered(call)
        elif registration.status == "Pending":
            session.flag(
                "BOOT16-001",
                f"{call.action} while the registration is Pending; until Accepted the charge "
                "point sends only BootNotification and what a TriggerMessage asked for",
                details={"registration": "Pending"},
            )
        else:
            ends = registration.answered_at + registration.interval
            if session.now < ends:
                session.flag(
                    "BOOT16-002",
                    f"{call.action} while Rejected, {ends - session.now:.0f} s before the "
                    "retry interval ends; a rejected charge point sends nothing until then",
                    details={"registration": "Rejected"},
                )
            else:
                session.flag(
                    "BOOT16-001",
                    f"{call.action} while Rejected; the charge point must be accepted by a new "
                    "BootNotification first",
                    details={"registration": "Rejected"},
                )

    def _unregistered(self, call: Call) -> None:
        """Before any BootNotification.conf: an error when one is outstanding on this
        connection, a warning (once) when none was seen, as a capture may begin after it."""
        session = self.session
        registration = self.registration
        here = session.connection.connection_id if session.connection else None
        if registration.requested_on is not None and registration.requested_on == here:
            session.flag(
                "BOOT16-001",
                f"{call.action} before the Central System answered the BootNotification; the "
                "charge point waits for Accepted",
                details={"registration": "unanswered"},
            )
        elif not registration.unbooted_reported:
            registration.unbooted_reported = True
            session.flag(
                "BOOT16-001",
                f"{call.action} before any BootNotification was seen; fine only if the charge "
                "point was accepted before this observation began",
                Severity.WARNING,
                details={"registration": "none"},
            )
