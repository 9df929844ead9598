"""Run scenarios against a running lab: each one plays (`scenarios.seed`), waits for the proxy's
store to write what it saw, is verified from the database (`scenarios.verify`) and recorded
(`scenarios.record`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from proxy.endpoints import LabEndpoints
from proxy.faults.client import AdminClient
from proxy.store.migrations import load_migrations, migrate
from scenarios.clients import CsmsClient, StepFailed, store_flushed
from scenarios.model import Check, RunWindow
from scenarios.record import record, verdict
from scenarios.seed import SCENARIOS, Stage
from scenarios.verify import verify
from simulator.clock import Clock
from simulator.fleet import SEED_FLEET, StationSpec

SCENARIO_TIMEOUT = 600.0
"""Real seconds any one scenario may take (at speed 1 the longest takes about 45 s)."""


@dataclass(frozen=True)
class ScenarioResult:
    scenario: int
    title: str
    verdict: str
    checks: list[Check]


async def run_scenarios(
    endpoints: LabEndpoints,
    which: Sequence[int],
    speed: float,
    progress: Callable[[str], None],
    *,
    fleet: Sequence[StationSpec] = SEED_FLEET,
) -> list[ScenarioResult]:
    """Run scenarios `which` in order at `speed` with `fleet`'s stations (the seed's five;
    scenarios 1-3 use the first), record them under one run id and return their results.

    A step the lab did not do (a REST command refused, a station that never booted) ends the
    scenario early; it is its first check ("steps"), and the database checks follow.
    """
    unknown = sorted(set(which) - set(SCENARIOS))
    if unknown:
        raise ValueError(f"no scenario {unknown[0]}: they are numbered 1-5")
    run_id = uuid.uuid4()
    admin = AdminClient(endpoints.admin_url, endpoints.admin_token)
    csms = CsmsClient(endpoints.csms_url, endpoints.admin_token)
    connection = await asyncpg.connect(endpoints.database_url, timeout=10)
    try:
        await migrate(connection, load_migrations())
        results = []
        for number in which:
            scenario = SCENARIOS[number]
            progress(f"scenario {number}: {scenario.title}")
            specs = tuple(fleet[: scenario.chargers])
            started_at = datetime.now(UTC)
            stage = Stage(
                Clock(speed, start=started_at.timestamp()),
                endpoints.proxy_url,
                csms,
                admin,
                progress,
            )
            failed_step = None
            try:
                await asyncio.wait_for(scenario.play(stage, specs), SCENARIO_TIMEOUT)
            except StepFailed as error:
                failed_step = str(error)
            except TimeoutError:
                failed_step = f"the scenario took more than {SCENARIO_TIMEOUT:g} s"
            if failed_step is not None:
                progress(f"scenario {number}: {failed_step}")
            await store_flushed(admin)
            window = RunWindow(started_at, datetime.now(UTC), speed, tuple(s.id for s in specs))
            checks = await verify(connection, number, window)
            if failed_step is not None:
                checks.insert(0, Check("steps", "every step done", failed_step, False))
            await record(connection, run_id, number, scenario.title, window, checks)
            results.append(ScenarioResult(number, scenario.title, verdict(checks), checks))
            progress(f"scenario {number}: {results[-1].verdict}")
        return results
    finally:
        await connection.close()
