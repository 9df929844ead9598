"""Capture files: JSON Lines of connection and frame events, read into engine events.

One object per line, in time order; `ts` is RFC 3339 or epoch seconds:

    {"type": "open",    "ts": ..., "station": "CS01", "connection": "c1", "path": "/ocpp/CS01",
     "subprotocols": ["ocpp2.0.1"], "selected": "ocpp2.0.1", "headers": {...},
     "response_headers": {...}, "tls": true, "tls_version": "TLSv1.2",
     "client_cert": true, "client_cert_cn": "ACE0012345"}
    {"type": "frame",   "ts": ..., "station": "CS01", "connection": "c1",
     "direction": "charger_to_csms", "text": "[2,\"1\",\"Heartbeat\",{}]"}     # or "binary": base64
                                         # "after_close": true: sent after the other side's Close
    {"type": "close",   "ts": ..., "station": "CS01", "connection": "c1", "code": 1006,
     "closed_by": null}                                                     # "charger" | "csms"
    {"type": "refused", "ts": ..., "station": "CS01", "status": 503}

`station` may be left out of an `open` line that has a `path`; `connection` may be left out
everywhere (frames then belong to the station's latest connection). Blank lines and lines
starting with `#` are skipped. The TLS fields of an `open` line say how the station connected
(the security-profile rules judge them); left out, they are unknown, as in older captures. A
timestamp more than `CLOCK_JITTER` before an earlier line's is an error: the engine's timers
would judge such a capture wrongly.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from proxy.ocppj.actions import Direction
from proxy.ocppj.events import (
    ConnectionClosed,
    ConnectionOpened,
    Event,
    Frame,
    HandshakeRefused,
    station_from_path,
)
from proxy.ocppj.timefmt import parse_datetime

CLOSED_BY = ("charger", "csms", None)

CLOCK_JITTER = 1.0
"""Seconds a line's `ts` may lie before an earlier line's. A capture merged from two logs (the
station's and the CSMS's) or written by several threads of one recorder is in time order only up
to the skew of their clocks and flushes; that is tolerated (the engine's clock never runs
backwards: it keeps the latest time seen). More than this is a capture out of order, whose
timeouts and intervals would be judged wrongly, so it is refused. The engine's own tolerance for
clock deviation between the parties is 4 s (`Config.clock_tolerance`); 1 s between lines of one
file is far beyond scheduling jitter and far below any OCPP interval."""


class CaptureError(ValueError):
    """A capture line that cannot be read; names the file and line."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")
        self.line = line


def read_capture(path: Path) -> Iterator[Event]:
    """Events of a capture file, each with `ref` = its line number."""
    latest: dict[str, str] = {}
    opened: dict[str, int] = {}
    clock, clock_line = float("-inf"), 0
    try:
        handle = path.open("rb")  # decoded line by line, so that a bad byte names its own line
    except OSError as exc:
        raise CaptureError(path, 0, exc.strerror or str(exc)) from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise CaptureError(path, number, "not UTF-8 text") from None
            if not text or text.startswith("#"):
                continue
            try:
                record = json.loads(text)
            except ValueError as exc:
                raise CaptureError(path, number, f"not a JSON object: {exc}") from exc
            if not isinstance(record, dict):
                raise CaptureError(path, number, "not a JSON object")
            try:
                event = _event(record, number, latest, opened)
            except (KeyError, TypeError, ValueError) as exc:
                raise CaptureError(path, number, _reason(exc)) from exc
            if event.timestamp < clock - CLOCK_JITTER:
                raise CaptureError(
                    path,
                    number,
                    f"'ts' is {clock - event.timestamp:.3f} s before that of line {clock_line}: "
                    f"lines must be in time order (up to {CLOCK_JITTER:g} s of jitter)",
                )
            if event.timestamp > clock:
                clock, clock_line = event.timestamp, number
            yield event


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc)


def _event(
    record: dict[str, Any], line: int, latest: dict[str, str], opened: dict[str, int]
) -> Event:
    kind = record.get("type")
    timestamp = _timestamp(record.get("ts"))
    if kind == "open":
        path = _optional_str(record, "path") or ""
        station = _optional_str(record, "station") or (station_from_path(path) if path else None)
        if not station:
            raise KeyError("station")
        opened[station] = opened.get(station, 0) + 1
        connection = _optional_str(record, "connection") or f"{station}#{opened[station]}"
        latest[station] = connection
        offered = record.get("subprotocols")
        if offered is not None and not (
            isinstance(offered, list) and all(isinstance(item, str) for item in offered)
        ):
            raise ValueError("'subprotocols' must be a list of strings or null")
        return ConnectionOpened(
            timestamp,
            station,
            connection,
            path or f"/{station}",
            tuple(offered) if offered is not None else None,
            _optional_str(record, "selected"),
            _headers(record, "headers"),
            _headers(record, "response_headers"),
            line,
            _optional_bool(record, "tls"),
            _optional_str(record, "tls_version"),
            _optional_bool(record, "client_cert"),
            _optional_str(record, "client_cert_cn"),
        )
    station = _required_str(record, "station")
    if kind == "refused":
        status = record.get("status")
        if status is not None and type(status) is not int:
            raise ValueError("'status' must be an integer HTTP status or null")
        return HandshakeRefused(timestamp, station, status, line)
    connection = _optional_str(record, "connection") or latest.get(station, f"{station}#0")
    if kind == "frame":
        after_close = _optional_bool(record, "after_close") or False
        return Frame(
            timestamp, station, connection, _direction(record), _data(record), line, after_close
        )
    if kind == "close":
        code, closed_by = record.get("code"), record.get("closed_by")
        if code is not None and type(code) is not int:
            raise ValueError("'code' must be an integer close code or null")
        if closed_by not in CLOSED_BY:
            raise ValueError('\'closed_by\' must be "charger", "csms" or null')
        return ConnectionClosed(timestamp, station, connection, code, closed_by, ref=line)
    raise ValueError(f"'type' must be open, frame, close or refused, not {kind!r}")


def _timestamp(value: Any) -> float:
    if type(value) in (int, float):
        return float(value)
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError("'ts' must be an RFC 3339 time or epoch seconds")
    return parsed


def _direction(record: dict[str, Any]) -> Direction:
    try:
        return Direction(record["direction"])
    except ValueError:
        raise ValueError("'direction' must be charger_to_csms or csms_to_charger") from None


def _data(record: dict[str, Any]) -> str | bytes:
    if "text" in record:
        return _required_str(record, "text")
    try:
        return base64.b64decode(_required_str(record, "binary"), validate=True)
    except binascii.Error:
        raise ValueError("'binary' must be base64") from None
    except KeyError:
        raise ValueError("a frame needs 'text' (or 'binary', base64)") from None


def _required_str(record: dict[str, Any], name: str) -> str:
    value = record[name]
    if not isinstance(value, str):
        raise ValueError(f"{name!r} must be a string")
    return value


def _optional_str(record: dict[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name!r} must be a string")
    return value


def _optional_bool(record: dict[str, Any], name: str) -> bool | None:
    value = record.get(name)
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{name!r} must be true, false or null")
    return value


def _headers(record: dict[str, Any], name: str) -> dict[str, str]:
    value = record.get(name) or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"{name!r} must be an object of strings")
    return {key.lower(): item for key, item in value.items()}
