"""Each scenario's checks, computed from the database only.

A run is identified by its window (wall-clock start and end, speed) and its chargers, so
`ocppscope report` can verify a recorded run again later from the same tables the run wrote.
The queries are the seed integration guide's verification queries with the window in place of
their `NOW() - INTERVAL ...`; the judgements are `scenarios.checks`.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from scenarios.checks import SCENARIO_CHECKS
from scenarios.model import (
    Check,
    CsmsConnection,
    Evidence,
    Finding,
    LinkEvent,
    Message,
    PowerReading,
    RunWindow,
    Transaction,
    TransactionEvent,
)

__all__ = ["Check", "RunWindow", "evidence", "verify"]

_MESSAGES = """
SELECT logged_at, charger_id, direction, message_type, action, message_id, payload, status, rtt_ms
FROM ocpp_message_log
WHERE charger_id = ANY($1) AND logged_at BETWEEN $2 AND $3
ORDER BY logged_at, seq
"""
_FINDINGS = """
SELECT logged_at, rule_id, severity, charger_id, message
FROM findings
WHERE charger_id = ANY($1) AND logged_at BETWEEN $2 AND $3
ORDER BY logged_at, seq
"""
_LINKS = """
SELECT logged_at, charger_id, event, closed_by, http_status
FROM proxy_connection_log
WHERE charger_id = ANY($1) AND logged_at BETWEEN $2 AND $3
ORDER BY logged_at, seq
"""
_CSMS_CONNECTIONS = """
SELECT logged_at, charger_id, status
FROM charger_connection_log
WHERE charger_id = ANY($1) AND logged_at BETWEEN $2 AND $3
ORDER BY logged_at
"""
_TRANSACTIONS = """
SELECT transaction_id, charger_id, energy_consumed, cost, duration_seconds, start_time, end_time,
       stopped_reason, id_token, remote_start_id
FROM charger_usage_log
WHERE charger_id = ANY($1) AND (charger_id, transaction_id) IN (
    SELECT charger_id, transaction_id FROM charger_transaction_event
    WHERE charger_id = ANY($1) AND received_at BETWEEN $2 AND $3
)
ORDER BY start_time, charger_id
"""
"""The guide's Q2 by the run's transactions: those whose events the CSMS received during the
window (its own clock). Their start_time is the station's, which under --speed runs ahead of the
wall clock and would reach into the next scenarios' sessions."""
_EVENTS = """
SELECT charger_id, transaction_id, seq_no, request->>'eventType' AS event_type,
       (request->>'timestamp')::timestamptz AS timestamp,
       coalesce((request->>'offline')::boolean, false) AS offline
FROM charger_transaction_event
WHERE charger_id = ANY($1) AND transaction_id = ANY($2)
ORDER BY transaction_id, seq_no
"""
_POWER = """
SELECT logged_at, charger_id, status, power
FROM charger_status_log
WHERE charger_id = ANY($1) AND logged_at BETWEEN $2 AND $3
ORDER BY logged_at, id
"""
_RATINGS = "SELECT charger_id, max_power_kw FROM charger_info WHERE charger_id = ANY($1)"


async def verify(connection: asyncpg.Connection, scenario: int, window: RunWindow) -> list[Check]:
    """Scenario `scenario`'s checks for the run in `window`, in order."""
    if scenario not in SCENARIO_CHECKS:
        raise ValueError(f"scenario {scenario} is not one of 1-5")
    return SCENARIO_CHECKS[scenario](await evidence(connection, window), window)


async def evidence(connection: asyncpg.Connection, window: RunWindow) -> Evidence:
    """What the proxy and the CSMS recorded about the window's chargers during the window."""
    ids = list(window.charger_ids)
    real = (ids, window.started_at, window.ended_at)
    usage = await connection.fetch(_TRANSACTIONS, *real)
    events = await connection.fetch(_EVENTS, ids, [row["transaction_id"] for row in usage])
    return Evidence(
        messages=tuple(
            Message(**{**row, "payload": _json(row["payload"])})
            for row in await connection.fetch(_MESSAGES, *real)
        ),
        findings=tuple(Finding(**row) for row in await connection.fetch(_FINDINGS, *real)),
        links=tuple(LinkEvent(**row) for row in await connection.fetch(_LINKS, *real)),
        csms_connections=tuple(
            CsmsConnection(**row) for row in await connection.fetch(_CSMS_CONNECTIONS, *real)
        ),
        transactions=tuple(
            Transaction(
                transaction_id=row["transaction_id"],
                charger_id=row["charger_id"],
                energy_kwh=float(row["energy_consumed"]),
                cost=float(row["cost"]),
                duration_seconds=row["duration_seconds"],
                start_time=row["start_time"],
                end_time=row["end_time"],
                stopped_reason=row["stopped_reason"],
                id_token=row["id_token"],
                remote_start_id=row["remote_start_id"],
                events=tuple(
                    TransactionEvent(e["seq_no"], e["event_type"], e["timestamp"], e["offline"])
                    for e in events
                    if (e["charger_id"], e["transaction_id"])
                    == (row["charger_id"], row["transaction_id"])
                ),
            )
            for row in usage
        ),
        power=tuple(
            PowerReading(row["logged_at"], row["charger_id"], row["status"], float(row["power"]))
            for row in await connection.fetch(_POWER, *real)
        ),
        ratings={
            row["charger_id"]: float(row["max_power_kw"])
            for row in await connection.fetch(_RATINGS, ids)
            if row["max_power_kw"] is not None
        },
    )


def _json(value: str | None) -> Any:
    return None if value is None else json.loads(value)
