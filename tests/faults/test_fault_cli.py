"""`ocppscope fault ...` as a test-lab user runs it: the installed console script against a real
`ocppscope proxy` process (no database, admin API on a free port of 127.0.0.1), with a CSMS and
chargers from the harness in this process. Every process started here is stopped in `finally`
(SIGTERM, then SIGKILL), and every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest
from typer.testing import CliRunner
from websockets.exceptions import InvalidStatus

from ocppscope.cli.fault import fault_app
from proxy.faults.kinds import KINDS
from proxy.faults.plan import load_plan
from proxy.workers import affinity_key, worker_for
from tests.proxy_harness import (
    Charger,
    Csms,
    LogRecords,
    charger,
    run,
    running_csms,
    until,
    within,
)
from tests.proxy_harness import running_proxy as harness_proxy
from tests.support import environment, free_port, ocppscope_executable, stop_process

ROOT = Path(__file__).resolve().parents[2]
OCPPSCOPE = ocppscope_executable()
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
COMMAND_TIMEOUT = 60.0
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""127.0.0.1 straight, whatever http_proxy the environment has."""


def command_environment(tmp_path: Path) -> dict[str, str]:
    """tests.support.environment, without the developer's own admin URL or token."""
    env = environment(tmp_path / "data")
    for name in ("OCPPSCOPE_ADMIN_URL", "OCPPSCOPE_API_TOKEN", "http_proxy", "HTTP_PROXY"):
        env.pop(name, None)
    return env


def ocppscope(
    tmp_path: Path, *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OCPPSCOPE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
        cwd=ROOT,
        env={**command_environment(tmp_path), **(env or {})},
    )


async def ocppscope_async(tmp_path: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The same from a thread, so the CSMS and chargers in this event loop keep running."""
    return await asyncio.to_thread(ocppscope, tmp_path, *args)


def one_line_error(finished: subprocess.CompletedProcess[str], code: int) -> str:
    assert finished.returncode == code, finished
    assert finished.stdout == "", finished
    [line] = finished.stderr.splitlines()
    assert line.startswith("ocppscope: "), line
    return line


def consecutive_free_ports(count: int) -> int:
    """A port P with P..P+count-1 all free on 127.0.0.1 (a worker's admin is PORT+N)."""
    for _ in range(50):
        first = free_port()
        with contextlib.ExitStack() as held:
            try:
                for port in range(first, first + count):
                    probe = held.enter_context(socket.socket())
                    probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return first
    raise AssertionError(f"no {count} consecutive free ports")


def get_json(url: str) -> Any:
    with DIRECT.open(url, timeout=5) as response:
        return json.loads(response.read())


# ---- a real proxy process ----------------------------------------------------------------------


@dataclass
class ProxyProcess:
    process: subprocess.Popen[bytes]
    port: int
    admin_port: int
    log: Path
    ready_at: float
    """time.monotonic() when every worker's admin API first answered."""

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def url(self, station: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp/{station}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.asynccontextmanager
async def proxy_process(
    tmp_path: Path, upstream: Csms, *extra: str, workers: int = 1
) -> AsyncIterator[ProxyProcess]:
    port, admin = free_port(), consecutive_free_ports(workers)
    log = tmp_path / "proxy.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                OCPPSCOPE,
                "proxy",
                "--no-store",
                "--quiet",
                "--listen",
                f"127.0.0.1:{port}",
                "--upstream",
                upstream.url,
                "--admin",
                f"127.0.0.1:{admin}",
                "--workers",
                str(workers),
                *extra,
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=command_environment(tmp_path),
        )
    try:
        ready_at = await _answering(process, [admin + n for n in range(workers)], log)
        yield ProxyProcess(process, port, admin, log, ready_at)
    finally:
        await asyncio.to_thread(stop_process, process, STOP_TIMEOUT)


async def _answering(process: subprocess.Popen[bytes], ports: list[int], log: Path) -> float:
    deadline = time.monotonic() + START_TIMEOUT
    waiting = list(ports)
    while waiting:
        assert process.poll() is None, f"the proxy exited: {log.read_text()}"
        assert time.monotonic() < deadline, f"the proxy did not start: {log.read_text()}"
        try:
            await asyncio.to_thread(get_json, f"http://127.0.0.1:{waiting[0]}/healthz")
            waiting.pop(0)
        except OSError:
            await asyncio.sleep(0.05)
    return time.monotonic()


def heartbeat(message_id: str) -> str:
    return json.dumps([2, message_id, "Heartbeat", {}])


def answered(station: Charger) -> set[str]:
    return {json.loads(m)[1] for m in station.connection.received}


def table_rows(text: str) -> list[list[str]]:
    """The cells of a rich table's body rows (│ a │ b │)."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in text.splitlines()
        if line.strip().startswith("│")
    ]


# ---- usage errors: no proxy needed -------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param(["add", "drop", "--direction", "up"], "direction 'up'", id="direction"),
        pytest.param(["add", "drop", "--action", "heartbeat"], "action 'heartbeat'", id="action"),
        pytest.param(
            ["add", "drop", "--action", "Teapot"],
            "action 'Teapot' is not an action of OCPP 1.6, 2.0.1 or 2.1",
            id="action-of-no-version",
        ),
        pytest.param(
            [
                "add",
                "reply-error",
                "--action",
                "StartTransaction",
                "--error-code",
                "MessageTypeNotSupported",
            ],
            "errorCode 'MessageTypeNotSupported' does not exist in OCPP 1.6",
            id="code-1.6-lacks-on-a-1.6-action",
        ),
        pytest.param(["add", "drop", "--probability", "2"], "probability", id="probability"),
        pytest.param(["add", "drop", "--for", "10x"], "for '10x'", id="for"),
        pytest.param(["add", "drop", "--nth", "0"], "nth", id="nth-zero"),
        pytest.param(["add", "drop", "--count", "0"], "count", id="count-zero"),
        pytest.param(["add", "drop", "--delay", "1s"], "delay applies only", id="delay-on-drop"),
        pytest.param(["add", "blackhole"], "direction", id="blackhole"),
        pytest.param(["add", "explode"], "explode", id="kind"),
        pytest.param(["add", "drop", "--station", "a/b"], "station", id="station"),
        pytest.param(["outage", "--for", "-1s"], "for '-1s'", id="outage-for"),
        pytest.param(["disconnect", "--code", "1006"], "code 1006", id="close-code"),
        pytest.param(["add", "drop", "--admin", "127.0.0.1:9464"], "http://", id="admin-url"),
        pytest.param(["plan", "{tmp}/missing.yaml"], "missing.yaml", id="plan-missing"),
        pytest.param(["plan", "{tmp}/bad.yaml"], "step 1: outage needs 'for'", id="plan-bad"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_without_asking_the_proxy(
    tmp_path: Path, args: list[str], named: str
) -> None:
    (tmp_path / "bad.yaml").write_text("step:\n  - {at: 0, fault: {kind: outage}}\n")
    nobody = f"http://127.0.0.1:{free_port()}"
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    admin = [] if "--admin" in args else ["--admin", nobody]
    line = one_line_error(ocppscope(tmp_path, "fault", *args, *admin), 2)
    assert named in line
    assert "cannot reach" not in line  # refused before the proxy was asked


@pytest.mark.parametrize(
    "args",
    [["list"], ["add", "drop"], ["outage", "--for", "2s"], ["remove", "1"], ["clear"]],
    ids=lambda args: args[0],
)
def test_no_proxy_is_one_line_and_exit_1(tmp_path: Path, args: list[str]) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    line = one_line_error(ocppscope(tmp_path, "fault", *args, "--admin", nobody), 1)
    assert f"cannot reach the proxy's admin API at {nobody}" in line


def test_a_plan_with_no_proxy_is_exit_1_before_its_clock_starts(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("step:\n  - {at: 0, fault: {kind: drop, for: 30s}}\n")
    started = time.monotonic()
    nobody = f"http://127.0.0.1:{free_port()}"
    line = one_line_error(ocppscope(tmp_path, "fault", "plan", plan, "--admin", nobody), 1)
    assert "cannot reach" in line
    assert time.monotonic() - started < 15  # not after the plan's 30 s


@contextlib.contextmanager
def refusing_admin(detail: Any, status: int = 422) -> Iterator[str]:
    """An admin API that is up but refuses every change (a proxy of another version, say)."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.startswith("/healthz"):
                self._answer(200, {"status": "ok", "workers": 1})
            else:
                self._answer(200, {"rules": [], "retired": [], "applied": {}, "events": []})

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._answer(status, {"detail": detail})

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize(
    ("detail", "shown"),
    [
        ("kind 'drop' is not one of chaos", "the proxy answered 422: kind 'drop' is not one of"),
        ([{"msg": "Input should be a valid dictionary"}], "Input should be a valid dictionary"),
    ],
    ids=["fault-error", "validation-error"],
)
def test_a_proxy_refusing_the_rule_is_one_line_and_exit_2(
    tmp_path: Path, detail: Any, shown: str
) -> None:
    with refusing_admin(detail) as admin:
        line = one_line_error(ocppscope(tmp_path, "fault", "add", "drop", "--admin", admin), 2)
    assert shown in line


def test_an_http_proxy_in_the_environment_is_not_used_for_a_local_admin_api(
    tmp_path: Path,
) -> None:
    """Lab machines often have http_proxy set; urllib would send 127.0.0.1 there too."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    with refusing_admin("unused") as admin:
        listed = ocppscope(
            tmp_path,
            "fault",
            "list",
            "--admin",
            admin,
            env={"http_proxy": nowhere, "HTTP_PROXY": nowhere, "no_proxy": "", "NO_PROXY": ""},
        )
    assert listed.returncode == 0, listed
    assert "fault rules" in listed.stdout


# ---- against a running proxy -------------------------------------------------------------------


def test_add_list_remove_and_clear(tmp_path: Path) -> None:
    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with running_csms() as csms, proxy_process(tmp_path, csms) as proxy:

            async def fault(*args: str) -> subprocess.CompletedProcess[str]:
                return await ocppscope_async(tmp_path, "fault", *args, "--admin", proxy.admin)

            seen["add"] = await fault(
                "add", "drop", "--station", "emart_*", "--action", "Heartbeat",
                "--probability", "0.5", "--for", "10m",
            )  # fmt: skip
            seen["never"] = await fault("add", "drop", "--station", "never", "--probability", "0")
            seen["rules"] = (await asyncio.to_thread(get_json, f"{proxy.admin}/faults"))["rules"]
            seen["list"] = await fault("list")
            async with charger(proxy.url("never")) as never:  # probability 0: delivered
                await never.connection.send(heartbeat("n-1"))
                await until(lambda: answered(never) == {"n-1"}, what="the heartbeat answered")
            seen["remove"] = await fault("remove", "1")
            seen["remove again"] = await fault("remove", "1")
            seen["list after"] = await fault("list")
            seen["clear"] = await fault("clear")
            seen["clear again"] = await fault("clear")
            seen["final"] = await asyncio.to_thread(get_json, f"{proxy.admin}/faults?events=0")
        return seen

    seen = run(scenario(), 90)
    add = seen["add"]
    assert add.returncode == 0, add
    assert add.stdout == (
        "fault 1 added: drop, station emart_*, action Heartbeat, probability 0.5, for 600 s\n"
    )
    assert seen["never"].stdout == "fault 2 added: drop, station never, probability 0\n"
    assert [(r["id"], r["probability"]) for r in seen["rules"]] == [(1, 0.5), (2, 0.0)]

    listing = seen["list"]
    assert listing.returncode == 0, listing
    rows = table_rows(listing.stdout)
    assert [row[:2] for row in rows] == [["0", "1"], ["0", "2"]]
    assert rows[0][2] == "drop, station emart_*, action Heartbeat, probability 0.5, for 600 s"
    assert rows[0][3] == "0"
    expires_in = re.fullmatch(r"(\d+) s", rows[0][4])
    assert expires_in and 590 <= int(expires_in[1]) <= 600, rows[0]
    assert rows[1][4] == "-"

    assert seen["remove"].stdout == "fault 1 removed\n"
    line = one_line_error(seen["remove again"], 2)
    assert "the proxy answered 404: no fault rule 1" in line
    assert [row[1] for row in table_rows(seen["list after"].stdout)] == ["2"]
    assert seen["clear"].stdout == "1 fault rule removed\n"
    assert seen["clear again"].stdout == "0 fault rules removed\n"
    assert seen["final"]["rules"] == []
    assert [r["id"] for r in seen["final"]["retired"]] == [1, 2]


def test_disconnect_closes_one_station_and_an_outage_refuses_handshakes(tmp_path: Path) -> None:
    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with running_csms() as csms, proxy_process(tmp_path, csms) as proxy:

            async def fault(*args: str) -> subprocess.CompletedProcess[str]:
                return await ocppscope_async(tmp_path, "fault", *args, "--admin", proxy.admin)

            async with charger(proxy.url("X")) as x, charger(proxy.url("Y")) as y:
                await until(lambda: len(csms.sides) == 2, what="X and Y at the CSMS")
                seen["disconnect"] = await fault("disconnect", "--station", "X")
                seen["x closed"] = await within(x.closed())
                await y.connection.send(heartbeat("y-1"))  # Y is still connected
                await until(lambda: answered(y) == {"y-1"}, what="Y's heartbeat answered")

                seen["outage"] = await fault("outage", "--for", "2s")
                added_at = time.monotonic()
                seen["y closed"] = await within(y.closed())
            try:
                async with charger(proxy.url("Y")):
                    seen["during"] = "connected"
            except InvalidStatus as refused:
                seen["during"] = refused.response.status_code
            await asyncio.sleep(max(0.0, added_at + 2.6 - time.monotonic()))
            async with charger(proxy.url("Y")) as again:
                await again.connection.send(heartbeat("y-2"))
                await until(lambda: answered(again) == {"y-2"}, what="answer after the outage")
        return seen

    seen = run(scenario(), 90)
    assert seen["disconnect"].stdout == "fault 1 added: disconnect, station X\n"
    assert seen["x closed"] == 1001
    assert seen["outage"].stdout == "fault 2 added: outage, station *, for 2 s\n"
    assert seen["y closed"] == 1001
    assert seen["during"] == 503


def test_a_token_is_sent_when_given_and_its_absence_is_exit_2(tmp_path: Path) -> None:
    token = "lab-token-1"

    async def scenario() -> tuple[subprocess.CompletedProcess[str], ...]:
        async with (
            running_csms() as csms,
            proxy_process(tmp_path, csms, "--admin-token", token) as proxy,
        ):
            without = await ocppscope_async(
                tmp_path, "fault", "add", "drop", "--admin", proxy.admin
            )
            with_token = await ocppscope_async(
                tmp_path, "fault", "add", "drop", "--admin", proxy.admin, "--admin-token", token
            )
            listed = await ocppscope_async(
                tmp_path, "fault", "list", "--admin", proxy.admin, "--admin-token", token
            )
        return without, with_token, listed

    without, with_token, listed = run(scenario(), 90)
    assert "the proxy answered 401" in one_line_error(without, 2)
    assert with_token.stdout == "fault 1 added: drop, station *\n"
    assert [row[1] for row in table_rows(listed.stdout)] == ["1"]


# ---- fault plans -------------------------------------------------------------------------------


async def keep_sending(
    station: Charger, sent: list[tuple[float, str]], stop: asyncio.Event, every: float = 0.05
) -> None:
    """Heartbeats until `stop` (bounded by the test's own timeout), with when each went."""
    for number in range(10_000):
        if stop.is_set():
            return
        message_id = f"hb-{number}"
        sent.append((time.monotonic(), message_id))
        await station.connection.send(heartbeat(message_id))
        await asyncio.sleep(every)


def test_fault_plan_prints_what_each_rule_did(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "step:\n"
        "  - at: 0s\n"
        "    fault: {kind: drop, action: Heartbeat, messageType: CALL, for: 2s}\n"
        "  - at: 500ms\n"
        "    fault: {kind: duplicate, station: nobody, for: 1s}\n"
    )

    async def scenario() -> tuple[subprocess.CompletedProcess[str], set[str], list[str]]:
        sent: list[tuple[float, str]] = []
        stop = asyncio.Event()
        async with (
            running_csms() as csms,
            proxy_process(tmp_path, csms) as proxy,
            charger(proxy.url("CS-PLAN")) as station,
        ):
            sender = asyncio.get_running_loop().create_task(keep_sending(station, sent, stop))
            try:
                await asyncio.sleep(0.3)  # heartbeats before the plan: answered
                finished = await ocppscope_async(
                    tmp_path, "fault", "plan", plan, "--admin", proxy.admin
                )
                await asyncio.sleep(0.3)  # and after it
            finally:
                stop.set()
                await within(sender)
            last = sent[-1][1]
            await until(lambda: last in answered(station), what="the last heartbeat answered")
            return finished, answered(station), [message_id for _, message_id in sent]

    finished, answers, sent = run(scenario(), 90)
    assert finished.returncode == 0, finished
    lines = finished.stdout.splitlines()
    assert lines[0] == f"plan {plan}: 2 steps over 2 s"
    assert lines[1] == "fault 1: drop, station *, action Heartbeat, messageType CALL, for 2 s"
    assert lines[2] == "fault 2: duplicate, station nobody, for 1 s"
    dropped = [message_id for message_id in sent if message_id not in answers]
    assert 20 <= len(dropped) <= 45, dropped  # 2 s of heartbeats every 50 ms
    assert sent[0] in answers and sent[-1] in answers
    rows = table_rows(finished.stdout)
    assert [(row[0], row[2]) for row in rows] == [("1", str(len(dropped))), ("2", "0")]
    assert rows[0][1] == "drop, station *, action Heartbeat, messageType CALL, for 2 s"


def test_proxy_runs_a_fault_plan_from_start_up(tmp_path: Path) -> None:
    """Heartbeats are dropped for the plan's 3 s from start-up, then delivered."""
    plan = tmp_path / "plan.toml"
    plan.write_text(
        '[[step]]\nat = "0s"\nfault = { kind = "drop", action = "Heartbeat", for = "3s" }\n'
    )

    async def scenario() -> tuple[float, list[tuple[float, str]], set[str], str, int]:
        sent: list[tuple[float, str]] = []
        stop = asyncio.Event()
        async with (
            running_csms() as csms,
            proxy_process(tmp_path, csms, "--fault-plan", str(plan)) as proxy,
            charger(proxy.url("CS-STARTUP")) as station,
        ):
            sender = asyncio.get_running_loop().create_task(keep_sending(station, sent, stop))
            try:
                await asyncio.sleep(max(0.0, proxy.ready_at + 4.5 - time.monotonic()))
            finally:
                stop.set()
                await within(sender)
            last = sent[-1][1]
            await until(lambda: last in answered(station), what="the last heartbeat answered")
            await until(lambda: "finished" in proxy.output(), what="the plan's last line")
            return proxy.ready_at, sent, answered(station), proxy.output(), csms.counts["Heartbeat"]

    ready_at, sent, answers, output, at_the_csms = run(scenario(), 90)
    dropped = [m for _, m in sent if m not in answers]
    assert dropped == [m for _, m in sent][: len(dropped)]  # a prefix: nothing dropped later
    early = [m for at, m in sent if at < ready_at + 2.7]
    assert dropped[: len(early)] == early, "dropped during the plan"
    assert all(m in answers for at, m in sent if at > ready_at + 3.3), "delivered after it"
    assert len(early) >= 20
    assert at_the_csms == len(sent) - len(dropped)
    assert f"fault plan {plan} started" in output
    assert f"fault plan {plan} finished: " in output  # what it did: the test below


def test_the_proxy_logs_what_its_start_up_plan_did(tmp_path: Path) -> None:
    """The in-process half of --fault-plan: the faults addon plays the plan and logs what it did."""
    plan = tmp_path / "plan.yaml"
    plan.write_text("step:\n  - {at: 0, fault: {kind: drop, action: Heartbeat, for: 1s}}\n")

    async def scenario() -> tuple[list[str], list[str], set[str]]:
        sent: list[tuple[float, str]] = []
        stop = asyncio.Event()
        async with (
            running_csms() as csms,
            harness_proxy(tmp_path, csms.url) as proxy,
            charger(proxy.url("/ocpp/CS-LOG")) as station,
        ):
            sender = asyncio.get_running_loop().create_task(keep_sending(station, sent, stop))
            try:
                with LogRecords.of("ocppscope") as logs:
                    faults = proxy.running.master.addons.get("faults")
                    await within(faults.play(load_plan(plan), str(plan)))
                await asyncio.sleep(0.3)  # heartbeats after it: answered
            finally:
                stop.set()
                await within(sender)
            last = sent[-1][1]
            await until(lambda: last in answered(station), what="the last heartbeat answered")
            return logs.messages, [m for _, m in sent], answered(station)

    messages, sent, answers = run(scenario(), 60)
    dropped = [m for m in sent if m not in answers]
    assert len(dropped) >= 10
    assert messages[-1] == f"fault plan {plan} finished: fault 1 applied {len(dropped)} times"


def test_the_proxy_refuses_a_bad_fault_plan_before_it_starts(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("step:\n  - {at: 0, fault: {kind: drop, direction: up}}\n")
    finished = ocppscope(
        tmp_path,
        "proxy",
        "--no-store",
        "--quiet",
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--fault-plan",
        plan,
    )
    line = one_line_error(finished, 2)
    assert f"{plan}: step 1: direction 'up'" in line


# ---- --workers 2 -------------------------------------------------------------------------------


def station_on(worker: int, workers: int = 2) -> str:
    return next(
        f"CS-W{n}"
        for n in range(1000)
        if worker_for(affinity_key(f"GET /ocpp/CS-W{n} HTTP/1.1\r\n".encode(), ""), workers)
        == worker
    )


async def from_worker(proxy: ProxyProcess, worker: int, path: str) -> Any:
    """GET from one worker's own admin API (PORT+worker)."""
    return await asyncio.to_thread(get_json, f"http://127.0.0.1:{proxy.admin_port + worker}{path}")


def test_with_two_workers_every_change_reaches_both(tmp_path: Path) -> None:
    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with running_csms() as csms, proxy_process(tmp_path, csms, workers=2) as proxy:
            admin = ("--admin", proxy.admin)
            seen["health"] = [await from_worker(proxy, n, "/healthz") for n in (0, 1)]
            seen["add"] = await ocppscope_async(
                tmp_path, "fault", "add", "drop", "--action", "Heartbeat", *admin
            )
            seen["rules"] = [(await from_worker(proxy, n, "/faults"))["rules"] for n in (0, 1)]
            seen["list"] = await ocppscope_async(tmp_path, "fault", "list", *admin)
            for worker in (0, 1):  # the rule acts on a station of each worker
                async with charger(proxy.url(station_on(worker))) as station:
                    await station.connection.send(heartbeat("dropped"))
                    await station.connection.send(
                        json.dumps([2, "delivered", "DataTransfer", {"vendorId": "x"}])
                    )
                    await until(lambda s=station: answered(s) == {"delivered"}, what="answer")
            seen["applied"] = [
                [r["applied"] for r in (await from_worker(proxy, n, "/faults"))["rules"]]
                for n in (0, 1)
            ]
            seen["clear"] = await ocppscope_async(tmp_path, "fault", "clear", *admin)
            seen["heartbeats"] = csms.counts["Heartbeat"]
        return seen

    seen = run(scenario(), 120)
    assert [h["workers"] for h in seen["health"]] == [2, 2]
    assert seen["add"].stdout == "fault 1 added on 2 workers: drop, station *, action Heartbeat\n"
    assert [[r["id"] for r in rules] for rules in seen["rules"]] == [[1], [1]]
    rows = table_rows(seen["list"].stdout)
    assert [row[:2] for row in rows] == [["0", "1"], ["1", "1"]]
    assert seen["applied"] == [[1], [1]]  # one station's heartbeat on each worker
    assert seen["heartbeats"] == 0
    assert seen["clear"].stdout == "1 fault rule removed\n"  # one rule, on both workers


def test_fault_add_help_says_what_every_kind_does_from_the_table() -> None:
    result = CliRunner().invoke(fault_app, ["add", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    for row in KINDS.values():
        assert f"{row.kind.value}: {row.summary}" in shown
    assert "disconnect/outage: the close code both sides get (default 1001)." in shown
