"""The ladder built from stored rows: answers paired with their CALLs, findings and faults put on
their frames, the waits between connections, and a frame's text rebuilt from its columns."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from ocppscope.explore.export import capture_line, capture_text
from ocppscope.explore.frame_text import frame_text
from ocppscope.explore.ladder import (
    ConnectionEvent,
    StoredFault,
    StoredFinding,
    StoredFrame,
    backoff_waits,
    build_ladder,
    pair_answers,
)
from ocppscope.explore.queries import Position

UP, DOWN = "charger_to_csms", "csms_to_charger"


def frame(
    key: str,
    at: float,
    message_type: str,
    message_id: str,
    direction: str = UP,
    *,
    rtt_ms: float | None = None,
    findings: tuple[str, ...] = (),
    connection: str = "c1",
) -> StoredFrame:
    return StoredFrame(
        key, at, connection, direction, message_type, "Heartbeat", message_id, "sent", rtt_ms,
        findings, 20,
    )  # fmt: skip


def finding(
    rule: str, at: float, message_id: str | None, direction: str | None = UP, key: str = "f"
) -> StoredFinding:
    return StoredFinding(
        key, at, rule, "error", f"{rule} broken", "OCPP-J 2.0.1 §4.2", "c1", direction,
        message_id, "Heartbeat",
    )  # fmt: skip


def connection(at: float, event: str) -> ConnectionEvent:
    return ConnectionEvent(at, event, "c", "ocpp2.0.1", None, None, None, None)


def test_an_answer_takes_the_stored_rtt_and_points_at_its_call() -> None:
    frames = [frame("a", 1.0, "CALL", "1"), frame("b", 1.2, "CALLRESULT", "1", DOWN, rtt_ms=180.5)]
    assert list(pair_answers(frames)) == ["b"]
    answer = pair_answers(frames)["b"]
    assert (answer.call_key, answer.rtt_ms) == ("a", 180.5)


def test_without_a_stored_rtt_the_frames_times_give_it() -> None:
    frames = [frame("a", 1.0, "CALL", "1"), frame("b", 1.25, "CALLERROR", "1", DOWN)]
    assert pair_answers(frames)["b"].rtt_ms == 250.0


def test_an_answer_pairs_only_with_a_call_sent_the_other_way_on_its_connection() -> None:
    frames = [
        frame("csms-call", 1.0, "CALL", "7", DOWN),
        frame("other-link", 1.1, "CALL", "7", UP, connection="c2"),
        frame("reply", 1.3, "CALLRESULT", "7", DOWN),  # no CALL of the station's has id 7
        frame("station-reply", 1.4, "CALLRESULT", "7", UP),
    ]
    answers = pair_answers(frames)
    assert answers["reply"].call_key is None and answers["reply"].rtt_ms is None
    assert answers["station-reply"].call_key == "csms-call"
    assert answers["station-reply"].rtt_ms == pytest.approx(400.0)


def test_a_call_is_answered_once() -> None:
    frames = [
        frame("a", 1.0, "CALL", "1"),
        frame("b", 1.1, "CALLRESULT", "1", DOWN),
        frame("c", 1.2, "CALLRESULT", "1", DOWN),
    ]
    assert pair_answers(frames)["c"].call_key is None


def test_findings_go_to_the_frame_that_raised_them_the_rest_stand_alone() -> None:
    frames = [
        frame("a", 1.0, "CALL", "1", findings=("RPC-001",)),
        frame("b", 1.1, "CALL", "1", findings=("RPC-001",)),  # a repeated MessageId
    ]
    found = [
        finding("RPC-001", 1.0, "1", key="x"),
        finding("RPC-001", 1.1, "1", key="y"),
        finding("RPC-009", 1.05, "1", key="z"),  # listed by no frame
        finding("HB-001", 5.0, None, None, key="t"),  # a timer's finding
    ]
    ladder = build_ladder(frames, found, [])
    assert [rung.key for rung in ladder] == ["a", "finding.z", "b", "finding.t"]
    assert [[f.key for f in rung.findings] for rung in ladder] == [["x"], ["z"], ["y"], ["t"]]


def test_an_applied_fault_marks_its_frame_other_fault_events_stand_alone() -> None:
    frames = [frame("a", 1.0, "CALL", "1")]
    applied = StoredFault("p", 1.0, 3, "delay", "applied", "c1", UP, "1", "Heartbeat", "held 2 s")
    added = StoredFault("q", 0.5, 3, "delay", "added", None, None, None, None, "delay 2s")
    ladder = build_ladder(frames, [], [applied, added])
    assert [rung.key for rung in ladder] == ["fault.q", "a"]
    assert ladder[1].faults == [applied]
    assert ladder[1].as_json()["faults"][0]["detail"] == "held 2 s"


def test_a_frame_and_a_loose_finding_at_the_same_time_put_the_frame_first() -> None:
    ladder = build_ladder([frame("a", 2.0, "CALL", "1")], [finding("X-001", 2.0, "9", key="n")], [])
    assert [rung.key for rung in ladder] == ["a", "finding.n"]


def test_backoff_waits_are_measured_from_the_last_close_or_refusal() -> None:
    events = [
        connection(10.0, "open"),
        connection(20.0, "close"),
        connection(21.5, "refused"),
        connection(25.5, "open"),
        connection(30.0, "close"),
    ]
    assert backoff_waits(events) == [None, None, 1.5, 4.0, None]


def test_a_first_open_waited_for_nothing() -> None:
    assert backoff_waits([connection(1.0, "open"), connection(2.0, "open")]) == [None, None]


def test_frame_text_rebuilds_each_message_type() -> None:
    payload = {"b": 1, "a": "é"}
    assert (
        frame_text("CALL", "1", "DataTransfer", payload) == '[2,"1","DataTransfer",{"b":1,"a":"é"}]'
    )
    assert frame_text("CALLRESULT", "1", "DataTransfer", {}) == '[3,"1",{}]'
    error = {"errorCode": "NotImplemented", "errorDescription": "no", "errorDetails": {}}
    assert frame_text("CALLERROR", "9", None, error) == '[4,"9","NotImplemented","no",{}]'
    assert frame_text("INVALID", None, None, "not json") == "not json"
    assert frame_text("INVALID", None, None, [2, "x"]) == '[2,"x"]'
    assert frame_text("CALL", "1", "Heartbeat", [2, "1", "Heartbeat", 5]) == '[2,"1","Heartbeat",5]'


def test_frame_text_is_the_stored_bytes_when_there_are_any() -> None:
    raw = b'[2, "1", "MeterValues", {"value": 1.50, "big": 123456789012345678901234567890}]'
    payload = {"value": 1.5, "big": 123456789012345678901234567890}
    assert frame_text("CALL", "1", "MeterValues", payload, raw) == raw.decode()
    binary = bytes([0, 255, 1])
    assert frame_text("INVALID", None, None, "base64:AP8B", binary) == "base64:AP8B"


def test_a_capture_line_holds_what_the_capture_reader_needs() -> None:
    row = {
        "status": "sent",
        "connection_id": "c1",
        "direction": UP,
        "message_type": "CALL",
        "text": '[2,"1","Heartbeat",{}]',
    }
    line = json.loads(capture_line(12.5, "frame", row, "CS1") or "")
    assert line == {
        "type": "frame",
        "ts": 12.5,
        "station": "CS1",
        "connection": "c1",
        "direction": UP,
        "text": '[2,"1","Heartbeat",{}]',
    }
    late = json.loads(capture_line(3.0, "frame", row | {"status": "after_close"}, "CS1") or "")
    assert late["after_close"] is True
    binary = row | {"message_type": "INVALID", "text": "base64:AAE="}
    assert json.loads(capture_line(1.0, "frame", binary, "CS1") or "")["binary"] == "AAE="
    closed = {"event": "close", "connection_id": "c1", "close_code": None, "closed_by": "csms"}
    assert json.loads(capture_line(2.0, "connection", closed, "CS1") or "") == {
        "type": "close", "ts": 2.0, "station": "CS1", "connection": "c1", "code": None,
        "closed_by": "csms",
    }  # fmt: skip


def test_a_frame_key_gives_back_its_exact_position() -> None:
    run = uuid.uuid4()
    position = Position.parse(f"1796600000123456.{run}.42")
    assert position == Position(datetime(2026, 12, 6, 23, 33, 20, 123456, UTC), run, 42)
    with pytest.raises(ValueError):
        Position.parse("1796600000123456.42")


def test_the_capture_leaves_out_what_the_engine_did_not_judge() -> None:
    def stored(
        status: str, kind: str, message_id: str, direction: str = UP
    ) -> tuple[float, str, dict[str, object]]:
        text = f'[2,"{message_id}","Heartbeat",{{}}]'
        row = {"status": status, "connection_id": "c1", "direction": direction,
               "message_type": kind, "message_id": message_id, "text": text}  # fmt: skip
        return (1.0, "frame", row)

    rows = [
        stored("sent", "CALL", "a"),
        stored("duplicated", "CALL", "a"),  # the proxy's copy
        stored("dropped", "CALL", "b"),  # a drop fault: the CSMS never had it
        stored("dropped", "CALL", "c"),  # reply-error: kept from the CSMS, answered by the proxy
        stored("injected", "CALLERROR", "c", DOWN),
    ]
    kept = [json.loads(line)["text"] for line in capture_text(rows, "CS1").splitlines()]
    assert [json.loads(text)[1] for text in kept] == ["a", "c", "c"]
