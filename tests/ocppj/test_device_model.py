"""S-DM: OCPPCommCtrlr values learned from SetVariables, GetVariables and NotifyReport traffic."""

from __future__ import annotations

from typing import Any

from proxy.ocppj.checks.device_model import DeviceModelGroup
from proxy.ocppj.session import Monitor, Session
from proxy.ocppj.state import Backoff
from tests.ocppj.wire import Wire

COMM = {"name": "OCPPCommCtrlr"}


def session_after(wire: Wire) -> Session:
    monitor = Monitor()
    for event in wire.events:
        monitor.feed(event)
    return monitor.session(wire.station)


def set_variable(
    wire: Wire,
    variable: str,
    value: str,
    status: str = "Accepted",
    attribute_type: str | None = None,
) -> Wire:
    data: dict[str, Any] = {
        "attributeValue": value,
        "component": COMM,
        "variable": {"name": variable},
    }
    result: dict[str, Any] = {
        "attributeStatus": status,
        "component": COMM,
        "variable": {"name": variable},
    }
    if attribute_type is not None:
        data["attributeType"] = result["attributeType"] = attribute_type
    wire.call("SetVariables", {"setVariableData": [data]}, sender="csms")
    return wire.result({"setVariableResult": [result]}, sender="charger", after=0.3)


def test_accepted_set_variables_is_learned():
    wire = Wire().boot()
    set_variable(wire.wait(2), "HeartbeatInterval", "900")
    assert session_after(wire).group(DeviceModelGroup).model.number("HeartbeatInterval") == 900.0


def test_boot_interval_is_the_heartbeat_interval_until_set():
    wire = Wire().boot(interval=30)
    assert session_after(wire).group(DeviceModelGroup).model.number("HeartbeatInterval") == 30.0


def test_rejected_or_reboot_required_set_variables_is_not_learned():
    wire = Wire().boot(interval=30)
    set_variable(wire.wait(2), "HeartbeatInterval", "900", status="Rejected")
    set_variable(wire.wait(2), "MessageTimeout", "45", status="RebootRequired")
    model = session_after(wire).group(DeviceModelGroup).model
    assert model.number("HeartbeatInterval") == 30.0
    assert model.number("MessageTimeout", "Default") is None


def test_set_variables_of_a_target_attribute_is_not_learned():
    wire = Wire().boot(interval=30)
    set_variable(wire.wait(2), "HeartbeatInterval", "900", attribute_type="Target")
    assert session_after(wire).group(DeviceModelGroup).model.number("HeartbeatInterval") == 30.0


def test_get_variables_answer_is_learned_only_for_actual_values():
    wire = Wire().boot()
    request = {
        "getVariableData": [
            {"component": COMM, "variable": {"name": "MessageTimeout", "instance": "Default"}},
            {
                "component": COMM,
                "variable": {"name": "HeartbeatInterval"},
                "attributeType": "MaxSet",
            },
            {"component": COMM, "variable": {"name": "OfflineThreshold"}},
        ]
    }
    wire.wait(2).call("GetVariables", request, sender="csms")
    results = [
        {
            "attributeStatus": "Accepted",
            "component": COMM,
            "variable": {"name": "MessageTimeout", "instance": "Default"},
            "attributeValue": "45",
        },
        {
            "attributeStatus": "Accepted",
            "attributeType": "MaxSet",
            "component": COMM,
            "variable": {"name": "HeartbeatInterval"},
            "attributeValue": "86400",
        },
        {
            "attributeStatus": "UnknownVariable",
            "component": COMM,
            "variable": {"name": "OfflineThreshold"},
        },
    ]
    wire.result({"getVariableResult": results}, sender="charger", after=0.3)
    session = session_after(wire)
    assert session.group(DeviceModelGroup).model.number("MessageTimeout", "Default") == 45.0
    assert session.message_timeout == 45.0
    assert session.group(DeviceModelGroup).model.number("HeartbeatInterval") == 30.0
    assert session.group(DeviceModelGroup).model.number("OfflineThreshold") is None


def test_notify_report_is_learned_only_for_actual_values():
    wire = Wire().boot(status="Pending", interval=60)
    wire.wait(1).call(
        "GetBaseReport", {"requestId": 7, "reportBase": "ConfigurationInventory"}, "csms"
    )
    wire.result({"status": "Accepted"}, sender="charger", after=0.2)

    def item(variable: str, *attributes: dict[str, Any]) -> dict[str, Any]:
        return {
            "component": COMM,
            "variable": {"name": variable},
            "variableAttribute": list(attributes),
            "variableCharacteristics": {"dataType": "integer", "supportsMonitoring": False},
        }

    report = {
        "requestId": 7,
        "generatedAt": wire.time(),
        "seqNo": 0,
        "reportData": [
            item("RetryBackOffWaitMinimum", {"type": "Actual", "value": "20"}),
            item("RetryBackOffRandomRange", {"value": "10", "mutability": "ReadWrite"}),
            item(
                "RetryBackOffRepeatTimes",
                {"type": "Target", "value": "5"},
                {"type": "Actual", "value": "3"},
            ),
            item("OfflineThreshold", {"type": "MaxSet", "value": "3600"}),
        ],
    }
    wire.wait(0.5).call("NotifyReport", report).result({})
    session = session_after(wire)
    assert session.group(DeviceModelGroup).model.number("RetryBackOffWaitMinimum") == 20.0
    assert session.group(DeviceModelGroup).model.number("RetryBackOffRandomRange") == 10.0
    assert session.group(DeviceModelGroup).model.number("RetryBackOffRepeatTimes") == 3.0
    assert session.group(DeviceModelGroup).model.number("OfflineThreshold") is None
    backoff = session.backoff
    assert backoff is not None
    assert (backoff.wait_minimum, backoff.random_range, backoff.repeat_times) == (20.0, 10.0, 3)


def test_retry_backoff_set_or_read_is_the_session_backoff():
    wire = Wire().boot()
    assert session_after(wire).backoff is None
    set_variable(wire.wait(2), "RetryBackOffWaitMinimum", "10")
    set_variable(wire.wait(2), "RetryBackOffRandomRange", "5")
    variable = {"name": "RetryBackOffRepeatTimes"}
    wire.wait(2).call(
        "GetVariables", {"getVariableData": [{"component": COMM, "variable": variable}]}, "csms"
    )
    answer = {"attributeStatus": "Accepted", "attributeValue": "3"}
    result = {"getVariableResult": [{**answer, "component": COMM, "variable": variable}]}
    wire.result(result, sender="charger", after=0.3)
    assert session_after(wire).backoff == Backoff(10.0, 5.0, 3)
    set_variable(wire.wait(2), "RetryBackOffWaitMinimum", "20", status="Rejected")
    assert session_after(wire).backoff == Backoff(10.0, 5.0, 3)
