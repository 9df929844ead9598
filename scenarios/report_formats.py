"""A `Report` for machines: JSON with everything the tables show, JUnit XML for CI."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from scenarios.report import Report, ScenarioOutcome, Verdict, check_line, exit_code, failing


def to_json(report: Report, require_all: bool = False) -> str:
    document = {
        "generated_at": _iso(report.generated_at),
        "since": _iso(report.since) if report.since else None,
        "scenarios": [_scenario_json(outcome) for outcome in report.scenarios],
        "transactions": [_rows(row) for row in report.transactions],
        "chargers": [_rows(row) for row in report.chargers],
        "hours": [_rows(row) for row in report.hours],
        "versions": [_rows(row) for row in report.versions],
        "findings": {
            "counts": [_rows(row) for row in report.finding_counts],
            "newest": [_rows(row) for row in report.findings],
        },
        "latency": [_rows(row) for row in report.latency],
        "summary": {str(verdict): report.count(verdict) for verdict in Verdict},
        "exit_code": exit_code(report, require_all),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _scenario_json(outcome: ScenarioOutcome) -> dict[str, Any]:
    window = outcome.window
    return {
        "scenario": outcome.scenario,
        "title": outcome.title,
        "verdict": str(outcome.verdict),
        "recorded_verdict": outcome.recorded,
        "run_id": outcome.run_id,
        "started_at": _iso(window.started_at) if window else None,
        "ended_at": _iso(window.ended_at) if window else None,
        "speed": window.speed if window else None,
        "charger_ids": list(window.charger_ids) if window else [],
        "checks": [asdict(check) for check in outcome.checks],
    }


def _rows(row: Any) -> dict[str, Any]:
    return {
        name: _iso(value) if isinstance(value, datetime) else value
        for name, value in asdict(row).items()
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_junit(report: Report, require_all: bool = False) -> str:
    """One test suite, one test case per scenario; its failure message names the failed checks.

    A scenario never run is skipped, or a failure when every scenario is required, as the
    exit code has it.
    """
    suite = ET.Element(
        "testsuite",
        name="ocppscope report",
        tests=str(len(report.scenarios)),
        failures=str(sum(failing(outcome, require_all) for outcome in report.scenarios)),
        skipped=str(
            0 if require_all else sum(o.verdict is Verdict.NOT_RUN for o in report.scenarios)
        ),
        timestamp=_iso(report.generated_at),
    )
    for outcome in report.scenarios:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="ocppscope.scenarios",
            name=f"scenario {outcome.scenario}: {outcome.title}",
        )
        if outcome.window is not None:
            seconds = (outcome.window.ended_at - outcome.window.started_at).total_seconds()
            case.set("time", f"{seconds:.3f}")
        lines = "\n".join(
            f"{'PASS' if check.passed else 'FAIL'} {check_line(check)}" for check in outcome.checks
        )
        if outcome.verdict is Verdict.FAIL:
            message = "; ".join(map(check_line, outcome.failed)) or "no checks recorded"
            ET.SubElement(case, "failure", message=message, type="FAIL").text = message
        elif outcome.verdict is Verdict.NOT_RUN:
            tag = "failure" if require_all else "skipped"
            ET.SubElement(case, tag, message="not run")
        if lines:
            ET.SubElement(case, "system-out").text = lines
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
