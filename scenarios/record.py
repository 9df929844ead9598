"""Scenario runs in PostgreSQL (scenario_runs, sql/005): written by the runner, read by the
report, which can verify a recorded run again from its window."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass

import asyncpg

from scenarios.model import Check, RunWindow

_INSERT = """
INSERT INTO scenario_runs
    (run_id, scenario, title, started_at, ended_at, speed, charger_ids, verdict, checks)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
"""
_LATEST = """
SELECT DISTINCT ON (scenario)
       run_id, scenario, title, started_at, ended_at, speed, charger_ids, verdict, checks
FROM scenario_runs
ORDER BY scenario, started_at DESC
"""


def verdict(checks: list[Check]) -> str:
    """PASS when there are checks and every one passed."""
    return "PASS" if checks and all(c.passed for c in checks) else "FAIL"


@dataclass(frozen=True)
class RecordedRun:
    run_id: uuid.UUID
    scenario: int
    title: str
    window: RunWindow
    verdict: str
    checks: tuple[Check, ...]


async def record(
    connection: asyncpg.Connection,
    run_id: uuid.UUID,
    scenario: int,
    title: str,
    window: RunWindow,
    checks: list[Check],
) -> None:
    await connection.execute(
        _INSERT,
        run_id,
        scenario,
        title,
        window.started_at,
        window.ended_at,
        window.speed,
        list(window.charger_ids),
        verdict(checks),
        json.dumps([asdict(c) for c in checks]),
    )


async def latest_runs(connection: asyncpg.Connection) -> list[RecordedRun]:
    """The newest run of each scenario, by scenario number."""
    return [
        RecordedRun(
            run_id=row["run_id"],
            scenario=row["scenario"],
            title=row["title"],
            window=RunWindow(
                row["started_at"], row["ended_at"], row["speed"], tuple(row["charger_ids"])
            ),
            verdict=row["verdict"],
            checks=tuple(Check(**c) for c in json.loads(row["checks"])),
        )
        for row in await connection.fetch(_LATEST)
    ]
