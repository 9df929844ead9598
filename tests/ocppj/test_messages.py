"""Framing: `parse_frame` turns one text frame into a typed message and its violations (OCPP-J §4)."""

from __future__ import annotations

import json

import pytest

from proxy.ocppj.findings import Severity
from proxy.ocppj.messages import Call, CallError, CallResult, CallResultError, Send, parse_frame

OCPP201 = "ocpp2.0.1"
OCPP21 = "ocpp2.1"
MID = "c8d4f2a6-3b1e-4f7a-9d2c-5e6f7a8b9c0d"
"""A UUID MessageId as stations generate them: exactly 36 characters."""

KEMPOWER_BOOT = {
    "reason": "PowerUp",
    "chargingStation": {
        "vendorName": "Kempower",
        "model": "S-Series Satellite",
        "serialNumber": "KP-2311-004512",
        "firmwareVersion": "1.42.3",
    },
}
KEMPOWER_BOOT_TEXT = json.dumps(KEMPOWER_BOOT)


def violations(text: str, subprotocol: str | None = OCPP201) -> list[tuple[str, Severity | None]]:
    """(rule id, severity) of each violation; severity None means the rule's default."""
    return [(v.rule_id, v.severity) for v in parse_frame(text, subprotocol).violations]


# ---- valid frames ---------------------------------------------------------------------------


def test_call_is_parsed_into_message_id_action_and_payload():
    parsed = parse_frame(f'[2,"{MID}","BootNotification",{KEMPOWER_BOOT_TEXT}]', OCPP201)

    assert parsed.violations == []
    assert parsed.message_type == "CALL"
    assert parsed.message_id == MID
    assert parsed.message == Call(MID, "BootNotification", KEMPOWER_BOOT)


def test_callresult_is_parsed_into_message_id_and_payload():
    payload = {"currentTime": "2026-02-01T08:00:00.120Z", "interval": 300, "status": "Accepted"}

    parsed = parse_frame(json.dumps([3, MID, payload]), OCPP201)

    assert parsed.violations == []
    assert parsed.message_type == "CALLRESULT"
    assert parsed.message == CallResult(MID, payload)


def test_callerror_is_parsed_with_code_description_and_details():
    details = {"field": "chargingStation.serialNumber"}
    frame = [4, MID, "PropertyConstraintViolation", "serialNumber too long", details]

    parsed = parse_frame(json.dumps(frame), OCPP201)

    assert parsed.violations == []
    assert parsed.message_type == "CALLERROR"
    assert parsed.message == CallError(
        MID, "PropertyConstraintViolation", "serialNumber too long", details
    )


def test_callerror_with_empty_description_and_details_is_valid():
    assert violations(f'[4,"{MID}","NotImplemented","",{{}}]') == []


def test_pretty_printed_frame_with_non_ascii_display_text_is_valid():
    payload = {
        "vendorId": "com.alfen",
        "messageId": "DisplayText",
        "data": "Ladestation Müllerstraße",
    }
    text = json.dumps([2, MID, "DataTransfer", payload], indent=2, ensure_ascii=False)

    assert violations(text) == []


# ---- RPC-001: valid JSON ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f'[2,"{MID}","Heartbeat",{{',  # frame cut off mid-way
        f"[2,'{MID}','Heartbeat',{{}}]",  # single quotes
        f'[2,"{MID}","Heartbeat",{{}},]',  # trailing comma
        "Heartbeat",
    ],
    ids=["truncated", "single-quotes", "trailing-comma", "bare-word"],
)
def test_text_that_is_not_json_is_rpc_001(text):
    parsed = parse_frame(text, OCPP201)

    assert violations(text) == [("RPC-001", None)]
    assert parsed.message is None
    assert parsed.message_type == "INVALID"
    assert parsed.message_id is None


def test_absurdly_deep_nesting_is_reported_not_raised():
    assert violations("[" * 100_000) == [("RPC-001", None)]


@pytest.mark.parametrize(
    ("number", "read_as"),
    [
        ("123456789012345678901234567890", 1.2345678901234568e29),
        ("-98765432109876543210987654321", -9.876543210987654e28),
        ("18446744073709551615", 18446744073709551615),
        ("1" + "0" * 5000, float("inf")),  # beyond int()'s 4300 digits and the double range
        ("1e400", float("inf")),
        ("-1e400", float("-inf")),
    ],
    ids=["30-digits", "negative-29-digits", "u64-max", "5001-digits", "1e400", "-1e400"],
)
def test_numbers_beyond_64_bits_or_the_double_range_are_json(number, read_as):
    text = f'[3,"{MID}",{{"customData":{{"vendorId":"v","n":{number}}},"note":"\\ud800"}}]'
    for frame in (text, text.replace('"\\ud800"', '"plain"')):  # orjson, then the fallback
        parsed = parse_frame(frame, OCPP201)

        assert parsed.violations == []
        assert parsed.message.payload["customData"]["n"] == read_as


@pytest.mark.parametrize("depth", [1_025, 5_000, 100_000])
def test_deep_nesting_that_is_json_is_not_rpc_001(depth):
    nested = "[" * depth + "]" * depth
    parsed = parse_frame(f'[3,"{MID}",{{"customData":{{"vendorId":"v","d":{nested}}}}}]', OCPP201)

    assert parsed.violations == []
    value, levels = parsed.message.payload["customData"]["d"], 1
    while value:
        value, levels = value[0], levels + 1
    assert levels == depth


@pytest.mark.parametrize(
    "tail",
    [
        "]" * 4_999,
        "]" * 4_999 + ",]",
        "]" * 5_000 + "x",
        "1 2" + "]" * 5_000,
        '{"a" 1}' + "]" * 5_000,
    ],
    ids=["unclosed", "trailing-comma", "extra-data", "missing-comma", "missing-colon"],
)
def test_deep_nesting_that_is_not_json_is_rpc_001(tail):
    assert violations("[" * 5_000 + tail) == [("RPC-001", None)]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_infinity_literal_is_not_json(number):
    text = (
        f'[2,"{MID}","MeterValues",{{"evseId":1,"meterValue":[{{'
        f'"timestamp":"2026-02-01T08:00:00.000Z","sampledValue":[{{"value":{number},'
        '"measurand":"Power.Factor"}]}]}]'
    )

    assert violations(text) == [("RPC-001", None)]


# ---- RPC-002: an array starting with an integer MessageTypeId --------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"messageTypeId":2,"action":"Heartbeat"}',
        '"Heartbeat"',
        "42",
        "null",
        "[]",
        f'["2","{MID}","Heartbeat",{{}}]',
        f'[2.0,"{MID}","Heartbeat",{{}}]',
        f'[true,"{MID}","Heartbeat",{{}}]',
        f'[1,"{MID}","Heartbeat",{{}}]',
        f'[7,"{MID}","Heartbeat",{{}}]',
    ],
    ids=[
        "object",
        "string",
        "number",
        "null",
        "empty-array",
        "type-as-string",
        "type-as-float",
        "type-as-boolean",
        "type-1",
        "type-7",
    ],
)
def test_frame_without_a_known_integer_message_type_is_rpc_002(text):
    parsed = parse_frame(text, OCPP201)

    assert violations(text) == [("RPC-002", None)]
    assert parsed.message is None
    assert parsed.message_type == "INVALID"


# ---- RPC-003: element counts and types --------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        [2, MID, "Heartbeat", {}, {}],
        [3, MID, {}, {}],
        [4, MID, "GenericError", "", {}, {}],
        [2, MID, 42, {}],
        [2, MID, "Heartbeat", []],
        [2, MID, "Heartbeat", "{}"],
        [3, MID, ["currentTime"]],
        [4, MID, 500, "", {}],
        [4, MID, "GenericError", None, {}],
        [4, MID, "GenericError", "", None],
        [4, MID, "GenericError", "", "details"],
        [4, MID, "InternalError", "x" * 256, {}],
    ],
    ids=[
        "call-5-elements",
        "callresult-4-elements",
        "callerror-6-elements",
        "action-number",
        "call-payload-array",
        "call-payload-string",
        "callresult-payload-array",
        "errorcode-number",
        "description-null",
        "details-null",
        "details-string",
        "description-256-chars",
    ],
)
def test_wrong_element_count_or_type_is_one_rpc_003(frame):
    assert violations(json.dumps(frame)) == [("RPC-003", None)]


def test_callerror_without_description_reports_only_rpc_003():
    text = f'[4,"{MID}","NotImplemented",{{}}]'

    assert {rule for rule, _ in violations(text)} == {"RPC-003"}


def test_frame_with_only_a_message_type_is_rpc_003():
    parsed = parse_frame("[2]", OCPP201)

    assert violations("[2]") == [("RPC-003", None)]
    assert parsed.message_id is None


def test_error_description_of_255_characters_is_valid():
    assert violations(json.dumps([4, MID, "InternalError", "x" * 255, {}])) == []


@pytest.mark.parametrize(
    "text", [f'[2,"{MID}","Heartbeat"]', f'[3,"{MID}"]'], ids=["call", "callresult"]
)
def test_missing_payload_is_rpc_003_only(text):
    assert violations(text) == [("RPC-003", None)]


# ---- RPC-004: MessageId is a string of at most 36 characters ----------------------------------


@pytest.mark.parametrize(
    "text",
    ['[2,19223201,"Heartbeat",{}]', '[2,null,"Heartbeat",{}]', '[3,{"id":"1"},{}]'],
    ids=["integer", "null", "object"],
)
def test_message_id_that_is_not_a_string_is_rpc_004_and_unreadable(text):
    parsed = parse_frame(text, OCPP201)

    assert violations(text) == [("RPC-004", None)]
    assert parsed.message is None
    assert parsed.message_id is None


def test_message_id_of_37_characters_is_rpc_004_but_still_read():
    long_id = MID + "0"

    parsed = parse_frame(f'[2,"{long_id}","Heartbeat",{{}}]', OCPP201)

    assert violations(f'[2,"{long_id}","Heartbeat",{{}}]') == [("RPC-004", None)]
    assert parsed.message == Call(long_id, "Heartbeat", {})


@pytest.mark.parametrize("message_id", [MID, "19223201", "a"], ids=["uuid-36", "digits", "1-char"])
def test_message_id_of_at_most_36_characters_is_valid(message_id):
    assert violations(f'[2,"{message_id}","Heartbeat",{{}}]') == []


# ---- RPC-011: empty payload is {} rather than null --------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'[2,"{MID}","Heartbeat",null]', Call(MID, "Heartbeat", None)),
        (f'[3,"{MID}",null]', CallResult(MID, None)),
    ],
    ids=["call", "callresult"],
)
def test_null_payload_is_rpc_011_warning_and_message_still_usable(text, expected):
    parsed = parse_frame(text, OCPP201)

    assert violations(text) == [("RPC-011", Severity.WARNING)]
    assert parsed.message == expected


def test_empty_object_payload_is_valid():
    assert violations(f'[2,"{MID}","Heartbeat",{{}}]') == []


# ---- WS-003: MessageTypeIds 5 and 6 belong to ocpp2.1 ------------------------------------------

CALLRESULTERROR = f'[5,"{MID}","FormatViolation","currentTime missing",{{}}]'
SEND = (
    f'[6,"{MID}","NotifyPeriodicEventStream",'
    '{"id":1,"pending":0,"basetime":"2026-02-01T08:00:00.000Z","data":[]}]'
)


@pytest.mark.parametrize("text", [CALLRESULTERROR, SEND], ids=["type-5", "type-6"])
@pytest.mark.parametrize("subprotocol", [OCPP201, None], ids=["ocpp2.0.1", "no-subprotocol"])
def test_ocpp21_message_type_outside_ocpp21_is_ws_003(text, subprotocol):
    parsed = parse_frame(text, subprotocol)

    assert violations(text, subprotocol) == [("WS-003", None)]
    assert parsed.message is None


@pytest.mark.parametrize(
    ("text", "kind", "message_class"),
    [(CALLRESULTERROR, "CALLRESULTERROR", CallResultError), (SEND, "SEND", Send)],
    ids=["type-5", "type-6"],
)
def test_ocpp21_message_type_on_ocpp21_is_accepted(text, kind, message_class):
    parsed = parse_frame(text, OCPP21)

    assert parsed.violations == []
    assert parsed.message_type == kind
    assert type(parsed.message) is message_class
    assert parsed.message.message_id == MID


def test_ocpp21_send_is_shaped_like_a_call():
    assert violations(f'[6,"{MID}","NotifyPeriodicEventStream"]', OCPP21) == [("RPC-003", None)]


def test_unknown_message_type_on_ocpp21_is_still_rpc_002():
    assert violations(f'[7,"{MID}","Heartbeat",{{}}]', OCPP21) == [("RPC-002", None)]


# ---- WS-010: empty text messages ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "\r\n"], ids=["empty", "space", "crlf"])
def test_empty_text_message_is_ws_010_not_a_json_error(text):
    parsed = parse_frame(text, OCPP201)

    assert violations(text) == [("WS-010", None)]
    assert parsed.message is None
    assert parsed.message_id is None
