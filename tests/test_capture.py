"""proxy/capture.py: capture lines in, engine events out; bad lines name themselves."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from proxy.capture import CLOCK_JITTER, CaptureError, read_capture
from proxy.ocppj.actions import Direction
from proxy.ocppj.events import ConnectionClosed, ConnectionOpened, Frame, HandshakeRefused

EPOCH = 1_795_478_400.0  # 2026-11-24T00:00:00Z
HEARTBEAT = '[2,"1","Heartbeat",{}]'


def write(tmp_path: Path, *lines: dict[str, Any] | str) -> Path:
    path = tmp_path / "capture.jsonl"
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return path


def frame(**fields: Any) -> dict[str, Any]:
    return {
        "type": "frame",
        "ts": EPOCH,
        "station": "CS01",
        "direction": "charger_to_csms",
        "text": HEARTBEAT,
        **fields,
    }


def error_of(path: Path) -> CaptureError:
    with pytest.raises(CaptureError) as caught:
        list(read_capture(path))
    return caught.value


def test_reads_every_event_type_with_its_line_number(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "type": "open",
            "ts": "2026-11-24T00:00:00Z",
            "station": "CS01",
            "connection": "c1",
            "path": "/ocpp/CS01",
            "subprotocols": ["ocpp2.0.1"],
            "selected": "ocpp2.0.1",
        },
        frame(ts="2026-11-24T00:00:01.250Z", connection="c1"),
        frame(ts="2026-11-24T00:00:01.300Z", connection="c1", direction="csms_to_charger"),
        {"type": "close", "ts": EPOCH + 2, "station": "CS01", "code": 1006, "closed_by": None},
        {"type": "refused", "ts": EPOCH + 3, "station": "CS01", "status": 503},
    )
    opened, sent, answered, closed, refused = read_capture(path)
    assert opened == ConnectionOpened(
        EPOCH, "CS01", "c1", "/ocpp/CS01", ("ocpp2.0.1",), "ocpp2.0.1", {}, {}, 1
    )
    assert sent == Frame(EPOCH + 1.25, "CS01", "c1", Direction.CHARGER_TO_CSMS, HEARTBEAT, 2)
    assert answered.direction is Direction.CSMS_TO_CHARGER
    assert answered.ref == 3
    assert closed == ConnectionClosed(EPOCH + 2, "CS01", "c1", 1006, None, ref=4)
    assert refused == HandshakeRefused(EPOCH + 3, "CS01", 503, 5)


def test_open_line_carries_how_the_station_connected(tmp_path: Path) -> None:
    tls = {"tls": True, "tls_version": "TLSv1.2", "client_cert": True, "client_cert_cn": "ACE01"}
    line = {"type": "open", "ts": EPOCH, "path": "/ocpp/CS01"}
    (opened, older) = read_capture(write(tmp_path, {**line, **tls}, line))
    assert (
        opened.tls,
        opened.tls_version,
        opened.client_certificate,
        opened.client_certificate_cn,
    ) == (True, "TLSv1.2", True, "ACE01")
    assert (older.tls, older.tls_version, older.client_certificate) == (None, None, None)


@pytest.mark.parametrize(
    ("field", "value"), [("tls", "yes"), ("client_cert", 1), ("tls_version", 1.2)]
)
def test_tls_fields_of_the_wrong_type_are_refused(tmp_path: Path, field: str, value: Any) -> None:
    line = {"type": "open", "ts": EPOCH, "path": "/ocpp/CS01", field: value}
    assert error_of(write(tmp_path, line)).line == 1


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2026-11-24T00:00:00Z", EPOCH),
        ("2026-11-24T00:00:00.123Z", EPOCH + 0.123),
        ("2026-11-24T09:00:00+09:00", EPOCH),
        ("2026-11-24T00:00:00", EPOCH),  # no offset: read as UTC
        (EPOCH, EPOCH),
        (int(EPOCH), EPOCH),
        (EPOCH + 0.5, EPOCH + 0.5),
    ],
)
def test_timestamps_are_rfc3339_or_epoch_seconds(
    tmp_path: Path, ts: str | float, expected: float
) -> None:
    (event,) = read_capture(write(tmp_path, frame(ts=ts)))
    assert event.timestamp == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("ts", ["yesterday", "", None, True, [EPOCH], {"t": 1}])
def test_a_bad_timestamp_names_its_line(tmp_path: Path, ts: Any) -> None:
    record = frame(ts=ts)
    if ts is None:
        del record["ts"]
    error = error_of(write(tmp_path, "# a comment", frame(), record))
    assert error.line == 3
    assert "'ts' must be an RFC 3339 time or epoch seconds" in str(error)


def test_connection_ids_default_per_station_and_open(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        frame(),  # before any open: the station's connection #0
        {"type": "open", "ts": EPOCH, "path": "/ocpp/CS01"},
        frame(),
        {"type": "open", "ts": EPOCH, "station": "CS02"},
        {"type": "close", "ts": EPOCH, "station": "CS01", "code": 1000, "closed_by": "charger"},
        {"type": "open", "ts": EPOCH, "station": "CS01", "path": "/ocpp/CS01"},
        frame(),
        frame(station="CS02"),
        frame(connection="explicit"),
    )
    events = list(read_capture(path))
    assert [event.connection_id for event in events] == [
        "CS01#0",
        "CS01#1",
        "CS01#1",
        "CS02#1",
        "CS01#1",
        "CS01#2",
        "CS01#2",
        "CS02#1",
        "explicit",
    ]


def test_station_comes_from_the_path_of_an_open_line(tmp_path: Path) -> None:
    (opened,) = read_capture(
        write(tmp_path, {"type": "open", "ts": EPOCH, "path": "/ocpp/EMART%2Fjeju%2001/?x=1"})
    )
    assert opened.station == "EMART/jeju 01"
    assert opened.path == "/ocpp/EMART%2Fjeju%2001/?x=1"


def test_open_without_path_gets_a_default_path_and_no_subprotocols(tmp_path: Path) -> None:
    (opened,) = read_capture(write(tmp_path, {"type": "open", "ts": EPOCH, "station": "CS01"}))
    assert opened.path == "/CS01"
    assert opened.offered_subprotocols is None
    assert opened.selected_subprotocol is None
    assert opened.request_headers == {}
    assert opened.response_headers == {}


def test_header_names_are_lower_cased(tmp_path: Path) -> None:
    (opened,) = read_capture(
        write(
            tmp_path,
            {
                "type": "open",
                "ts": EPOCH,
                "station": "CS01",
                "headers": {"Sec-WebSocket-Extensions": "permessage-deflate", "Host": "csms"},
                "response_headers": {"SEC-WEBSOCKET-PROTOCOL": "ocpp2.0.1"},
            },
        )
    )
    assert opened.request_headers == {
        "sec-websocket-extensions": "permessage-deflate",
        "host": "csms",
    }
    assert opened.response_headers == {"sec-websocket-protocol": "ocpp2.0.1"}


def test_binary_frames_are_base64(tmp_path: Path) -> None:
    data = b"\x00\xff" + HEARTBEAT.encode()
    record = frame(binary=base64.b64encode(data).decode())
    del record["text"]
    (event,) = read_capture(write(tmp_path, record))
    assert event.data == data


def test_a_frame_sent_after_the_close_says_so(tmp_path: Path) -> None:
    first, late = read_capture(write(tmp_path, frame(), frame(after_close=True)))
    assert isinstance(first, Frame) and isinstance(late, Frame)
    assert (first.after_close, late.after_close) == (False, True)
    with pytest.raises(CaptureError, match="'after_close' must be true, false or null"):
        list(read_capture(write(tmp_path, frame(after_close="yes"))))


def test_blank_and_comment_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    path = write(tmp_path, "", "# header", "   ", frame(), "#", frame())
    assert [event.ref for event in read_capture(path)] == [4, 6]


def test_an_empty_file_has_no_events(tmp_path: Path) -> None:
    assert list(read_capture(write(tmp_path))) == []


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "not a JSON object: "),
        ("[1, 2]", "not a JSON object"),
        ('"frame"', "not a JSON object"),
        ({"type": "ping", "ts": EPOCH, "station": "CS01"}, "'type' must be open, frame, close"),
        ({"ts": EPOCH, "station": "CS01"}, "'type' must be open, frame, close"),
        ({"type": "open", "ts": EPOCH}, "missing field 'station'"),
        ({"type": "open", "ts": EPOCH, "path": "/"}, "missing field 'station'"),
        ({"type": "open", "ts": EPOCH, "station": 7}, "'station' must be a string"),
        ({"type": "frame", "ts": EPOCH, "text": "[]"}, "missing field 'station'"),
        (frame(direction="up"), "'direction' must be charger_to_csms or csms_to_charger"),
        ({**frame(), "direction": None}, "'direction' must be"),
        ({k: v for k, v in frame().items() if k != "direction"}, "missing field 'direction'"),
        ({k: v for k, v in frame().items() if k != "text"}, "a frame needs 'text'"),
        (frame(text=["x"]), "'text' must be a string"),
        (
            {k: v for k, v in frame(binary="not base64!").items() if k != "text"},
            "'binary' must be base64",
        ),
        (frame(connection=3), "'connection' must be a string"),
        (
            {"type": "open", "ts": EPOCH, "station": "CS01", "subprotocols": "ocpp2.0.1"},
            "'subprotocols' must be a list of strings or null",
        ),
        (
            {"type": "open", "ts": EPOCH, "station": "CS01", "subprotocols": [2.0]},
            "'subprotocols' must be a list of strings or null",
        ),
        (
            {"type": "open", "ts": EPOCH, "station": "CS01", "headers": {"Host": 1}},
            "'headers' must be an object of strings",
        ),
        (
            {"type": "open", "ts": EPOCH, "station": "CS01", "response_headers": ["Host"]},
            "'response_headers' must be an object of strings",
        ),
        (
            {"type": "close", "ts": EPOCH, "station": "CS01", "code": "1006"},
            "'code' must be an integer close code or null",
        ),
        (
            {"type": "close", "ts": EPOCH, "station": "CS01", "closed_by": "proxy"},
            '\'closed_by\' must be "charger", "csms" or null',
        ),
        (
            {"type": "refused", "ts": EPOCH, "station": "CS01", "status": "503"},
            "'status' must be an integer HTTP status or null",
        ),
        (
            {"type": "refused", "ts": EPOCH, "station": "CS01", "status": True},
            "'status' must be an integer HTTP status or null",
        ),
    ],
)
def test_errors_name_the_file_and_line(
    tmp_path: Path, line: dict[str, Any] | str, reason: str
) -> None:
    path = write(tmp_path, "# capture", frame(), "", line, frame())
    error = error_of(path)
    assert error.line == 4
    assert str(error).startswith(f"{path}:4: {reason}")
    assert "\n" not in str(error)


def test_events_before_a_bad_line_are_delivered(tmp_path: Path) -> None:
    events = read_capture(write(tmp_path, frame(), "oops"))
    assert next(events).ref == 1
    with pytest.raises(CaptureError, match=r":2: not a JSON object"):
        next(events)


def test_a_missing_file_is_a_capture_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.jsonl"
    error = error_of(path)
    assert error.line == 0
    assert str(error).startswith(str(path))
    assert "No such file" in str(error)


def test_invalid_utf8_names_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl"
    good = (json.dumps(frame()) + "\n").encode()
    path.write_bytes(good * 300 + b'{"type": "frame", "station": "\xff"}\n' + good)
    error = error_of(path)
    assert error.line == 301
    assert str(error) == f"{path}:301: not UTF-8 text"


def test_utf8_text_is_kept(tmp_path: Path) -> None:
    text = '[2,"1","DataTransfer",{"vendorId":"제주","data":"☀"}]'
    (event,) = read_capture(write(tmp_path, frame(text=text)))
    assert event.data == text


def test_timestamps_may_jitter_back_by_up_to_a_second(tmp_path: Path) -> None:
    path = write(tmp_path, frame(ts=EPOCH + 5), frame(ts=EPOCH + 4.2), frame(ts=EPOCH + 5.5))
    assert [event.timestamp for event in read_capture(path)] == [
        EPOCH + 5,
        EPOCH + 4.2,
        EPOCH + 5.5,
    ]


def test_timestamps_going_back_further_name_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, frame(ts=EPOCH + 5), "# a comment", frame(ts=EPOCH + 6), frame(ts=EPOCH))
    error = error_of(path)
    assert error.line == 4
    assert str(error) == (
        f"{path}:4: 'ts' is 6.000 s before that of line 3: lines must be in time order "
        f"(up to {CLOCK_JITTER:g} s of jitter)"
    )


def test_a_line_that_is_no_event_names_itself(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, frame(), "Heartbeat sent at 09:00"))
    assert error.line == 2
    assert "not a JSON object" in str(error)
