"""`ocppscope check` on captures of any shape: one-sided logs, input errors, piped output."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from proxy.ocppj.observed import NEEDS_BOTH_SIDES
from tests.test_check_cli import OCPPSCOPE, ROOT, SAMPLE, SAMPLE_VERDICTS, ocppscope

PAIRING = {"RPC-006", "RPC-007", "RPC-008"}


def one_side(tmp_path: Path, direction: str) -> Path:
    """The sample capture as a log of one side: the other direction's frames left out."""
    path = tmp_path / f"{direction}.jsonl"
    lines = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("{") and json.loads(line).get("direction") not in (None, direction):
            continue
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def report(*args: str | Path) -> tuple[int, dict[str, Any]]:
    run = ocppscope("check", *args, "--format", "json")
    assert run.stderr == ""
    return run.returncode, json.loads(run.stdout)


@pytest.mark.parametrize(
    ("direction", "side", "kept"),
    [
        ("charger_to_csms", "charger", {"TX-003", "BACKOFF-007"}),
        ("csms_to_charger", "csms", {"RPC-004", "BACKOFF-007"}),
    ],
)
def test_a_one_sided_capture_skips_the_pairing_rules_and_says_so(
    tmp_path: Path, direction: str, side: str, kept: set[str]
) -> None:
    capture = one_side(tmp_path, direction)
    code, found = report(capture)
    assert code == (1 if side == "csms" else 0)  # RPC-004 is an error, TX-003 a warning
    assert {f["rule"] for f in found["findings"]} == kept  # the seeded defects of that side
    assert {station["observed"] for station in found["stations"]} == {side}
    for station in found["stations"]:
        assert {skip["rule"] for skip in station["skipped"]} == set(NEEDS_BOTH_SIDES)
    suppressed = {
        skip["rule"]
        for station in found["stations"]
        for skip in station["skipped"]
        if skip["suppressed"]
    }
    assert suppressed & PAIRING
    declared, same = report(capture, "--one-sided", side)
    assert declared == code
    assert same["findings"] == found["findings"]
    table = ocppscope("check", capture).stdout
    sender = "station" if side == "charger" else "CSMS"
    assert f"Rules skipped: only the {sender}'s frames are recorded for emart_jeju_01" in table
    assert "RPC-008" in table
    junit = ET.fromstring(ocppscope("check", capture, "--format", "junit").stdout)
    for suite in junit.iter("testsuite"):
        assert suite.get("skipped") == str(len(NEEDS_BOTH_SIDES))
        skipped = [case for case in suite.iter("testcase") if case.find("skipped") is not None]
        assert {case.get("name", "").split()[0] for case in skipped} == set(NEEDS_BOTH_SIDES)


def test_a_one_sided_capture_judged_as_a_conversation_floods(tmp_path: Path) -> None:
    code, found = report(one_side(tmp_path, "charger_to_csms"), "--one-sided", "none")
    assert code == 1
    assert {f["rule"] for f in found["findings"]} >= PAIRING
    assert {station["observed"] for station in found["stations"]} == {"both"}


def test_the_two_sided_sample_skips_nothing() -> None:
    _, found = report(SAMPLE)
    assert all(s["observed"] == "both" and s["skipped"] == [] for s in found["stations"])
    junit = ET.fromstring(ocppscope("check", SAMPLE, "--format", "junit").stdout)
    assert not list(junit.iter("skipped"))


def test_a_declared_side_contradicted_by_a_frame_exits_2_naming_its_line(tmp_path: Path) -> None:
    capture = one_side(tmp_path, "charger_to_csms")
    run = ocppscope("check", capture, "--one-sided", "csms")
    first = next(
        number
        for number, line in enumerate(capture.read_text(encoding="utf-8").splitlines(), 1)
        if '"charger_to_csms"' in line
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.startswith(f"ocppscope: {capture}:{first}: a charger_to_csms frame of ")
    assert run.stderr.rstrip().endswith("declared --one-sided csms")


def test_timestamps_going_backwards_exit_2_naming_the_line(tmp_path: Path) -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    events = [n for n, line in enumerate(lines) if line.startswith("{")]
    late, early = events[40], events[10]
    lines[late] = lines[early]  # a line from a minute earlier, out of place
    capture = tmp_path / "backwards.jsonl"
    capture.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = ocppscope("check", capture)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.startswith(f"ocppscope: {capture}:{late + 1}: 'ts' is ")
    assert "lines must be in time order (up to 1 s of jitter)" in run.stderr


def test_piped_table_keeps_whole_lines() -> None:
    run = subprocess.run(
        [OCPPSCOPE, "check", str(SAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"},
    )
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    verdict = [line for line in lines if SAMPLE_VERDICTS[0] in line]
    assert len(verdict) == 1  # one line, not folded at 80 columns
    assert len(verdict[0].rstrip()) > 200
    assert any("RPC-004" in line and "the maximum is 36" in line for line in lines)
