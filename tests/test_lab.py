"""`ocppscope up` as a real process on free ports: every part reachable, a charger through the
printed proxy URL, Ctrl-C stops every child, a taken port or a dead child stops it with one line.
The plan (which children, which options) is pure and tested without processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ocppscope.cli.lab import fleet_args
from ocppscope.lab.plan import ChildSpec, LabPlan
from ocppscope.lab.supervisor import Lab, LabError, _wait_ready, awaited, check_ports_free
from proxy.processes import Children
from proxy.settings import Endpoint
from tests.pg import fetch
from tests.proxy_harness import charger, run, running_csms
from tests.support import environment, free_port, ocppscope_executable, stop_process

READY_SECONDS = 120.0
STOP_SECONDS = 40.0
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def plan(**changes: object) -> LabPlan:
    fields: dict[str, object] = {
        "listen": Endpoint("0.0.0.0", 9000),
        "admin": Endpoint("127.0.0.1", 9464),
        "csms_ocpp": Endpoint("127.0.0.1", 9001),
        "csms_http": Endpoint("127.0.0.1", 8080),
        "control": Endpoint("127.0.0.1", 9002),
    }
    return LabPlan(**{**fields, **changes})  # type: ignore[arg-type]


# ---- the plan ----------------------------------------------------------------------------------


@pytest.mark.unit
def test_plan_runs_the_csms_then_the_proxy_in_front_of_it() -> None:
    lab = plan()
    csms, proxy = lab.children()
    assert csms.args == ("csms", "--ocpp", "127.0.0.1:9001", "--http", "127.0.0.1:8080")
    assert csms.health_url == "http://127.0.0.1:8080/chargers"
    assert proxy.args == (
        "proxy",
        *("--listen", "0.0.0.0:9000"),
        *("--upstream", "ws://127.0.0.1:9001"),
        *("--admin", "127.0.0.1:9464"),
    )
    assert proxy.health_url == "http://127.0.0.1:9464/healthz"
    endpoints = lab.endpoints("postgresql://db")
    assert endpoints.proxy_url == "ws://127.0.0.1:9000"  # the wildcard bind, reached on loopback
    assert (endpoints.admin_url, endpoints.csms_url) == (
        "http://127.0.0.1:9464",
        "http://127.0.0.1:8080",
    )


@pytest.mark.unit
def test_plan_with_upstream_has_no_csms_and_the_fleet_waits_for_the_proxy() -> None:
    lab = plan(upstream="wss://csms.example:443", fleet=("--count", "3"))
    names = [spec.name for spec in lab.children()]
    assert names == ["proxy", "fleet"]
    proxy, fleet = lab.children()
    assert "wss://csms.example:443" in proxy.args
    assert fleet.after_ready and not proxy.after_ready
    assert fleet.args[-2:] == ("--count", "3")
    assert fleet.args[1:3] == ("--url", "ws://127.0.0.1:9000")
    assert [option for option, _ in lab.bound()] == ["--listen", "--admin", "--control"]


@pytest.mark.unit
def test_plan_with_explore_serves_the_explorer_after_the_proxy() -> None:
    lab = plan(explore=Endpoint("127.0.0.1", 8090), fleet=())
    assert [spec.name for spec in lab.children()] == ["csms", "proxy", "explore", "fleet"]
    explore = lab.children()[2]
    assert explore.args == ("explore", "--listen", "127.0.0.1:8090")
    assert explore.health_url == "http://127.0.0.1:8090/api/stations"
    assert ("--explore", Endpoint("127.0.0.1", 8090)) in lab.bound()


@pytest.mark.unit
def test_the_fleets_protocol_goes_to_simulate() -> None:
    assert fleet_args(None, 3, False, "ocpp1.6") == ("--count", "3", "--protocol", "ocpp1.6")
    assert fleet_args(None, None, True, "ocpp2.1") == ("--protocol", "ocpp2.1")
    assert fleet_args(None, None, True) == ()  # simulate's default: 2.0.1
    assert fleet_args(None, None, False) is None
    fleet = plan(fleet=("--protocol", "ocpp1.6")).children()[-1]
    assert fleet.args[0] == "simulate" and fleet.args[-2:] == ("--protocol", "ocpp1.6")


@pytest.mark.unit
def test_two_options_on_one_port_are_refused() -> None:
    with pytest.raises(ValueError, match="--listen and --csms-http both use port 8080"):
        plan(listen=Endpoint("0.0.0.0", 8080)).check()


def test_a_taken_port_is_named_by_its_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LabError, match=f"--admin 127.0.0.1:{port}: Address already in use"):
            check_ports_free(
                plan(
                    listen=Endpoint("127.0.0.1", free_port()),
                    admin=Endpoint("127.0.0.1", port),
                    csms_ocpp=Endpoint("127.0.0.1", free_port()),
                    csms_http=Endpoint("127.0.0.1", free_port()),
                )
            )


def test_each_child_is_awaited_for_what_tells_it_is_ready() -> None:
    assert awaited(ChildSpec("csms", (), health_url="http://h/x")) == "answer http://h/x"
    assert awaited(ChildSpec("fleet", (), listens=Endpoint("127.0.0.1", 9002))) == (
        "listen on port 9002"
    )
    assert awaited(ChildSpec("idle", ())) == "start"


def test_a_child_without_a_readiness_check_is_ready_once_started(tmp_path: Path) -> None:
    lab = Lab(plan().endpoints("postgresql://unused"), Children(tmp_path))
    child = lab.children.start("idle", [sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        _wait_ready(lab, [(child, ChildSpec("idle", ()))])
    finally:
        lab.children.stop_all()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--listen", "nonsense"], "--listen: 'nonsense' is not HOST:PORT (e.g. 0.0.0.0:9000)"),
        (["--upstream", "http://x"], "--upstream: 'http://x' is not a ws:// or wss:// URL"),
        (["--count", "3", "--seed-fleet"], "give one of --fleet, --count and --seed-fleet"),
        (["--admin", "127.0.0.1:9000", "--listen", "127.0.0.1:9000"], "both use port 9000"),
        (
            ["--seed-fleet", "--protocol", "ocpp1.5"],
            "--protocol 'ocpp1.5' is not one of ocpp1.6, ocpp2.0.1, ocpp2.1",
        ),
        (["--protocol", "ocpp1.6"], "--protocol is the simulated fleet's: give --seed-fleet"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    result = subprocess.run(
        [ocppscope_executable(), "up", *args],
        env=environment(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and expected in result.stderr, result.stderr


# ---- ocppscope up as a process -----------------------------------------------------------------


@dataclass
class Ports:
    listen: int
    admin: int
    csms_ocpp: int
    csms_http: int
    explore: int
    control: int

    @classmethod
    def free(cls) -> Ports:
        return cls(free_port(), free_port(), free_port(), free_port(), free_port(), free_port())

    def args(self) -> list[str]:
        return [
            *("--listen", f"127.0.0.1:{self.listen}"),
            *("--admin", f"127.0.0.1:{self.admin}"),
            *("--csms-ocpp", f"127.0.0.1:{self.csms_ocpp}"),
            *("--csms-http", f"127.0.0.1:{self.csms_http}"),
            *("--explore", f"127.0.0.1:{self.explore}"),
            *("--control", f"127.0.0.1:{self.control}"),
        ]


@dataclass
class Up:
    process: subprocess.Popen[bytes]
    output: Path
    errors: Path

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def stderr(self) -> str:
        return self.errors.read_text(errors="replace")

    def children(self) -> dict[int, str]:
        """PID → `ocppscope` subcommand of each living child of `up`."""
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == self.process.pid and stat[0] != "Z":
                    found[int(entry.name)] = (entry / "cmdline").read_bytes().decode()
        return {pid: line.split("ocppscope\0", 1)[1].split("\0")[0] for pid, line in found.items()}

    def wait(self, seconds: float = STOP_SECONDS) -> int:
        return self.process.wait(seconds)


@contextlib.contextmanager
def started(
    tmp_path: Path,
    args: list[str],
    database_url: str | None,
    ready: str = "ocppscope lab is up",
    seconds: float = READY_SECONDS,
) -> Iterator[Up]:
    """`ocppscope ARGS` (`up` unless ARGS say otherwise) once it has printed `ready`; stopped
    (SIGINT, then KILL) after."""
    env = environment(tmp_path / "data")
    if database_url is not None:
        env["OCPPSCOPE_DATABASE_URL"] = database_url
    output, errors = tmp_path / "up.out", tmp_path / "up.err"
    with output.open("wb") as stdout, errors.open("wb") as stderr:
        process = subprocess.Popen(
            [ocppscope_executable(), *(args if args[0] == "demo" else ["up", *args])],
            stdout=stdout,
            stderr=stderr,
            env=env,
        )
    up = Up(process, output, errors)
    try:
        deadline = time.monotonic() + seconds
        while ready not in up.text():
            assert process.poll() is None, f"exited with {process.returncode}: {up.stderr()}"
            assert time.monotonic() < deadline, f"no '{ready}' in {seconds} s: {up.text()}"
            time.sleep(0.2)
        yield up
    finally:
        stop_process(process, STOP_SECONDS, signal.SIGINT)


def get(url: str) -> tuple[int, str]:
    with DIRECT.open(url, timeout=10) as response:
        return response.status, response.read().decode(errors="replace")


def status_of(url: str, body: object, token: str | None = None) -> int:
    """The status of a POST of `body` as JSON, with `token` as the bearer."""
    request = urllib.request.Request(url, json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with DIRECT.open(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def gone(pids: list[int], seconds: float = 5.0) -> list[int]:
    """The PIDs of `pids` still alive after `seconds`."""
    alive = list(pids)
    for _ in range(int(seconds / 0.1)):
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
        if not alive:
            break
        time.sleep(0.1)
    return alive


def _zombie(pid: int) -> bool:
    with contextlib.suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    return False


def printed_proxy_url(up: Up) -> str:
    found = re.search(r"chargers connect to\s+(ws://\S+)/<stationId>", up.text())
    assert found, up.text()
    return found.group(1)


def test_up_runs_the_lab_and_ctrl_c_stops_every_child(tmp_path: Path, database_url: str) -> None:
    ports = Ports.free()
    with started(tmp_path, [*ports.args(), "--seed-fleet"], database_url) as up:
        children = up.children()
        assert sorted(children.values()) == ["csms", "explore", "proxy", "simulate"]
        csms = f"http://127.0.0.1:{ports.csms_http}"
        explore = f"http://127.0.0.1:{ports.explore}"
        assert re.search(rf"session explorer\s+{explore}/", up.text())
        assert "<html" in get(f"{explore}/")[1].lower()
        admin = f"http://127.0.0.1:{ports.admin}"
        assert json.loads(get(f"{admin}/healthz")[1])["status"] == "ok"
        assert "<html" in get(f"{csms}/")[1].lower()  # the map
        assert get(f"{csms}/docs")[0] == 200
        assert "ocppscope_stations_connected" in get(f"{admin}/metrics")[1]
        assert "ocppscope_csms_sessions_running" in get(f"{csms}/metrics")[1]
        text = up.text()
        for shown in (f"{csms}/", f"{csms}/docs", f"{admin}/metrics", f"{csms}/metrics"):
            assert shown in text
        assert "ocppscope fault outage --for 20s --admin" in text
        assert re.search(r"database\s+postgresql://", text)
        token = (tmp_path / "data" / "api-token").read_text().strip()
        assert re.search(rf"API token\s+{re.escape(token)}", text)
        start = f"{csms}/chargers/nowhere_01/start"
        assert status_of(start, {"idToken": "T1"}) == 401
        assert status_of(start, {"idToken": "T1"}, token) == 404  # through to the API

        url = printed_proxy_url(up)
        assert url == f"ws://127.0.0.1:{ports.listen}"

        async def boot() -> None:
            async with charger(f"{url}/ocpp/lab_test_01") as station:
                answer = await station.boot()
                assert (answer.status, answer.interval) == ("Accepted", 30)

        run(boot())

        def simulated_connected() -> bool:
            return json.loads(get(f"{csms}/chargers/emart_jeju_01")[1])["status"] == "Online"

        deadline = time.monotonic() + 30
        while not simulated_connected():
            assert time.monotonic() < deadline, "the simulated fleet never reached the CSMS"
            time.sleep(0.2)

        up.process.send_signal(signal.SIGINT)
        assert up.wait() == 0, up.stderr()
        assert gone(list(children)) == []
    assert "lab stopped" in up.text()
    assert "proxy │" in up.text() and " csms │" in up.text()  # the children's logs, prefixed


def test_up_runs_a_1_6_fleet_with_protocol(tmp_path: Path, database_url: str) -> None:
    """`up --count 2 --protocol ocpp1.6`: two simulated stations boot through the proxy on 1.6,
    as the CSMS records them."""
    ports = Ports.free()
    args = [*ports.args(), "--count", "2", "--protocol", "ocpp1.6"]
    with started(tmp_path, args, database_url) as up:
        assert re.search(r"simulated fleet\s+--count 2 --protocol ocpp1\.6", up.text())
        csms = f"http://127.0.0.1:{ports.csms_http}"
        deadline = time.monotonic() + 60
        while not all(online(csms, f"SIM-0000{n}") for n in (1, 2)):
            assert time.monotonic() < deadline, "the 1.6 fleet never came online"
            time.sleep(0.5)
        versions = run(
            fetch(
                database_url,
                "SELECT charger_id, ocpp_version FROM charger_info WHERE charger_id LIKE 'SIM-%'",
            )
        )
    recorded = {row["charger_id"]: row["ocpp_version"] for row in versions}
    assert recorded == {"SIM-00001": "ocpp1.6", "SIM-00002": "ocpp1.6"}, recorded


def online(csms: str, station: str) -> bool:
    """The CSMS knows the station (404 until its first connection) and it is connected."""
    try:
        return json.loads(get(f"{csms}/chargers/{station}")[1]).get("status") == "Online"
    except urllib.error.HTTPError as refused:
        assert refused.code == 404, refused
        return False


def test_a_child_that_dies_stops_the_lab_with_one_line(tmp_path: Path, database_url: str) -> None:
    with started(tmp_path, Ports.free().args(), database_url) as up:
        children = up.children()
        csms = next(pid for pid, command in children.items() if command == "csms")
        os.kill(csms, signal.SIGKILL)
        assert up.wait() == 1
        assert gone(list(children)) == []
    lines = up.stderr().strip().splitlines()
    log = tmp_path / "data" / "lab" / "csms-0.log"
    assert lines == [f"ocppscope: csms was killed by SIGKILL (log: {log})"], lines


def test_a_taken_port_fails_before_anything_starts(tmp_path: Path) -> None:
    ports = Ports.free()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports.listen))
        taken.listen()
        result = subprocess.run(
            [ocppscope_executable(), "up", *ports.args()],
            env=environment(tmp_path / "data"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"ocppscope: --listen 127.0.0.1:{ports.listen}: Address already in use "
        "(give another port with that option)"
    )
    assert not (tmp_path / "data" / "postgres").exists()  # not even the database started


def test_upstream_puts_the_proxy_in_front_of_another_csms(tmp_path: Path) -> None:
    """On the embedded PostgreSQL (no OCPPSCOPE_DATABASE_URL), which stops with the lab."""
    ports = Ports.free()

    async def scenario() -> None:
        async with running_csms(heartbeat_interval=77) as external:
            args = [*ports.args(), "--upstream", external.url]
            with started(tmp_path, args, database_url=None) as up:
                assert list(up.children().values()) == ["proxy", "explore"]
                assert re.search(rf"upstream CSMS\s+{external.url}", up.text())
                async with charger(f"{printed_proxy_url(up)}/ocpp/lab_up_01") as station:
                    answer = await station.boot()
                assert (answer.status, answer.interval) == ("Accepted", 77)
                assert external.counts["BootNotification"] == 1
                up.process.send_signal(signal.SIGINT)
                assert await asyncio.to_thread(up.wait) == 0, up.stderr()

    run(scenario(), timeout=READY_SECONDS + STOP_SECONDS)
    postmaster = tmp_path / "data" / "postgres" / "postmaster.pid"
    assert (tmp_path / "data" / "postgres").is_dir() and not postmaster.exists()


def test_demo_runs_the_five_scenarios_reports_and_keeps_the_lab_up(
    tmp_path: Path, database_url: str
) -> None:
    """At --speed 10 with --keep-running: scenarios 1-5 run, the report verifies each again and
    says five PASS, the map still answers afterwards, Ctrl-C then stops every child, exit 0.
    (.ci/run checks `make demo` in real time the same way.)"""
    ports = Ports.free()
    args = ["demo", *ports.args()[:10], "--speed", "10", "--keep-running"]
    with started(tmp_path, args, database_url, "what to open now", 300) as demo:
        children = demo.children()
        # the scenarios bring the fleet
        assert sorted(children.values()) == ["csms", "explore", "proxy"]
        csms = f"http://127.0.0.1:{ports.csms_http}"
        assert "<html" in get(f"{csms}/")[1].lower()
        text = demo.text()
        assert re.search(rf"live map\s+{csms}/", text)
        assert re.search(rf"session explorer\s+http://127.0.0.1:{ports.explore}/", text)
        for number in range(1, 6):
            assert re.search(rf"scenario {number}: (PASS|FAIL)", text), text
        verdicts = re.search(r"^(\d) PASS, (\d) FAIL, 0 not run: exit code (\d)$", text, re.M)
        assert verdicts, text
        assert verdicts.groups() == ("5", "0", "0"), text
        demo.process.send_signal(signal.SIGINT)
        assert demo.wait() == 0, demo.stderr()
        assert gone(list(children)) == []
