"""Rendering a `CheckReport`: rich tables for people, JSON for scripts, JUnit XML for CI."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from rich import box
from rich.console import Console
from rich.table import Table

from proxy.check import CheckReport
from proxy.ocppj.findings import Finding, Severity
from proxy.ocppj.rules import RULES
from proxy.ocppj.timefmt import format_datetime
from proxy.ocppj.unchecked import UNCHECKED
from proxy.ocppj.versions import VERSIONS

SIDES = {"both": "both", "charger": "station only", "csms": "CSMS only"}
"""How the station table names whose frames a station's events hold."""

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def render_table(
    report: CheckReport, console: Console, shown: list[Finding], *, wrap: bool = True
) -> None:
    """`wrap=False` (a file or a pipe): every finding on one line, however long."""
    stations = Table(title="Stations", title_justify="left")
    for column in (
        "station",
        "version",
        "sides",
        "connections",
        "frames",
        "transactions",
        "rtt p50 ms",
        "errors",
        "warnings",
        "info",
    ):
        stations.add_column(
            column, justify="left" if column in ("station", "version", "sides") else "right"
        )
    for summary in report.stations:
        stations.add_row(
            summary.station,
            summary.version,
            SIDES[summary.observed],
            str(summary.connections),
            str(summary.frames),
            str(summary.transactions),
            f"{summary.rtt_p50_ms:.1f}" if summary.rtt_p50_ms is not None else "-",
            *(str(summary.counts[severity]) for severity in Severity),
        )
    console.print(stations)
    render_skipped(report, console)
    if not shown:
        console.print("No findings.")
        return
    findings = Table(title="Findings", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("time", "line", "station", "rule", "severity"):
        findings.add_column(column, no_wrap=True)
    if wrap:
        findings.add_column("finding", overflow="fold", ratio=1)
    else:
        findings.add_column("finding", no_wrap=True)
    for finding in shown:
        findings.add_row(
            format_datetime(finding.timestamp)[11:23],
            str(finding.ref or ""),
            finding.station,
            finding.rule_id,
            f"[{SEVERITY_STYLE[finding.severity]}]{finding.severity}[/]",
            finding.message,
        )
    console.print(findings)
    judged = ", ".join(f"{count} {version}" for version, count in versions_judged(report).items())
    console.print(
        f"{report.events} events, {len(report.stations)} stations ({judged}): "
        + ", ".join(f"{report.count(severity)} {severity}" for severity in Severity)
    )


def versions_judged(report: CheckReport) -> dict[str, int]:
    """How many stations each version's rules judged, in VERSIONS' order."""
    judged = [summary.version for summary in report.stations]
    return {version: judged.count(version) for version in VERSIONS if version in judged}


def render_skipped(report: CheckReport, console: Console) -> None:
    """Per one-sided observation: its stations and the rules they skip, with why and how often
    each would have fired on what is only the missing side."""
    for side in ("charger", "csms"):
        summaries = [summary for summary in report.stations if summary.observed == side]
        if not summaries:
            continue
        table = Table(
            title=f"Rules skipped: only the {'station' if side == 'charger' else 'CSMS'}'s frames "
            f"are recorded for {', '.join(summary.station for summary in summaries)}",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        for column in ("rule", "would have fired"):
            table.add_column(column, no_wrap=True)
        table.add_column("why", overflow="fold")
        for rule_id, reason in summaries[0].skipped.items():
            fired = sum(summary.suppressed.get(rule_id, 0) for summary in summaries)
            table.add_row(rule_id, str(fired), reason.split(";")[0])
        console.print(table)


def to_json(report: CheckReport, shown: list[Finding]) -> str:
    document: dict[str, Any] = {
        "events": report.events,
        "totals": {str(severity): report.count(severity) for severity in Severity},
        "versions": versions_judged(report),
        "stations": [
            {
                "station": summary.station,
                "version": summary.version,
                "connections": summary.connections,
                "frames": summary.frames,
                "transactions": summary.transactions,
                "rtt_p50_ms": summary.rtt_p50_ms,
                **{str(severity): count for severity, count in summary.counts.items()},
                "observed": summary.observed,
                "skipped": [
                    {
                        "rule": rule_id,
                        "reason": reason,
                        "suppressed": summary.suppressed.get(rule_id, 0),
                    }
                    for rule_id, reason in summary.skipped.items()
                ],
            }
            for summary in report.stations
        ],
        "findings": [_finding_json(finding) for finding in shown],
    }
    return json.dumps(document, indent=2)


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "time": format_datetime(finding.timestamp),
        "station": finding.station,
        "rule": finding.rule_id,
        "severity": str(finding.severity),
        "message": finding.message,
        "reference": finding.reference,
        "connection": finding.connection_id,
        "message_id": finding.message_id,
        "action": finding.action,
        "direction": str(finding.direction) if finding.direction else None,
        "details": dict(finding.details),
        "version": finding.version,
        "line": finding.ref,
    }


def to_junit(report: CheckReport) -> str:
    """One test case per station and rule; errors fail it, warnings and info go to its output."""
    by_case: dict[tuple[str, str], list[Finding]] = {}
    for finding in report.findings:
        by_case.setdefault((finding.station, finding.rule_id), []).append(finding)
    suites = ET.Element("testsuites", name="ocppscope check")
    for summary in report.stations:
        suite = ET.SubElement(suites, "testsuite", name=summary.station)
        failures = 0
        for rule in RULES.values():
            case = ET.SubElement(
                suite, "testcase", classname=summary.station, name=f"{rule.id} {rule.title}"
            )
            if rule.id in summary.skipped:
                ET.SubElement(case, "skipped", message=summary.skipped[rule.id])
                continue
            found = by_case.get((summary.station, rule.id), [])
            errors = [finding for finding in found if finding.severity is Severity.ERROR]
            if errors:
                failures += 1
                failure = ET.SubElement(case, "failure", message=errors[0].message, type=rule.id)
                failure.text = "\n".join(_line(finding) for finding in errors)
            others = [finding for finding in found if finding.severity is not Severity.ERROR]
            if others:
                ET.SubElement(case, "system-out").text = "\n".join(map(_line, others))
        suite.set("tests", str(len(RULES)))
        suite.set("failures", str(failures))
        suite.set("skipped", str(len(summary.skipped)))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _line(finding: Finding) -> str:
    where = f" (line {finding.ref})" if finding.ref is not None else ""
    return (
        f"{format_datetime(finding.timestamp)} {finding.severity}: {finding.message}{where} "
        f"[{finding.reference}]"
    )


def render_rules(console: Console) -> None:
    """The rules checked, then the catalogue entries not checked with the reason for each."""
    table = Table(title=f"{len(RULES)} rules checked", title_justify="left")
    for column in ("id", "severity", "versions", "rule", "reference"):
        table.add_column(column, overflow="fold")
    for rule in RULES.values():
        table.add_row(rule.id, "/".join(rule.severities), rule.applies, rule.title, rule.reference)
    console.print(table)
    for version in VERSIONS:
        count = sum(version in rule.versions for rule in RULES.values())
        console.print(f"{version}: {count} rules")
    unchecked = Table(title=f"{len(UNCHECKED)} not checked", title_justify="left")
    for column in ("id", "check", "reference", "why not"):
        unchecked.add_column(column, overflow="fold")
    for entry in UNCHECKED.values():
        unchecked.add_row(entry.id, entry.title, entry.reference, entry.why)
    console.print(unchecked)
