"""HB group: silence against the granted HeartbeatInterval (Part 2 Appendices, OCPPCommCtrlr)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.remote import is_triggered
from proxy.ocppj.hooks import on_call, on_close, on_frame

if TYPE_CHECKING:
    from proxy.ocppj.events import ConnectionClosed
    from proxy.ocppj.messages import Call, Parsed
    from proxy.ocppj.session import Connection, Session

MIN_SLACK = 5.0
"""Seconds of silence tolerated beyond the heartbeat interval (10 % for long intervals)."""


def _allowed_silence(session: Session) -> tuple[float, float] | None:
    """(interval, allowed silence) once the station is Accepted with a positive interval."""
    interval = session.device_model.number("HeartbeatInterval")
    if session.registration.status != "Accepted" or not interval or interval <= 0:
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


@on_frame
def silence_before_frame(session: Session, parsed: Parsed) -> None:
    if session.connection is not None:
        _check_silence(session, session.connection, "before this frame")


@on_close
def silence_before_close(session: Session, event: ConnectionClosed) -> None:
    if session.connection is not None:
        _check_silence(session, session.connection, "before the connection closed")


@on_call("Heartbeat")
def heartbeat_rate(session: Session, call: Call) -> None:
    connection = session.connection
    if connection is None or is_triggered(session, "Heartbeat"):
        return
    previous, connection.last_heartbeat = connection.last_heartbeat, session.now
    limits = _allowed_silence(session)
    if previous is None or limits is None or connection.frequent_heartbeat_reported:
        return
    interval = limits[0]
    if session.now - previous < interval / 2:
        connection.frequent_heartbeat_reported = True
        session.flag(
            "HB-002",
            f"Heartbeat {session.now - previous:.0f} s after the previous "
            f"one while HeartbeatInterval is {interval:g} s",
        )
