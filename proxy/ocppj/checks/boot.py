"""BOOT group: BootNotification first, the Pending/Rejected gate, retry intervals, clocks (B01-B03),
the station's answers while Pending (B02), and BootNotifications on a mere reconnect (OCPP-J §5.3).

Queued TransactionEvents sent through the gate are judged as QUEUE-003 rather than BOOT-001/002:
one defect, named by its cause."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.device_model import DeviceModelGroup
from proxy.ocppj.checks.queue import queued
from proxy.ocppj.checks.remote import RemoteGroup
from proxy.ocppj.findings import Severity
from proxy.ocppj.routing import RuleGroup, on_call, on_close, on_error, on_result
from proxy.ocppj.state import Registration
from proxy.ocppj.timefmt import format_datetime, parse_datetime

if TYPE_CHECKING:
    from proxy.ocppj.events import ConnectionClosed
    from proxy.ocppj.messages import Call, CallError, CallResult
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

ALLOWED_WHILE_PENDING = frozenset({"BootNotification", "NotifyReport"})
ANSWERED_WHILE_PENDING = frozenset(
    {"GetVariables", "SetVariables", "GetBaseReport", "GetReport", "TriggerMessage"}
)
"""CSMS requests a Pending station handles as usual (B02.FR.01)."""
REJECTED_WHILE_PENDING = frozenset({"RequestStartTransaction", "RequestStopTransaction"})
"""CSMS requests a Pending station answers Rejected (B02.FR.05)."""
RESTARTS = frozenset({"Accepted", "Scheduled", "AcceptedCanceled"})
"""Reset and UpdateFirmware answers after which the station restarts."""
OWN_RESTARTS = frozenset({"PowerUp", "Watchdog", "LocalReset", "ApplicationReset"})
"""BootNotification reasons that claim a restart nobody asked for: after a lost connection the
observer cannot tell one (a power cut also drops the connection) from a mere reconnect."""


class BootGroup(RuleGroup):
    """Owns the registration state (S-REG) that other groups read."""

    needs = (DeviceModelGroup, RemoteGroup)

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.registration = Registration()
        self.asked_while_pending: set[str] = set()
        """MessageIds of the CSMS's requests of B02.FR.01/05 sent while Pending, unanswered."""
        self.last_boot: object = None
        """The chargingStation of the latest BootNotification, to compare the next one with."""
        self.last_boot_on: str | None = None
        self.since_boot: str | None = None
        """How the latest connection ended since that BootNotification: 'lost' (the network or
        the CSMS ended it) or 'station'; None while no connection ended."""
        self.restart_asked = False
        """The CSMS asked for a restart (Reset, UpdateFirmware) since that BootNotification."""
        self.queue_reported_on: str | None = None
        """The connection on which queued TransactionEvents before Accepted were reported."""

    @on_call("BootNotification")
    def boot_requested(self, call: Call) -> None:
        session = self.session
        registration = self.registration
        if session.direction is Direction.CHARGER_TO_CSMS:
            registration.requested_at = session.now
            registration.requested_on = (
                session.connection.connection_id if session.connection else None
            )
            self._unchanged_reboot(call)
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

    def _unchanged_reboot(self, call: Call) -> None:
        """BOOT-007 (info): a BootNotification of an accepted station on a reconnect after a lost
        connection, with the content of the previous one, no restart asked for, none claimed
        (reason Unknown, or a requested restart nobody requested): a station that only
        reconnected should not send one."""
        session = self.session
        payload = call.payload or {}
        station = payload.get("chargingStation")
        here = session.connection.connection_id if session.connection else None
        if (
            payload.get("reason") not in OWN_RESTARTS | {"Triggered"}
            and self.registration.status == "Accepted"
            and self.last_boot is not None
            and here != self.last_boot_on
            and self.since_boot == "lost"
            and not self.restart_asked
            and station == self.last_boot
        ):
            session.flag(
                "BOOT-007",
                f"BootNotification (reason {payload.get('reason')}) on a reconnect after a lost "
                "connection, with the same content as the previous one and no restart "
                "requested; a station that only reconnects sends none",
            )
        self.last_boot, self.last_boot_on = station, here
        self.since_boot, self.restart_asked = None, False

    @on_close
    def connection_ended(self, event: ConnectionClosed) -> None:
        self.since_boot = "station" if event.closed_by == "charger" else "lost"
        self.asked_while_pending.clear()

    @on_result("Reset", "UpdateFirmware")
    def restart_accepted(self, pending: PendingCall, result: CallResult) -> None:
        status = (result.payload or {}).get("status")
        if isinstance(status, str) and status in RESTARTS:  # a broken payload may hold anything
            self.restart_asked = True

    @on_result(*ANSWERED_WHILE_PENDING, *REJECTED_WHILE_PENDING)
    def answered_while_pending(self, pending: PendingCall, result: CallResult) -> None:
        """BOOT-004: remote start and stop are Rejected while Pending (B02.FR.05)."""
        if pending.call.message_id not in self.asked_while_pending:
            return
        self.asked_while_pending.discard(pending.call.message_id)
        status = (result.payload or {}).get("status")
        if pending.action in REJECTED_WHILE_PENDING and status != "Rejected":
            self.session.flag(
                "BOOT-004",
                f"station answered {pending.action} with {status} while its registration "
                "is Pending; it must answer Rejected until it is accepted",
            )

    @on_error(*ANSWERED_WHILE_PENDING, *REJECTED_WHILE_PENDING)
    def refused_while_pending(self, pending: PendingCall, error: CallError) -> None:
        """BOOT-004: a Pending station handles the CSMS's requests (B02.FR.01), not as a
        registration gate of its own."""
        if pending.call.message_id not in self.asked_while_pending:
            return
        self.asked_while_pending.discard(pending.call.message_id)
        if error.error_code == "SecurityError":
            expected = "Rejected" if pending.action in REJECTED_WHILE_PENDING else "its result"
            self.session.flag(
                "BOOT-004",
                f"station refused {pending.action} with SecurityError while its registration "
                f"is Pending; the CSMS may ask it while Pending, the answer is {expected}",
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
            if status == "Pending" and call.action in (
                ANSWERED_WHILE_PENDING | REJECTED_WHILE_PENDING
            ):
                self.asked_while_pending.add(call.message_id)
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
        if call.action == "TransactionEvent" and self._queued_too_soon(call):
            if pending is not None:
                pending.forbidden = True
            return
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

    def _queued_too_soon(self, call: Call) -> bool:
        """QUEUE-003: a queued TransactionEvent waits until the station is Accepted (once per
        connection: a station flushing its queue too soon sends many)."""
        session = self.session
        registration = self.registration
        waiting = registration.status in ("Pending", "Rejected") or (
            registration.status is None and registration.requested_at is not None
        )
        if not (waiting and queued(session, call.payload or {})):
            return False
        here = session.connection.connection_id if session.connection else None
        if self.queue_reported_on != here:
            self.queue_reported_on = here
            state = registration.status or "not yet answered"
            session.flag(
                "QUEUE-003",
                f"queued TransactionEvent sent while the registration is {state}; queued "
                "transaction messages wait until the CSMS accepts the station",
                details={"registration": registration.status or "unanswered"},
            )
        return True

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
