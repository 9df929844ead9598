"""WS group: upgrade handshake, station identity, frame kinds and the connection's life (OCPP-J §3)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from proxy.ocppj.actions import Direction
from proxy.ocppj.events import station_from_path
from proxy.ocppj.findings import Severity
from tests.ocppj.wire import Wire, rule_ids, rule_severities, run

DEFLATE_OFFER = {"sec-websocket-extensions": "permessage-deflate; client_max_window_bits"}


# ---- WS-001: the station offers ocpp2.0.1 -----------------------------------------------------


def test_upgrade_without_subprotocol_header_is_ws_001_error():
    wire = Wire().open(offered=None, selected=None)

    assert rule_severities(run(wire.events)) == [("WS-001", Severity.ERROR)]


def test_station_offering_only_ocpp16_is_judged_by_ocpp16():
    wire = Wire("ABB-TACW22-0451").open(offered=("ocpp1.6",), selected="ocpp1.6")

    assert run(wire.events) == []


def test_station_offering_no_version_the_engine_judges_is_ws_001_info():
    wire = Wire("ABB-TACW22-0451").open(offered=("ocpp1.5",), selected=None)

    assert rule_severities(run(wire.events)) == [("WS-001", Severity.INFO)]


def test_station_offering_several_versions_including_ocpp201_is_fine():
    wire = Wire().open(offered=("ocpp2.1", "ocpp2.0.1", "ocpp1.6"), selected="ocpp2.0.1")
    wire.call(
        "BootNotification",
        {
            "reason": "PowerUp",
            "chargingStation": {
                "vendorName": "Alfen BV",
                "model": "Eve Single S-line",
                "serialNumber": "ACE0099887",
            },
        },
    )
    wire.result({"currentTime": wire.time(0.05), "interval": 300, "status": "Accepted"})

    assert run(wire.events) == []


# ---- WS-002: the CSMS selects one offered subprotocol, or none and closes ---------------------


def test_csms_selecting_a_subprotocol_the_station_did_not_offer_is_ws_002():
    wire = Wire().open(offered=("ocpp2.0.1",), selected="ocpp2.1")

    assert rule_severities(run(wire.events)) == [("WS-002", Severity.ERROR)]


def test_ocpp_traffic_after_csms_selected_no_subprotocol_is_ws_002():
    wire = Wire().open(offered=("ocpp2.0.1",), selected=None)
    wire.boot_again()
    wire.wait(30).heartbeat()

    assert rule_severities(run(wire.events)) == [("WS-002", Severity.ERROR)]


def test_csms_selecting_no_subprotocol_and_closing_at_once_is_fine():
    wire = Wire().open(offered=("ocpp2.0.1",), selected=None).wait(0.01).close(1002, "csms")

    assert run(wire.events) == []


# ---- WS-003: MessageTypeIds 5 and 6 only on ocpp2.1 -------------------------------------------


def test_send_message_on_ocpp201_connection_is_ws_003():
    wire = Wire().boot().wait(10)
    wire.raw(
        json.dumps(
            [
                6,
                "0f3c7a52-9e41-4b8d-a2f6-7c1d3e5b9a08",
                "NotifyPeriodicEventStream",
                {"id": 1, "pending": 0, "basetime": wire.time(), "data": []},
            ]
        )
    )

    assert rule_severities(run(wire.events)) == [("WS-003", Severity.ERROR)]


def test_send_message_on_ocpp21_connection_is_not_ws_003():
    wire = Wire().open(offered=("ocpp2.1", "ocpp2.0.1"), selected="ocpp2.1")
    wire.raw(
        json.dumps(
            [
                6,
                "0f3c7a52-9e41-4b8d-a2f6-7c1d3e5b9a08",
                "NotifyPeriodicEventStream",
                {
                    "id": 1,
                    "pending": 0,
                    "basetime": wire.time(),
                    "data": [{"t": 0.5, "v": "230.1"}],
                },
            ]
        )
    )

    assert run(wire.events) == []


# ---- WS-004: station identity ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "severity"),
    [
        # Part 4's own example identity has a space, outside identifierString: a warning.
        ("/ocppj/RDAM%20123", Severity.WARNING),
        ("/ocpp/Wallbox%23PLP1-0-2-4", Severity.WARNING),
        ("/ocpp/ABB%3ATAC%3A0451", Severity.ERROR),
        ("/ocpp/Kempower-Satellite-T500-KP231100451299-Site-A-B04", Severity.ERROR),
    ],
    ids=["space", "hash", "colon", "49-characters"],
)
def test_bad_station_identity_is_ws_004(path, severity):
    station = station_from_path(path)
    wire = Wire(station).open(path=path)

    assert rule_severities(run(wire.events)) == [("WS-004", severity)]


def test_identity_with_colon_and_too_long_is_two_ws_004_errors():
    path = "/ocpp/Kempower:Satellite:T500:KP231100451299:Site-A:Bay04"
    station = station_from_path(path)
    wire = Wire(station).open(path=path)

    assert rule_severities(run(wire.events)) == [
        ("WS-004", Severity.ERROR),
        ("WS-004", Severity.ERROR),
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/ocpp/ALF-ACE0012345",
        "/ocppj/RDAM%7C123",  # the 2.1 example identity, percent-decoded to RDAM|123
        "/ocpp/Kempower-Satellite-T500-KP231100451299-Site-A-B4",  # exactly 48 characters
        "/csms/ws/evse*01+site_7=bay@depot.nl",
    ],
    ids=["serial", "percent-encoded-pipe", "48-characters", "all-special-characters"],
)
def test_identifier_string_identity_is_fine(path):
    station = station_from_path(path)
    wire = Wire(station).open(path=path)

    assert len(station) <= 48
    assert run(wire.events) == []


# ---- WS-005: a CSMS refusing an unknown identity answers 404 ----------------------------------


def test_upgrade_refused_with_403_is_ws_005_info():
    wire = Wire("ALF-ACE0099999").refused(403)

    assert rule_severities(run(wire.events)) == [("WS-005", Severity.INFO)]


@pytest.mark.parametrize("status", [404, 503, None], ids=["not-found", "csms-down", "tcp"])
def test_upgrade_refused_with_404_or_by_a_failing_csms_is_not_ws_005(status):
    wire = Wire("ALF-ACE0099999").refused(status)

    assert run(wire.events) == []


# ---- WS-006: OCPP version not in the endpoint URL ---------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/ocpp/2.0.1/ALF-ACE0012345", "/ocpp/v201/ALF-ACE0012345", "/OCPP201/ALF-ACE0012345"],
)
def test_version_in_endpoint_path_is_ws_006_info(path):
    wire = Wire().open(path=path)

    assert rule_severities(run(wire.events)) == [("WS-006", Severity.INFO)]


@pytest.mark.parametrize(
    "path",
    ["/steve/websocket/CentralSystemService/ALF-ACE0012345", "/ocpp/ALF-ACE0012345?token=abc"],
)
def test_versionless_endpoint_path_is_fine(path):
    wire = Wire().open(path=path)

    assert run(wire.events) == []


def test_identity_that_looks_like_a_version_is_not_ws_006():
    wire = Wire("v201").open(path="/ocpp/v201")

    assert run(wire.events) == []


# ---- WS-007: the station keeps the WebSocket open ---------------------------------------------


def test_station_closing_and_staying_away_is_ws_007():
    wire = Wire().boot(interval=300).wait(45).close(1000, closed_by="charger")

    findings = run(wire.events, until=wire.now + 600)

    assert rule_severities(findings) == [("WS-007", Severity.WARNING)]


def test_station_closing_then_reconnecting_is_fine():
    wire = Wire().boot().wait(20).close(1001, closed_by="charger")
    wire.wait(8).open().heartbeat()

    assert run(wire.events, until=wire.now + 10) == []


def test_csms_closing_the_connection_is_not_ws_007():
    wire = Wire().boot().wait(20).close(1000, closed_by="csms").wait(5).open().heartbeat()

    assert run(wire.events) == []


# ---- WS-008: text frames ----------------------------------------------------------------------


@pytest.mark.parametrize("sender", ["charger", "csms"])
def test_json_in_binary_frame_is_ws_008_and_still_understood(sender):
    wire = Wire().boot().wait(10)
    asker = "csms" if sender == "charger" else "charger"
    wire.call("DataTransfer", {"vendorId": "com.alfen", "messageId": "GetLedState"}, sender=asker)
    answer = [3, wire.last_id[asker], {"status": "Accepted", "data": "green"}]
    wire.wait(0.1).raw(json.dumps(answer).encode(), sender=sender)

    findings = run(wire.events)

    assert rule_severities(findings) == [("WS-008", Severity.WARNING)]


def test_binary_frame_that_is_not_utf8_is_ws_008_and_rpc_001():
    wire = Wire().boot().wait(10).raw(b"\x82\xa4type\x02\xa2id\xd9\x24")

    assert rule_severities(run(wire.events)) == [
        ("WS-008", Severity.WARNING),
        ("RPC-001", Severity.ERROR),
    ]


def test_text_frames_are_not_ws_008():
    wire = Wire().boot().wait(10).heartbeat()

    assert run(wire.events) == []


# ---- WS-010: empty text messages ---------------------------------------------------------------


def test_empty_text_message_is_ws_010():
    wire = Wire().boot().wait(10).raw("")

    assert rule_severities(run(wire.events)) == [("WS-010", Severity.WARNING)]


# ---- WS-011: permessage-deflate ----------------------------------------------------------------


def test_csms_declining_offered_compression_is_ws_011():
    wire = Wire().open(
        request_headers=DEFLATE_OFFER,
        response_headers={"sec-websocket-protocol": "ocpp2.0.1"},
    )

    assert rule_severities(run(wire.events)) == [("WS-011", Severity.WARNING)]


@pytest.mark.parametrize(
    ("request_headers", "response_headers"),
    [
        (
            DEFLATE_OFFER,
            {
                "sec-websocket-protocol": "ocpp2.0.1",
                "sec-websocket-extensions": "permessage-deflate",
            },
        ),
        ({}, {"sec-websocket-protocol": "ocpp2.0.1"}),
        (DEFLATE_OFFER, {}),  # capture without response headers: nothing to judge
    ],
    ids=["accepted", "not-offered", "response-unknown"],
)
def test_compression_accepted_or_not_offered_is_fine(request_headers, response_headers):
    wire = Wire().open(request_headers=request_headers, response_headers=response_headers)

    assert run(wire.events) == []


# ---- WS-014: CSMS messages within the station's BytesPerMessage ----------------------------------


def bytes_per_message(wire: Wire, limit: int) -> Wire:
    """The CSMS reads DeviceDataCtrlr.BytesPerMessage[SetVariables]; the station answers `limit`."""
    variable = {"name": "BytesPerMessage", "instance": "SetVariables"}
    component = {"name": "DeviceDataCtrlr"}
    wire.call(
        "GetVariables",
        {"getVariableData": [{"component": component, "variable": variable}]},
        sender="csms",
    )
    answer = {"attributeStatus": "Accepted", "component": component, "variable": variable}
    return wire.result(
        {"getVariableResult": [{**answer, "attributeValue": str(limit)}]}, sender="charger"
    )


def set_variables(count: int) -> dict[str, object]:
    return {
        "setVariableData": [
            {
                "component": {"name": "TxCtrlr"},
                "variable": {"name": "EVConnectionTimeOut"},
                "attributeValue": str(60 + n),
            }
            for n in range(count)
        ]
    }


SET_ACCEPTED = {
    "setVariableResult": [
        {
            "attributeStatus": "Accepted",
            "component": {"name": "TxCtrlr"},
            "variable": {"name": "EVConnectionTimeOut"},
        }
    ]
}


def test_set_variables_larger_than_bytes_per_message_is_ws_014():
    wire = bytes_per_message(Wire().boot().wait(2), 400)
    wire.wait(1).call("SetVariables", set_variables(6), sender="csms")
    wire.error("OccurrenceConstraintViolation", sender="charger")

    assert rule_severities(run(wire.events)) == [("WS-014", Severity.WARNING)]


def test_set_variables_within_bytes_per_message_is_fine():
    wire = bytes_per_message(Wire().boot().wait(2), 400)
    wire.wait(1).call("SetVariables", set_variables(1), sender="csms")
    wire.result(SET_ACCEPTED, sender="charger")

    assert run(wire.events) == []


# ---- WS-015: one connection per station --------------------------------------------------------


def test_second_connection_while_first_is_open_is_ws_015():
    wire = Wire().boot().wait(25).open()

    assert rule_severities(run(wire.events)) == [("WS-015", Severity.WARNING)]


def test_reconnect_after_the_old_connection_closed_is_fine():
    wire = Wire().boot().wait(25).close(1006).wait(12).open().heartbeat()

    assert run(wire.events) == []


def test_two_stations_connected_at_once_are_fine():
    alfen = Wire("ALF-ACE0012345").boot().wait(10).heartbeat()
    abb = Wire("ABB-TACW22-0451").wait(1).open()
    abb.call(
        "BootNotification",
        {
            "reason": "PowerUp",
            "chargingStation": {
                "vendorName": "ABB",
                "model": "Terra AC W22",
                "serialNumber": "TACW2245100451",
            },
        },
    )
    abb.result({"currentTime": abb.time(0.05), "interval": 60, "status": "Accepted"})
    events = sorted(alfen.events + abb.events, key=lambda event: event.timestamp)

    findings = run(events)

    assert rule_ids(findings) == []


# ---- messages the proxy could not pass on: not UTF-8 (RPC-001), over its size limit (WS-014) ----


@pytest.mark.parametrize("sender", ["charger", "csms"])
def test_a_text_frame_that_is_not_utf8_is_rpc_001(sender):
    """Such a frame never reaches the engine as a message: the WebSocket layer refuses it and
    closes with 1007 (RFC 6455 §8.1); the close tells the engine what it refused."""
    wire = Wire().boot().close(1007, closed_by="proxy", refused_from=sender)

    findings = run(wire.events)
    assert rule_severities(findings) == [("RPC-001", Severity.ERROR)]
    expected = Direction.CHARGER_TO_CSMS if sender == "charger" else Direction.CSMS_TO_CHARGER
    assert findings[0].direction is expected
    assert "1007" in findings[0].message


def test_a_message_over_the_proxys_limit_is_ws_014_warning():
    wire = Wire().boot().close(1009, closed_by="proxy", refused_from="charger")

    findings = run(wire.events)
    assert rule_severities(findings) == [("WS-014", Severity.WARNING)]
    assert "--max-message-size" in findings[0].message


def test_closes_by_a_peer_with_these_codes_are_not_judged_here():
    wire = Wire().boot().close(1009, closed_by="csms").open().boot_again().close(1007, "charger")

    assert "WS-014" not in rule_ids(run(wire.events))
    assert "RPC-001" not in rule_ids(run(wire.events))


# ---- WS-017: a message sent after the peer's Close reaches no one ------------------------------


@pytest.mark.parametrize(("sender", "receiver"), [("charger", "CSMS"), ("csms", "station")])
def test_a_message_sent_after_the_peers_close_is_ws_017_info(sender: str, receiver: str):
    wire = Wire().open().call("Heartbeat", {}, sender=sender, message_id="late")
    wire.events[-1] = replace(wire.events[-1], after_close=True)

    findings = [f for f in run(wire.events) if f.rule_id == "WS-017"]

    assert rule_severities(findings) == [("WS-017", Severity.INFO)]
    assert findings[0].message_id == "late"
    assert f"CALL after the {receiver} closed the connection" in findings[0].message


def test_a_message_before_any_close_is_no_ws_017():
    wire = Wire().open().call("Heartbeat", {}, message_id="in-time")

    assert "WS-017" not in rule_ids(run(wire.events))
