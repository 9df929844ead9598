"""Rows for the store's tables, built from what the proxy saw; pure code, no database.

Rows are built when the frame is queued (a few microseconds) so the queue holds compact tuples,
not the engine's objects. Whatever a charger sends must become a row PostgreSQL accepts: text
cannot hold NUL or lone surrogates, jsonb cannot hold \\u0000, so those are replaced, never
allowed to fail a whole batch.
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum

import orjson

from proxy.faults.record import FaultEvent
from proxy.frame import Frame
from proxy.ocppj.findings import Finding
from proxy.ocppj.messages import Call, CallError, CallResult


class Table(StrEnum):
    MESSAGES = "ocpp_message_log"
    CONNECTIONS = "proxy_connection_log"
    FINDINGS = "findings"
    DISCARDS = "store_discards"
    FAULTS = "fault_events"


COLUMNS: dict[Table, tuple[str, ...]] = {
    Table.MESSAGES: (
        "logged_at",
        "charger_id",
        "direction",
        "message_type",
        "action",
        "message_id",
        "payload",
        "raw",
        "status",
        "rtt_ms",
        "finding_ids",
        "size_bytes",
        "connection_id",
        "ocpp_version",
        "proxy_instance",
        "proxy_run",
        "seq",
    ),
    Table.CONNECTIONS: (
        "logged_at",
        "charger_id",
        "event",
        "connection_id",
        "remote_address",
        "path",
        "subprotocol",
        "tls",
        "close_code",
        "closed_by",
        "http_status",
        "proxy_instance",
        "proxy_run",
        "seq",
    ),
    Table.FINDINGS: (
        "logged_at",
        "rule_id",
        "severity",
        "charger_id",
        "message",
        "reference",
        "action",
        "direction",
        "connection_id",
        "message_id",
        "ocpp_version",
        "proxy_instance",
        "proxy_run",
        "seq",
    ),
    Table.DISCARDS: ("first_at", "last_at", "records", "proxy_instance", "proxy_run", "seq"),
    Table.FAULTS: (
        "logged_at",
        "fault_id",
        "kind",
        "event",
        "charger_id",
        "connection_id",
        "direction",
        "action",
        "message_id",
        "detail",
        "proxy_instance",
        "proxy_run",
        "seq",
    ),
}
TIME_COLUMN = {table: columns[0] for table, columns in COLUMNS.items()}
"""Every table's rows start with their time; (proxy_run, seq) end them."""

Row = tuple[object, ...]

AFTER_CLOSE = "after_close"
"""ocpp_message_log.status of a frame sent after the other side's Close: not forwarded."""

STATION_ID_BYTES = 1024
"""Longest station id the proxy lets through (OCPP-J 2.0.1 §3.1.1 allows 48 characters): the
btree indexes on `charger_id` refuse rows past 2,704 bytes, so a longer id would be forwarded and
never stored. Longer ids get their handshake refused (addons/forwarding.py), recorded with the
id cut to this length and the whole path."""


def timestamp(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def text(value: str | None) -> str | None:
    """A string PostgreSQL's text type accepts (no NUL, valid UTF-8)."""
    if value is None or (value.isascii() and "\x00" not in value):
        return value
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def charger_id(station: str) -> str:
    """A station id as `charger_id` holds it: valid text, at most STATION_ID_BYTES of UTF-8."""
    value = text(station) or ""
    if len(value) <= STATION_ID_BYTES // 4:
        return value
    return value.encode()[:STATION_ID_BYTES].decode(errors="ignore")


class RowMaker:
    """Builds the rows of one proxy run: every row carries the run and a sequence number, which
    is how a retried batch is told apart from one already committed."""

    def __init__(self, instance: str, run: uuid.UUID | None = None) -> None:
        self.instance = instance
        self.run = run or uuid.uuid4()
        self._seq = 0

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def message(self, frame: Frame) -> Row:
        findings = frame.findings
        rtt = frame.rtt
        data = frame.data
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        return (
            timestamp(frame.received_at),
            charger_id(frame.station),
            frame.direction.value,
            frame.message_type,
            text(frame.action),
            text(frame.message_id),
            payload_json(frame),
            raw,
            frame.fault.status if frame.fault else AFTER_CLOSE if frame.after_close else "sent",
            rtt * 1000.0 if rtt is not None else None,
            [f.rule_id for f in findings] if findings else None,
            len(raw),
            frame.connection_id,
            frame.version,
            self.instance,
            self.run,
            self._next(),
        )

    def opened(
        self,
        at: float,
        station: str,
        connection_id: str,
        remote_address: str | None,
        path: str,
        subprotocol: str | None,
        tls: bool,
    ) -> Row:
        return (
            timestamp(at),
            charger_id(station),
            "open",
            connection_id,
            text(remote_address),
            text(path),
            text(subprotocol),
            tls,
            None,
            None,
            None,
            self.instance,
            self.run,
            self._next(),
        )

    def closed(
        self, at: float, station: str, connection_id: str, code: int | None, closed_by: str | None
    ) -> Row:
        return (
            timestamp(at),
            charger_id(station),
            "close",
            connection_id,
            None,
            None,
            None,
            None,
            code,
            closed_by,
            None,
            self.instance,
            self.run,
            self._next(),
        )

    def refused(
        self,
        at: float,
        station: str,
        remote_address: str | None,
        path: str | None,
        status: int | None,
        tls: bool,
    ) -> Row:
        """A refused handshake; no status when TLS failed before the upgrade (nor path, nor
        station: the charger is known by its address alone)."""
        return (
            timestamp(at),
            charger_id(station),
            "refused",
            None,
            text(remote_address),
            text(path),
            None,
            tls,
            None,
            None,
            status,
            self.instance,
            self.run,
            self._next(),
        )

    def finding(self, finding: Finding) -> Row:
        return (
            timestamp(finding.timestamp),
            finding.rule_id,
            finding.severity.value,
            charger_id(finding.station),
            text(finding.message),
            finding.reference,
            text(finding.action),
            finding.direction.value if finding.direction else None,
            finding.connection_id,
            text(finding.message_id),
            finding.version,
            self.instance,
            self.run,
            self._next(),
        )

    def fault(self, event: FaultEvent) -> Row:
        return (
            timestamp(event.at),
            event.fault_id,
            event.kind.value,
            event.event,
            text(event.station),
            event.connection_id,
            event.direction.value if event.direction else None,
            text(event.action),
            text(event.message_id),
            text(event.detail),
            self.instance,
            self.run,
            self._next(),
        )

    def discards(self, first_at: float, last_at: float, records: int) -> Row:
        return (
            timestamp(first_at),
            timestamp(last_at),
            records,
            self.instance,
            self.run,
            self._next(),
        )


def _ocpp_payload(value: object) -> object:
    """A CALL's or CALLRESULT's payload object out of a frame the engine did not parse (one a
    fault kept from it); anything else as it is."""
    if isinstance(value, list) and value and value[0] in (2, 3):
        payload = value[3] if value[0] == 2 and len(value) == 4 else value[-1]
        if isinstance(payload, dict):
            return payload
    return value


def payload_json(frame: Frame) -> str:
    """The frame's payload as JSON text for the jsonb column.

    CALL and CALLRESULT: their payload object; CALLERROR: code, description and details; anything
    else: the whole frame when it is JSON, else the raw text as a JSON string.
    """
    parsed = frame.outcome.parsed if frame.outcome else None
    message = parsed.message if parsed else None
    value: object
    if isinstance(message, Call | CallResult) and message.payload is not None:
        value = message.payload
    elif isinstance(message, CallError):
        value = {
            "errorCode": message.error_code,
            "errorDescription": message.description,
            "errorDetails": message.details,
        }
    elif isinstance(frame.data, bytes):
        return _json_string("base64:" + base64.b64encode(frame.data).decode())
    else:
        try:
            value = _ocpp_payload(orjson.loads(frame.data))
        except orjson.JSONDecodeError:
            return _json_string(frame.data)
    try:
        encoded = orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):  # lone surrogates from the json fallback
        return _json_string(frame.data if isinstance(frame.data, str) else "")
    if "\\u0000" in encoded and _ESCAPED_NUL.search(encoded):  # jsonb has no NUL
        return _json_string(frame.data if isinstance(frame.data, str) else "")
    return encoded


_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
"""A \u0000 escape, not the text `\u0000` (an escaped backslash followed by u0000)."""


def _json_string(value: str) -> str:
    return orjson.dumps(text(value)).decode()
