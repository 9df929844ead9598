"""A station's stored traffic as a capture file (the JSON Lines `ocppscope check` reads, see
proxy/capture.py), and as the findings `ocppscope check` reports on that capture."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ocppscope.check_report import to_json, to_junit
from ocppscope.explore.frame_text import binary_frame
from ocppscope.explore.ladder import REVERSE
from proxy.capture import read_capture
from proxy.check import observed_sides, run_check, survey
from proxy.store.records import AFTER_CLOSE

Key = tuple[str, str | None, str]
"""A frame's connection, MessageId and direction."""


def judged(row: dict[str, Any], injected: set[Key]) -> bool:
    """Whether the engine judged a stored frame live (proxy/faults/record.py, FaultMark.judged):
    not the proxy's `duplicated` copies, nor a `dropped` frame, except the CALL that reply-error
    kept from the CSMS and answered itself (its `injected` CALLERROR answers it). The capture
    holds the judged frames, so that its conversation is the one the engine judged."""
    if row["status"] == "duplicated":
        return False
    if row["status"] == "dropped":
        answer = (row["connection_id"], row["message_id"], REVERSE[row["direction"]])
        return row["message_type"] == "CALL" and answer in injected
    return True


def capture_line(at: float, table: str, row: dict[str, Any], station: str) -> str:
    """One capture line for a stored connection event or frame."""
    record: dict[str, Any]
    if table == "frame":
        record = {"type": "frame", "ts": at, "station": station}
        record["connection"] = row["connection_id"]
        record["direction"] = row["direction"]
        binary = binary_frame(row["text"]) if row["message_type"] == "INVALID" else None
        record |= {"binary": binary} if binary is not None else {"text": row["text"]}
        if row["status"] == AFTER_CLOSE:
            record["after_close"] = True
    elif row["event"] == "open":
        record = {
            "type": "open",
            "ts": at,
            "station": station,
            "connection": row["connection_id"],
            "path": row["path"],
            "subprotocols": offered(row["subprotocol"]),
            "selected": row["subprotocol"],
        }
    elif row["event"] == "close":
        record = {
            "type": "close",
            "ts": at,
            "station": station,
            "connection": row["connection_id"],
            "code": row["close_code"],
            "closed_by": row["closed_by"],
        }
    else:
        record = {"type": "refused", "ts": at, "station": station, "status": row["http_status"]}
    return json.dumps(record, ensure_ascii=False)


def offered(selected: str | None) -> list[str] | None:
    """What the station offered in its handshake, as far as the store tells: it keeps only the
    subprotocol the CSMS selected, which must have been offered (OCPP-J 2.0.1 §3.2; the proxy
    judged it live). With none selected, the offer is unknown and left out."""
    return [selected] if selected is not None else None


def capture_text(rows: Iterable[tuple[float, str, dict[str, Any]]], station: str) -> str:
    """The capture of a station's rows in time order (what queries.capture_rows gives)."""
    rows = list(rows)
    injected = {
        (row["connection_id"], row["message_id"], row["direction"])
        for _, table, row in rows
        if table == "frame" and row["status"] == "injected"
    }
    return "".join(
        capture_line(at, table, row, station) + "\n"
        for at, table, row in rows
        if table != "frame" or judged(row, injected)
    )


def findings_report(capture: str, output_format: str) -> str:
    """What `ocppscope check --format json|junit` says of `capture` (with its defaults)."""
    with tempfile.TemporaryDirectory(prefix="ocppscope-explore-") as directory:
        path = Path(directory) / "export.jsonl"
        path.write_text(capture, encoding="utf-8")
        observed = observed_sides(survey(read_capture(path)))
        report = run_check(read_capture(path), observed=observed)
    return to_json(report, report.findings) if output_format == "json" else to_junit(report)
