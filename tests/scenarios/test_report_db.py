"""`ocppscope report` against a real PostgreSQL: known transactions, frames, findings and a
recorded run of scenario 1, the numbers checked exactly; a run the database no longer bears
out turns FAIL (the report judges the rows, not the stored verdict); the real CLI as a process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import asyncpg
import pytest

from proxy.ocppj.actions import Direction
from proxy.store.migrations import load_migrations, migrate
from scenarios.model import Check, RunWindow
from scenarios.record import record
from scenarios.report import (
    ChargerRow,
    FindingCount,
    HourRow,
    LatencyRow,
    Report,
    TransactionRow,
    Verdict,
    VersionRow,
    exit_code,
)
from scenarios.report_queries import collect
from scenarios.verify import verify
from tests.pg import pg_connection
from tests.support import environment, free_port, ocppscope_executable

DAY = datetime(2026, 1, 10, tzinfo=UTC)
SINCE = DAY
NOW = DAY + timedelta(hours=16)
PROXY_RUN = uuid.uuid4()
SCENARIO_1 = RunWindow(
    DAY + timedelta(hours=15, minutes=30),
    DAY + timedelta(hours=15, minutes=30, seconds=5),
    10.0,
    ("emart_jeju_03",),
)
CLI_TIMEOUT = 60
VERSIONS = {"emart_jeju_01": "ocpp2.0.1", "emart_jeju_02": "ocpp2.1"}
"""What each charger's connections selected; scenario 1's rows have none (NULL, as rows stored
before the proxy recorded it)."""


def at(hour: int, minute: int, second: float = 0.0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute, seconds=second)


class Lab:
    """Rows as the proxy and the CSMS write them, with the proxy's (proxy_run, seq) keys."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.seq = 0

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    async def frame(
        self,
        logged_at: datetime,
        charger: str,
        direction: Direction,
        message_type: str,
        action: str,
        message_id: str,
        payload: dict[str, Any] | None = None,
        rtt_ms: float | None = None,
    ) -> None:
        await self.connection.execute(
            "INSERT INTO ocpp_message_log (logged_at, charger_id, direction, message_type, action,"
            " message_id, payload, rtt_ms, size_bytes, connection_id, proxy_instance, proxy_run,"
            " seq, ocpp_version)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, 100, $2, 'test', $9, $10, $11)",
            logged_at,
            charger,
            direction.value,
            message_type,
            action,
            message_id,
            json.dumps(payload or {}),
            rtt_ms,
            PROXY_RUN,
            self._next(),
            VERSIONS.get(charger),
        )

    async def call(
        self,
        sent: datetime,
        charger: str,
        caller: Direction,
        action: str,
        rtt_ms: float,
        answer: dict[str, Any] | None = None,
    ) -> None:
        """A CALL and its CALLRESULT `rtt_ms` later."""
        message_id = f"{action}-{self.seq}"
        await self.frame(sent, charger, caller, "CALL", action, message_id)
        answered = sent + timedelta(milliseconds=rtt_ms)
        await self.frame(
            answered, charger, caller.reverse, "CALLRESULT", action, message_id, answer, rtt_ms
        )

    async def finding(
        self, logged_at: datetime, rule: str, severity: str, charger: str, message: str
    ) -> None:
        await self.connection.execute(
            "INSERT INTO findings (logged_at, rule_id, severity, charger_id, message, reference,"
            " proxy_instance, proxy_run, seq, ocpp_version)"
            " VALUES ($1, $2, $3, $4, $5, 'test', 'test', $6, $7, $8)",
            logged_at,
            rule,
            severity,
            charger,
            message,
            PROXY_RUN,
            self._next(),
            VERSIONS.get(charger),
        )

    async def transaction(
        self,
        transaction_id: str,
        charger: str,
        kwh: str,
        krw: str,
        start: datetime,
        seconds: int,
        ended: bool = True,
    ) -> None:
        await self.connection.execute(
            "INSERT INTO charger_usage_log (transaction_id, charger_id, energy_consumed, cost,"
            " duration_seconds, start_time, end_time) VALUES ($1, $2, $3::numeric, $4::numeric,"
            " $5, $6, $7)",
            transaction_id,
            charger,
            kwh,
            krw,
            seconds,
            start,
            start + timedelta(seconds=seconds) if ended else None,
        )


async def _fill(connection: asyncpg.Connection) -> None:
    await migrate(connection, load_migrations())
    for day in (DAY - timedelta(days=1), DAY):
        await connection.execute("SELECT ocppscope_ensure_partition($1::date)", day.date())
    lab = Lab(connection)
    # The day before --since: counted only by --since all.
    await lab.transaction("TX-OLD", "emart_jeju_01", "1.0", "150", at(-14, 0), 24)
    await lab.finding(at(-14, 0), "RPC-001", "error", "emart_jeju_01", "not JSON")
    await lab.call(at(-14, 0), "emart_jeju_01", Direction.CHARGER_TO_CSMS, "Heartbeat", 5000)
    # 14:00-15:00: two sessions, 100 heartbeats answered in 1, 2, ..., 100 ms.
    await lab.transaction("TX-A", "emart_jeju_01", "0.8333", "125.00", at(14, 5), 30)
    await lab.transaction("TX-B", "emart_jeju_01", "0.8333", "125.00", at(14, 20), 30)
    for number in range(1, 101):
        sent = at(14, 10, number)
        await lab.call(sent, "emart_jeju_01", Direction.CHARGER_TO_CSMS, "Heartbeat", number)
    await lab.finding(at(14, 30), "WS-007", "warning", "emart_jeju_01", "closed early")
    await lab.finding(at(14, 31), "WS-007", "warning", "emart_jeju_01", "closed early again")
    # 15:00-16:00: a finished and a running session, four remote starts, scenario 1's run.
    await lab.transaction("TX-C", "emart_shinjeju_01", "0.4167", "62.51", at(15, 10), 30)
    await lab.transaction("TX-D", "emart_jeju_02", "0.1000", "15.00", at(15, 40), 5, ended=False)
    await lab.finding(at(15, 1), "WS-006", "info", "emart_jeju_02", "version in the URL")
    for number, rtt in enumerate((40, 10, 30, 20)):
        sent = at(15, 15, number)
        caller = Direction.CSMS_TO_CHARGER
        await lab.call(sent, "emart_jeju_02", caller, "RequestStartTransaction", rtt)
    await _scenario_1_run(connection, lab)


async def _scenario_1_run(connection: asyncpg.Connection, lab: Lab) -> None:
    """What scenario 1 leaves behind at --speed 10: the charger connects, boots (Accepted, 30)
    and sends its first Heartbeat 3 s (30 simulated seconds) later, answered in 1000 ms."""
    charger = SCENARIO_1.charger_ids[0]
    start = SCENARIO_1.started_at
    await connection.execute(
        "INSERT INTO charger_connection_log (charger_id, status, logged_at) "
        "VALUES ($1, 'connected', $2)",
        charger,
        start + timedelta(seconds=0.2),
    )
    accepted = {"status": "Accepted", "interval": 30, "currentTime": "2026-01-10T15:30:00Z"}
    boot = start + timedelta(seconds=0.3)
    await lab.call(boot, charger, Direction.CHARGER_TO_CSMS, "BootNotification", 7, accepted)
    heartbeat = boot + timedelta(seconds=3, milliseconds=7)
    await lab.call(heartbeat, charger, Direction.CHARGER_TO_CSMS, "Heartbeat", 1000)
    checks = await verify(connection, 1, SCENARIO_1)
    await record(connection, uuid.uuid4(), 1, "Connection and BootNotification", SCENARIO_1, checks)


async def _break_scenario_1(connection: asyncpg.Connection) -> None:
    """An error the proxy found on scenario 1's charger during its run (stored after it)."""
    await Lab(connection).finding(
        SCENARIO_1.started_at + timedelta(seconds=1),
        "RPC-002",
        "error",
        SCENARIO_1.charger_ids[0],
        "not an array",
    )


def _run(url: str, work: Any) -> Any:
    async def main() -> Any:
        async with pg_connection(url) as connection:
            return await work(connection)

    return asyncio.run(main())


@pytest.fixture
def lab_url(database_url: str) -> str:
    _run(database_url, _fill)
    return database_url


def _collect(url: str, since: datetime | None = SINCE) -> Report:
    return _run(url, lambda connection: collect(connection, since, NOW))


def test_sections_hold_the_known_numbers(lab_url: str) -> None:
    report = _collect(lab_url)
    assert [(t.transaction_id, t.energy_kwh, t.cost_krw) for t in report.transactions] == [
        ("TX-D", 0.1, 15.0),
        ("TX-C", 0.4167, 62.51),
        ("TX-B", 0.8333, 125.0),
        ("TX-A", 0.8333, 125.0),
    ]
    assert report.transactions[0] == TransactionRow(
        "emart_jeju_02", "TX-D", 0.1, 15.0, at(15, 40), 5, None
    )
    assert report.chargers == (
        ChargerRow("emart_jeju_01", 2, 1.6666, 0.8333, 250.0),
        ChargerRow("emart_jeju_02", 1, 0.1, 0.1, 15.0),
        ChargerRow("emart_shinjeju_01", 1, 0.4167, 0.4167, 62.51),
    )
    # 14:00: 100 heartbeats (200 frames); 15:00: 4 remote starts and scenario 1's boot and
    # heartbeat (12 frames).
    assert report.hours == (
        HourRow(at(14, 0), 2, 1.6666, 250.0, 200),
        HourRow(at(15, 0), 2, 0.5167, 77.51, 12),
    )
    assert report.finding_counts == (
        FindingCount("WS-007", "warning", 2),
        FindingCount("WS-006", "info", 1),
    )
    assert [(f.logged_at, f.message) for f in report.findings] == [
        (at(15, 1), "version in the URL"),
        (at(14, 31), "closed early again"),
        (at(14, 30), "closed early"),
    ]
    # Nearest rank over 1..100 and scenario 1's 1000 ms: the 51st, 96th and 100th of 101.
    assert report.latency == (
        LatencyRow("BootNotification", Direction.CHARGER_TO_CSMS, 1, 7.0, 7.0, 7.0, 7.0),
        LatencyRow("Heartbeat", Direction.CHARGER_TO_CSMS, 101, 51.0, 96.0, 100.0, 1000.0),
        LatencyRow("RequestStartTransaction", Direction.CSMS_TO_CHARGER, 4, 20.0, 40.0, 40.0, 40.0),
    )
    assert report.versions == (
        VersionRow("ocpp2.0.1", 1, 200, 0, 2, 2),
        VersionRow("ocpp2.1", 1, 8, 0, 0, 1),
        VersionRow("unknown", 1, 4, 0, 0, 0),
    )


def test_since_all_counts_everything(lab_url: str) -> None:
    report = _collect(lab_url, since=None)
    assert report.chargers[0] == ChargerRow(
        "emart_jeju_01", 3, 2.6666, pytest.approx(0.888867, abs=1e-6), 400.0
    )
    assert report.hours[0] == HourRow(at(-14, 0), 1, 1.0, 150.0, 2)
    assert report.finding_counts[0] == FindingCount("RPC-001", "error", 1)
    heartbeat = report.latency[1]
    assert (heartbeat.action, heartbeat.round_trips, heartbeat.max_ms) == ("Heartbeat", 102, 5000)


def test_a_recorded_run_is_judged_again_from_the_rows(lab_url: str) -> None:
    first = _collect(lab_url)
    assert [o.verdict for o in first.scenarios] == [Verdict.PASS] + [Verdict.NOT_RUN] * 4
    scenario_1 = first.scenarios[0]
    assert (scenario_1.recorded, scenario_1.window) == ("PASS", SCENARIO_1)
    assert [c.name for c in scenario_1.checks] == [
        "connected",
        "BootNotification",
        "heartbeats begin",
        "no conformance errors",
    ]
    assert exit_code(first) == 0
    assert exit_code(first, require_all=True) == 1

    _run(lab_url, _break_scenario_1)
    again = _collect(lab_url)
    scenario_1 = again.scenarios[0]
    assert (scenario_1.verdict, scenario_1.recorded) == (Verdict.FAIL, "PASS")
    assert [c.name for c in scenario_1.failed] == ["no conformance errors"]
    assert "RPC-002 emart_jeju_03: not an array" in scenario_1.failed[0].observed
    assert exit_code(again) == 1


def test_a_step_the_run_failed_stays_failed(lab_url: str) -> None:
    """The runner's "steps" check is no database fact: the report keeps it from the record."""
    step = Check("steps", "every step done", "POST /chargers/emart_jeju_03/start: 500", False)

    async def rerun(connection: asyncpg.Connection) -> None:
        checks = [step, *await verify(connection, 1, SCENARIO_1)]
        later = RunWindow(
            SCENARIO_1.started_at + timedelta(microseconds=1),
            SCENARIO_1.ended_at,
            SCENARIO_1.speed,
            SCENARIO_1.charger_ids,
        )
        await record(connection, uuid.uuid4(), 1, "Connection and BootNotification", later, checks)

    _run(lab_url, rerun)
    scenario_1 = _collect(lab_url).scenarios[0]
    assert (scenario_1.verdict, scenario_1.recorded) == (Verdict.FAIL, "FAIL")
    assert scenario_1.failed == (step,)
    assert [c.name for c in scenario_1.checks][:2] == ["steps", "connected"]


def _report_process(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ocppscope_executable(), "report", *args],
        env={**environment(tmp_path), "OCPPSCOPE_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def test_cli_json_junit_and_exit_codes(lab_url: str, tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    since = f"--since={SINCE.isoformat()}"
    passing = _report_process(lab_url, tmp_path, since, "--json", f"--junit={junit}")
    assert passing.returncode == 0, passing.stderr
    document = json.loads(passing.stdout)
    assert document["summary"] == {"PASS": 1, "FAIL": 0, "not run": 4}
    assert document["chargers"][0]["total_kwh"] == 1.6666
    assert document["latency"][1]["p95_ms"] == 96.0
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("5", "0", "4")

    _run(lab_url, _break_scenario_1)
    failing = _report_process(lab_url, tmp_path, since, f"--junit={junit}")
    assert failing.returncode == 1, failing.stderr
    assert failing.stdout.splitlines()[-1] == "0 PASS, 1 FAIL, 4 not run: exit code 1"
    failure = ET.parse(junit).getroot().find("testcase/failure")
    assert failure is not None
    assert failure.get("message", "").startswith(
        "no conformance errors: expected 0 error findings, observed RPC-002 emart_jeju_03"
    )


def test_cli_bad_input_is_one_line_and_exit_code_2(lab_url: str, tmp_path: Path) -> None:
    wrong = _report_process(lab_url, tmp_path, "--since=last week")
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines() == [
        "ocppscope: --since 'last week': expected all, a span like 30m, 1h or 7d, or an ISO "
        "8601 time"
    ]
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    unreachable = _report_process(nowhere, tmp_path)
    assert unreachable.returncode == 2
    assert len(unreachable.stderr.strip().splitlines()) == 1
    assert unreachable.stderr.startswith("ocppscope: database postgresql://")
