"""HB group: silence against the granted HeartbeatInterval (Part 2 Appendices, OCPPCommCtrlr) and
the CSMS's answer to a Heartbeat.

HB-003 judges what the schema and other rules leave: a HeartbeatResponse without currentTime is
SCH-001's, one whose time is off BOOT-009's, a triggered Heartbeat that never came REM-004's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.boot import BootGroup
from proxy.ocppj.checks.device_model import DeviceModelGroup
from proxy.ocppj.checks.remote import RemoteGroup
from proxy.ocppj.routing import RuleGroup, on_call, on_close, on_error, on_frame

if TYPE_CHECKING:
    from proxy.ocppj.events import ConnectionClosed
    from proxy.ocppj.messages import Call, CallError, Parsed
    from proxy.ocppj.rpc import Connection, PendingCall
    from proxy.ocppj.session import Session

MIN_SLACK = 5.0
"""Seconds of silence tolerated beyond the heartbeat interval (10 % for long intervals)."""


def _allowed_silence(session: Session) -> tuple[float, float] | None:
    """(interval, allowed silence) once the station is Accepted with a positive interval."""
    interval = session.group(DeviceModelGroup).model.number("HeartbeatInterval")
    if session.group(BootGroup).registration.status != "Accepted" or not interval or interval <= 0:
        return None
    return interval, interval + max(MIN_SLACK, 0.1 * interval)


def _check_silence(session: Session, connection: Connection, what: str) -> None:
    silence = session.now - connection.last_activity
    if silence <= MIN_SLACK:  # the common case, decided without looking up the interval
        return
    if connection.pending[Direction.CHARGER_TO_CSMS]:
        return  # the station waits for an answer (RPC-007); RPC-008 reports a missing one
    limits = _allowed_silence(session)
    if limits is None:
        return
    interval, allowed = limits
    if silence > allowed:
        session.flag(
            "HB-001",
            f"no OCPP message for {silence:.0f} s {what}; HeartbeatInterval is {interval:g} s",
        )


class HeartbeatGroup(RuleGroup):
    """Judges silence and the heartbeat rate of each connection."""

    needs = (BootGroup, DeviceModelGroup, RemoteGroup)

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.last_heartbeat: dict[str, float] = {}
        """connection id -> when its last untriggered Heartbeat came."""
        self.frequent_reported: set[str] = set()
        """Connections already reported for HB-002 (once per connection)."""

    @on_frame
    def silence_before_frame(self, parsed: Parsed) -> None:
        session = self.session
        if session.connection is not None:
            _check_silence(session, session.connection, "before this frame")

    @on_close
    def silence_before_close(self, event: ConnectionClosed) -> None:
        session = self.session
        if session.connection is not None:
            _check_silence(session, session.connection, "before the connection closed")
        self.last_heartbeat.pop(event.connection_id, None)
        self.frequent_reported.discard(event.connection_id)

    @on_call("Heartbeat")
    def heartbeat_rate(self, call: Call) -> None:
        session = self.session
        connection = session.connection
        if connection is None or session.group(RemoteGroup).is_triggered("Heartbeat"):
            return
        key = connection.connection_id
        previous = self.last_heartbeat.get(key)
        self.last_heartbeat[key] = session.now
        limits = _allowed_silence(session)
        if previous is None or limits is None or key in self.frequent_reported:
            return
        interval = limits[0]
        if session.now - previous < interval / 2:
            self.frequent_reported.add(key)
            session.flag(
                "HB-002",
                f"Heartbeat {session.now - previous:.0f} s after the previous "
                f"one while HeartbeatInterval is {interval:g} s",
            )

    @on_error("Heartbeat")
    def heartbeat_refused(self, pending: PendingCall, error: CallError) -> None:
        if (
            pending.direction is Direction.CHARGER_TO_CSMS
            and pending.valid
            and not pending.forbidden  # SecurityError is the right answer then
        ):
            self.session.flag(
                "HB-003",
                f"CSMS answered a valid Heartbeat with CALLERROR {error.error_code}; the "
                "HeartbeatResponse carries the currentTime the station keeps its clock by (G02)",
            )
