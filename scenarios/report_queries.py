"""The report's SQL, in one place: the seed guide's queries (Q6, Q7) widened to what the report
shows, and the proxy's tables for frames, findings and round trips.

Every traffic query takes `since` as $1 (NULL: everything). Numbers come back as floats, times
as aware datetimes; `collect` gathers one `Report`.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from proxy.ocppj.actions import Direction
from proxy.ocppj.versions import UNKNOWN
from scenarios.model import Finding
from scenarios.record import latest_runs
from scenarios.report import (
    ChargerRow,
    FindingCount,
    HourRow,
    LatencyRow,
    Report,
    ScenarioOutcome,
    TransactionRow,
    VersionRow,
)
from scenarios.seed import SCENARIOS
from scenarios.verify import verify

RECENT_TRANSACTIONS = 10
NEWEST_FINDINGS = 10

# Q7 (recent transactions) with the transaction, its duration and whether it ended.
TRANSACTIONS = """
SELECT charger_id, transaction_id, energy_consumed, cost, start_time, duration_seconds, end_time
FROM charger_usage_log
WHERE ($1::timestamptz IS NULL OR start_time >= $1)
ORDER BY start_time DESC, transaction_id
LIMIT $2
"""

# Q6 (energy per charger) over every charger, with the cost.
CHARGERS = """
SELECT
    charger_id,
    COUNT(*) AS transaction_count,
    SUM(energy_consumed) AS total_kwh,
    AVG(energy_consumed) AS avg_kwh,
    SUM(cost) AS total_cost
FROM charger_usage_log
WHERE ($1::timestamptz IS NULL OR start_time >= $1)
GROUP BY charger_id
ORDER BY charger_id
"""

# Sessions by the hour they started in, next to the frames the proxy logged in that hour.
HOURS = """
WITH sessions AS (
    SELECT date_trunc('hour', start_time, 'UTC') AS hour,
           COUNT(*) AS sessions, SUM(energy_consumed) AS kwh, SUM(cost) AS krw
    FROM charger_usage_log
    WHERE ($1::timestamptz IS NULL OR start_time >= $1)
    GROUP BY 1
), frames AS (
    SELECT date_trunc('hour', logged_at, 'UTC') AS hour, COUNT(*) AS frames
    FROM ocpp_message_log
    WHERE ($1::timestamptz IS NULL OR logged_at >= $1)
    GROUP BY 1
)
SELECT hour, COALESCE(sessions, 0) AS sessions, COALESCE(kwh, 0) AS kwh,
       COALESCE(krw, 0) AS krw, COALESCE(frames, 0) AS frames
FROM sessions FULL JOIN frames USING (hour)
ORDER BY hour
"""

# Per OCPP version the connections selected ($2 names rows without one): their stations, frames
# and findings.
VERSIONS = """
WITH frames AS (
    SELECT COALESCE(ocpp_version, $2) AS version,
           COUNT(DISTINCT charger_id) AS stations, COUNT(*) AS frames
    FROM ocpp_message_log
    WHERE ($1::timestamptz IS NULL OR logged_at >= $1)
    GROUP BY 1
), found AS (
    SELECT COALESCE(ocpp_version, $2) AS version,
           COUNT(*) FILTER (WHERE severity = 'error') AS errors,
           COUNT(*) FILTER (WHERE severity = 'warning') AS warnings,
           COUNT(*) AS findings
    FROM findings
    WHERE ($1::timestamptz IS NULL OR logged_at >= $1)
    GROUP BY 1
)
SELECT version, COALESCE(stations, 0) AS stations, COALESCE(frames, 0) AS frames,
       COALESCE(errors, 0) AS errors, COALESCE(warnings, 0) AS warnings,
       COALESCE(findings, 0) AS findings
FROM frames FULL JOIN found USING (version)
ORDER BY version
"""

FINDING_COUNTS = """
SELECT rule_id, severity, COUNT(*) AS findings
FROM findings
WHERE ($1::timestamptz IS NULL OR logged_at >= $1)
GROUP BY rule_id, severity
ORDER BY array_position(ARRAY['error', 'warning', 'info'], severity), COUNT(*) DESC, rule_id
"""

NEWEST_FINDINGS_SQL = """
SELECT logged_at, charger_id, rule_id, severity, message
FROM findings
WHERE ($1::timestamptz IS NULL OR logged_at >= $1)
ORDER BY logged_at DESC, seq DESC
LIMIT $2
"""

# A response's row carries its CALL's action and the round trip; the CALL went the other way.
# percentile_disc: each percentile is a round trip that was measured (nearest rank).
LATENCY = """
SELECT
    action,
    CASE direction WHEN 'csms_to_charger' THEN 'charger_to_csms' ELSE 'csms_to_charger' END
        AS caller,
    COUNT(*) AS round_trips,
    percentile_disc(0.50) WITHIN GROUP (ORDER BY rtt_ms) AS p50_ms,
    percentile_disc(0.95) WITHIN GROUP (ORDER BY rtt_ms) AS p95_ms,
    percentile_disc(0.99) WITHIN GROUP (ORDER BY rtt_ms) AS p99_ms,
    MAX(rtt_ms) AS max_ms
FROM ocpp_message_log
WHERE rtt_ms IS NOT NULL AND action IS NOT NULL
  AND ($1::timestamptz IS NULL OR logged_at >= $1)
GROUP BY 1, 2
ORDER BY 1, 2
"""


async def transactions(
    connection: asyncpg.Connection, since: datetime | None
) -> tuple[TransactionRow, ...]:
    rows = await connection.fetch(TRANSACTIONS, since, RECENT_TRANSACTIONS)
    return tuple(
        TransactionRow(
            row["charger_id"],
            row["transaction_id"],
            float(row["energy_consumed"]),
            float(row["cost"]),
            row["start_time"],
            row["duration_seconds"],
            row["end_time"],
        )
        for row in rows
    )


async def chargers(
    connection: asyncpg.Connection, since: datetime | None
) -> tuple[ChargerRow, ...]:
    return tuple(
        ChargerRow(
            row["charger_id"],
            row["transaction_count"],
            float(row["total_kwh"]),
            float(row["avg_kwh"]),
            float(row["total_cost"]),
        )
        for row in await connection.fetch(CHARGERS, since)
    )


async def hours(connection: asyncpg.Connection, since: datetime | None) -> tuple[HourRow, ...]:
    return tuple(
        HourRow(row["hour"], row["sessions"], float(row["kwh"]), float(row["krw"]), row["frames"])
        for row in await connection.fetch(HOURS, since)
    )


async def versions(
    connection: asyncpg.Connection, since: datetime | None
) -> tuple[VersionRow, ...]:
    return tuple(VersionRow(**row) for row in await connection.fetch(VERSIONS, since, UNKNOWN))


async def finding_counts(
    connection: asyncpg.Connection, since: datetime | None
) -> tuple[FindingCount, ...]:
    return tuple(
        FindingCount(row["rule_id"], row["severity"], row["findings"])
        for row in await connection.fetch(FINDING_COUNTS, since)
    )


async def newest_findings(
    connection: asyncpg.Connection, since: datetime | None
) -> tuple[Finding, ...]:
    rows = await connection.fetch(NEWEST_FINDINGS_SQL, since, NEWEST_FINDINGS)
    return tuple(Finding(**row) for row in rows)


async def latency(connection: asyncpg.Connection, since: datetime | None) -> tuple[LatencyRow, ...]:
    return tuple(
        LatencyRow(
            row["action"],
            Direction(row["caller"]),
            row["round_trips"],
            row["p50_ms"],
            row["p95_ms"],
            row["p99_ms"],
            row["max_ms"],
        )
        for row in await connection.fetch(LATENCY, since)
    )


async def scenarios(connection: asyncpg.Connection) -> tuple[ScenarioOutcome, ...]:
    """Each scenario's newest recorded run, verified again over its window: the report judges
    what the database holds now, not the verdict stored when the run ended. Recorded checks the
    verifier does not compute (the runner's "steps": a REST command refused, a station that
    never booted) are facts of the run no table holds, so they are kept, first."""
    runs = {run.scenario: run for run in await latest_runs(connection)}
    outcomes = []
    for number, scenario in sorted(SCENARIOS.items()):
        run = runs.get(number)
        if run is None:
            outcomes.append(ScenarioOutcome(number, scenario.title))
            continue
        checks = await verify(connection, number, run.window)
        computed = {check.name for check in checks}
        run_only = tuple(check for check in run.checks if check.name not in computed)
        outcomes.append(
            ScenarioOutcome(
                number,
                run.title,
                str(run.run_id),
                run.window,
                run.verdict,
                run_only + tuple(checks),
            )
        )
    return tuple(outcomes)


async def collect(connection: asyncpg.Connection, since: datetime | None, now: datetime) -> Report:
    return Report(
        generated_at=now,
        since=since,
        scenarios=await scenarios(connection),
        transactions=await transactions(connection, since),
        chargers=await chargers(connection, since),
        hours=await hours(connection, since),
        finding_counts=await finding_counts(connection, since),
        findings=await newest_findings(connection, since),
        latency=await latency(connection, since),
        versions=await versions(connection, since),
    )
