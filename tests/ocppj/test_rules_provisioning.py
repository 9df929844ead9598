"""DM rules: Get/SetVariables results (B05, B06, N04), the station's message limits, report streams
(B07, B08), the full inventory (Part 6 TC_B_53_CS), WebSocketPingInterval, firmware updates (L01)
and CSMS requests that must agree with what the station reported (M04, O01)."""

from __future__ import annotations

from typing import Any

import pytest

from proxy.ocppj.checks.reports import REQUIRED
from proxy.ocppj.findings import Finding, Severity
from tests.ocppj.test_rules_transactions import TX, ended, periodic, started
from tests.ocppj.wire import Wire, rule_ids, run

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO
COMM = {"name": "OCPPCommCtrlr"}
DEVICE_DATA = {"name": "DeviceDataCtrlr"}


def graded(findings: list[Finding]) -> list[tuple[str, Severity]]:
    return [(finding.rule_id, finding.severity) for finding in findings]


def ask(wire: Wire, action: str, payload: dict[str, Any]) -> Wire:
    return wire.wait(2).call(action, payload, sender="csms")


def answer(wire: Wire, payload: dict[str, Any]) -> Wire:
    """The station's CALLRESULT to the CSMS's latest CALL."""
    return wire.result(payload, sender="charger", after=0.3)


def item(variable: str, component: dict[str, Any] = COMM, **extra: Any) -> dict[str, Any]:
    return {"component": component, "variable": {"name": variable}, **extra}


def echo(data: dict[str, Any], status: str = "Accepted", **extra: Any) -> dict[str, Any]:
    """A result repeating its request item's component, variable and attribute type."""
    kept = {k: v for k, v in data.items() if k in ("component", "variable", "attributeType")}
    return {"attributeStatus": status, **kept, **extra}


# ---- DM-001: one result per requested item ------------------------------------------------


def test_dm001_set_variables_answers_one_item_of_two():
    wire = Wire().boot()
    data = [
        item("HeartbeatInterval", attributeValue="300"),
        item("OfflineThreshold", attributeValue="120"),
    ]
    ask(wire, "SetVariables", {"setVariableData": data})
    answer(wire, {"setVariableResult": [echo(data[0])]})
    findings = run(wire.events)
    assert graded(findings) == [("DM-001", E)]
    assert findings[0].message == (
        "SetVariablesResponse does not answer its request item for item: 1 results for 2 "
        "requested items; no result for OCPPCommCtrlr.OfflineThreshold"
    )


def test_dm001_get_variables_result_drops_the_attribute_type():
    wire = Wire().boot()
    data = item("HeartbeatInterval", attributeType="Target")
    ask(wire, "GetVariables", {"getVariableData": [data]})
    result = {
        "attributeStatus": "Accepted",
        "attributeValue": "300",
        "component": COMM,
        "variable": {"name": "HeartbeatInterval"},
    }
    answer(wire, {"getVariableResult": [result]})
    findings = run(wire.events)
    assert rule_ids(findings) == ["DM-001"]
    assert "results for items not requested as such" in findings[0].message


def test_dm001_monitoring_result_names_another_variable():
    wire = Wire().boot()
    evse = {"name": "EVSE", "evse": {"id": 1}}
    data = [{"value": 22000, "type": "UpperThreshold", "severity": 4, **item("Power", evse)}]
    ask(wire, "SetVariableMonitoring", {"setMonitoringData": data})
    result = {
        "status": "Accepted",
        "type": "UpperThreshold",
        "severity": 4,
        "id": 1,
        **item("AvailabilityState", evse),
    }
    answer(wire, {"setMonitoringResult": [result]})
    findings = run(wire.events)
    assert rule_ids(findings) == ["DM-001"]
    assert "no result for EVSE.Power of EVSE 1" in findings[0].message


def test_dm001_results_in_another_order_with_an_unknown_variable_are_fine():
    wire = Wire().boot()
    data = [
        item("HeartbeatInterval"),
        item("Enabled", {"name": "AuthCacheCtrlr"}, attributeType="Actual"),
        item("TxStartPoint", {"name": "TxCtrlr"}),
    ]
    ask(wire, "GetVariables", {"getVariableData": data})
    results = [
        echo(data[2], attributeValue="PowerPathClosed"),
        echo(data[1], status="UnknownComponent"),
        echo(data[0], attributeValue="300", attributeType="Actual"),
    ]
    answer(wire, {"getVariableResult": results})
    assert run(wire.events) == []


# ---- DM-002: the station's ItemsPerMessage / BytesPerMessage ---------------------------------


def learn_limits(wire: Wire, items: int, size: int) -> Wire:
    """The CSMS reads the station's GetVariables/SetVariables limits."""
    data = [
        {"component": DEVICE_DATA, "variable": {"name": name, "instance": instance}}
        for name in ("ItemsPerMessage", "BytesPerMessage")
        for instance in ("GetVariables", "SetVariables")
    ]
    ask(wire, "GetVariables", {"getVariableData": data})
    values = [str(items), str(items), str(size), str(size)]
    results = [echo(d, attributeValue=v) for d, v in zip(data, values, strict=True)]
    return answer(wire, {"getVariableResult": results})


def test_dm002_more_items_than_items_per_message():
    wire = learn_limits(Wire().boot(), items=2, size=4000)
    data = [item(name) for name in ("HeartbeatInterval", "OfflineThreshold", "MessageTimeout")]
    ask(wire, "GetVariables", {"getVariableData": data})
    wire.error("OccurrenceConstraintViolation", sender="charger", after=0.2)
    findings = run(wire.events)
    assert graded(findings) == [("DM-002", W)]
    assert findings[0].message == (
        "GetVariables with 3 items; the station's DeviceDataCtrlr.ItemsPerMessage[GetVariables] is 2"
    )


def test_more_bytes_than_bytes_per_message_is_ws_014_not_dm_002():
    wire = learn_limits(Wire().boot(), items=20, size=200)
    data = [
        item(name, attributeValue="600")
        for name in ("HeartbeatInterval", "OfflineThreshold", "MessageTimeout")
    ]
    ask(wire, "SetVariables", {"setVariableData": data})
    answer(wire, {"setVariableResult": [echo(d) for d in data]})
    findings = run(wire.events)
    assert rule_ids(findings) == ["WS-014"]
    assert "DeviceDataCtrlr.BytesPerMessage[SetVariables] of 200" in findings[0].message


def test_dm002_requests_within_the_limits_are_fine():
    wire = learn_limits(Wire().boot(), items=2, size=4000)
    data = [item("HeartbeatInterval"), item("OfflineThreshold")]
    ask(wire, "GetVariables", {"getVariableData": data})
    answer(wire, {"getVariableResult": [echo(d, attributeValue="300") for d in data]})
    assert run(wire.events) == []


# ---- DM-003 / DM-004: report streams ----------------------------------------------------------


def report(wire: Wire, request_id: int, seq: int, tbc: bool, data: list[dict[str, Any]]) -> Wire:
    payload: dict[str, Any] = {
        "requestId": request_id,
        "generatedAt": wire.time(),
        "seqNo": seq,
        "reportData": data,
    }
    if tbc:
        payload["tbc"] = True
    return wire.wait(0.5).call("NotifyReport", payload).result({})


def reported(component: str, variable: str, instance: str | None = None, value: str = "1") -> dict:
    named: dict[str, Any] = {"name": variable}
    if instance is not None:
        named["instance"] = instance
    where: dict[str, Any] = {"name": component}
    if component in ("EVSE", "Connector"):
        where["evse"] = {"id": 1, "connectorId": 1} if component == "Connector" else {"id": 1}
    return {
        "component": where,
        "variable": named,
        "variableAttribute": [{"type": "Actual", "value": value}],
    }


PAGE = [reported("OCPPCommCtrlr", "HeartbeatInterval", value="300")]


def base_report(wire: Wire, request_id: int, base: str, status: str = "Accepted") -> Wire:
    ask(wire, "GetBaseReport", {"requestId": request_id, "reportBase": base})
    return answer(wire, {"status": status})


def test_dm003_seq_no_skips_one():
    wire = base_report(Wire().boot(), 12, "ConfigurationInventory")
    report(wire, 12, 0, True, PAGE)
    report(wire, 12, 2, False, PAGE)
    findings = run(wire.events)
    assert graded(findings) == [("DM-003", W)]
    assert findings[0].message == (
        "NotifyReport requestId 12 has seqNo 2 where 1 was due; seqNo starts at 0 and grows by 1"
    )


def test_dm003_report_after_a_rejected_request():
    wire = base_report(Wire().boot(), 13, "SummaryInventory", status="NotSupported")
    report(wire, 13, 0, False, PAGE)
    findings = run(wire.events)
    assert rule_ids(findings) == ["DM-003"]
    assert "while its GetBaseReport was answered NotSupported" in findings[0].message


def test_dm003_report_after_the_last_message():
    wire = base_report(Wire().boot(), 14, "ConfigurationInventory")
    report(wire, 14, 0, False, PAGE)
    report(wire, 14, 1, False, PAGE)
    assert rule_ids(run(wire.events)) == ["DM-003"]


def test_dm003_report_for_no_request():
    wire = Wire().boot()
    report(wire.wait(5), 99, 0, False, PAGE)
    assert rule_ids(run(wire.events)) == ["DM-003"]


def test_dm003_stream_with_a_retransmission_is_fine():
    wire = base_report(Wire().boot(), 15, "ConfigurationInventory")
    report(wire, 15, 0, True, PAGE)
    page = [reported("OCPPCommCtrlr", "OfflineThreshold", value="120")]
    wire.wait(0.5).call(
        "NotifyReport",
        {"requestId": 15, "generatedAt": wire.time(), "seqNo": 1, "tbc": True, "reportData": page},
    )
    wire.wait(30)  # the CSMS did not answer in time; the station sends seqNo 1 again
    payload = {"requestId": 15, "generatedAt": wire.time(-30), "seqNo": 1, "tbc": True}
    wire.call("NotifyReport", {**payload, "reportData": page}).result({})
    report(wire, 15, 2, False, PAGE)
    assert rule_ids(run(wire.events)) == ["RPC-008"]  # the CSMS's silence, nothing of DM-003


FULL = [reported(component, variable, instance) for component, variable, instance in REQUIRED]


def test_dm004_full_inventory_without_the_retry_and_offline_variables():
    wire = base_report(Wire().boot(), 16, "FullInventory")
    left_out = {("OCPPCommCtrlr", "OfflineThreshold"), ("TxCtrlr", "TxStopPoint")}
    kept = [d for d in FULL if (d["component"]["name"], d["variable"]["name"]) not in left_out]
    report(wire, 16, 0, True, kept[:20])
    report(wire, 16, 1, False, kept[20:])
    findings = run(wire.events)
    assert graded(findings) == [("DM-004", N)]
    assert findings[0].message == (
        "FullInventory report 16 does not name OCPPCommCtrlr.OfflineThreshold, TxCtrlr.TxStopPoint"
    )


def test_dm004_message_timeout_without_its_default_instance_counts():
    wire = base_report(Wire().boot(), 17, "FullInventory")
    pages = [
        reported("OCPPCommCtrlr", "MessageTimeout")
        if (d["component"]["name"], d["variable"]["name"]) == ("OCPPCommCtrlr", "MessageTimeout")
        else d
        for d in FULL
    ]
    report(wire, 17, 0, True, pages[:25])
    report(wire, 17, 1, False, pages[25:])
    assert run(wire.events) == []


def test_dm004_other_report_bases_are_not_judged():
    wire = base_report(Wire().boot(), 18, "SummaryInventory")
    report(wire, 18, 0, False, PAGE)
    assert run(wire.events) == []


# ---- DM-005: a negative WebSocketPingInterval -----------------------------------------------


@pytest.mark.parametrize(
    ("value", "status", "rules"),
    [
        ("-5", "Accepted", ["DM-005"]),
        ("-5", "Rejected", []),
        ("30", "Accepted", []),
    ],
)
def test_dm005_negative_ping_interval(value: str, status: str, rules: list[str]):
    wire = Wire().boot()
    data = item("WebSocketPingInterval", attributeValue=value)
    ask(wire, "SetVariables", {"setVariableData": [data]})
    answer(wire, {"setVariableResult": [echo(data, status=status)]})
    assert rule_ids(run(wire.events)) == rules


# ---- DM-006: firmware status reports ----------------------------------------------------------


def update_firmware(wire: Wire, request_id: int = 3) -> Wire:
    firmware = {
        "location": "https://fw.alfen.example/eve/6.5.0-4371.bin",
        "retrieveDateTime": wire.time(),
    }
    ask(wire, "UpdateFirmware", {"requestId": request_id, "firmware": firmware, "retries": 2})
    return answer(wire, {"status": "Accepted"})


def firmware_status(wire: Wire, status: str, request_id: int | None = 3) -> Wire:
    payload: dict[str, Any] = {"status": status}
    if request_id is not None:
        payload["requestId"] = request_id
    return wire.wait(5).call("FirmwareStatusNotification", payload).result({})


def test_dm006_status_without_the_request_id():
    wire = update_firmware(Wire().boot())
    firmware_status(wire, "Downloading")
    firmware_status(wire, "Downloaded", request_id=None)
    findings = run(wire.events)
    assert graded(findings) == [("DM-006", W)]
    assert findings[0].message == (
        "FirmwareStatusNotification Downloaded has no requestId; the update in progress is "
        "UpdateFirmware requestId 3"
    )


def test_dm006_restart_without_install_rebooting():
    wire = update_firmware(Wire().boot())
    for status in ("Downloading", "Downloaded", "Installing"):
        firmware_status(wire, status)
    wire.wait(2).close(1000, closed_by="charger").wait(40).boot(reason="FirmwareUpdate")
    findings = run(wire.events)
    assert rule_ids(findings) == ["DM-006"]
    assert "without reporting InstallRebooting first" in findings[0].message


def test_dm006_complete_update_is_fine():
    wire = update_firmware(Wire().boot())
    for status in ("Downloading", "Downloaded", "SignatureVerified", "Installing"):
        firmware_status(wire, status)
    firmware_status(wire, "InstallRebooting")
    wire.wait(2).close(1000, closed_by="charger").wait(40).boot(reason="FirmwareUpdate")
    firmware_status(wire, "Installed")
    firmware_status(wire.wait(20), "Idle", request_id=None)  # triggered later: no update runs
    assert run(wire.events) == []


# ---- DM-007: CSMS requests that must agree with the station ------------------------------------

CERTIFICATE = {
    "issuerNameHash": "8c2c6e1f3b1d0e6b0f2b9e4c8a7d6f5e4c3b2a1908f7e6d5c4b3a29180706050",
    "issuerKeyHash": "1d2c3b4a59687766554433221100ffeeddccbbaa99887766554433221100ffee",
    "serialNumber": "5c1a9e0b7d",
}


def installed_certificates(wire: Wire) -> Wire:
    ask(wire, "GetInstalledCertificateIds", {"certificateType": ["CSMSRootCertificate"]})
    chain = [
        {
            "certificateType": "CSMSRootCertificate",
            "certificateHashData": {"hashAlgorithm": "SHA256", **CERTIFICATE},
        }
    ]
    return answer(wire, {"status": "Accepted", "certificateHashDataChain": chain})


@pytest.mark.parametrize(("algorithm", "rules"), [("SHA512", ["DM-007"]), ("SHA256", [])])
def test_dm007_delete_certificate_hash_algorithm(algorithm: str, rules: list[str]):
    wire = installed_certificates(Wire().boot())
    hashed = {"hashAlgorithm": algorithm, **CERTIFICATE}
    ask(wire, "DeleteCertificate", {"certificateHashData": hashed})
    answer(wire, {"status": "Accepted" if rules == [] else "NotFound"})
    findings = run(wire.events)
    assert rule_ids(findings) == rules
    assert all(finding.severity is W for finding in findings)


def display(wire: Wire, transaction_id: str) -> Wire:
    message = {
        "id": 7,
        "priority": "NormalCycle",
        "message": {"format": "UTF8", "content": "Laden beendet, danke!"},
        "transactionId": transaction_id,
    }
    ask(wire, "SetDisplayMessage", {"message": message})
    return answer(wire, {"status": "Accepted"})


def test_dm007_display_message_for_an_ended_transaction():
    wire = started(Wire())
    ended(periodic(wire.wait(30), 1, 12800.0).wait(30), 2, 13100.0)
    findings = run(display(wire.wait(5), TX).events)
    assert graded(findings) == [("DM-007", N)]


def test_dm007_display_message_for_a_running_transaction_is_fine():
    wire = started(Wire())
    display(wire.wait(5), TX)
    periodic(wire.wait(25), 1, 12800.0)
    assert run(wire.events) == []
