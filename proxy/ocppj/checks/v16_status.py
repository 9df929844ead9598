"""STAT16 group: OCPP 1.6 StatusNotification errorCode/status pairs and connector 0 (OCPP 1.6
§4.9 Status Notification, §7.6 ChargePointErrorCode, §7.7 ChargePointStatus).

1.6 lets a charge point report a non-fatal error (a high temperature, a weak signal, a failed
EV communication) while the connector stays usable, so an errorCode other than NoError is no
fault by itself. What 1.6 does not allow: Faulted without saying what is wrong, connector 0 (the
charge point as a whole) in a status only a connector can have, and a tripped protection device
reported on a connector that still offers or delivers energy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.actions import Direction
from proxy.ocppj.routing import RuleGroup, on_call

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call

WHOLE_CHARGE_POINT = frozenset({"Available", "Unavailable", "Faulted"})
"""The statuses connectorId 0 may report (OCPP 1.6 §4.9)."""
TRIPPED = frozenset({"GroundFailure", "OverCurrentFailure", "PowerSwitchFailure"})
"""Error codes of a protection device or switch that cut the energy: the connector cannot serve."""
OUT_OF_SERVICE = frozenset({"Faulted", "Unavailable"})


class Status16Group(RuleGroup):
    """Judges each StatusNotification on its own: no state."""

    @on_call("StatusNotification")
    def status(self, call: Call) -> None:
        session = self.session
        payload = call.payload or {}
        if session.direction is not Direction.CHARGER_TO_CSMS:
            return
        connector, status, code = (
            payload.get("connectorId"),
            payload.get("status"),
            payload.get("errorCode"),
        )
        if not isinstance(status, str) or not isinstance(code, str):
            return  # the schema check reports it
        if status == "Faulted" and code == "NoError":
            session.flag(
                "STAT16-001",
                f"connector {connector} reported Faulted with errorCode NoError; a fault names "
                "its ChargePointErrorCode (OtherError with vendorErrorCode when none fits)",
                details={"status": status, "error_code": code},
            )
        if connector == 0 and status not in WHOLE_CHARGE_POINT:
            session.flag(
                "STAT16-002",
                f"connectorId 0 reported {status}; the charge point as a whole is only "
                "Available, Unavailable or Faulted",
                details={"status": status},
            )
        if code in TRIPPED and status not in OUT_OF_SERVICE:
            session.flag(
                "STAT16-003",
                f"connector {connector} reported {code} with status {status}; a tripped "
                "protection device leaves the connector unable to serve, so Faulted is expected",
                details={"status": status, "error_code": code},
            )
