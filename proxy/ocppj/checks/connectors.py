"""BOOT group, connector reports: after a boot the station reports the status of every connector
(Part 6 reusable state "Booted"), and after an outage longer than OfflineThreshold it does so on
reconnecting (B04.FR.01).

The connectors a station has are those it named: in StatusNotifications and in NotifyReports
(components located at an EVSE's connector). A connector this observation never heard of cannot
be missed, so the first boot of a station that reported nothing before is not judged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.device_model import DeviceModelGroup, objects
from proxy.ocppj.checks.status import StatusGroup
from proxy.ocppj.routing import RuleGroup, on_call, on_close, on_open, on_result

if TYPE_CHECKING:
    from proxy.ocppj.events import ConnectionClosed, ConnectionOpened
    from proxy.ocppj.messages import Call, CallResult
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

Connector = tuple[int, int]
TIMER = "connector-reports"


def _connector(evse: Any) -> Connector | None:
    """(evseId, connectorId) of an EVSE object naming a connector, both numbered from 1."""
    if not isinstance(evse, dict):
        return None
    evse_id, connector_id = evse.get("id"), evse.get("connectorId")
    if type(evse_id) is int and type(connector_id) is int and evse_id > 0 and connector_id > 0:
        return evse_id, connector_id
    return None


def _listing(connectors: set[Connector]) -> str:
    return ", ".join(f"EVSE {evse} connector {connector}" for evse, connector in sorted(connectors))


class ConnectorReportsGroup(RuleGroup):
    """Knows the station's connectors and, after a boot or a long outage, which are unreported."""

    needs = (DeviceModelGroup, StatusGroup)

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.reported_in_model: set[Connector] = set()
        """Connectors named by the station's NotifyReports."""
        self.awaited: set[Connector] = set()
        """Connectors still to be reported since the boot or reconnect being judged."""
        self.reason = ""

    def connectors(self) -> set[Connector]:
        """Every connector the station named so far."""
        statuses = self.session.group(StatusGroup).connector_status
        return self.reported_in_model | {key for key in statuses if key[0] > 0 and key[1] > 0}

    def _await_all(self, rule_id: str, reason: str) -> None:
        session = self.session
        session.cancel(TIMER)
        self.awaited = self.connectors()
        if not self.awaited:
            return
        self.reason = reason
        connection_id = session.connection.connection_id if session.connection else None
        ref = session.event.ref if session.event else None
        within = session.config.followup_timeout

        def judge() -> None:
            missing = self.awaited
            if missing:
                session.flag(
                    rule_id,
                    f"no status for {_listing(missing)} within {within:g} s after {self.reason}; "
                    "the station then reports every connector",
                    ref=ref,
                    connection_id=connection_id,
                    details={"missing": len(missing)},
                )
            self.awaited = set()

        session.at(TIMER, session.now + within, judge)

    @on_result("BootNotification")
    def accepted(self, pending: PendingCall, result: CallResult) -> None:
        """BOOT-006: after an Accepted boot (not one the CSMS triggered) every connector."""
        if (result.payload or {}).get("status") == "Accepted" and pending.payload.get(
            "reason"
        ) != "Triggered":
            self._await_all("BOOT-006", "the CSMS accepted the station's BootNotification")

    @on_open
    def reconnected(self, event: ConnectionOpened) -> None:
        """BOOT-008: back after more than OfflineThreshold, every connector (a BootNotification
        on this connection makes it BOOT-006's)."""
        session = self.session
        periods = session.link.offline_periods
        threshold = session.group(DeviceModelGroup).model.number("OfflineThreshold")
        if not periods or periods[-1][1] != event.timestamp or threshold is None:
            return
        offline = periods[-1][1] - periods[-1][0]
        if offline > threshold:
            self._await_all(
                "BOOT-008",
                f"reconnecting from {offline:.0f} s offline (OfflineThreshold {threshold:g} s)",
            )

    @on_close
    def disconnected(self, event: ConnectionClosed) -> None:
        if not self.session.connections:
            self.session.cancel(TIMER)  # it had no chance to report on this connection
            self.awaited = set()

    @on_call("StatusNotification")
    def status_reported(self, call: Call) -> None:
        payload = call.payload or {}
        key = _connector({"id": payload.get("evseId"), "connectorId": payload.get("connectorId")})
        if key is not None and self.session.direction is Direction.CHARGER_TO_CSMS:
            self.awaited.discard(key)

    @on_call("NotifyEvent")
    def availability_event(self, call: Call) -> None:
        """A connector's AvailabilityState event reports its status as well (OCPP 2.0.1 G01)."""
        for data in objects((call.payload or {}).get("eventData")):
            component, variable = data.get("component"), data.get("variable")
            if (
                isinstance(component, dict)
                and isinstance(variable, dict)
                and component.get("name") == "Connector"
                and variable.get("name") == "AvailabilityState"
            ):
                key = _connector(component.get("evse"))
                if key is not None:
                    self.awaited.discard(key)

    @on_call("NotifyReport")
    def inventory(self, call: Call) -> None:
        for item in objects((call.payload or {}).get("reportData")):
            component = item.get("component")
            if isinstance(component, dict):
                key = _connector(component.get("evse"))
                if key is not None:
                    self.reported_in_model.add(key)
