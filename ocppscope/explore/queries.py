"""The explorer's read-only SQL over the proxy's tables (sql/001, 002, 004).

Frames are paged by keyset on (logged_at, proxy_run, seq), which the (charger_id, logged_at)
index serves, so a page costs the same at the end of a long conversation as at its start. A
frame's key carries its position: `<epoch microseconds>.<proxy_run>.<seq>`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from ocppscope.explore.frame_text import frame_text
from ocppscope.explore.ladder import ConnectionEvent, StoredFault, StoredFinding, StoredFrame

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Db = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

_FRAME = """
    (extract(epoch FROM logged_at) * 1000000)::bigint AS us, proxy_run, seq, connection_id,
    direction, message_type, action, message_id, status, rtt_ms, finding_ids, size_bytes
"""
_WHEN = "extract(epoch FROM logged_at)::float8 AS at"
_IN_RANGE = (
    "charger_id = $1 AND ($2::timestamptz IS NULL OR logged_at >= $2) "
    "AND ($3::timestamptz IS NULL OR logged_at < $3)"
)
"""A station's rows ($1) in [since, until) ($2, $3; either may be NULL: unbounded)."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where a frame stands in the keyset order."""

    at: datetime
    run: uuid.UUID
    seq: int

    @classmethod
    def parse(cls, key: str) -> Position:
        """ValueError unless `key` is a frame key."""
        micros, run, seq = key.split(".")
        return cls(EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(run), int(seq))


def moment(epoch: float) -> datetime:
    return EPOCH + timedelta(seconds=epoch)


def _frame(row: asyncpg.Record) -> StoredFrame:
    return StoredFrame(
        key=f"{row['us']}.{row['proxy_run']}.{row['seq']}",
        at=row["us"] / 1e6,
        connection_id=row["connection_id"],
        direction=row["direction"],
        message_type=row["message_type"],
        action=row["action"],
        message_id=row["message_id"],
        status=row["status"],
        rtt_ms=row["rtt_ms"],
        finding_ids=tuple(row["finding_ids"] or ()),
        size_bytes=row["size_bytes"],
    )


async def stations(
    connection: Db, match: str | None = None, rule: str | None = None
) -> list[dict[str, Any]]:
    """Every station the proxy saw a handshake of: its latest connection event (connected when
    that is an open), the protocol it chose, its last frame, and its findings by severity."""
    rows = await connection.fetch(
        f"""
        WITH latest AS (
            SELECT DISTINCT ON (charger_id) charger_id, event,
                   {_WHEN}, subprotocol
            FROM proxy_connection_log
            WHERE ($1::text IS NULL OR strpos(lower(charger_id), lower($1)) > 0)
            ORDER BY charger_id, logged_at DESC, seq DESC
        ),
        protocol AS (
            SELECT DISTINCT ON (charger_id) charger_id, subprotocol
            FROM proxy_connection_log
            WHERE event = 'open' AND charger_id IN (SELECT charger_id FROM latest)
            ORDER BY charger_id, logged_at DESC, seq DESC
        ),
        counts AS (
            SELECT charger_id,
                   count(*) FILTER (WHERE severity = 'error') AS errors,
                   count(*) FILTER (WHERE severity = 'warning') AS warnings,
                   count(*) FILTER (WHERE $2::text IS NOT NULL AND rule_id = $2) AS matching
            FROM findings
            WHERE charger_id IN (SELECT charger_id FROM latest)
            GROUP BY charger_id
        )
        SELECT latest.charger_id, latest.event, latest.at, protocol.subprotocol,
               coalesce(counts.errors, 0) AS errors, coalesce(counts.warnings, 0) AS warnings,
               coalesce(counts.matching, 0) AS matching,
               (SELECT extract(epoch FROM logged_at)::float8 FROM ocpp_message_log m
                WHERE m.charger_id = latest.charger_id
                ORDER BY logged_at DESC LIMIT 1) AS last_frame
        FROM latest
        LEFT JOIN protocol USING (charger_id)
        LEFT JOIN counts USING (charger_id)
        ORDER BY latest.charger_id
        """,
        match or None,
        rule or None,
    )
    return [
        {
            "id": row["charger_id"],
            "protocol": row["subprotocol"],
            "connected": row["event"] == "open",
            "lastSeen": max(row["at"], row["last_frame"] or row["at"]),
            "errors": row["errors"],
            "warnings": row["warnings"],
        }
        for row in rows
        if not rule or row["matching"]
    ]


async def connections(
    connection: Db, station: str, since: datetime | None, until: datetime | None
) -> list[ConnectionEvent]:
    rows = await connection.fetch(
        f"""
        SELECT {_WHEN}, event, connection_id, subprotocol, remote_address, close_code,
               closed_by, http_status
        FROM proxy_connection_log
        WHERE {_IN_RANGE}
        ORDER BY logged_at, proxy_run, seq
        """,
        station,
        since,
        until,
    )
    return [ConnectionEvent(**dict(row)) for row in rows]


async def frames_before(
    connection: Db,
    station: str,
    before: Position | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[StoredFrame]:
    """The `limit` frames just before `before` (else the range's last), in time order."""
    rows = await connection.fetch(
        f"""
        SELECT {_FRAME} FROM ocpp_message_log
        WHERE charger_id = $1
          AND ($2::timestamptz IS NULL OR (logged_at, proxy_run, seq) < ($2, $3::uuid, $4::bigint))
          AND ($5::timestamptz IS NULL OR logged_at >= $5)
          AND ($6::timestamptz IS NULL OR logged_at < $6)
        ORDER BY logged_at DESC, proxy_run DESC, seq DESC
        LIMIT $7
        """,
        station,
        *(_position(before)),
        since,
        until,
        limit,
    )
    return [_frame(row) for row in reversed(rows)]


def _position(position: Position | None) -> tuple[Any, Any, Any]:
    return (position.at, position.run, position.seq) if position else (None, None, None)


async def findings(
    connection: Db, station: str, since: datetime | None, until: datetime | None
) -> list[StoredFinding]:
    """The station's findings in [since, until)."""
    rows = await connection.fetch(
        f"""
        SELECT proxy_run::text || '.' || seq AS key, {_WHEN}, rule_id, severity, message,
               reference, connection_id, direction, message_id, action
        FROM findings
        WHERE {_IN_RANGE}
        ORDER BY logged_at, proxy_run, seq
        """,
        station,
        since,
        until,
    )
    return [StoredFinding(**dict(row.items())) for row in rows]


async def faults(
    connection: Db, station: str, since: datetime | None, until: datetime | None
) -> list[StoredFault]:
    """The fault events that concern the station in [since, until)."""
    rows = await connection.fetch(
        f"""
        SELECT proxy_run::text || '.' || seq AS key, {_WHEN}, fault_id, kind, event,
               connection_id, direction, message_id, action, detail
        FROM fault_events
        WHERE {_IN_RANGE}
        ORDER BY logged_at, proxy_run, seq
        """,
        station,
        since,
        until,
    )
    return [StoredFault(**dict(row.items())) for row in rows]


async def frame(connection: Db, station: str, key: str) -> dict[str, Any] | None:
    """One frame with its text (see frame_text); None when there is no such frame."""
    position = Position.parse(key)
    row = await connection.fetchrow(
        f"""
        SELECT {_FRAME}, payload::text AS payload, raw FROM ocpp_message_log
        WHERE charger_id = $1 AND logged_at = $2 AND proxy_run = $3 AND seq = $4
        """,
        station,
        position.at,
        position.run,
        position.seq,
    )
    if row is None:
        return None
    stored = _frame(row)
    return {
        "key": stored.key,
        "at": stored.at,
        "type": stored.message_type,
        "action": stored.action,
        "messageId": stored.message_id,
        "direction": stored.direction,
        "status": stored.status,
        "text": _text(row),
    }


def _text(row: asyncpg.Record) -> str:
    payload = json.loads(row["payload"]) if row["payload"] is not None else None
    return frame_text(row["message_type"], row["message_id"], row["action"], payload, row["raw"])


async def capture_rows(
    connection: Db, station: str, since: datetime | None, until: datetime | None
) -> list[tuple[float, str, dict[str, Any]]]:
    """The station's connection events and frames in [since, until) in time order, as
    (time, table, columns) with each frame's text: what an export is written from."""
    events = await connection.fetch(
        f"""
        SELECT {_WHEN}, logged_at, proxy_run, seq, event, connection_id, path, subprotocol,
               close_code, closed_by, http_status
        FROM proxy_connection_log
        WHERE {_IN_RANGE}
        """,
        station,
        since,
        until,
    )
    frames = await connection.fetch(
        f"""
        SELECT {_WHEN}, logged_at, proxy_run, seq, connection_id, direction, message_type,
               message_id, action, status, payload::text AS payload, raw
        FROM ocpp_message_log
        WHERE {_IN_RANGE}
        """,
        station,
        since,
        until,
    )
    merged = [("connection", row) for row in events] + [("frame", row) for row in frames]
    merged.sort(key=lambda item: (item[1]["logged_at"], item[1]["proxy_run"], item[1]["seq"]))
    return [(row["at"], table, _capture_columns(table, row)) for table, row in merged]


def _capture_columns(table: str, row: asyncpg.Record) -> dict[str, Any]:
    columns = dict(row.items())
    if table == "frame":
        columns["text"] = _text(row)
    return columns
