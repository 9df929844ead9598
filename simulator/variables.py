"""The OCPPCommCtrlr variables a simulated station uses, as GetVariables/SetVariables see them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

COMM_CTRLR = "OCPPCommCtrlr"


@dataclass
class Settings:
    """The station's values of the OCPPCommCtrlr variables it uses."""

    heartbeat_interval: int = 30
    retry_wait_minimum: int = 1
    retry_random_range: int = 0
    retry_repeat_times: int = 4
    message_timeout: int = 30
    message_attempts: int = 3
    """MessageAttempts (instance TransactionEvent): transmissions of a TransactionEvent."""
    message_attempt_interval: int = 10
    """MessageAttemptInterval (TransactionEvent): seconds x transmissions so far before a retry."""

    NAMES: ClassVar[dict[str, str]] = {
        "HeartbeatInterval": "heartbeat_interval",
        "RetryBackOffWaitMinimum": "retry_wait_minimum",
        "RetryBackOffRandomRange": "retry_random_range",
        "RetryBackOffRepeatTimes": "retry_repeat_times",
        "MessageTimeout": "message_timeout",
        "MessageAttempts": "message_attempts",
        "MessageAttemptInterval": "message_attempt_interval",
    }
    SMALLEST: ClassVar[dict[str, int]] = {
        "HeartbeatInterval": 1,
        "MessageTimeout": 1,
        "MessageAttempts": 1,
    }
    """Zero here would make the station spin; the rest may be 0."""

    def get(self, name: str) -> int:
        return int(getattr(self, self.NAMES[name]))

    def valid(self, name: str, value: int) -> bool:
        return self.SMALLEST.get(name, 0) <= value <= 86_400

    def set(self, name: str, value: int) -> None:
        setattr(self, self.NAMES[name], value)


def variable_status(item: dict[str, Any]) -> str:
    """GetVariableStatus/SetVariableStatus of one request item: Accepted for an OCPPCommCtrlr
    variable the station has (Actual attribute only)."""
    if item["component"]["name"] != COMM_CTRLR:
        return "UnknownComponent"
    if item["variable"]["name"] not in Settings.NAMES:
        return "UnknownVariable"
    if item.get("attribute_type", "Actual") != "Actual":
        return "NotSupportedAttributeType"
    return "Accepted"


def echo(item: dict[str, Any]) -> dict[str, Any]:
    """The component, variable and attribute type a result repeats from its request item."""
    echoed = {"component": item["component"], "variable": item["variable"]}
    if "attribute_type" in item:
        echoed["attribute_type"] = item["attribute_type"]
    return echoed
