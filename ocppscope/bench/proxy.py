"""`ocppscope bench proxy`: calls/s, added latency, CPU and memory of `ocppscope proxy` next to
stock `mitmdump` and a direct connection, all measured in the same run on 127.0.0.1.

Processes: a CSMS stand-in (this module, `python -m ocppscope.bench.proxy csms`), one proxy at a
time (a fresh process per path and station count) and the load generator (this process,
`websockets` asyncio clients). Every child is started here, stopped in a `finally` (SIGTERM, then
SIGKILL) and also killed by the kernel if this process dies (PR_SET_PDEATHSIG).

Each station connects, boots, then runs a charging-session mix of CALLs (StatusNotification,
TransactionEvent Started/Updated/Ended, Heartbeat) that the CSMS answers with CALLRESULTs; the
traffic is compliant, so the conformance addon does its normal work and not an error path.
Two load shapes per path and station count:
- throughput: every station sends its next CALL as soon as the previous one is answered;
- latency: every station sends one CALL per second, the stations spread evenly over the second.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import inspect
import math
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console, JustifyMethod
from rich.table import Table
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import WebSocketException
from websockets.typing import Subprotocol

from proxy.processes import (
    HOST,
    STOP_TIMEOUT,
    Child,
    Children,
    console_script,
    cpu_seconds,
    free_port,
    machine_busy_seconds,
    ocppscope_command,
    own_cpu_seconds,
    raise_fd_limit,
    rss_mb,
)

SUBPROTOCOL = "ocpp2.0.1"
HEARTBEAT_INTERVAL = 300
CONNECT_BATCH = 50
"""Handshakes in flight at once (asyncio's default listen backlog is 100)."""
OPEN_TIMEOUT = 10.0
CONNECT_SECONDS_PER_STATION = 0.05
CONNECT_MIN_SECONDS = 20.0
CALL_TIMEOUT = 10.0
CLOSE_TIMEOUT = 10.0
WARMUP_SECONDS = 0.5
MAX_CALLS_PER_STATION = 1_000_000
CSMS_LIFETIME = 3600.0
"""The CSMS exits on its own after this long, whatever happens to this process."""


# ---- traffic ---------------------------------------------------------------------------------


def _now_text() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


class StationTraffic:
    """One station's CALLs: boot, then charging sessions with status changes and heartbeats."""

    CYCLE = (
        "occupied",
        "started",
        "charging",
        "meter",
        "meter",
        "heartbeat",
        "meter",
        "meter",
        "meter",
        "ended",
        "available",
        "heartbeat",
    )
    POWER_W = 11_000.0

    def __init__(self, station: str) -> None:
        self.station = station
        self.step = 0
        self.transactions = 0
        self.seq_no = 0
        self.energy_wh = 1_000_000.0
        self._message_ids = 0

    def _call(self, action: str, payload: dict[str, Any]) -> tuple[str, str]:
        self._message_ids += 1
        message_id = str(self._message_ids)
        return message_id, orjson.dumps([2, message_id, action, payload]).decode()

    def boot(self) -> tuple[str, str]:
        return self._call(
            "BootNotification",
            {
                "reason": "PowerUp",
                "chargingStation": {
                    "vendorName": "ocppscope",
                    "model": "bench",
                    "serialNumber": self.station,
                    "firmwareVersion": "1.0.0",
                },
            },
        )

    def status(self, connector_status: str) -> tuple[str, str]:
        return self._call(
            "StatusNotification",
            {
                "timestamp": _now_text(),
                "connectorStatus": connector_status,
                "evseId": 1,
                "connectorId": 1,
            },
        )

    def next_call(self) -> tuple[str, str]:
        """(message id, CALL text) of the next message of the mix."""
        step = self.CYCLE[self.step % len(self.CYCLE)]
        self.step += 1
        if step == "heartbeat":
            return self._call("Heartbeat", {})
        if step in ("occupied", "available"):
            return self.status("Occupied" if step == "occupied" else "Available")
        if step == "started":
            self.transactions += 1
            self.seq_no = 0
            return self._transaction_event("Started", "CablePluggedIn", "EVConnected")
        self.seq_no += 1
        self.energy_wh += self.POWER_W * 10 / 3600
        if step == "charging":
            return self._transaction_event("Updated", "ChargingStateChanged", "Charging")
        if step == "meter":
            return self._transaction_event("Updated", "MeterValuePeriodic", "Charging")
        return self._transaction_event("Ended", "EVCommunicationLost", "Idle", "EVDisconnected")

    def _transaction_event(
        self, event_type: str, trigger: str, state: str, stopped: str | None = None
    ) -> tuple[str, str]:
        now = _now_text()
        info: dict[str, Any] = {
            "transactionId": f"{self.station}-{self.transactions}",
            "chargingState": state,
        }
        if stopped:
            info["stoppedReason"] = stopped
        return self._call(
            "TransactionEvent",
            {
                "eventType": event_type,
                "timestamp": now,
                "triggerReason": trigger,
                "seqNo": self.seq_no,
                "transactionInfo": info,
                "evse": {"id": 1, "connectorId": 1},
                "meterValue": [
                    {
                        "timestamp": now,
                        "sampledValue": [
                            {
                                "value": round(self.energy_wh, 1),
                                "measurand": "Energy.Active.Import.Register",
                                "unitOfMeasure": {"unit": "Wh"},
                            },
                            {
                                "value": self.POWER_W if state == "Charging" else 0.0,
                                "measurand": "Power.Active.Import",
                                "unitOfMeasure": {"unit": "W"},
                            },
                        ],
                    }
                ],
            },
        )


# ---- the CSMS (a child process) ----------------------------------------------------------------


def csms_response(action: str, heartbeat_interval: int = HEARTBEAT_INTERVAL) -> dict[str, Any]:
    if action == "BootNotification":
        return {"currentTime": _now_text(), "interval": heartbeat_interval, "status": "Accepted"}
    if action == "Heartbeat":
        return {"currentTime": _now_text()}
    if action == "Authorize":
        return {"idTokenInfo": {"status": "Accepted"}}
    return {}


async def _csms_connection(ws: ServerConnection, heartbeat_interval: int) -> None:
    with contextlib.suppress(WebSocketException):
        async for text in ws:
            try:
                message = orjson.loads(text)
            except orjson.JSONDecodeError:
                continue
            if isinstance(message, list) and len(message) == 4 and message[0] == 2:
                reply = [3, message[1], csms_response(str(message[2]), heartbeat_interval)]
                await ws.send(orjson.dumps(reply).decode())


async def run_csms(
    port: int, lifetime: float, heartbeat_interval: int = HEARTBEAT_INTERVAL
) -> None:
    """Answer every CALL with a CALLRESULT until `lifetime` passes or the parent goes away."""
    parent = os.getppid()
    async with serve(
        functools.partial(_csms_connection, heartbeat_interval=heartbeat_interval),
        HOST,
        port,
        subprotocols=[Subprotocol(SUBPROTOCOL)],
        ping_interval=None,
        backlog=1024,
    ):
        for _ in range(int(lifetime)):
            if os.getppid() != parent:
                return
            await asyncio.sleep(1)


# ---- the paths: direct, mitmdump, ocppscope ----------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str
    label: str


DIRECT = Route("direct", "direct")
MITMDUMP = Route("mitmdump", "mitmdump, no scripts")
OCPPSCOPE = Route("ocppscope", "ocppscope, all addons")
OCPPSCOPE_STORED = Route("ocppscope-store", "ocppscope + store")
"""The same with every frame stored in the embedded PostgreSQL (its server's CPU shows as other)."""
PATHS = (DIRECT, MITMDUMP, OCPPSCOPE, OCPPSCOPE_STORED)


def _start_proxy(children: Children, path: Route, csms_port: int) -> tuple[Child, int]:
    port = free_port()
    children.ports.append(port)
    if path is MITMDUMP:
        command = [
            str(console_script("mitmdump")),
            "--mode",
            f"reverse:http://{HOST}:{csms_port}@{HOST}:{port}",
            "-q",
            "--set",
            "connection_strategy=lazy",
            "--set",
            f"confdir={children.workdir / 'mitmdump'}",  # keep ~/.mitmproxy untouched
        ]
        env = None
    else:
        command = [
            *ocppscope_command(),
            "proxy",
            "--listen",
            f"{HOST}:{port}",
            "--upstream",
            f"ws://{HOST}:{csms_port}",
            "--quiet",
            "--admin",
            "off",
            *(() if path is OCPPSCOPE_STORED else ("--no-store",)),
        ]
        env = {**os.environ, "OCPPSCOPE_DATA_DIR": str(children.workdir / "ocppscope")}
    child = children.start(path.key, command, env)
    children.wait_listening(child, port)
    return child, port


# ---- the load generator ------------------------------------------------------------------------


class CallFailed(Exception):
    pass


_CONNECT_OPTIONS: dict[str, Any] = {
    "subprotocols": [SUBPROTOCOL],
    "compression": None,
    "ping_interval": None,
    "open_timeout": OPEN_TIMEOUT,
    "close_timeout": 2,
}
if "proxy" in inspect.signature(connect).parameters:  # websockets >= 15 reads *_proxy variables
    _CONNECT_OPTIONS["proxy"] = None


class Station:
    def __init__(self, index: int) -> None:
        self.name = f"BENCH-{index:05d}"
        self.traffic = StationTraffic(self.name)
        self.ws: ClientConnection | None = None
        self.failed = False

    async def open(self, port: int) -> None:
        self.ws = await connect(f"ws://{HOST}:{port}/ocpp/{self.name}", **_CONNECT_OPTIONS)
        await self.call(self.traffic.boot())
        await self.call(self.traffic.status("Available"))

    async def call(self, call: tuple[str, str]) -> float:
        """Send one CALL, wait for its CALLRESULT; the round trip in seconds."""
        assert self.ws is not None
        message_id, text = call
        started = time.perf_counter()
        try:
            async with asyncio.timeout(CALL_TIMEOUT):
                await self.ws.send(text)
                reply = await self.ws.recv()
        except (TimeoutError, WebSocketException, OSError) as exc:
            self.failed = True
            raise CallFailed(f"{self.name}: {type(exc).__name__} {exc}") from None
        rtt = time.perf_counter() - started
        if not isinstance(reply, str) or not reply.startswith(f'[3,"{message_id}"'):
            self.failed = True
            raise CallFailed(f"{self.name}: unexpected reply {reply[:80]!r}")
        return rtt

    async def burst(self, deadline: float) -> int:
        """CALLs back to back until `deadline` (loop time); how many were answered."""
        loop = asyncio.get_running_loop()
        answered = 0
        while answered < MAX_CALLS_PER_STATION and loop.time() < deadline:
            await self.call(self.traffic.next_call())
            answered += 1
        return answered

    async def paced(self, first: float, count: int, rtts: list[float]) -> None:
        """One CALL per second from `first` (loop time); a late answer delays, never doubles."""
        loop = asyncio.get_running_loop()
        for index in range(count):
            delay = first + index - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            rtts.append(await self.call(self.traffic.next_call()))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    def abort(self) -> None:
        if self.ws is not None and self.ws.transport is not None:
            self.ws.transport.abort()


@dataclass
class Result:
    path: Route
    stations: int
    connected: int = 0
    calls: int = 0
    seconds: float = 0.0
    cpu_ms_per_call: float | None = None
    rss_mb: float | None = None
    busy: dict[str, float] = field(default_factory=dict)
    """Share of one core used during the throughput phase, by process."""
    rtts: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Calls or connections that failed."""
    notes: list[str] = field(default_factory=list)
    """Things worth knowing that did not affect the numbers (e.g. how the proxy exited)."""

    @property
    def calls_per_second(self) -> float | None:
        return self.calls / self.seconds if self.calls and self.seconds > 0 else None

    def percentile_ms(self, quantile: float) -> float | None:
        if not self.rtts:
            return None
        ordered = sorted(self.rtts)
        return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)] * 1000


async def _gather_calls(result: Result, calls: list[Any]) -> list[Any]:
    """Run the stations' coroutines; a station whose call fails is noted and left out later."""
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, CallFailed):
            result.errors.append(str(outcome))
        elif isinstance(outcome, BaseException):
            raise outcome
    return outcomes


async def _connect_all(port: int, count: int, result: Result) -> list[Station]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(CONNECT_MIN_SECONDS, count * CONNECT_SECONDS_PER_STATION)
    stations: list[Station] = []
    for first in range(0, count, CONNECT_BATCH):
        remaining = deadline - loop.time()
        if remaining <= 0:
            result.errors.append(f"connection setup took too long: {len(stations)}/{count} open")
            break
        batch = [Station(index) for index in range(first, min(count, first + CONNECT_BATCH))]
        stations.extend(batch)
        try:
            async with asyncio.timeout(remaining):
                outcomes = await asyncio.gather(
                    *(station.open(port) for station in batch), return_exceptions=True
                )
        except TimeoutError:
            outcomes = [TimeoutError("connection setup deadline")] * len(batch)
        for station, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                station.failed = True
                result.errors.append(f"{station.name}: connect: {type(outcome).__name__}")
    result.connected = sum(not station.failed for station in stations)
    return stations


async def _close_all(stations: list[Station]) -> None:
    opened = [station for station in stations if station.ws is not None]
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await asyncio.gather(*(s.close() for s in opened), return_exceptions=True)
    except TimeoutError:
        pass
    for station in opened:
        station.abort()


async def measure(
    path: Route,
    port: int,
    count: int,
    seconds: float,
    latency_calls: int,
    processes: dict[str, int],
) -> Result:
    """Connect `count` stations to `port`, run both load shapes, close them again."""
    result = Result(path, count)
    loop = asyncio.get_running_loop()
    stations = await _connect_all(port, count, result)
    try:
        live = [station for station in stations if not station.failed]
        if not live:
            return result
        await _gather_calls(result, [s.burst(loop.time() + WARMUP_SECONDS) for s in live])

        live = [station for station in live if not station.failed]
        cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
        own_before, machine_before = own_cpu_seconds(), machine_busy_seconds()
        started = loop.time()
        answered = await _gather_calls(result, [s.burst(started + seconds) for s in live])
        result.seconds = loop.time() - started
        result.calls = sum(n for n in answered if isinstance(n, int))
        used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in processes.items()}
        used["load"] = own_cpu_seconds() - own_before
        used["other"] = max(0.0, machine_busy_seconds() - machine_before - sum(used.values()))
        result.busy = {name: cpu / result.seconds for name, cpu in used.items()}
        if "proxy" in used and result.calls:
            result.cpu_ms_per_call = used["proxy"] * 1000 / result.calls

        live = [station for station in live if not station.failed]
        first = loop.time() + 0.2
        await _gather_calls(
            result,
            [
                station.paced(first + index / len(live), latency_calls, result.rtts)
                for index, station in enumerate(live)
            ],
        )
        if "proxy" in processes:
            result.rss_mb = rss_mb(processes["proxy"])
    finally:
        await _close_all(stations)
    return result


# ---- the run -----------------------------------------------------------------------------------


def _config_budget(count: int, seconds: float, latency_calls: int) -> float:
    connect = max(CONNECT_MIN_SECONDS, count * CONNECT_SECONDS_PER_STATION)
    return connect + WARMUP_SECONDS + seconds + latency_calls + 2 * CALL_TIMEOUT + CLOSE_TIMEOUT


def run_proxy_benchmark(
    station_counts: list[int],
    seconds: float,
    latency_seconds: float,
    console: Console,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Run every path at every station count; print the table; 0 when every run completed."""
    latency_calls = max(1, round(latency_seconds))
    raise_fd_limit(4 * max(station_counts) + 256)
    results: list[Result] = []
    failures: list[str] = []
    say = progress or (lambda _text: None)
    with tempfile.TemporaryDirectory(prefix="ocppscope-bench-") as workdir:
        children = Children(Path(workdir))
        try:
            csms_port = free_port()
            children.ports.append(csms_port)
            csms = children.start(
                "csms",
                [
                    sys.executable,
                    "-m",
                    "ocppscope.bench.proxy",
                    "csms",
                    "--listen",
                    f"{HOST}:{csms_port}",
                    "--lifetime",
                    str(CSMS_LIFETIME),
                ],
            )
            children.wait_listening(csms, csms_port)
            for count in station_counts:
                for path in PATHS:
                    say(f"{path.key}, {count} station(s)")
                    proxy: Child | None = None
                    try:
                        if path is DIRECT:
                            port, processes = csms_port, {"csms": csms.pid}
                        else:
                            proxy, port = _start_proxy(children, path, csms_port)
                            processes = {"proxy": proxy.pid, "csms": csms.pid}
                        result = asyncio.run(
                            _bounded(
                                measure(path, port, count, seconds, latency_calls, processes),
                                _config_budget(count, seconds, latency_calls),
                            )
                        )
                    except (RuntimeError, OSError, TimeoutError) as exc:
                        failures.append(f"{path.key} at {count} stations: {exc or 'timed out'}")
                        result = Result(path, count, errors=[str(exc) or "timed out"])
                    finally:
                        if proxy is not None:
                            children.stop(proxy)
                    if proxy is not None and proxy.process.returncode not in (0, -signal.SIGTERM):
                        how = (
                            f"did not stop within {STOP_TIMEOUT:g} s of SIGTERM and was killed"
                            if proxy.process.returncode == -signal.SIGKILL
                            else f"exited with {proxy.process.returncode}"
                        )
                        result.notes.append(f"{path.key} {how} (stderr: {proxy.tail()[-160:]})")
                    results.append(result)
        finally:
            children.stop_all()
        render(results, seconds, latency_calls, console)
        console.print(f"[dim]ports used: {' '.join(str(port) for port in children.ports)}[/]")
    for failure in failures:
        console.print(f"[red]failed: {failure}[/]")
    return 1 if failures or any(r.calls == 0 for r in results) else 0


async def _bounded(coroutine: Any, seconds: float) -> Result:
    async with asyncio.timeout(seconds):
        result: Result = await coroutine
    return result


# ---- report ------------------------------------------------------------------------------------


def _number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _by(results: list[Result], count: int, path: Route) -> Result | None:
    return next((r for r in results if r.stations == count and r.path is path), None)


def _ratio(results: list[Result], count: int) -> float | None:
    ours, stock = _by(results, count, OCPPSCOPE), _by(results, count, MITMDUMP)
    if ours is None or stock is None or not ours.calls_per_second or not stock.calls_per_second:
        return None
    return ours.calls_per_second / stock.calls_per_second


def _added(result: Result, direct: Result | None, quantile: float) -> float | None:
    mine = result.percentile_ms(quantile)
    base = direct.percentile_ms(quantile) if direct else None
    return None if mine is None or base is None else mine - base


def render(results: list[Result], seconds: float, latency_calls: int, console: Console) -> None:
    table = Table(
        title=f"OCPP CALL -> CALLRESULT on {HOST}. Throughput: each station sends calls back to "
        f"back for {seconds:g} s. Latency: each station sends 1 call/s for {latency_calls} s.",
        title_justify="left",
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("stations", "right"),
        ("path", "left"),
        ("calls/s", "right"),
        ("vs mitmdump", "right"),
        ("proxy CPU\nms/call", "right"),
        ("proxy\nRSS MB", "right"),
        ("RTT p50\nms", "right"),
        ("RTT p99\nms", "right"),
        ("added\np50 ms", "right"),
        ("added\np99 ms", "right"),
        ("CPU busy proxy/\nCSMS/load/other", "right"),
        ("errors", "right"),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify)
    counts = list(dict.fromkeys(r.stations for r in results))
    for count in counts:
        direct = _by(results, count, DIRECT)
        stock = _by(results, count, MITMDUMP)
        for path in PATHS:
            result = _by(results, count, path)
            if result is None:
                continue
            ratio = None
            if path is not DIRECT and stock and stock.calls_per_second and result.calls_per_second:
                ratio = result.calls_per_second / stock.calls_per_second
            busy = "/".join(
                f"{result.busy[name] * 100:.0f}%" if name in result.busy else "—"
                for name in ("proxy", "csms", "load", "other")
            )
            table.add_row(
                f"{count:,}" + ("" if result.connected in (count, 0) else f" ({result.connected})"),
                path.label,
                _number(result.calls_per_second, 0),
                "—" if ratio is None else f"{ratio:.2f}x",
                _number(result.cpu_ms_per_call, 3),
                _number(result.rss_mb, 1),
                _number(result.percentile_ms(0.50)),
                _number(result.percentile_ms(0.99)),
                "—" if path is DIRECT else _number(_added(result, direct, 0.50)),
                "—" if path is DIRECT else _number(_added(result, direct, 0.99)),
                "—" if not result.busy else busy,
                str(len(result.errors)),
            )
        table.add_section()
    console.print(table)
    console.print(
        f"[dim]CPU ms/call: the proxy's utime+stime (/proc) over the throughput phase / calls "
        f"answered; RSS: VmRSS after the latency phase; CPU busy: share of one core in the "
        f"throughput phase (other: the rest of the machine, PostgreSQL's server for "
        f"'ocppscope + store'); {os.cpu_count()} CPUs shared by the load generator, CSMS and "
        "proxy.[/]"
    )
    for count in counts:
        ratio = _ratio(results, count)
        if ratio is not None:
            verdict = "[green]meets[/]" if ratio >= 1.5 else "[red]misses[/]"
            console.print(
                f"{count:,} station{'s' if count != 1 else ''}: ocppscope/mitmdump calls/s = "
                f"{ratio:.2f}x "
                f"({verdict} the 1.5x target)"
            )
    ours, direct = _by(results, 100, OCPPSCOPE), _by(results, 100, DIRECT)
    added = _added(ours, direct, 0.50) if ours else None
    if added is not None:
        verdict = "[green]meets[/]" if added < 2.0 else "[red]misses[/]"
        console.print(
            f"100 stations x 1 call/s: ocppscope adds {added:.2f} ms at p50 "
            f"({verdict} the < 2 ms target)"
        )
    noisy = max(  # PostgreSQL's own work is the "other" of the stored path
        (r.busy.get("other", 0.0) for r in results if r.path is not OCPPSCOPE_STORED), default=0.0
    )
    if noisy > 0.25:
        console.print(
            f"[yellow]other processes used up to {noisy * 100:.0f}% of a core during a "
            "throughput phase: these numbers are noisy; rerun on a quiet machine.[/]"
        )
    for result in results:
        for error in result.errors[:3]:
            console.print(f"[yellow]{result.path.key} at {result.stations}: {error}[/]")
        if len(result.errors) > 3:
            console.print(f"[yellow]  ... and {len(result.errors) - 3} more[/]")
        for note in result.notes:
            console.print(f"[dim]{result.path.key} at {result.stations}: {note}[/]")


def parse_station_counts(value: str) -> list[int]:
    counts = []
    for part in value.split(","):
        part = part.strip()  # noqa: PLW2901
        if not part.isdigit() or not 1 <= int(part) <= 5000:
            raise ValueError(f"'{part}' is not a station count from 1 to 5000")
        counts.append(int(part))
    if not counts:
        raise ValueError("no station counts given")
    return counts


def csms_main(argv: list[str]) -> None:
    """`python -m ocppscope.bench.proxy csms --listen 127.0.0.1:PORT`: the benchmark's CSMS."""
    parser = argparse.ArgumentParser(prog="python -m ocppscope.bench.proxy csms")
    parser.add_argument("role", choices=["csms"])
    parser.add_argument("--listen", required=True, help="127.0.0.1:PORT")
    parser.add_argument("--lifetime", type=float, default=CSMS_LIFETIME)
    parser.add_argument("--heartbeat-interval", type=int, default=HEARTBEAT_INTERVAL)
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    if host != HOST:
        parser.error("the benchmark CSMS listens on 127.0.0.1 only")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_csms(int(port), args.lifetime, args.heartbeat_interval))


if __name__ == "__main__":
    csms_main(sys.argv[1:])
