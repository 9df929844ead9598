"""WS group: the upgrade handshake, the station identity and the connection's life (P4 §3)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.device_model import DeviceModelGroup
from proxy.ocppj.events import Frame
from proxy.ocppj.findings import Severity
from proxy.ocppj.routing import (
    RuleGroup,
    on_call,
    on_close,
    on_finish,
    on_frame,
    on_open,
    on_refused,
)

if TYPE_CHECKING:
    from proxy.ocppj.events import ConnectionClosed, ConnectionOpened, HandshakeRefused
    from proxy.ocppj.messages import Call, Parsed
    from proxy.ocppj.session import Session

MAX_IDENTITY = 48
INVALID_PAYLOAD = 1007
MESSAGE_TOO_BIG = 1009
_IDENTIFIER = re.compile(r"[a-zA-Z0-9*\-_=+|@.]+")
_VERSION_SEGMENT = re.compile(r"(?i)(ocpp)?[-_]?v?(1\.6|16|2\.0(\.1)?|20|201|2\.1|21)j?")


def _identity(session: Session, identity: str) -> None:
    if len(identity) > MAX_IDENTITY:
        session.flag(
            "WS-004",
            f"station identity is {len(identity)} characters long, the maximum is {MAX_IDENTITY}",
        )
    if ":" in identity:
        session.flag(
            "WS-004",
            f"station identity '{identity}' contains ':', which is reserved "
            "as the Basic auth separator",
        )
    elif not _IDENTIFIER.fullmatch(identity):
        session.flag(
            "WS-004",
            f"station identity '{identity}' has characters outside "
            "identifierString (a-z A-Z 0-9 * - _ = + | @ .)",
            Severity.WARNING,
        )


def _version_in_path(session: Session, path: str) -> None:
    segments = [segment for segment in path.split("?", 1)[0].split("/") if segment][:-1]
    for segment in segments:
        if _VERSION_SEGMENT.fullmatch(segment):
            session.flag(
                "WS-006",
                f"endpoint path carries the OCPP version ('{segment}'); the "
                "version is negotiated by subprotocol",
            )
            return


def _compression(session: Session, event: ConnectionOpened) -> None:
    if not event.response_headers:
        return
    offered = event.request_headers.get("sec-websocket-extensions", "")
    accepted = event.response_headers.get("sec-websocket-extensions", "")
    if "permessage-deflate" in offered and "permessage-deflate" not in accepted:
        session.flag(
            "WS-011",
            "station offered permessage-deflate and the CSMS declined it; "
            "CSMS support of RFC 7692 is required",
        )


SIZE_LIMITS = {
    "GetReport": ("DeviceDataCtrlr", "GetReport"),
    "GetVariables": ("DeviceDataCtrlr", "GetVariables"),
    "SetVariables": ("DeviceDataCtrlr", "SetVariables"),
    "SetVariableMonitoring": ("MonitoringCtrlr", "SetVariableMonitoring"),
    "ClearVariableMonitoring": ("MonitoringCtrlr", "ClearVariableMonitoring"),
    "SendLocalList": ("LocalAuthListCtrlr", None),
}
"""CSMS requests whose size the station bounds by a BytesPerMessage variable: its component and
instance (Part 2 Appendices DeviceDataCtrlr, MonitoringCtrlr, LocalAuthListCtrlr); DM-002 judges
the item counts."""


class TransportGroup(RuleGroup):
    """Judges each handshake and the connection's life; keeps no state of its own."""

    needs = (DeviceModelGroup,)

    @on_open
    def handshake(self, event: ConnectionOpened) -> None:
        session = self.session
        offered = event.offered_subprotocols
        speaks = session.version.name
        selected = event.selected_subprotocol
        if offered is None:
            session.flag(
                "WS-001",
                "upgrade request has no Sec-WebSocket-Protocol header; "
                f"the station must offer {speaks}",
            )
        elif speaks not in offered and (selected is None or selected in offered):
            session.flag(
                "WS-001",
                f"station offered {', '.join(offered) or 'nothing'}, not {speaks}",
                Severity.INFO,
            )
        if selected is not None and offered is not None and selected not in offered:
            session.flag(
                "WS-002",
                f"CSMS selected subprotocol '{selected}', which the station did "
                f"not offer ({', '.join(offered)})",
            )
        if session.judges("WS-004"):
            _identity(session, event.station)
        if session.judges("WS-006"):
            _version_in_path(session, event.path)
        if session.judges("WS-011"):
            _compression(session, event)
        for other in session.connections.values():
            session.flag(
                "WS-015",
                f"second connection while connection {other.connection_id} "
                f"(opened {session.now - other.opened_at:.0f} s earlier) is still open",
            )

    @on_refused
    def refused(self, event: HandshakeRefused) -> None:
        """WS-005: a 4xx other than 404 may refuse for other reasons (401 for credentials), so
        it is only noted; 5xx and lost connections say the CSMS failed, not that it refused."""
        status = event.status
        if status is not None and 400 <= status < 500 and status != 404:
            self.session.flag(
                "WS-005",
                f"CSMS refused the upgrade with HTTP {status}; one that does not know the "
                "station identity should answer 404",
            )

    @on_call(*SIZE_LIMITS)
    def message_size(self, call: Call) -> None:
        session = self.session
        event = session.event
        if session.direction is not Direction.CSMS_TO_CHARGER or not isinstance(event, Frame):
            return
        component, instance = SIZE_LIMITS[call.action]
        limit = session.group(DeviceModelGroup).model.integer(
            component, "BytesPerMessage", instance
        )
        if limit is None or limit <= 0:
            return
        size = len(event.data.encode("utf-8")) if isinstance(event.data, str) else len(event.data)
        if size > limit:
            session.flag(
                "WS-014",
                f"{call.action} of {size} bytes exceeds the station's {component}."
                f"BytesPerMessage{f'[{instance}]' if instance else ''} of {limit}",
            )

    @on_frame
    def traffic_without_subprotocol(self, parsed: Parsed) -> None:
        session = self.session
        connection = session.connection
        if connection is None or connection.subprotocol_checked:
            return
        connection.subprotocol_checked = True
        if connection.subprotocol is None:
            session.flag(
                "WS-002",
                "OCPP traffic on a connection where the CSMS selected no "
                "subprotocol; without an agreed subprotocol it must close the connection",
            )

    @on_frame
    def sent_after_close(self, parsed: Parsed) -> None:
        """WS-017: an endpoint that received a Close may still send until it answers it (RFC
        6455 §5.5.1), but the side that closed reads nothing more: the message is lost."""
        session = self.session
        event = session.event
        if not isinstance(event, Frame) or not event.after_close:
            return
        sender, receiver = event.direction.sender, event.direction.reverse.sender
        what = f"this {parsed.message_type}" if parsed.message is not None else "this frame"
        session.flag(
            "WS-017",
            f"the {sender} sent {what} after the {receiver} closed the connection; it reached "
            f"no one (a CALL has to be sent again on the next connection)",
        )

    @on_close
    def refused_by_the_proxy(self, event: ConnectionClosed) -> None:
        """A message the WebSocket layer could not pass on never reaches the engine as a frame:
        the proxy closed both sides instead, and says which message it refused."""
        if event.closed_by != "proxy" or event.direction is None:
            return
        sender = event.direction.sender
        if event.code == INVALID_PAYLOAD:
            self.session.flag(
                "RPC-001",
                f"the {sender} sent a text frame that is not valid UTF-8; the proxy closed the "
                "connection with 1007 (RFC 6455 §8.1) and the frame reached no one",
                direction=event.direction,
            )
        elif event.code == MESSAGE_TOO_BIG:
            self.session.flag(
                "WS-014",
                f"the {sender} sent a message over the proxy's --max-message-size; the proxy "
                "closed the connection with 1009 and the message reached no one (OCPP-J sets no "
                "limit: raise --max-message-size if the receiver should get it)",
                direction=event.direction,
            )

    @on_finish
    def station_left(self) -> None:
        session = self.session
        closed_at = session.link.closed_by_station_at
        if closed_at is not None and not session.connections:
            session.flag(
                "WS-007",
                f"station closed its connection {session.now - closed_at:.0f} s "
                "before the end of the observation and did not reconnect",
            )
