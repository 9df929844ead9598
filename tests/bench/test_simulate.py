"""`ocppscope bench simulate`, tiny: both phases against the reference CSMS on the embedded
PostgreSQL, every station booted and on schedule, nothing left behind; bad options and a machine
that cannot hold the fleet as one line and exit code 2."""

from __future__ import annotations

import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from ocppscope.bench.simulate_plan import Phase, Plan
from tests.support import environment, ocppscope_executable, processes_naming

ROW = re.compile(r"^[│|]\s*(bare websockets \(baseline\)|SimulatedStation)\s*[│|](.*)$")
NUMBER = re.compile(r"\d[\d,]*\.?\d*")


LIMITED = (
    "import os, resource, sys; limit = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)); os.execv(sys.argv[2], sys.argv[2:])"
)
"""Runs a command with its open-files limit (soft and hard) lowered to argv[1]."""


def _bench(
    data_dir: Path, *args: str, fd_limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    command = [ocppscope_executable(), "bench", "simulate", *args]
    if fd_limit is not None:
        command = [sys.executable, "-c", LIMITED, str(fd_limit), *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env=environment(data_dir),
    )


def _cells(rest: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"[│|]", rest.rstrip("│| "))]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU and RSS from /proc")
@pytest.mark.parametrize(
    ("protocol", "metering"), [("ocpp2.0.1", "TransactionEvent"), ("ocpp1.6", "MeterValues")]
)
def test_tiny_run_boots_every_station_keeps_the_schedule_and_leaves_nothing(
    tmp_path: Path, protocol: str, metering: str
) -> None:
    """Heartbeats and meter values every second, so the 3 s window holds CALLs to judge; both
    fleets speak `protocol` (a 1.6 BootNotification in 2.0.1's shape would be refused)."""
    done = _bench(
        tmp_path,
        *("--stations", "20", "--rate", "50", "--hold", "3"),
        *("--heartbeat", "1", "--meter-interval", "1", "--protocol", protocol),
    )
    output = done.stdout
    assert done.returncode == 0, output + done.stderr[-3000:]
    title = " ".join(output.split())  # the table's title may wrap
    assert f"20 {protocol} stations started" in title
    assert f"2 charging, a {metering} every 1 s" in title

    rows = {
        match[1]: _cells(match[2]) for line in output.splitlines() if (match := ROW.match(line))
    }
    assert set(rows) == {"bare websockets (baseline)", "SimulatedStation"}, output
    for name, cells in rows.items():
        booted, all_booted, boot_ms, rss, cpu, per_minute, per_call, calls = cells[:8]
        assert booted == "20/20", (name, cells)
        assert NUMBER.fullmatch(all_booted), (name, "connect time", cells)
        assert re.fullmatch(r"\d[\d,]*/\d[\d,]*", boot_ms), (name, "boot p50/p99", cells)
        assert NUMBER.fullmatch(rss), (name, "RSS", cells)
        assert re.fullmatch(r"\d+%", cpu), (name, "CPU", cells)
        assert NUMBER.fullmatch(per_minute) and NUMBER.fullmatch(per_call), (name, cells)
        measured, due = (float(n.replace(",", "")) for n in re.findall(r"[\d,.]+", calls))
        assert measured >= 0.9 * due > 0, (name, "CALLs/s", cells)
        assert cells[-1] == "0", (name, "errors", cells)
    assert "simulator: 2 charging" in output  # a tenth of 20
    assert "steady state reached with 20 stations" in output
    assert "a simulated station costs" in output

    used = re.search(r"ports used: ([\d ]+); work directory (\S+) \(removed\)", output)
    assert used, output
    ports, workdir = used[1].split(), used[2]
    assert len(ports) == 4  # the OCPP and HTTP ports of two CSMS processes
    assert not processes_naming(ports)
    assert not Path(workdir).exists()  # the embedded PostgreSQL lived there, and is gone


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--stations", "0"), "Invalid value for '--stations'"),
        (("--rate", "0.5"), "Invalid value for '--rate'"),
        (("--charging", "1.5"), "Invalid value for '--charging'"),
        (("--csms", "mitm"), "Invalid value for '--csms'"),
        (("--protocol", "ocpp2.0"), "--protocol 'ocpp2.0' is not one of ocpp1.6, ocpp2.0.1"),
        (("--protocol", "ocpp1.6", "--csms", "stand-in"), "--protocol ocpp1.6 needs --csms"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    done = _bench(tmp_path, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(f"ocppscope: {message}"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_more_stations_than_open_files_is_one_line_and_exit_2(tmp_path: Path) -> None:
    hard = min(4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    done = _bench(tmp_path, "--stations", str(hard), fd_limit=hard)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == (
        f"ocppscope: --stations {hard:,} needs {hard + 256:,} open files in this process and in "
        f"the CSMS; the hard limit is {hard:,} (ulimit -Hn)"
    )


@pytest.mark.unit
def test_charging_stations_are_spread_over_the_start_order() -> None:
    assert sorted(Plan(stations=20, charging=0.1).charging_indices) == [9, 19]
    assert len(Plan(stations=10_000, charging=0.1).charging_indices) == 1_000
    assert not Plan(stations=20, charging=0.0).charging_indices


@pytest.mark.unit
def test_a_window_that_holds_no_heartbeat_judges_only_what_it_can() -> None:
    """Steady means every station booted and stayed, and at least the CALLs surely due came."""
    phase = Phase("x", 10, booted=10, connected_end=10, charging=1, hold_seconds=3.0)
    assert phase.steady  # nothing was surely due in 3 s at a heartbeat of 30 s
    phase.calls_due_min = 100
    assert not phase.steady
    phase.calls = 98
    assert phase.steady
    phase.reconnects = 1
    assert not phase.steady
