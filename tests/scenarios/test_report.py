"""The report's pure half: verdicts, exit codes, --since, and the tables, JSON and JUnit it
renders from a `Report` built by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest
from rich.console import Console

from proxy.ocppj.actions import Direction
from scenarios.model import Check, Finding, RunWindow
from scenarios.report import (
    ChargerRow,
    FindingCount,
    HourRow,
    LatencyRow,
    Report,
    ScenarioOutcome,
    TransactionRow,
    Verdict,
    VersionRow,
    exit_code,
    parse_since,
    render,
)
from scenarios.report_formats import to_json, to_junit

NOW = datetime(2026, 1, 10, 16, 0, tzinfo=UTC)
START = datetime(2026, 1, 10, 15, 30, tzinfo=UTC)
WINDOW = RunWindow(START, START + timedelta(seconds=4), 10.0, ("emart_jeju_01",))
PASSED = Check("BootNotification", "Accepted, interval 30", "Accepted, interval 30", True)
FAILED = Check("energy", "0.8333 kWh", "1.6667 kWh", False)


def outcome(scenario: int, *checks: Check, run: bool = True) -> ScenarioOutcome:
    if not run:
        return ScenarioOutcome(scenario, f"title {scenario}")
    return ScenarioOutcome(scenario, f"title {scenario}", f"run-{scenario}", WINDOW, "PASS", checks)


def report(*scenarios: ScenarioOutcome) -> Report:
    return Report(
        generated_at=NOW,
        since=NOW - timedelta(hours=1),
        scenarios=scenarios,
        transactions=(
            TransactionRow("emart_jeju_01", "TX-1", 0.8333, 125.0, START, 30, START),
            TransactionRow("emart_jeju_02", "TX-2", 0.1, 15.0, START, 5, None),
        ),
        chargers=(ChargerRow("emart_jeju_01", 2, 1.6666, 0.8333, 250.0),),
        hours=(HourRow(datetime(2026, 1, 10, 15, tzinfo=UTC), 3, 1.7666, 265.0, 1234),),
        finding_counts=(FindingCount("WS-007", "warning", 2),),
        findings=(Finding(START, "emart_jeju_02", "WS-007", "warning", "closed early"),),
        latency=(
            LatencyRow("Heartbeat", Direction.CHARGER_TO_CSMS, 101, 51.0, 96.0, 100.0, 1000.0),
        ),
        versions=(
            VersionRow("ocpp1.6", 1, 200, 0, 0, 0),
            VersionRow("ocpp2.0.1", 2, 1034, 0, 2, 2),
        ),
    )


MIXED = report(
    outcome(1, PASSED), outcome(2, PASSED, FAILED), *(outcome(n, run=False) for n in (3, 4, 5))
)


def test_verdicts() -> None:
    assert outcome(1, run=False).verdict is Verdict.NOT_RUN
    assert outcome(1, PASSED).verdict is Verdict.PASS
    assert outcome(1, PASSED, FAILED).verdict is Verdict.FAIL
    assert outcome(1, PASSED, FAILED).failed == (FAILED,)
    assert outcome(1).verdict is Verdict.FAIL  # a run without checks proves nothing


def test_exit_code_fails_on_fail_and_on_not_run_only_when_all_are_required() -> None:
    all_pass = report(*(outcome(n, PASSED) for n in range(1, 6)))
    assert exit_code(all_pass) == 0
    assert exit_code(all_pass, require_all=True) == 0
    unrun = report(outcome(1, PASSED), *(outcome(n, run=False) for n in range(2, 6)))
    assert exit_code(unrun) == 0
    assert exit_code(unrun, require_all=True) == 1
    assert exit_code(MIXED) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("all", None),
        ("30m", NOW - timedelta(minutes=30)),
        ("1h", NOW - timedelta(hours=1)),
        ("7d", NOW - timedelta(days=7)),
        ("2026-01-10T12:00:00+09:00", datetime(2026, 1, 10, 3, tzinfo=UTC)),
        ("2026-01-10T12:00:00", datetime(2026, 1, 10, 12, tzinfo=UTC)),
    ],
)
def test_since(value: str, expected: datetime | None) -> None:
    assert parse_since(value, NOW) == expected


@pytest.mark.parametrize("value", ["", "yesterday", "1w", "-1h", "1.5h"])
def test_since_refuses_other_values_in_one_line(value: str) -> None:
    with pytest.raises(ValueError, match=r"^--since .*ISO 8601 time$"):
        parse_since(value, NOW)


def test_junit_one_case_per_scenario_failure_names_the_failed_checks() -> None:
    suite = ET.fromstring(to_junit(MIXED))
    assert suite.tag == "testsuite"
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("5", "1", "3")
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == [f"scenario {n}: title {n}" for n in range(1, 6)]
    assert cases[0].find("failure") is None and cases[0].find("skipped") is None
    assert cases[0].get("time") == "4.000"
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "energy: expected 0.8333 kWh, observed 1.6667 kWh"
    output = cases[1].findtext("system-out")
    assert output == (
        "PASS BootNotification: expected Accepted, interval 30, observed Accepted, interval 30\n"
        "FAIL energy: expected 0.8333 kWh, observed 1.6667 kWh"
    )
    assert all(case.find("skipped") is not None for case in cases[2:])


def test_junit_counts_a_scenario_not_run_as_a_failure_when_all_are_required() -> None:
    suite = ET.fromstring(to_junit(MIXED, require_all=True))
    assert (suite.get("failures"), suite.get("skipped")) == ("4", "0")
    not_run = suite.findall("testcase")[4].find("failure")
    assert not_run is not None and not_run.get("message") == "not run"


def test_json_holds_every_section_with_times_in_utc() -> None:
    document = json.loads(to_json(MIXED))
    assert document["generated_at"] == "2026-01-10T16:00:00.000Z"
    assert document["since"] == "2026-01-10T15:00:00.000Z"
    assert [s["verdict"] for s in document["scenarios"]] == [
        "PASS",
        "FAIL",
        "not run",
        "not run",
        "not run",
    ]
    failed = document["scenarios"][1]
    assert failed["checks"][1] == {
        "name": "energy",
        "expected": "0.8333 kWh",
        "observed": "1.6667 kWh",
        "passed": False,
    }
    assert failed["recorded_verdict"] == "PASS"
    assert failed["charger_ids"] == ["emart_jeju_01"]
    assert failed["speed"] == 10.0
    assert document["scenarios"][2]["started_at"] is None
    assert document["transactions"][1] == {
        "charger_id": "emart_jeju_02",
        "transaction_id": "TX-2",
        "energy_kwh": 0.1,
        "cost_krw": 15.0,
        "start_time": "2026-01-10T15:30:00.000Z",
        "duration_seconds": 5,
        "end_time": None,
    }
    assert document["chargers"][0]["total_kwh"] == 1.6666
    assert document["hours"][0]["frames"] == 1234
    assert document["versions"] == [
        {
            "version": "ocpp1.6",
            "stations": 1,
            "frames": 200,
            "errors": 0,
            "warnings": 0,
            "findings": 0,
        },
        {
            "version": "ocpp2.0.1",
            "stations": 2,
            "frames": 1034,
            "errors": 0,
            "warnings": 2,
            "findings": 2,
        },
    ]
    assert document["findings"]["counts"] == [
        {"rule_id": "WS-007", "severity": "warning", "count": 2}
    ]
    assert document["findings"]["newest"][0]["message"] == "closed early"
    assert document["latency"][0]["caller"] == "charger_to_csms"
    assert document["latency"][0]["p95_ms"] == 96.0
    assert document["summary"] == {"PASS": 1, "FAIL": 1, "not run": 3}
    assert document["exit_code"] == 1


def _text(value: Report, require_all: bool = False) -> str:
    console = Console(record=True, width=200, color_system=None)
    render(value, console, require_all)
    return console.export_text()


def test_tables_show_every_section_and_end_with_the_verdicts() -> None:
    text = _text(MIXED)
    for title in (
        "Scenario 1: title 1 (2026-01-10 15:30:00 UTC, 4.0 s at speed 10, emart_jeju_01)",
        "Recent transactions",
        "Per charger",
        "Per hour",
        "Per OCPP version",
        "Conformance findings",
        "Newest findings",
        "CALL round trips at the proxy",
        "Scenarios",
    ):
        assert title in text
    assert "Scenario 3:" not in text  # never run: only in the summary
    lines = text.splitlines()
    assert any(
        line.split()
        == ["emart_jeju_02", "TX-2", "0.100", "15", "2026-01-10", "15:30:00", "5", "(running)"]
        for line in lines
    )
    assert any(line.split() == ["emart_jeju_01", "2", "1.667", "0.833", "250"] for line in lines)
    assert any(
        line.split() == ["2026-01-10", "15:00", "3", "1.767", "265", "1,234"] for line in lines
    )
    assert any(line.split() == ["ocpp2.0.1", "2", "1,034", "0", "2", "2"] for line in lines)
    assert any(
        line.split()[:3] == ["WS-007", "Station", "keeps"] and line.split()[-2:] == ["warning", "2"]
        for line in lines
    )
    assert any(
        line.split() == ["Heartbeat", "charger", "101", "51.0", "96.0", "100.0", "1000.0"]
        for line in lines
    )
    assert any(
        line.split()[:6] == ["2", "title", "2", "FAIL", "energy:", "expected"] for line in lines
    )
    assert lines[-1] == "1 PASS, 1 FAIL, 3 not run: exit code 1"


def test_tables_say_what_is_empty_and_what_not_run_means() -> None:
    empty = Report(NOW, None, (outcome(1, run=False),), (), (), (), (), (), ())
    text = _text(empty, require_all=True)
    assert "No transactions (all recorded traffic)." in text
    assert "No findings (all recorded traffic)." in text
    assert "No answered CALLs (all recorded traffic)." in text
    assert "never run here (required)" in text
    assert text.splitlines()[-1] == "0 PASS, 0 FAIL, 1 not run: exit code 1"
