"""HB16 group: silence against the OCPP 1.6 heartbeat interval (OCPP 1.6 §4.6 Heartbeat, §9.1.10).

The interval is the one of the accepting BootNotification.conf, or the HeartbeatInterval value a
later ChangeConfiguration set (answered Accepted). Any message counts as a sign of life: 1.6 lets
a charge point skip a Heartbeat when it sent something else within the interval (§4.6), and
§9.1.10 counts inactivity as "no OCPP exchanges" either way.

Silence beyond the interval is only info: "with JSON over WebSocket, sending heartbeats is not
mandatory" (§4.6), WebSocket pings may stand in for them (OCPP-J 1.6 §5.3), and the proxy does
not see pings. What both texts still advise is one Heartbeat a day for the clock: a day without
any OCPP message (and longer than the interval, which the Central System may set beyond a day)
is a warning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.v16_boot import Boot16Group
from proxy.ocppj.findings import Severity
from proxy.ocppj.routing import RuleGroup, on_close, on_frame, on_result

if TYPE_CHECKING:
    from proxy.ocppj.events import ConnectionClosed
    from proxy.ocppj.messages import CallResult, Parsed
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

MIN_SLACK = 5.0
"""Seconds of silence tolerated beyond the interval (10 % for long intervals)."""
DAY = 86_400
"""OCPP 1.6 §4.6: "it is advised to at least send one heartbeat per 24 hour"."""
DAY_SLACK = 0.01
"""Share of a day tolerated beyond it (about 15 minutes): a daily timer runs late by minutes."""


class Heartbeat16Group(RuleGroup):
    """Keeps the granted interval and judges each connection's silences against it."""

    needs = (Boot16Group,)

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.interval = 0
        """The heartbeat interval in seconds; 0 while none was granted."""

    @on_result("BootNotification")
    def boot_answered(self, pending: PendingCall, result: CallResult) -> None:
        payload = result.payload or {}
        interval = payload.get("interval")
        if payload.get("status") == "Accepted" and type(interval) is int:
            self.interval = interval

    @on_result("ChangeConfiguration")
    def configured(self, pending: PendingCall, result: CallResult) -> None:
        payload = pending.payload
        if payload.get("key") != "HeartbeatInterval":
            return
        if (result.payload or {}).get("status") != "Accepted":
            return
        try:
            self.interval = int(str(payload.get("value")))
        except ValueError:
            return  # a value the charge point should not have accepted; not this rule's

    @on_frame
    def before_frame(self, parsed: Parsed) -> None:
        self._check("before this frame")

    @on_close
    def before_close(self, event: ConnectionClosed) -> None:
        self._check("before the connection closed")

    def _check(self, what: str) -> None:
        session = self.session
        connection = session.connection
        if connection is None:
            return
        if not session.group(Boot16Group).accepted or connection.pending[Direction.CHARGER_TO_CSMS]:
            return  # not registered yet, or waiting for an answer (the RPC rules judge that)
        silence = session.now - connection.last_activity
        interval = self.interval
        if silence > _allowed(max(DAY, interval), DAY_SLACK):
            severity, beyond = Severity.WARNING, "a daily Heartbeat is advised for the clock"
        elif interval > 0 and silence > _allowed(interval, 0.1):
            severity, beyond = (
                Severity.INFO,
                "heartbeats are optional over WebSocket, whose pings (unseen by the proxy) may "
                "stand in for them",
            )
        else:
            return
        granted = f"the heartbeat interval is {interval} s" if interval > 0 else "none was granted"
        session.flag(
            "HB16-001",
            f"no OCPP message for {silence:.0f} s {what}; {granted}, and {beyond} (OCPP 1.6 §4.6)",
            severity,
            details={"silence": round(silence, 3), "interval": interval},
        )


def _allowed(seconds: float, share: float) -> float:
    """Silence tolerated for a period of `seconds`: `share` of it, at least MIN_SLACK, added."""
    return seconds + max(MIN_SLACK, share * seconds)
