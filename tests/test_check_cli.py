"""`ocppscope` end to end: the installed console script run on capture files, as users run it."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import typer.main

from ocppscope.cli.main import app
from proxy.ocppj.rules import RULES
from proxy.ocppj.timefmt import format_datetime
from proxy.ocppj.unchecked import UNCHECKED
from tests.support import ocppscope_executable

ROOT = Path(__file__).resolve().parents[1]
SEEDED = Path(__file__).parent / "data" / "seeded-violations.jsonl"
SAMPLE = ROOT / "proxy" / "samples" / "jeju-morning.jsonl"
BACKOFF = ("--retry-backoff", "1,0,4")
T0 = 1_795_500_000.0  # 2026-11-24T06:00:00Z

# (rule, capture line) of every violation seeded into tests/data/seeded-violations.jsonl; the
# `# seeded:` comment above each of those lines says what is wrong with it.
SEEDED_FINDINGS = [
    ("SCH-001", 11),  # StatusNotification with the 1.6 status "Charging"
    ("BOOT-001", 17),  # StatusNotification while Pending
    ("STAT-001", 22),  # evseId 0 / connectorId 0
    ("WS-001", 35),  # upgrade without Sec-WebSocket-Protocol
    ("WS-002", 37),  # OCPP traffic with no subprotocol negotiated
    ("BOOT-003", 42),  # BootNotification 3 s into a 10 s Pending interval
    ("RPC-001", 53),  # truncated JSON
    ("REM-001", 56),  # RequestStartTransaction with a TxDefaultProfile
    ("RPC-004", 63),  # 45-character MessageId ...
    ("BACKOFF-002", 68),  # first reconnect attempt after 0.3 s (minimum 1 s)
    ("RPC-009", 72),  # unknown action "HeartBeat"
    ("RPC-007", 78),  # second CALL while Authorize is outstanding
    ("RPC-006", 82),  # second CALLRESULT to the same CALL
    ("BACKOFF-003", 84),  # second attempt after 10 s (2 s expected)
    ("TX-013", 86),  # energy register falls
    ("WS-008", 89),  # binary frame
    ("TX-007", 99),  # event from the offline period without offline=true
    ("TX-003", 102),  # seqNo repeated with other content
    ("SCH-002", 110),  # HeartbeatResponse with an extra property
    ("REM-003", 113),  # accepted RequestStopTransaction, no RemoteStop event
    ("HB-001", 131),  # 50 s of silence
]
SEEDED_STATIONS = ["CP-BOOT", "CP-NET", "CP-RPC", "CP-TX", "CP-WS"]
VERDICT = "BACKOFF-007"
"""The back-off analyser's verdicts summarise the seeded defects; they are no defect of their own."""
# CP-NET reconnects on line 91: its episode (early, then late), then the offline delivery (TX-007)
SEEDED_VERDICTS = [(91, "error"), (91, "warning")]

# What `make demo` shows: the defects seeded into the bundled sample capture.
SAMPLE_FINDINGS = {
    ("RPC-004", "emart_jeju_02"),  # SetChargingProfile MessageId of 37 characters
    ("RPC-008", "emart_shinjeju_02"),  # Authorize answered after 31 s ...
    ("RPC-006", "emart_shinjeju_02"),  # ... so its CALLRESULT arrives late
    ("SCH-001", "emart_jeju_01"),  # TransactionEventResponse.totalCost as a string
    ("HB-001", "emart_jeju_01"),  # one heartbeat missing
    ("TX-003", "emart_shinjeju_01"),  # seqNo jumps from 8 to 10
}
# ... and, as info, the back-off analyser's verdicts on emart_jeju_03's outage.
SAMPLE_VERDICTS = [
    "reconnected after 4 attempts (3 refused), waits 1.0, 2.0, 4.0, 8.0 s; expected 1-1, 2-2, "
    "4-4, 8-8 s (RetryBackOffWaitMinimum 1 s, RandomRange 0 s, RepeatTimes 4): compliant",
    "3 offline TransactionEvents delivered with offline=true, no seqNo gap",
]
SAMPLE_STATIONS = [
    "emart_jeju_01",
    "emart_jeju_02",
    "emart_jeju_03",
    "emart_shinjeju_01",
    "emart_shinjeju_02",
]


OCPPSCOPE = ocppscope_executable()


def ocppscope(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OCPPSCOPE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "220", "NO_COLOR": "1", "TERM": "dumb"},
    )


def check_json(*args: str | Path) -> tuple[int, dict[str, Any]]:
    run = ocppscope("check", *args, "--format", "json")
    assert run.stderr == ""
    return run.returncode, json.loads(run.stdout)


@functools.cache
def seeded_report() -> tuple[int, dict[str, Any]]:
    return check_json(SEEDED, *BACKOFF)


@functools.cache
def sample_report() -> tuple[int, dict[str, Any]]:
    return check_json(SAMPLE)


def pairs(report: dict[str, Any]) -> list[tuple[str, int | None]]:
    """(rule, line) of every finding but the verdicts, in line order."""
    return sorted(
        ((f["rule"], f["line"]) for f in report["findings"] if f["rule"] != VERDICT),
        key=lambda p: p[1] or 0,
    )


def verdicts(report: dict[str, Any], key: str = "severity") -> list[tuple[int | None, str]]:
    return [(f["line"], f[key]) for f in report["findings"] if f["rule"] == VERDICT]


def write_capture(path: Path, *records: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def clean_capture(path: Path, silence: float = 0.0) -> Path:
    """One station that boots, reports its connector and heartbeats; `silence` delays the beat."""

    def frame(at: float, direction: str, message: list[Any]) -> dict[str, Any]:
        return {
            "type": "frame",
            "ts": T0 + at,
            "station": "CS01",
            "direction": direction,
            "text": json.dumps(message),
        }

    boot = {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}
    booted = {"currentTime": format_datetime(T0 + 0.2), "interval": 30, "status": "Accepted"}
    status = {
        "timestamp": format_datetime(T0 + 1),
        "connectorStatus": "Available",
        "evseId": 1,
        "connectorId": 1,
    }
    beat = 30 + silence
    return write_capture(
        path,
        {
            "type": "open",
            "ts": T0,
            "path": "/ocpp/CS01",
            "subprotocols": ["ocpp2.0.1"],
            "selected": "ocpp2.0.1",
        },
        frame(0.1, "charger_to_csms", [2, "1", "BootNotification", boot]),
        frame(0.2, "csms_to_charger", [3, "1", booted]),
        frame(1, "charger_to_csms", [2, "2", "StatusNotification", status]),
        frame(1.1, "csms_to_charger", [3, "2", {}]),
        frame(beat, "charger_to_csms", [2, "3", "Heartbeat", {}]),
        frame(beat + 0.1, "csms_to_charger", [3, "3", {"currentTime": format_datetime(T0 + beat)}]),
    )


# ---- the seeded capture ----------------------------------------------------------------------


@pytest.mark.unit
def test_seeded_comments_match_the_expected_findings() -> None:
    lines = SEEDED.read_text(encoding="utf-8").splitlines()
    commented = [
        (line.removeprefix("# seeded: ").split()[0], number + 1)
        for number, line in enumerate(lines, start=1)
        if line.startswith("# seeded: ")
    ]
    assert sorted(commented) == sorted(SEEDED_FINDINGS)


def test_check_reports_exactly_the_seeded_violations() -> None:
    code, report = seeded_report()
    assert code == 1
    assert pairs(report) == SEEDED_FINDINGS
    groups = {rule.split("-")[0] for rule, _ in SEEDED_FINDINGS}
    assert groups >= {"RPC", "SCH", "BOOT", "HB", "STAT", "TX", "REM", "BACKOFF", "WS"}
    assert [station["station"] for station in report["stations"]] == SEEDED_STATIONS
    assert verdicts(report) == SEEDED_VERDICTS
    assert sum(report["totals"].values()) == len(SEEDED_FINDINGS) + len(SEEDED_VERDICTS)


def test_backoff_is_only_judged_with_known_retry_settings() -> None:
    _, report = check_json(SEEDED)
    assert pairs(report) == [pair for pair in SEEDED_FINDINGS if not pair[0].startswith("BACKOFF")]
    assert verdicts(report) == [(91, "info"), (91, "warning")]  # the delivery is still judged
    episode = verdicts(report, "message")[0][1]
    assert episode.endswith("not judged: RetryBackOff* unknown (give --retry-backoff)")


def test_json_findings_carry_station_severity_and_reference() -> None:
    _, report = seeded_report()
    by_line = {(f["rule"], f["line"]): f for f in report["findings"]}
    hb = by_line[("HB-001", 131)]
    assert hb["station"] == "CP-RPC"
    assert hb["severity"] == "warning"
    assert hb["reference"] == RULES["HB-001"].reference
    assert hb["connection"] == "CP-RPC#1"
    assert hb["time"].startswith("2026-11-24T06:")
    assert by_line[("RPC-004", 63)]["message_id"].startswith("cs-0123456789abcdef")
    repeated = by_line[("RPC-006", 82)]  # a second CALLRESULT: named by the CALL it answers
    assert (repeated["action"], repeated["direction"]) == ("StatusNotification", "csms_to_charger")
    assert hb["details"] == {}
    for finding in report["findings"]:
        assert finding["severity"] in RULES[finding["rule"]].severities
    assert report["totals"] == {
        severity: sum(1 for f in report["findings"] if f["severity"] == severity)
        for severity in ("error", "warning", "info")
    }


def test_the_report_states_the_versions_judged(tmp_path: Path) -> None:
    """Per station the version its `open` line selected; in the summary and the JSON how many
    stations each version's rules judged; per finding the version its connection selected
    (null: none, as CP-WS's in the seeded capture, judged by the 2.0.1 rules)."""
    capture = tmp_path / "mixed.jsonl"
    lines = []
    for n, (station, selected) in enumerate((("CP-16", "ocpp1.6"), ("CP-21", "ocpp2.1"))):
        lines.append(
            {"type": "open", "ts": T0 + n, "station": station, "path": f"/ocpp/{station}",
             "subprotocols": [selected], "selected": selected}
        )  # fmt: skip
        lines.append(
            {"type": "frame", "ts": T0 + n + 0.5, "station": station,
             "direction": "charger_to_csms", "text": '[2,"h1","Heartbeat",{"x":1}]'}
        )  # fmt: skip
    capture.write_text("".join(json.dumps(line) + "\n" for line in lines))
    _, report = check_json(capture)
    assert {s["station"]: s["version"] for s in report["stations"]} == {
        "CP-16": "ocpp1.6",
        "CP-21": "ocpp2.1",
    }
    assert report["versions"] == {"ocpp1.6": 1, "ocpp2.1": 1}
    assert {(f["station"], f["version"]) for f in report["findings"]} == {
        ("CP-16", "ocpp1.6"),
        ("CP-21", "ocpp2.1"),
    }
    table = ocppscope("check", capture, "--format", "table")
    assert "2 stations (1 ocpp1.6, 1 ocpp2.1): " in table.stdout

    _, seeded = seeded_report()
    assert seeded["versions"] == {"ocpp2.0.1": len(SEEDED_STATIONS)}
    assert {f["version"] for f in seeded["findings"] if f["rule"] == "WS-002"} == {None}
    assert {f["version"] for f in seeded["findings"] if f["station"] != "CP-WS"} == {"ocpp2.0.1"}


def test_min_severity_error_hides_warnings_but_counts_them() -> None:
    code, report = check_json(SEEDED, *BACKOFF, "--min-severity", "error")
    assert code == 1
    shown = report["findings"]
    assert shown
    assert {finding["severity"] for finding in shown} == {"error"}
    _, full = seeded_report()
    errors = [f for f in full["findings"] if f["severity"] == "error"]
    assert shown == errors
    assert report["totals"] == full["totals"]
    assert report["totals"]["warning"] > 0


def test_min_severity_in_the_table() -> None:
    run = ocppscope("check", SEEDED, *BACKOFF, "--min-severity", "error")
    assert run.returncode == 1
    assert "RPC-004" in run.stdout
    assert "HB-001" not in run.stdout
    assert "warning" not in run.stdout.split("Findings", 1)[1].rsplit("\n", 2)[0]


def test_junit_has_one_case_per_station_and_rule_and_fails_the_error_rules() -> None:
    run = ocppscope("check", SEEDED, *BACKOFF, "--format", "junit")
    assert run.returncode == 1
    root = ET.fromstring(run.stdout)
    assert root.tag == "testsuites"
    _, report = seeded_report()
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == SEEDED_STATIONS
    failed, noted = set(), set()
    for suite in suites:
        cases = suite.findall("testcase")
        assert [case.get("name", "").split()[0] for case in cases] == list(RULES)
        assert {case.get("classname") for case in cases} == {suite.get("name")}
        assert suite.get("tests") == str(len(RULES))
        for case in cases:
            rule = case.get("name", "").split()[0]
            if case.find("failure") is not None:
                failed.add((suite.get("name"), rule))
                assert case.find("failure").get("type") == rule
            if case.find("system-out") is not None:
                noted.add((suite.get("name"), rule))
        assert suite.get("failures") == str(
            sum(1 for station, _ in failed if station == suite.get("name"))
        )
    findings = report["findings"]
    assert failed == {(f["station"], f["rule"]) for f in findings if f["severity"] == "error"}
    assert noted == {(f["station"], f["rule"]) for f in findings if f["severity"] != "error"}


def test_junit_ignores_min_severity_and_parses_on_a_clean_capture(tmp_path: Path) -> None:
    run = ocppscope("check", clean_capture(tmp_path / "clean.jsonl"), "--format", "junit")
    assert run.returncode == 0
    root = ET.fromstring(run.stdout)
    assert root.find("testsuite/testcase/failure") is None
    assert len(root.findall("testsuite/testcase")) == len(RULES)


def test_table_prints_the_station_table_and_the_findings() -> None:
    run = ocppscope("check", SEEDED, *BACKOFF, "--format", "table")
    assert run.returncode == 1
    assert run.stderr == ""
    assert run.stdout.startswith("Stations")
    for column in ("station", "connections", "frames", "transactions", "rtt p50 ms", "errors"):
        assert column in run.stdout
    for station in SEEDED_STATIONS:
        assert re.search(rf"│ {re.escape(station)} +│", run.stdout)
    # two connections: before and after the loss
    assert re.search(r"│ CP-NET +│ ocpp2.0.1 +│ both +│ +2 │", run.stdout)
    assert "Findings" in run.stdout
    for rule, line in SEEDED_FINDINGS:
        assert re.search(rf"^ *[0-9:.]+ +{line} +CP-[A-Z]+ +{rule} ", run.stdout, re.M), (
            rule,
            line,
        )
    assert run.stdout.rstrip().endswith("15 error, 8 warning, 0 info")  # with the verdicts


def test_table_is_the_default_and_says_when_there_is_nothing(tmp_path: Path) -> None:
    run = ocppscope("check", clean_capture(tmp_path / "clean.jsonl"))
    assert run.returncode == 0
    assert run.stdout.startswith("Stations")
    assert "CS01" in run.stdout
    assert "No findings." in run.stdout


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    run = ocppscope("check", SEEDED, *BACKOFF, "-f", "json", "-o", target)
    assert run.returncode == 1
    assert run.stdout == ""
    assert pairs(json.loads(target.read_text(encoding="utf-8"))) == SEEDED_FINDINGS
    table = tmp_path / "report.txt"
    assert ocppscope("check", SEEDED, "-o", table).returncode == 1
    assert "CP-RPC" in table.read_text(encoding="utf-8")


# ---- exit codes --------------------------------------------------------------------------------


def test_exit_code_is_0_on_a_clean_capture(tmp_path: Path) -> None:
    code, report = check_json(clean_capture(tmp_path / "clean.jsonl"))
    assert code == 0
    assert report["findings"] == []
    assert report["events"] == 7
    assert report["stations"][0]["station"] == "CS01"


def test_exit_code_is_0_when_there_are_only_warnings(tmp_path: Path) -> None:
    code, report = check_json(clean_capture(tmp_path / "quiet.jsonl", silence=20))
    assert code == 0
    assert [(f["rule"], f["severity"]) for f in report["findings"]] == [("HB-001", "warning")]


@pytest.mark.parametrize("output_format", ["json", "junit", "table"])
def test_an_empty_capture_exits_2(tmp_path: Path, output_format: str) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("# nothing recorded\n\n", encoding="utf-8")
    run = ocppscope("check", empty, "--format", output_format)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr == f"ocppscope: {empty}: holds no events: nothing to check\n"


def _capture_with(tmp_path: Path, bad: str) -> Path:
    path = clean_capture(tmp_path / "bad.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(3, bad)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ('{"type": "frame", "ts": 1795500001, ', "not a JSON object"),
        ('{"type": "ping", "ts": 1795500001, "station": "CS01"}', "'type' must be open, frame"),
        (
            '{"type": "frame", "ts": 1795500001, "station": "CS01", "direction": "up", "text": "[]"}',
            "'direction' must be charger_to_csms or csms_to_charger",
        ),
        (
            '{"type": "frame", "ts": 1795500001, "direction": "charger_to_csms", "text": "[]"}',
            "missing field 'station'",
        ),
        ('{"type": "refused", "ts": "noon", "station": "CS01"}', "'ts' must be an RFC 3339"),
    ],
    ids=["invalid-json", "unknown-type", "bad-direction", "missing-station", "bad-time"],
)
def test_a_bad_capture_line_exits_2_naming_the_line(tmp_path: Path, bad: str, reason: str) -> None:
    path = _capture_with(tmp_path, bad)
    run = ocppscope("check", path)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith(f"ocppscope: {path}:4: {reason}")


@pytest.mark.parametrize("output_format", ["json", "junit", "table"])
def test_a_missing_capture_exits_2(tmp_path: Path, output_format: str) -> None:
    missing = tmp_path / "no-such-capture.jsonl"
    run = ocppscope("check", missing, "--format", output_format)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith(f"ocppscope: {missing}")
    assert "No such file or directory" in run.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["check", SEEDED, "--format", "xml"],
        ["check", SEEDED, "--retry-backoff", "1,2"],
        ["check", SEEDED, "--retry-backoff", "1,0,4,8"],
        ["check", SEEDED, "--retry-backoff", "-1,0,4"],
        ["check", SEEDED, "--retry-backoff", "one,0,4"],
        ["check", SEEDED, "--min-severity", "fatal"],
        ["check", SEEDED, "--message-timeout", "0"],
        ["check", SEEDED, "--no-such-option"],
        ["check"],
        ["bench", "engine", "--stations", "0"],
        ["frobnicate"],
    ],
    ids=lambda args: " ".join(str(arg) for arg in args if arg != SEEDED),
)
def test_a_bad_option_exits_2_with_one_line(args: list[str | Path]) -> None:
    run = ocppscope(*args)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith("ocppscope: ")


# ---- the other commands ------------------------------------------------------------------------


def test_rules_lists_every_rule() -> None:
    run = ocppscope("rules")
    assert run.returncode == 0
    listed = re.findall(r"^│ ([A-Z]+(?:16)?-\d{3}) ", run.stdout, flags=re.MULTILINE)
    assert listed == [*RULES, *UNCHECKED]
    assert f"{len(RULES)} rules checked" in run.stdout
    assert f"{len(UNCHECKED)} not checked" in run.stdout


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    """Every command and group of the CLI (Typer's click-like objects), depth first."""
    found = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


@pytest.mark.unit
def test_the_readme_documents_every_command() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    commands = [
        " ".join(path) for path, command in _commands() if path and not hasattr(command, "commands")
    ]
    assert commands and [c for c in commands if f"ocppscope {c}" not in readme] == []


@pytest.mark.parametrize(
    ("path", "command"),
    [
        pytest.param(path, command, id=" ".join(path) or "ocppscope")
        for path, command in _commands()
    ],
)
def test_every_command_has_help(path: tuple[str, ...], command: Any) -> None:
    assert command.help and command.help.strip()
    for param in command.params:
        assert getattr(param, "help", None), f"{' '.join(path)} {param.name} has no help"
    run = ocppscope(*path, "--help")
    assert run.returncode == 0
    assert run.stderr == ""
    assert "Usage: ocppscope" in run.stdout
    assert command.help.strip().splitlines()[0] in " ".join(run.stdout.split())


def test_groups_without_a_command_print_their_usage() -> None:
    for args in ([], ["bench"]):
        run = ocppscope(*args)
        assert run.returncode in (0, 2)
        assert "Usage: ocppscope" in run.stdout + run.stderr


def test_bench_engine_measures_compliant_traffic() -> None:
    run = ocppscope("bench", "engine", "--stations", "2", "--minutes", "2")
    assert run.returncode == 0, run.stderr
    assert "frames/s" in run.stdout
    for version in ("ocpp2.0.1", "ocpp1.6"):
        rate = re.search(rf"ocppscope engine, {version}, all rules\s*│\s*([\d,]+)\s*│", run.stdout)
        assert rate, run.stdout
        assert int(rate.group(1).replace(",", "")) > 0
        assert f"findings on this compliant {version} traffic: 0" in run.stdout
    assert "ocpp1.6 / ocpp2.0.1 engine throughput: " in run.stdout


# ---- the demo capture --------------------------------------------------------------------------


def test_the_demo_sample_shows_its_seeded_defects() -> None:
    assert len(SAMPLE.read_text(encoding="utf-8").splitlines()) < 1500
    code, report = sample_report()
    assert code == 1
    assert {(f["rule"], f["station"]) for f in report["findings"]} >= SAMPLE_FINDINGS
    assert [station["station"] for station in report["stations"]] == SAMPLE_STATIONS
    by_station = {station["station"]: station for station in report["stations"]}
    assert by_station["emart_jeju_03"]["connections"] == 2  # the outage and the reconnect
    assert all(station["transactions"] == 1 for station in report["stations"])


def test_the_demo_sample_shows_nothing_but_its_seeded_defects() -> None:
    _, report = sample_report()
    found = {(f["rule"], f["station"]) for f in report["findings"] if f["rule"] != VERDICT}
    assert found == SAMPLE_FINDINGS
    shown = [(f["station"], f["severity"], f["message"]) for f in report["findings"]]
    assert [finding for finding in shown if finding[2] in SAMPLE_VERDICTS] == [
        ("emart_jeju_03", "info", message) for message in SAMPLE_VERDICTS
    ]
    assert report["totals"]["info"] == len(SAMPLE_VERDICTS)
