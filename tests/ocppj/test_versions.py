"""Each connection judged by the OCPP version it selected: 1.6, 2.0.1 or 2.1."""

from __future__ import annotations

import json
from dataclasses import replace

from ocppscope.bench.engine import synthetic_traffic
from proxy.capture import read_capture
from proxy.check import run_check
from proxy.ocppj.checks.answers import AnswersGroup
from proxy.ocppj.events import ConnectionOpened, Frame
from proxy.ocppj.findings import Severity
from proxy.ocppj.rules import RULES
from proxy.ocppj.rulesets import RULESETS, SHARED
from proxy.ocppj.session import Monitor
from proxy.ocppj.versions import OCPP16, OCPP21, OCPP201, V16, V21, V201
from tests.ocppj.wire import Wire, rule_ids, rule_severities, run

CP = "ABB-TACW22-0451"
TX = 4711
ID_TAG = "04A1B2C3D4E5F6"


def ocpp16() -> Wire:
    return Wire(CP).open(offered=(OCPP16,), selected=OCPP16)


def ocpp21() -> Wire:
    return Wire().open(offered=(OCPP21, OCPP201), selected=OCPP21)


def boot16(wire: Wire) -> Wire:
    wire.call(
        "BootNotification",
        {
            "chargePointVendor": "ABB",
            "chargePointModel": "Terra AC",
            "chargePointSerialNumber": "TACW22-0451",
            "firmwareVersion": "1.8.21",
        },
    )
    return wire.result({"status": "Accepted", "currentTime": wire.time(0.05), "interval": 300})


def status16(wire: Wire, status: str) -> Wire:
    wire.call(
        "StatusNotification",
        {"connectorId": 1, "errorCode": "NoError", "status": status, "timestamp": wire.time()},
    )
    return wire.result({})


def charging16(wire: Wire) -> Wire:
    """Authorize, start, meter and stop one transaction: 20000 Wh to 21700 Wh."""
    accepted = {"idTagInfo": {"status": "Accepted"}}
    wire.wait(5).call("Authorize", {"idTag": ID_TAG}).result(accepted)
    wire.call(
        "StartTransaction",
        {"connectorId": 1, "idTag": ID_TAG, "meterStart": 20000, "timestamp": wire.time()},
    ).result({**accepted, "transactionId": TX})
    status16(wire, "Charging")
    wire.wait(60).call(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": TX,
            "meterValue": [
                {
                    "timestamp": wire.time(),
                    "sampledValue": [
                        {
                            "value": "20850",
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "Wh",
                        }
                    ],
                }
            ],
        },
    ).result({})
    wire.wait(60).call(
        "StopTransaction",
        {
            "transactionId": TX,
            "idTag": ID_TAG,
            "meterStop": 21700,
            "timestamp": wire.time(),
            "reason": "Local",
        },
    ).result(accepted)
    return status16(wire, "Available")


# ---- OCPP 1.6 ---------------------------------------------------------------------------------


def test_clean_ocpp16_session_has_no_findings():
    wire = boot16(ocpp16())
    status16(wire, "Available")
    wire.wait(30).call("Heartbeat", {}).result({"currentTime": wire.time(0.05)})
    charging16(wire)

    assert run(wire.events) == []


def test_ocpp16_schema_violation_is_sch_001_against_the_v16_schema():
    wire = boot16(ocpp16())
    wire.call("StartTransaction", {"connectorId": 1, "idTag": ID_TAG, "timestamp": wire.time()})
    wire.error("OccurenceConstraintViolation")

    findings = run(wire.events)

    assert rule_ids(findings) == ["SCH-001"]
    assert findings[0].message.startswith("StartTransaction: ")
    assert "meterStart" in findings[0].message


def test_ocpp201_action_on_ocpp16_connection_is_an_unknown_action():
    wire = boot16(ocpp16())
    wire.call("TransactionEvent", {"eventType": "Started"})
    wire.error("NotImplemented")

    findings = run(wire.events)

    assert rule_ids(findings) == ["RPC-009"]
    assert "OCPP 1.6 message names" in findings[0].message


def test_ocpp201_error_code_spelling_on_ocpp16_is_rpc_012_naming_the_16_spelling():
    wire = boot16(ocpp16())
    wire.call("StartTransaction", {"connectorId": 1, "idTag": ID_TAG, "timestamp": wire.time()})
    wire.error("OccurrenceConstraintViolation")

    findings = [f for f in run(wire.events) if f.rule_id == "RPC-012"]

    assert [f.details["expected_code"] for f in findings] == ["OccurenceConstraintViolation"]


def test_rpc_framework_error_is_no_ocpp16_code():
    wire = boot16(ocpp16())
    wire.call("Heartbeat", {}).error("RpcFrameworkError")

    assert rule_ids(run(wire.events)) == ["RPC-012"]


def test_wrong_ocpp16_code_for_a_schema_violation_is_rpc_016_in_16_spelling():
    wire = boot16(ocpp16())
    wire.call("StartTransaction", {"connectorId": 1, "idTag": ID_TAG, "timestamp": wire.time()})
    wire.error("TypeConstraintViolation")

    findings = [f for f in run(wire.events) if f.rule_id == "RPC-016"]

    assert len(findings) == 1
    assert "OCPP-J 1.6 §4.2.3 Table 7 names OccurenceConstraintViolation" in findings[0].message


def test_unknown_message_type_on_ocpp16_needs_no_answer():
    """OCPP-J 1.6 has no MessageTypeNotSupported: the receiver ignores the frame."""
    wire = boot16(ocpp16())
    wire.raw(json.dumps([7, "x-1", "Heartbeat", {}]))
    wire.wait(120)

    assert rule_ids(run(wire.events)) == ["RPC-002"]


def counted16(wire: Wire) -> Wire:
    """A 1.6 charge point numbering its CALLs 1, 2, ... from each connection's start."""
    boot = {"chargePointVendor": "ABB", "chargePointModel": "Terra AC"}
    wire.call("BootNotification", boot, message_id="1")
    wire.result({"status": "Accepted", "currentTime": wire.time(0.05), "interval": 300})
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    return wire.wait(1).call("StatusNotification", status, message_id="2").result({})


def test_ocpp16_message_ids_counted_again_on_a_new_connection_are_fine():
    """OCPP-J 1.6 §4.1.4: a CALL's id differs from the sender's earlier ones "on the same
    WebSocket connection" (2.0.1 and 2.1: "on any WebSocket connection")."""
    wire = counted16(ocpp16()).wait(60).close(1006).wait(10)
    counted16(wire.open(offered=(OCPP16,), selected=OCPP16))

    assert run(wire.events) == []


def test_ocpp16_message_id_reused_on_the_same_connection_is_rpc_005():
    wire = counted16(ocpp16()).wait(60)
    wire.call("Heartbeat", {}, message_id="2").result({"currentTime": wire.time(0.05)})

    findings = run(wire.events)

    assert rule_severities(findings) == [("RPC-005", Severity.ERROR)]
    assert findings[0].reference == "OCPP-J 1.6 §4.1.4"


def test_ocpp16_ruleset_is_the_shared_groups_and_the_16_groups_only():
    own = set(RULESETS[OCPP16]) - set(SHARED)
    assert own and all(kind.__module__.startswith("proxy.ocppj.checks.v16_") for kind in own)
    assert set(RULESETS[OCPP201]).isdisjoint(own)
    assert AnswersGroup in RULESETS[OCPP201]


# ---- OCPP 2.1 ---------------------------------------------------------------------------------


def test_clean_ocpp21_session_has_no_findings():
    wire = ocpp21().boot_again()
    wire.call(
        "StatusNotification",
        {"timestamp": wire.time(), "connectorStatus": "Available", "evseId": 1, "connectorId": 1},
    ).result({})
    wire.call("PullDynamicScheduleUpdate", {"chargingProfileId": 7}).result({"status": "Accepted"})
    wire.heartbeat()

    assert run(wire.events) == []


def test_ocpp21_only_action_is_unknown_on_ocpp201():
    wire = Wire().open().boot_again()
    wire.call("PullDynamicScheduleUpdate", {"chargingProfileId": 7}).error("NotImplemented")

    assert rule_ids(run(wire.events)) == ["RPC-009"]


def send(wire: Wire, message_id: str = "se-000001") -> Wire:
    frame = [
        6,
        message_id,
        "NotifyPeriodicEventStream",
        {"id": 1, "pending": 0, "basetime": wire.time(), "data": [{"t": 0.5, "v": "230.1"}]},
    ]
    return wire.raw(json.dumps(frame))


def test_send_on_ocpp21_needs_no_answer():
    wire = send(ocpp21().boot_again()).wait(120)

    assert run(wire.events) == []


def test_answered_send_is_rpc_019():
    wire = send(ocpp21().boot_again())
    wire.result({}, message_id="se-000001")

    findings = run(wire.events)

    assert rule_ids(findings) == ["RPC-019"]
    assert findings[0].action == "NotifyPeriodicEventStream"


def test_send_breaking_its_schema_is_sch_001():
    wire = ocpp21().boot_again()
    wire.raw(json.dumps([6, "se-1", "NotifyPeriodicEventStream", {"id": 1, "pending": 0}]))

    assert rule_ids(run(wire.events)) == ["SCH-001", "SCH-001"]


# ---- the Monitor: one session per station, of the version its connection selected -------------


def test_monitor_switches_version_on_reconnect():
    monitor = Monitor()
    wire = boot16(ocpp16()).wait(10).close(1000, "charger").wait(5)
    wire.open(offered=(OCPP201,), selected=OCPP201).boot_again()
    versions = []
    for event in wire.events:
        assert monitor.feed(event).findings == []
        versions.append(monitor.sessions[CP].version)

    assert versions[0] is V16
    assert versions[-1] is V201
    assert monitor.finish(wire.now) == []


def test_unknown_or_missing_subprotocol_is_judged_as_ocpp201():
    monitor = Monitor()
    monitor.feed(ocpp21().events[0])
    assert monitor.sessions["ALF-ACE0012345"].version is V21

    for selected in (None, "ocpp1.5"):
        wire = Wire(f"CP-{selected}").open(offered=("ocpp1.5",), selected=selected)
        monitor.feed(wire.events[0])
        assert monitor.sessions[wire.station].version is V201


# ---- ocppscope check and rules ----------------------------------------------------------------


def test_check_judges_a_capture_by_its_selected_subprotocol(tmp_path):
    wire = boot16(ocpp16())
    charging16(wire)
    lines = [
        {
            "type": "open",
            "ts": wire.events[0].timestamp,
            "station": CP,
            "path": f"/ocpp/{CP}",
            "subprotocols": [OCPP16],
            "selected": OCPP16,
        },
        *(
            {
                "type": "frame",
                "ts": event.timestamp,
                "station": CP,
                "direction": str(event.direction),
                "text": event.data,
            }
            for event in wire.events[1:]
        ),
    ]
    capture = tmp_path / "ocpp16.jsonl"
    capture.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")

    report = run_check(read_capture(capture))

    assert report.findings == []
    assert [(s.station, s.version, s.transactions) for s in report.stations] == [(CP, OCPP16, 1)]


def test_rules_say_which_versions_they_judge():
    assert RULES["RPC-007"].versions == (OCPP16, OCPP201, OCPP21)
    assert RULES["RPC-019"].versions == (OCPP21,)
    assert RULES["BOOT-001"].versions == (OCPP201, OCPP21)
    assert RULES["RPC-019"].applies == "2.1"


def test_extra_property_on_ocpp16_is_sch_002_without_customdata_advice():
    wire = boot16(ocpp16())
    wire.call("Heartbeat", {"vendor": "x"}).error("FormationViolation")

    findings = run(wire.events)

    assert rule_ids(findings) == ["SCH-002"]
    assert "customData" not in findings[0].message


def test_callresulterror_on_ocpp21_is_judged_by_its_code():
    wire = ocpp21().boot_again()
    wire.call("Heartbeat", {}).result({"currentTime": wire.time(0.05)})
    wire.raw(json.dumps([5, wire.last_id["charger"], "FormatViolation", "", {}]))
    wire.raw(json.dumps([5, wire.last_id["charger"], "FormationViolation", "", {}]))

    assert [(f.rule_id, f.severity) for f in run(wire.events)] == [("RPC-012", Severity.WARNING)]


def test_bench_ocpp16_fleet_is_compliant_traffic():
    events = synthetic_traffic(3, 45, OCPP16)
    monitor = Monitor()

    findings = [finding for event in events for finding in monitor.feed(event).findings]

    assert findings + monitor.finish(events[-1].timestamp) == []
    assert {session.version for session in monitor.sessions.values()} == {V16}
    texts = [event.data for event in events if isinstance(event, Frame)]
    starts = sum('"StartTransaction"' in text for text in texts)
    assert starts >= 3
    assert sum('"StopTransaction"' in text for text in texts) == starts


def test_bench_ocpp201_fleet_is_compliant_ocpp21_traffic_too():
    """2.1 keeps 2.0.1's messages: the 2.0.1 day, selected as ocpp2.1, passes the 2.1 schemas."""
    events = [
        replace(event, offered_subprotocols=(OCPP21,), selected_subprotocol=OCPP21)
        if isinstance(event, ConnectionOpened)
        else event
        for event in synthetic_traffic(2, 45)
    ]
    monitor = Monitor()

    findings = [finding for event in events for finding in monitor.feed(event).findings]

    assert findings + monitor.finish(events[-1].timestamp) == []
    assert {session.version for session in monitor.sessions.values()} == {V21}


def test_ocpp201_transport_rules_do_not_judge_ocpp16():
    """WS-004 (identity), WS-006 (version in the URL), WS-011 (compression) are OCPP-J 2.0.1's."""
    path = "/ocpp16/ABB:TACW22:0451"
    headers = {"sec-websocket-extensions": "permessage-deflate"}
    for selected, expected in ((OCPP16, []), (OCPP201, ["WS-004", "WS-006", "WS-011"])):
        wire = Wire("ABB:TACW22:0451").open(
            offered=(selected,),
            selected=selected,
            path=path,
            request_headers=headers,
            response_headers={"sec-websocket-protocol": selected},
        )
        assert sorted(rule_ids(run(wire.events))) == expected


def test_send_only_action_as_a_call_is_rpc_009():
    wire = ocpp21().boot_again()
    payload = {"id": 1, "pending": 0, "basetime": wire.time(), "data": [{"t": 0.5, "v": "1"}]}
    wire.call("NotifyPeriodicEventStream", payload).result({})

    findings = run(wire.events)

    assert rule_ids(findings) == ["RPC-009"]
    assert "SEND" in findings[0].message


def _accepted_unknown_and_broken(wire: Wire, unknown: str, broken: tuple[str, dict]) -> Wire:
    """A CALL of an action the version does not have, and one that breaks its schema, both
    accepted with a CALLRESULT: RPC-020 and RPC-010."""
    wire.call(unknown, {}).result({})
    wire.call(*broken).result({})
    return wire


def test_rpc_010_and_rpc_020_on_ocpp16_cite_ocpp_j_16():
    """OCPP-J 1.6 has no §4.1.7 (2.0.1's message validity): §4.2.3 says a CALL that is no proper
    message gets a CallError, and its Table 7 names NotImplemented."""
    wire = boot16(ocpp16())
    start = {"connectorId": 1, "idTag": ID_TAG, "timestamp": wire.time()}  # no meterStart
    _accepted_unknown_and_broken(wire, "TransactionEvent", ("StartTransaction", start))

    found = {f.rule_id: f for f in run(wire.events) if f.rule_id in ("RPC-010", "RPC-020")}

    assert found["RPC-020"].message.endswith("NotImplemented (OCPP-J 1.6 §4.2.3 Table 7)")
    assert "OCPP-J 1.6 §4.2.3 expects a CALLERROR" in found["RPC-010"].message
    assert found["RPC-020"].reference == "OCPP-J 1.6 §4.2.3 Table 7"
    assert found["RPC-010"].reference == "OCPP-J 1.6 §4.2.3"
    for finding in found.values():
        assert "2.0.1" not in finding.message + finding.reference


def test_rpc_010_and_rpc_020_cite_each_2x_version_its_own_ocpp_j():
    for wire, document in ((Wire().open(), "OCPP-J 2.0.1"), (ocpp21(), "OCPP-J 2.1")):
        wire.boot_again()
        _accepted_unknown_and_broken(wire, "StartTransaction", ("Heartbeat", {"x": 1}))

        found = {f.rule_id: f for f in run(wire.events) if f.rule_id in ("RPC-010", "RPC-020")}

        assert f"{document} §4.1.7 expects a CALLERROR" in found["RPC-010"].message
        assert found["RPC-010"].reference == f"{document} §4.1.7, §4.2.3"
        assert found["RPC-020"].reference.startswith(f"{document} §4.1.7, §4.3 Table ")


def test_each_shared_rule_cites_the_ocpp_j_text_of_the_version_it_judges():
    documents = {v.name: v.ocppj for v in (V16, V201, V21)}
    for rule in RULES.values():
        for topic in rule.ocppj:
            assert any(topic in v.sections for v in (V16, V201, V21)), (rule.id, topic)
        for version in rule.versions:
            cited = rule.reference_for(version)
            assert cited, (rule.id, version)
            others = [d for name, d in documents.items() if name != version]
            assert not [d for d in others if f"{d} " in cited], (rule.id, version, cited)


def test_the_rule_listing_gives_every_version_its_sections():
    assert RULES["RPC-010"].reference == ("OCPP-J 1.6 §4.2.3; OCPP-J 2.0.1/2.1 §4.1.7, §4.2.3")
    assert RULES["WS-002"].reference == "OCPP-J 1.6/2.0.1 §3.2; OCPP-J 2.1 §3.3"
    assert RULES["BOOT16-001"].reference == RULES["BOOT16-001"].reference_for(OCPP16)
