"""DM group, variables: one result per requested item (B05, B06, N04), the item limits a station
announces (B06.FR.05, N06.FR.04) and a negative WebSocketPingInterval (OCPP-J §8.4)."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.device_model import DeviceModelGroup, objects
from proxy.ocppj.routing import RuleGroup, on_call, on_result

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call, CallResult
    from proxy.ocppj.rpc import PendingCall


class Pairing(NamedTuple):
    """Where a request's items and its response's results are, and whether they name an attribute."""

    items: str
    results: str
    typed: bool


PAIRED: Final = {
    "SetVariables": Pairing("setVariableData", "setVariableResult", True),
    "GetVariables": Pairing("getVariableData", "getVariableResult", True),
    "SetVariableMonitoring": Pairing("setMonitoringData", "setMonitoringResult", False),
}
"""The requests answered with one result per item, naming the same component and variable."""

LIMITED: Final = {
    "GetVariables": ("DeviceDataCtrlr", "getVariableData"),
    "SetVariables": ("DeviceDataCtrlr", "setVariableData"),
    "GetReport": ("DeviceDataCtrlr", "componentVariable"),
    "SetVariableMonitoring": ("MonitoringCtrlr", "setMonitoringData"),
    "ClearVariableMonitoring": ("MonitoringCtrlr", "id"),
}
"""CSMS requests whose size the station bounds with ItemsPerMessage / BytesPerMessage, the
variable instance named after the request, on this component."""

COMM = "OCPPCommCtrlr"
PING = "WebSocketPingInterval"


def _plain(value: Any) -> Any:
    """The value without customData, which a result need not repeat."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if key != "customData"}
    return value


def _name(item: dict[str, Any]) -> str:
    """Component[instance].variable[instance] as findings name an item; its attribute if not Actual."""
    component, variable = item.get("component"), item.get("variable")
    component = component if isinstance(component, dict) else {}
    variable = variable if isinstance(variable, dict) else {}

    def named(part: dict[str, Any]) -> str:
        instance = part.get("instance")
        return f"{part.get('name')}" + (f"[{instance}]" if instance is not None else "")

    evse = component.get("evse")
    where = ""
    if isinstance(evse, dict):
        where = f" of EVSE {evse.get('id')}" + (
            f" connector {evse['connectorId']}" if "connectorId" in evse else ""
        )
    return f"{named(component)}.{named(variable)}{where}"


def _key(item: dict[str, Any], typed: bool) -> str:
    """What a result must repeat of its request item: component, variable, attribute type."""
    echoed = [_plain(item.get("component")), _plain(item.get("variable"))]
    if typed:
        echoed.append(item.get("attributeType") or "Actual")
    return json.dumps(echoed, sort_keys=True)


def _listed(keys: Counter[str], named: dict[str, str]) -> str:
    return ", ".join(named[key] for key in keys.elements())


class ProvisioningGroup(RuleGroup):
    """Judges Get/SetVariables and monitoring requests against their answers and the learned limits."""

    needs = (DeviceModelGroup,)

    @on_result(*PAIRED)
    def one_result_per_item(self, pending: PendingCall, result: CallResult) -> None:
        """DM-001: as many results as items, each naming an item's component, variable and
        attribute type (Actual when the item names none)."""
        if pending.direction is not Direction.CSMS_TO_CHARGER:
            return
        pairing = PAIRED[pending.action]
        asked = list(objects(pending.payload.get(pairing.items)))
        answered = list(objects((result.payload or {}).get(pairing.results)))
        named = {_key(item, pairing.typed): _name(item) for item in (*answered, *asked)}
        wanted = Counter(_key(item, pairing.typed) for item in asked)
        got = Counter(_key(item, pairing.typed) for item in answered)
        if wanted == got:
            return
        parts = []
        if len(asked) != len(answered):
            parts.append(f"{len(answered)} results for {len(asked)} requested items")
        if unasked := got - wanted:
            parts.append(f"results for items not requested as such: {_listed(unasked, named)}")
        if missing := wanted - got:
            parts.append(f"no result for {_listed(missing, named)}")
        self.session.flag(
            "DM-001",
            f"{pending.action}Response does not answer its request item for item: "
            + "; ".join(parts),
            details={"items": len(asked), "results": len(answered)},
        )

    @on_call(*LIMITED)
    def within_station_limits(self, call: Call) -> None:
        """DM-002: no more items than ItemsPerMessage of the request (WS-014 judges the bytes)."""
        session = self.session
        if session.direction is not Direction.CSMS_TO_CHARGER:
            return
        component, field = LIMITED[call.action]
        model = session.group(DeviceModelGroup).model
        items = (call.payload or {}).get(field)
        count = len(items) if isinstance(items, list) else 0
        most = model.integer(component, "ItemsPerMessage", call.action)
        if most is not None and count > most > 0:
            session.flag(
                "DM-002",
                f"{call.action} with {count} items; the station's "
                f"{component}.ItemsPerMessage[{call.action}] is {most}",
                details={"items": count, "limit": most},
            )

    @on_result("SetVariables")
    def negative_ping_interval(self, pending: PendingCall, result: CallResult) -> None:
        """DM-005: a negative WebSocketPingInterval is no interval; the station should reject it."""
        for item in objects(pending.payload.get("setVariableData")):
            component, variable = item.get("component"), item.get("variable")
            if not (
                isinstance(component, dict)
                and isinstance(variable, dict)
                and component.get("name") == COMM
                and variable.get("name") == PING
                and (item.get("attributeType") or "Actual") == "Actual"
            ):
                continue
            try:
                value = int(str(item.get("attributeValue")).strip())
            except ValueError:
                continue
            if value >= 0:
                continue
            key = _key(item, typed=True)
            for answer in objects((result.payload or {}).get("setVariableResult")):
                if _key(answer, typed=True) == key and answer.get("attributeStatus") == "Accepted":
                    self.session.flag(
                        "DM-005",
                        f"station accepted {COMM}.{PING} = {value}; a negative ping "
                        "interval is invalid and should be Rejected",
                    )
