"""The five scenarios against a lab of real processes (`ocppscope csms` and `ocppscope proxy`
over a real PostgreSQL, tests/scenarios/lab.py), at --speed 10: all PASS and recorded; a
misbehaving station and an injected drop make the right scenario FAIL, saying why; and the CLI
as a user runs it. The lab is started once for the module."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from proxy.endpoints import LabEndpoints
from proxy.faults.client import AdminClient
from scenarios.record import latest_runs
from scenarios.runner import ScenarioResult, run_scenarios
from scenarios.verify import verify
from simulator.fleet import StationSpec
from tests.pg import create_database, drop_database, pg_connection
from tests.proxy_harness import run
from tests.scenarios.lab import running_lab
from tests.support import environment, free_port, ocppscope_executable, processes_naming

SPEED = 10.0
"""30 s sessions take 3 s; the five scenarios about 20 s (measured: 18 s)."""
RUN_TIMEOUT = 120.0


@pytest.fixture(scope="module")
def lab(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabEndpoints]:
    url = create_database(postgres_server)
    try:
        with running_lab(tmp_path_factory.mktemp("lab"), url) as endpoints:
            yield endpoints
    finally:
        drop_database(postgres_server, url)


def scenarios(
    lab: LabEndpoints, which: list[int], fleet: list[StationSpec] | None = None
) -> tuple[list[ScenarioResult], list[str]]:
    lines: list[str] = []
    extra = {"fleet": fleet} if fleet is not None else {}
    results = run(run_scenarios(lab, which, SPEED, lines.append, **extra), RUN_TIMEOUT)
    return results, lines


def failed(result: ScenarioResult) -> dict[str, str]:
    return {c.name: c.observed for c in result.checks if not c.passed}


def test_all_five_pass_at_speed_10_and_are_recorded(lab: LabEndpoints) -> None:
    began = time.monotonic()
    results, lines = scenarios(lab, [1, 2, 3, 4, 5])
    took = time.monotonic() - began
    assert [(r.scenario, r.verdict) for r in results] == [(n, "PASS") for n in range(1, 6)], [
        (r.scenario, failed(r)) for r in results
    ]
    assert took < 60, took
    assert "scenario 5: PASS" in lines
    observed = {(r.scenario, c.name): c.observed for r in results for c in r.checks}
    assert observed[2, "energy = power x time"] == "emart_jeju_01 0.8333 kWh"
    assert observed[2, "cost = energy x 150 KRW"] == "125.00 KRW"
    assert observed[2, "duration"] == "30 s"
    assert observed[4, "power together"] == "400 kW at the peak"

    async def recorded() -> list[tuple[int, str, tuple[str, ...], float]]:
        """Each run as recorded, and its verdict when verified again once all five have written
        their rows (what `ocppscope report` does): the later scenarios' sessions on the same
        chargers must not leak into an earlier run's window at --speed 10."""
        async with pg_connection(lab.database_url) as connection:
            runs = await latest_runs(connection)
            again = [await verify(connection, r.scenario, r.window) for r in runs]
        for r, checks in zip(runs, again, strict=True):
            assert all(c.passed for c in checks), (r.scenario, [c for c in checks if not c.passed])
        return [(r.scenario, r.verdict, r.window.charger_ids, r.window.speed) for r in runs]

    five = ("emart_jeju_01", "emart_jeju_02", "emart_jeju_03")
    five += ("emart_shinjeju_01", "emart_shinjeju_02")
    assert run(recorded()) == [
        (1, "PASS", ("emart_jeju_01",), SPEED),
        (2, "PASS", ("emart_jeju_01",), SPEED),
        (3, "PASS", ("emart_jeju_01",), SPEED),
        (4, "PASS", five, SPEED),
        (5, "PASS", five, SPEED),
    ]


def test_a_station_that_skips_seq_numbers_fails_scenario_2_naming_tx_003(
    lab: LabEndpoints,
) -> None:
    fleet = [StationSpec("emart_jeju_01", 100.0, profile="skips-seqno")]
    [result], _ = scenarios(lab, [2], fleet)
    assert result.verdict == "FAIL"
    assert set(failed(result)) == {"seqNo without gaps"}, failed(result)
    reason = failed(result)["seqNo without gaps"]
    assert reason.endswith("seqNo [1] missing (TX-003)"), reason


def test_a_dropped_transaction_event_fails_scenario_2_as_a_lost_message(
    lab: LabEndpoints,
) -> None:
    """The station retransmits after MessageTimeout (30 s simulated), so the session itself is
    complete: what fails is the lost message, named."""
    admin = AdminClient(lab.admin_url, lab.admin_token)
    drop = {"kind": "drop", "action": "TransactionEvent", "messageType": "CALL", "count": 1}
    admin.each("POST", "/faults", drop)
    try:
        [result], _ = scenarios(lab, [2])
    finally:
        admin.each("DELETE", "/faults")
    assert result.verdict == "FAIL"
    assert set(failed(result)) == {"zero lost messages"}, failed(result)
    reason = failed(result)["zero lost messages"]
    assert "TransactionEvent CALL of emart_jeju_01 dropped in transit" in reason, reason
    assert "unanswered" in reason, reason


def test_a_refused_rest_command_fails_scenario_3_with_the_csms_answer(lab: LabEndpoints) -> None:
    """The proxy answers RequestStartTransaction for the station with a CALLERROR: the REST API
    says so (422), the scenario stops there, and its first check carries that line."""
    admin = AdminClient(lab.admin_url, lab.admin_token)
    admin.each(
        "POST", "/faults", {"kind": "reply-error", "action": "RequestStartTransaction", "count": 1}
    )
    try:
        [result], lines = scenarios(lab, [3])
    finally:
        admin.each("DELETE", "/faults")
    assert result.verdict == "FAIL"
    first = result.checks[0]
    assert first.name == "steps" and not first.passed
    assert first.observed.startswith("POST /chargers/emart_jeju_01/start answered 422"), first
    assert any(line.startswith("scenario 3: POST") for line in lines), lines


def test_the_cli_runs_a_scenario_against_the_lab(lab: LabEndpoints, tmp_path: Path) -> None:
    finished = subprocess.run(
        [
            ocppscope_executable(),
            "scenario",
            "run",
            "2",
            f"--speed={SPEED:g}",
            f"--proxy={lab.proxy_url}",
            f"--admin={lab.admin_url}",
            f"--csms={lab.csms_url}",
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
        env={**environment(tmp_path), "OCPPSCOPE_DATABASE_URL": lab.database_url},
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "· scenario 2: A 30 s charging session" in finished.stdout
    assert "scenario 2 A 30 s charging session: PASS" in finished.stdout
    assert "125.00 KRW" in finished.stdout


def test_the_cli_starts_a_lab_of_its_own_when_none_answers(
    database_url: str, tmp_path: Path
) -> None:
    """Nothing answers at --admin: the supervisor starts the CSMS and the proxy on the given
    addresses for the run and stops them after it."""
    proxy, admin, csms = free_port(), free_port(), free_port()
    finished = subprocess.run(
        [
            ocppscope_executable(),
            "scenario",
            "run",
            "1",
            f"--speed={SPEED:g}",
            f"--proxy=ws://127.0.0.1:{proxy}",
            f"--admin=http://127.0.0.1:{admin}",
            f"--csms=http://127.0.0.1:{csms}",
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
        env={**environment(tmp_path), "OCPPSCOPE_DATABASE_URL": database_url},
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert f"· no lab answers at http://127.0.0.1:{admin}: starting one" in finished.stdout
    assert "scenario 1 Connection and BootNotification: PASS" in finished.stdout
    assert not processes_naming([str(proxy), str(admin), str(csms)])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["6"], "there is no scenario 6: they are numbered 1-5"),
        (["two"], "scenario 'two' is not 1-5, a list like 2,4, or all"),
        (["1", "--proxy=http://127.0.0.1:9000"], "--proxy 'http://127.0.0.1:9000' is not"),
        (["1", "--admin=127.0.0.1:9464"], "--admin '127.0.0.1:9464' is not an http://"),
        (["1", "--csms=localhost:8080"], "--csms 'localhost:8080' is not an http://"),
        (["1", "--speed=0"], "--speed"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    finished = subprocess.run(
        [ocppscope_executable(), "scenario", "run", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=environment(tmp_path),
    )
    assert finished.returncode == 2, finished
    [line] = finished.stderr.splitlines()
    assert line.startswith("ocppscope: ") and message in line, line


def test_run_scenarios_refuses_an_unknown_scenario(lab: LabEndpoints) -> None:
    with pytest.raises(ValueError, match="no scenario 9"):
        asyncio.run(run_scenarios(lab, [9], SPEED, print))
