"""BOOT group: BootNotification first, the Pending/Rejected gate, retry intervals, clocks (B01-B03)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.device_model import DeviceModelGroup
from proxy.ocppj.checks.remote import RemoteGroup
from proxy.ocppj.findings import Severity
from proxy.ocppj.routing import RuleGroup, on_call, on_error, on_result
from proxy.ocppj.state import Registration
from proxy.ocppj.timefmt import format_datetime, parse_datetime

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call, CallError, CallResult
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

ALLOWED_WHILE_PENDING = frozenset({"BootNotification", "NotifyReport"})


class BootGroup(RuleGroup):
    """Owns the registration state (S-REG) that other groups read."""

    needs = (DeviceModelGroup, RemoteGroup)

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.registration = Registration()

    @on_call("BootNotification")
    def boot_requested(self, call: Call) -> None:
        session = self.session
        registration = self.registration
        if session.direction is Direction.CHARGER_TO_CSMS:
            registration.requested_at = session.now
            registration.requested_on = (
                session.connection.connection_id if session.connection else None
            )
        if registration.status not in ("Pending", "Rejected") or registration.interval <= 0:
            return
        if (call.payload or {}).get("reason") == "Triggered":
            return
        waited = session.now - registration.answered_at
        if waited < registration.interval - 1.0:
            session.flag(
                "BOOT-003",
                f"BootNotification {waited:.1f} s after the CSMS answered "
                f"{registration.status} with interval {registration.interval} s; the station "
                "must wait the interval first",
            )

    @on_result("BootNotification")
    def boot_answered(self, pending: PendingCall, result: CallResult) -> None:
        session = self.session
        self.registration.requested_at = self.registration.requested_on = None
        payload = result.payload or {}
        status, interval = payload.get("status"), payload.get("interval")
        if status not in ("Accepted", "Pending", "Rejected") or type(interval) is not int:
            return
        registration = self.registration
        registration.status, registration.interval = status, interval
        registration.answered_at = session.now
        if status == "Accepted" and interval > 0:
            self.session.group(DeviceModelGroup).model.grant("HeartbeatInterval", interval)

    @on_error("BootNotification")
    def boot_refused(self, pending: PendingCall, error: CallError) -> None:
        self.registration.requested_at = self.registration.requested_on = None

    @on_result("TriggerMessage")
    def trigger_while_accepted(self, pending: PendingCall, result: CallResult) -> None:
        if (
            pending.payload.get("requestedMessage") == "BootNotification"
            and (result.payload or {}).get("status") == "Accepted"
            and self.registration.status == "Accepted"
            and self.session.group(RemoteGroup).awaits_trigger("BootNotification")
        ):
            self.session.flag(
                "BOOT-005",
                "station accepted TriggerMessage(BootNotification) although it "
                "is already Accepted; it should answer Rejected (F06.FR.17)",
            )

    @on_result("BootNotification", "Heartbeat")
    def clock_agrees(self, pending: PendingCall, result: CallResult) -> None:
        session = self.session
        current = parse_datetime((result.payload or {}).get("currentTime"))
        if current is None:
            return
        skew = current - session.now
        if abs(skew) > session.config.clock_tolerance:
            session.flag(
                "BOOT-009",
                f"CSMS currentTime {format_datetime(current)} is {abs(skew):.1f} s "
                f"{'ahead of' if skew > 0 else 'behind'} the observer's clock",
            )

    @on_call()
    def registration_gate(self, call: Call) -> None:
        session = self.session
        status = self.registration.status
        if session.direction is Direction.CSMS_TO_CHARGER:
            if status == "Rejected":
                session.flag(
                    "BOOT-002",
                    f"CSMS sent {call.action} to a station it rejected; it "
                    "shall not initiate messages until the station is accepted",
                )
            return
        if status == "Accepted" or call.action == "BootNotification":
            return
        pending = session.current_call
        if status is None:
            self._unregistered(call)
            return
        if status == "Pending":
            if call.action in ALLOWED_WHILE_PENDING or session.group(RemoteGroup).is_triggered(
                call.action
            ):
                return
            session.flag(
                "BOOT-001",
                f"{call.action} while registration is Pending: only "
                "BootNotification, NotifyReport and triggered messages are allowed",
                details={"registration": "Pending"},
            )
        else:
            ends = self.registration.answered_at + self.registration.interval
            if session.now < ends:
                session.flag(
                    "BOOT-002",
                    f"{call.action} while Rejected, {ends - session.now:.0f} s "
                    "before the retry interval ends",
                )
            else:
                session.flag(
                    "BOOT-001",
                    f"{call.action} while Rejected: the station must send a new BootNotification first",
                    details={"registration": "Rejected"},
                )
        if pending is not None:
            pending.forbidden = True

    def _unregistered(self, call: Call) -> None:
        """A station CALL before any BootNotificationResponse: was a BootNotification sent?"""
        session = self.session
        registration = self.registration
        sent_at = registration.requested_at
        if sent_at is None:
            if not registration.unbooted_reported:
                registration.unbooted_reported = True
                session.flag(
                    "BOOT-001",
                    f"{call.action} before any BootNotification was seen; "
                    "fine only if the station was accepted before this observation began",
                    Severity.WARNING,
                    details={"registration": "none"},
                )
            return
        if registration.unanswered_reported == sent_at:
            return  # one finding per unanswered BootNotification
        registration.unanswered_reported = sent_at
        connection = session.connection
        here = connection is not None and registration.requested_on == connection.connection_id
        waited = session.now - sent_at
        sent = f"the BootNotification of {format_datetime(sent_at)}"
        if here:
            message = (
                f"{call.action} sent {waited:.1f} s after {sent}, which the CSMS has not "
                "answered yet; the station must wait for an Accepted answer"
            )
        else:
            message = (
                f"{call.action} on a connection without BootNotification; {sent}, sent "
                f"{waited:.1f} s earlier on another connection, was never answered"
            )
        session.flag(
            "BOOT-001",
            message,
            details={
                "registration": "unanswered" if here else "none",
                "boot_sent_at": format_datetime(sent_at),
                "waited": round(waited, 3),
            },
        )

    @on_result()
    def forbidden_call_accepted(self, pending: PendingCall, result: CallResult) -> None:
        session = self.session
        if pending.forbidden:
            session.flag(
                "BOOT-001",
                f"CSMS answered {pending.action}, sent before the station was "
                "accepted, with a CALLRESULT; it should answer CALLERROR SecurityError",
                Severity.WARNING,
            )

    @on_error()
    def forbidden_call_refused(self, pending: PendingCall, error: CallError) -> None:
        session = self.session
        if pending.forbidden and error.error_code != "SecurityError":
            session.flag(
                "BOOT-001",
                f"CSMS refused {pending.action}, sent before the station was "
                f"accepted, with {error.error_code}; the expected code is SecurityError",
                Severity.WARNING,
            )
