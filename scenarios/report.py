"""`ocppscope report`, the seed guide's verify_test_results.py: what the lab recorded, as tables.

Pure: `scenarios.report_queries.collect` fills a `Report` from PostgreSQL; this module judges it
(`Verdict`, `exit_code`) and prints it, and `scenarios.report_formats` writes it as JSON and
JUnit, so all of it is tested without a database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from rich import box
from rich.console import Console
from rich.table import Table

from proxy.ocppj.actions import Direction
from proxy.ocppj.rules import RULES
from scenarios.model import Check, Finding, RunWindow

_SINCE = re.compile(r"^(\d+)([mhd])$")
_UNIT = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


def parse_since(value: str, now: datetime) -> datetime | None:
    """`all` (None: everything), a span back from `now` (`30m`, `1h`, `7d`) or an ISO 8601 time
    (UTC unless it names its offset); ValueError with a one-line message otherwise."""
    if value == "all":
        return None
    match = _SINCE.match(value)
    if match:
        return now - int(match[1]) * _UNIT[match[2]]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--since {value!r}: expected all, a span like 30m, 1h or 7d, or an ISO 8601 time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Verdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    NOT_RUN = "not run"


@dataclass(frozen=True)
class ScenarioOutcome:
    """The newest recorded run of one scenario, judged again from the database."""

    scenario: int
    title: str
    run_id: str | None = None
    """None: the scenario was never run against this database."""
    window: RunWindow | None = None
    recorded: str | None = None
    """The verdict stored when it ran; the report's own verdict comes from `checks`."""
    checks: tuple[Check, ...] = ()

    @property
    def verdict(self) -> Verdict:
        if self.run_id is None:
            return Verdict.NOT_RUN
        # A run with no checks proves nothing: judging it PASS would hide a broken verifier.
        if self.checks and all(check.passed for check in self.checks):
            return Verdict.PASS
        return Verdict.FAIL

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.passed)


@dataclass(frozen=True)
class TransactionRow:
    charger_id: str
    transaction_id: str
    energy_kwh: float
    cost_krw: float
    start_time: datetime
    duration_seconds: int
    end_time: datetime | None
    """None while the transaction is still running."""


@dataclass(frozen=True)
class ChargerRow:
    charger_id: str
    transactions: int
    total_kwh: float
    avg_kwh: float
    total_krw: float


@dataclass(frozen=True)
class HourRow:
    hour: datetime
    """Start of the UTC hour."""
    sessions: int
    """Transactions that started in the hour."""
    kwh: float
    krw: float
    frames: int
    """Rows of ocpp_message_log logged in the hour."""


@dataclass(frozen=True)
class FindingCount:
    rule_id: str
    severity: str
    count: int


@dataclass(frozen=True)
class VersionRow:
    """The traffic of the connections that selected one OCPP version."""

    version: str
    """ocpp1.6, ocpp2.0.1, ocpp2.1, or `unknown`: none of them (judged by the 2.0.1 rules), or
    rows stored before the proxy recorded the version."""
    stations: int
    frames: int
    errors: int
    warnings: int
    findings: int


@dataclass(frozen=True)
class LatencyRow:
    """Round trips of one action's CALLs from one side (nearest-rank percentiles)."""

    action: str
    caller: Direction
    """Who sent the CALL: charger_to_csms rows time the CSMS, csms_to_charger the charger."""
    round_trips: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    since: datetime | None
    """The traffic sections cover rows from here on (None: everything); the scenario section
    always shows each scenario's newest run, over that run's own window."""
    scenarios: tuple[ScenarioOutcome, ...]
    transactions: tuple[TransactionRow, ...]
    chargers: tuple[ChargerRow, ...]
    hours: tuple[HourRow, ...]
    finding_counts: tuple[FindingCount, ...]
    findings: tuple[Finding, ...]
    latency: tuple[LatencyRow, ...]
    versions: tuple[VersionRow, ...] = ()
    """Per OCPP version the connections selected: which rules judged the traffic."""

    def count(self, verdict: Verdict) -> int:
        return sum(1 for outcome in self.scenarios if outcome.verdict is verdict)


def failing(outcome: ScenarioOutcome, require_all: bool) -> bool:
    """FAIL always fails; "not run" only when every scenario is required (`ocppscope demo`)."""
    return outcome.verdict is Verdict.FAIL or (require_all and outcome.verdict is Verdict.NOT_RUN)


def exit_code(report: Report, require_all: bool = False) -> int:
    return 1 if any(failing(outcome, require_all) for outcome in report.scenarios) else 0


def check_line(check: Check) -> str:
    return f"{check.name}: expected {check.expected}, observed {check.observed}"


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


VERDICT_STYLE = {Verdict.PASS: "bold green", Verdict.FAIL: "bold red", Verdict.NOT_RUN: "dim"}
Row = TypeVar("Row")


def render(report: Report, console: Console, require_all: bool = False) -> None:
    """Every section in the guide's order, ending with PASS/FAIL per scenario."""
    window = f"since {utc(report.since)} UTC" if report.since else "all recorded traffic"
    console.print(f"[bold]ocppscope report[/] {utc(report.generated_at)} UTC, {window}")
    for outcome in report.scenarios:
        if outcome.window is not None:
            _print_checks(console, outcome)
    _section(console, report.transactions, _transactions_table, f"No transactions ({window}).")
    _section(console, report.chargers, _chargers_table, None)
    _section(console, report.hours, _hours_table, f"No transactions or frames ({window}).")
    _section(console, report.versions, _versions_table, None)
    _section(console, report.finding_counts, _finding_counts_table, f"No findings ({window}).")
    _section(console, report.findings, _findings_table, None)
    _section(console, report.latency, _latency_table, f"No answered CALLs ({window}).")
    console.print(_summary_table(report, require_all))
    console.print(
        ", ".join(f"{report.count(verdict)} {verdict}" for verdict in Verdict)
        + f": exit code {exit_code(report, require_all)}"
    )


def _section(
    console: Console,
    rows: tuple[Row, ...],
    build: Callable[[tuple[Row, ...]], Table],
    empty: str | None,
) -> None:
    """The section's table, or one line saying it is empty (None: say nothing)."""
    if rows:
        console.print(build(rows))
    elif empty:
        console.print(empty)


def _table(title: str, *columns: str, right: tuple[str, ...] = ()) -> Table:
    table = Table(title=title or None, title_justify="left", box=box.SIMPLE_HEAD)
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    return table


def _print_checks(console: Console, outcome: ScenarioOutcome) -> None:
    window = outcome.window
    assert window is not None
    seconds = (window.ended_at - window.started_at).total_seconds()
    console.print(
        f"[bold]Scenario {outcome.scenario}: {outcome.title}[/] ({utc(window.started_at)} UTC, "
        f"{seconds:.1f} s at speed {window.speed:g}, {', '.join(window.charger_ids)})",
        soft_wrap=True,
    )
    table = _table("", "check", "expected", "observed", "result")
    for check in outcome.checks:
        verdict = Verdict.PASS if check.passed else Verdict.FAIL
        table.add_row(
            check.name, check.expected, check.observed, f"[{VERDICT_STYLE[verdict]}]{verdict}[/]"
        )
    console.print(table)


def _transactions_table(rows: tuple[TransactionRow, ...]) -> Table:
    table = _table(
        "Recent transactions",
        "charger",
        "transaction",
        "energy kWh",
        "cost KRW",
        "start (UTC)",
        "duration s",
        right=("energy kWh", "cost KRW", "duration s"),
    )
    for row in rows:
        table.add_row(
            row.charger_id,
            row.transaction_id,
            f"{row.energy_kwh:.3f}",
            f"{row.cost_krw:,.0f}",
            utc(row.start_time),
            str(row.duration_seconds) + ("" if row.end_time else " (running)"),
        )
    return table


def _chargers_table(rows: tuple[ChargerRow, ...]) -> Table:
    columns = ("transactions", "total kWh", "avg kWh", "total KRW")
    table = _table("Per charger", "charger", *columns, right=columns)
    for row in rows:
        table.add_row(
            row.charger_id,
            str(row.transactions),
            f"{row.total_kwh:.3f}",
            f"{row.avg_kwh:.3f}",
            f"{row.total_krw:,.0f}",
        )
    return table


def _hours_table(rows: tuple[HourRow, ...]) -> Table:
    columns = ("sessions", "kWh", "KRW", "frames")
    table = _table("Per hour", "hour (UTC)", *columns, right=columns)
    for row in rows:
        table.add_row(
            utc(row.hour)[:16],
            str(row.sessions),
            f"{row.kwh:.3f}",
            f"{row.krw:,.0f}",
            f"{row.frames:,}",
        )
    return table


def _versions_table(rows: tuple[VersionRow, ...]) -> Table:
    columns = ("stations", "frames", "errors", "warnings", "findings")
    table = _table("Per OCPP version", "version", *columns, right=columns)
    for row in rows:
        table.add_row(
            row.version,
            *(f"{value:,}" for value in (row.stations, row.frames, row.errors, row.warnings)),
            f"{row.findings:,}",
        )
    return table


def _finding_counts_table(rows: tuple[FindingCount, ...]) -> Table:
    table = _table("Conformance findings", "rule", "title", "severity", "count", right=("count",))
    for row in rows:
        rule = RULES.get(row.rule_id)
        table.add_row(row.rule_id, rule.title if rule else "", row.severity, f"{row.count:,}")
    return table


def _findings_table(rows: tuple[Finding, ...]) -> Table:
    table = _table("Newest findings", "time (UTC)", "charger", "rule", "severity", "message")
    for row in rows:
        table.add_row(utc(row.logged_at), row.charger_id, row.rule_id, row.severity, row.message)
    return table


def _latency_table(rows: tuple[LatencyRow, ...]) -> Table:
    columns = ("round trips", "p50 ms", "p95 ms", "p99 ms", "max ms")
    table = _table("CALL round trips at the proxy", "action", "CALL from", *columns, right=columns)
    for row in rows:
        table.add_row(
            row.action,
            "charger" if row.caller is Direction.CHARGER_TO_CSMS else "CSMS",
            f"{row.round_trips:,}",
            *(f"{value:.1f}" for value in (row.p50_ms, row.p95_ms, row.p99_ms, row.max_ms)),
        )
    return table


def _summary_table(report: Report, require_all: bool) -> Table:
    table = _table("Scenarios", "scenario", "title", "verdict", "why")
    for outcome in report.scenarios:
        verdict = outcome.verdict
        if verdict is Verdict.NOT_RUN:
            why = "never run here" + (" (required)" if require_all else "")
        elif verdict is Verdict.FAIL:
            why = "; ".join(map(check_line, outcome.failed)) or "no checks recorded"
        else:
            count = len(outcome.checks)
            why = f"{count} check{'' if count == 1 else 's'} passed"
        table.add_row(
            str(outcome.scenario), outcome.title, f"[{VERDICT_STYLE[verdict]}]{verdict}[/]", why
        )
    return table
