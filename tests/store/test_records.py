"""Rows for the store's tables (proxy/store/records.py), built from frames the real engine saw.

Every row must be one PostgreSQL takes: a refused row is a lost frame, and the writer must not
have to guess which of a batch's rows was the bad one.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.faults.kinds import Kind
from proxy.faults.record import FaultMark
from proxy.frame import Frame
from proxy.ocppj.actions import Direction
from proxy.store.database import redact
from proxy.store.records import COLUMNS, Row, RowMaker, Table, payload_json, text
from tests.ocppj.wire import BOOT_REQUEST, T0, Wire
from tests.store.rows import (
    HOSTILE_FRAMES,
    as_dict,
    assert_jsonb_storable,
    assert_row_storable,
    assert_text_storable,
    at,
    engine_frames,
    lone_frame,
)

# CALL, CALLRESULT, CALLERROR


def test_a_call_row_holds_the_frame_and_its_payload() -> None:
    """The columns the seed queries and dashboards read, from a real BootNotification."""
    wire = Wire().boot()
    call = engine_frames(wire)[0]
    run = uuid.uuid4()
    row = as_dict(Table.MESSAGES, RowMaker("proxy-a", run).message(call))
    assert row == {
        "logged_at": at(T0),
        "charger_id": wire.station,
        "direction": "charger_to_csms",
        "message_type": "CALL",
        "action": "BootNotification",
        "message_id": orjson.loads(call.data)[1],
        "payload": row["payload"],
        "raw": str(call.data).encode(),
        "status": "sent",
        "rtt_ms": None,
        "finding_ids": None,
        "size_bytes": len(str(call.data).encode()),
        "connection_id": wire.connection,
        "ocpp_version": "ocpp2.0.1",
        "proxy_instance": "proxy-a",
        "proxy_run": run,
        "seq": 1,
    }
    assert orjson.loads(row["payload"]) == BOOT_REQUEST


@pytest.mark.parametrize(
    ("selected", "stored"),
    [("ocpp1.6", "ocpp1.6"), ("ocpp2.1", "ocpp2.1"), (None, None), ("ocpp1.5", None)],
)
def test_frames_and_findings_carry_the_version_their_connection_selected(
    selected: str | None, stored: str | None
) -> None:
    """None for no selection or one the engine does not know: judged by the 2.0.1 rules, it
    still did not select 2.0.1 (WS-002 says so)."""
    frame = engine_frames(
        Wire()
        .open(offered=("ocpp1.6", "ocpp2.0.1", "ocpp2.1"), selected=selected)
        .raw('[2,"m1","Heartbeat",{"extra":1}]')
    )[-1]
    rows = RowMaker("p")
    assert as_dict(Table.MESSAGES, rows.message(frame))["ocpp_version"] == stored
    assert frame.findings
    for finding in frame.findings:
        assert as_dict(Table.FINDINGS, rows.finding(finding))["ocpp_version"] == stored


def test_a_callresult_row_has_the_action_it_answers_and_its_round_trip_in_ms() -> None:
    wire = (
        Wire()
        .boot()
        .call("Heartbeat", {})
        .result({"currentTime": "2026-02-01T08:00:01Z"}, after=0.25)
    )
    response = engine_frames(wire)[-1]
    row = as_dict(Table.MESSAGES, RowMaker("p").message(response))
    assert row["message_type"] == "CALLRESULT"
    assert row["direction"] == "csms_to_charger"
    assert row["action"] == "Heartbeat"
    assert row["message_id"] == wire.last_id["charger"]
    assert row["rtt_ms"] == pytest.approx(250.0)
    assert orjson.loads(row["payload"]) == {"currentTime": "2026-02-01T08:00:01Z"}


def test_a_callerror_row_stores_code_description_and_details() -> None:
    wire = Wire().boot().call("Heartbeat", {}).error("NotImplemented", description="nope")
    row = as_dict(Table.MESSAGES, RowMaker("p").message(engine_frames(wire)[-1]))
    assert row["message_type"] == "CALLERROR"
    assert row["action"] == "Heartbeat"
    assert row["rtt_ms"] == pytest.approx(50.0)
    assert orjson.loads(row["payload"]) == {
        "errorCode": "NotImplemented",
        "errorDescription": "nope",
        "errorDetails": {},
    }


def test_findings_and_faults_are_on_the_row() -> None:
    """finding_ids are the frame's own findings; status is what a fault did to it, if any."""
    frame = lone_frame('[2,"m1","Heartbeat",{"extra":1}]')
    frame.fault = FaultMark("delayed 400 ms (fault 1)", "delayed", 1, Kind.DELAY)
    row = as_dict(Table.MESSAGES, RowMaker("p").message(frame))
    assert row["finding_ids"] == [finding.rule_id for finding in frame.findings]
    assert "SCH-002" in row["finding_ids"]
    assert row["status"] == "delayed"


# INVALID and binary frames


def test_text_that_is_not_json_is_stored_as_a_json_string() -> None:
    row = as_dict(Table.MESSAGES, RowMaker("p").message(lone_frame("hello {")))
    assert row["message_type"] == "INVALID"
    assert row["action"] is None
    assert row["message_id"] is None
    assert row["finding_ids"] == ["RPC-001"]
    assert orjson.loads(row["payload"]) == "hello {"


@pytest.mark.parametrize(
    ("data", "message_id"),
    [('{"a": [1, 2.5, null]}', None), ('[9, "x-1", {}]', "x-1"), ("[2]", None)],
)
def test_json_that_is_not_ocpp_j_is_kept_as_json(data: str, message_id: str | None) -> None:
    row = as_dict(Table.MESSAGES, RowMaker("p").message(lone_frame(data)))
    assert row["message_type"] == "INVALID"
    assert row["message_id"] == message_id
    assert orjson.loads(row["payload"]) == json.loads(data)


def test_a_binary_frame_that_is_not_utf8_is_stored_as_base64() -> None:
    data = b"\xff\x00\xfe"
    row = as_dict(Table.MESSAGES, RowMaker("p").message(lone_frame(data)))
    assert row["message_type"] == "INVALID"
    assert row["size_bytes"] == 3
    assert orjson.loads(row["payload"]) == "base64:" + base64.b64encode(data).decode()


def test_a_binary_frame_carrying_ocpp_j_is_stored_as_its_message() -> None:
    """WS-008 flags it, but the message inside is still what the row shows."""
    data = b'[2,"b1","Heartbeat",{}]'
    row = as_dict(Table.MESSAGES, RowMaker("p").message(lone_frame(data)))
    assert (row["message_type"], row["action"], row["message_id"]) == ("CALL", "Heartbeat", "b1")
    assert "WS-008" in row["finding_ids"]
    assert row["size_bytes"] == len(data)
    assert orjson.loads(row["payload"]) == {}


def test_size_is_counted_in_utf8_bytes() -> None:
    data = '[2,"u1","DataTransfer",{"vendorId":"제주","data":"⚡"}]'
    row = as_dict(Table.MESSAGES, RowMaker("p").message(lone_frame(data)))
    assert row["size_bytes"] == len(data.encode("utf-8")) > len(data)
    assert orjson.loads(row["payload"]) == {"vendorId": "제주", "data": "⚡"}


# What PostgreSQL would refuse


@pytest.mark.parametrize("data", HOSTILE_FRAMES, ids=repr)
def test_hostile_frames_make_rows_postgresql_accepts(data: str | bytes) -> None:
    frame = lone_frame(data)
    row = RowMaker("p").message(frame)
    assert_row_storable(Table.MESSAGES, row)
    assert as_dict(Table.MESSAGES, row)["size_bytes"] == len(
        data if isinstance(data, bytes) else data.encode()
    )


def test_a_nul_escape_in_a_payload_keeps_the_frame_as_text() -> None:
    """jsonb cannot hold the payload as sent; the frame's text (as a JSON string) is kept."""
    data = '[2,"h1","Heartbeat",{"note":"\\u0000"}]'
    row = as_dict(Table.MESSAGES, RowMaker("p").message(lone_frame(data)))
    assert row["message_type"] == "CALL"
    assert orjson.loads(row["payload"]) == data


def test_a_payload_holding_the_text_backslash_u0000_is_kept_as_an_object() -> None:
    data = '[2,"h9","DataTransfer",{"vendorId":"v","data":"C:\\\\u0000"}]'
    row = RowMaker("p").message(lone_frame(data))
    assert_row_storable(Table.MESSAGES, row)
    assert orjson.loads(as_dict(Table.MESSAGES, row)["payload"]) == {
        "vendorId": "v",
        "data": "C:\\u0000",
    }


def test_a_schema_invalid_call_with_a_lone_surrogate_escape_gets_an_outcome_and_a_row() -> None:
    frame = lone_frame('[2,"s1","Heartbeat",{"x":"\\ud800"}]')
    row = RowMaker("p").message(frame)
    assert_row_storable(Table.MESSAGES, row)
    assert as_dict(Table.MESSAGES, row)["message_type"] == "CALL"


def test_a_frame_text_with_a_lone_surrogate_still_makes_a_row() -> None:
    frame = Frame("c#1", "st", Direction.CHARGER_TO_CSMS, T0, "bad \ud800 text")
    assert_row_storable(Table.MESSAGES, RowMaker("p").message(frame))


def test_station_path_and_address_are_made_storable() -> None:
    """The station comes from the URL (%00 decodes to NUL; mitmproxy keeps undecodable bytes
    of the path as lone surrogates)."""
    maker = RowMaker("p")
    station, path = "jeju\x00\udcff", "/ocpp/jeju%00\udcff"
    rows = [
        (
            Table.CONNECTIONS,
            maker.opened(T0, station, "c#1", "10.0.0.1\x00:1", path, "x\x00", True),
        ),
        (Table.CONNECTIONS, maker.closed(T0, station, "c#1", 1000, "charger")),
        (Table.CONNECTIONS, maker.refused(T0, station, None, path, 404, False)),
        (Table.MESSAGES, maker.message(Frame("c#1", station, Direction.CHARGER_TO_CSMS, T0, "x"))),
    ]
    for table, row in rows:
        assert_row_storable(table, row)
        assert as_dict(table, row)["charger_id"] == "jeju\ufffd?"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", ""),
        ("CP-01", "CP-01"),
        ("제주 ⚡ 01", "제주 ⚡ 01"),
        ("a\x00b", "a\ufffdb"),
        ("a\ud800b", "a?b"),
        ("\udc00\x00", "?\ufffd"),
    ],
)
def test_text_replaces_only_what_postgresql_refuses(
    value: str | None, expected: str | None
) -> None:
    assert text(value) == expected


@given(st.text(st.characters(codec=None, exclude_categories=())))
def test_text_output_is_always_storable(value: str) -> None:
    """Any string, lone surrogates and NUL included; clean strings come back unchanged."""
    result = text(value)
    assert result is not None
    assert_text_storable(result)
    clean = "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    assert (result == value) is clean


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=8,
)


@given(
    st.one_of(
        st.text(st.characters(codec=None, exclude_categories=())),
        st.builds(json.dumps, _JSON, ensure_ascii=st.booleans()),
        st.builds(lambda value: json.dumps([2, "m", "Heartbeat", {"v": value}]), _JSON),
    )
)
def test_payload_of_any_text_frame_is_storable(data: str) -> None:
    """payload_json alone, for frames the engine did not parse: raw text or any JSON, including
    \\u0000 and surrogate escapes (json.dumps writes them with ensure_ascii)."""
    assert_jsonb_storable(payload_json(Frame("c#1", "st", Direction.CHARGER_TO_CSMS, T0, data)))


# Sequence numbers and shapes


def all_kinds(maker: RowMaker) -> list[tuple[Table, Row]]:
    """One row of every kind the proxy writes, in the order given."""
    frame = lone_frame("not json")
    finding = frame.findings[0]
    return [
        (
            Table.CONNECTIONS,
            maker.opened(T0, "st", "c#1", "10.0.0.1:5000", "/ocpp/st", None, False),
        ),
        (Table.MESSAGES, maker.message(frame)),
        (Table.FINDINGS, maker.finding(finding)),
        (Table.CONNECTIONS, maker.closed(T0 + 1, "st", "c#1", None, None)),
        (Table.CONNECTIONS, maker.refused(T0 + 2, "st", "10.0.0.1:5001", "/ocpp/st", 503, True)),
        (Table.DISCARDS, maker.discards(T0 + 3, T0 + 4, 7)),
        (Table.MESSAGES, maker.message(frame)),
    ]


def test_seq_counts_every_row_of_a_run_whatever_its_table() -> None:
    run = uuid.uuid4()
    rows = all_kinds(RowMaker("proxy-a", run))
    assert [row[-1] for _, row in rows] == list(range(1, len(rows) + 1))
    assert {row[-2] for _, row in rows} == {run}
    assert {row[-3] for _, row in rows} == {"proxy-a"}
    other = RowMaker("proxy-a")
    assert other.run != run
    assert other.discards(T0, T0, 1)[-1] == 1


def test_every_row_has_one_value_per_column_and_starts_with_its_time() -> None:
    for table, row in all_kinds(RowMaker("p")):
        assert len(row) == len(COLUMNS[table]), table
        assert isinstance(row[0], datetime)
        assert row[0].tzinfo is not None
        assert_row_storable(table, row)


def test_connection_rows_record_the_event() -> None:
    maker = RowMaker("p")
    opened, closed, refused = (
        as_dict(Table.CONNECTIONS, row)
        for row in (
            maker.opened(T0, "st", "c#1", "10.0.0.1:5000", "/ocpp/st", "ocpp2.0.1", True),
            maker.closed(T0 + 1, "st", "c#1", 1001, "csms"),
            maker.refused(T0 + 2, "st", "10.0.0.1:5001", "/ocpp/st", 503, False),
        )
    )
    assert (opened["event"], opened["subprotocol"], opened["tls"]) == ("open", "ocpp2.0.1", True)
    assert (closed["event"], closed["close_code"], closed["closed_by"]) == ("close", 1001, "csms")
    assert (refused["event"], refused["connection_id"], refused["http_status"]) == (
        "refused",
        None,
        503,
    )
    assert closed["logged_at"] == at(T0 + 1)


def test_a_finding_row_points_at_its_frame() -> None:
    frame = lone_frame('[2,"m1","Heartbeat",{"extra":1}]')
    finding = next(f for f in frame.findings if f.rule_id == "SCH-002")
    row = as_dict(Table.FINDINGS, RowMaker("p").finding(finding))
    assert row["rule_id"] == "SCH-002"
    assert row["severity"] == finding.severity.value
    assert row["severity"] in {"error", "warning", "info"}
    assert (row["charger_id"], row["connection_id"]) == (frame.station, frame.connection_id)
    assert (row["message_id"], row["action"], row["direction"]) == (
        "m1",
        "Heartbeat",
        "charger_to_csms",
    )
    assert row["reference"]


def test_a_discard_row_spans_the_window() -> None:
    row = as_dict(Table.DISCARDS, RowMaker("p").discards(T0, T0 + 9.5, 30))
    assert (row["first_at"], row["last_at"], row["records"]) == (at(T0), at(T0 + 9.5), 30)


# redact


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://scope:s3cret@db:5432/ocpp", "postgresql://scope:***@db:5432/ocpp"),
        ("postgresql://scope:p%40ss:w@db/ocpp", "postgresql://scope:***@db/ocpp"),
        ("postgres://:s3cret@[::1]:5432/ocpp", "postgres://:***@[::1]:5432/ocpp"),
    ],
)
def test_redact_hides_the_password(url: str, expected: str) -> None:
    assert redact(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "postgresql:///ocpp?host=/tmp",
        "postgresql://scope:@db/ocpp",
    ],
)
def test_redact_leaves_a_url_without_password_unchanged(url: str) -> None:
    assert redact(url) == url


def test_redact_hides_a_password_given_as_a_query_parameter() -> None:
    assert "s3cret" not in redact("postgresql://scope@db/ocpp?password=s3cret")
