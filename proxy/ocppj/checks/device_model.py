"""S-DM: learn OCPPCommCtrlr values from SetVariables, GetVariables and NotifyReport traffic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from proxy.ocppj.routing import RuleGroup, on_call, on_result
from proxy.ocppj.state import Backoff, DeviceModel

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call, CallResult
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session


def objects(value: Any) -> Iterator[dict[str, Any]]:
    """The JSON objects of a list; payloads are not trusted to match the schema."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                yield item


def _actual(attribute_type: Any) -> bool:
    return attribute_type in (None, "Actual")


class DeviceModelGroup(RuleGroup):
    """Raises no finding: it keeps the variable values other groups and the RPC layer judge by."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.model = DeviceModel()

    def backoff(self, default: Backoff | None) -> Backoff | None:
        """RetryBackOff* as learned, each unknown value taken from `default`; None if unknown."""
        model = self.model
        minimum = model.number("RetryBackOffWaitMinimum")
        spread = model.number("RetryBackOffRandomRange")
        repeat = model.number("RetryBackOffRepeatTimes")
        if default is None and None in (minimum, spread, repeat):
            return None
        fallback = default or Backoff(0.0, 0.0, 0)
        return Backoff(
            minimum if minimum is not None else fallback.wait_minimum,
            spread if spread is not None else fallback.random_range,
            int(repeat) if repeat is not None else fallback.repeat_times,
        )

    @on_result("SetVariables")
    def learn_from_set(self, pending: PendingCall, result: CallResult) -> None:
        requested = list(objects(pending.payload.get("setVariableData")))
        for answer in objects((result.payload or {}).get("setVariableResult")):
            if answer.get("attributeStatus") != "Accepted" or not _actual(
                answer.get("attributeType")
            ):
                continue
            for data in requested:
                if (
                    data.get("component") == answer.get("component")
                    and data.get("variable") == answer.get("variable")
                    and _actual(data.get("attributeType"))
                    and isinstance(data.get("component"), dict)
                    and isinstance(data.get("variable"), dict)
                ):
                    self.model.learn(
                        data["component"], data["variable"], data.get("attributeValue")
                    )

    @on_result("GetVariables")
    def learn_from_get(self, pending: PendingCall, result: CallResult) -> None:
        for answer in objects((result.payload or {}).get("getVariableResult")):
            component, variable = answer.get("component"), answer.get("variable")
            if (
                answer.get("attributeStatus") == "Accepted"
                and "attributeValue" in answer
                and _actual(answer.get("attributeType"))
                and isinstance(component, dict)
                and isinstance(variable, dict)
            ):
                self.model.learn(component, variable, answer["attributeValue"])

    @on_call("NotifyReport")
    def learn_from_report(self, call: Call) -> None:
        for item in objects((call.payload or {}).get("reportData")):
            component, variable = item.get("component"), item.get("variable")
            if not (isinstance(component, dict) and isinstance(variable, dict)):
                continue
            for attribute in objects(item.get("variableAttribute")):
                if _actual(attribute.get("type")) and "value" in attribute:
                    self.model.learn(component, variable, attribute["value"])
