"""`ocppscope bench simulate`: how many simulated stations one process carries against the
reference CSMS, and what each one costs next to a bare `websockets` connection, measured in the
same run on 127.0.0.1.

Two phases, each against a fresh `ocppscope csms` child process on its own scratch database (on
the embedded PostgreSQL in a temporary data directory, or on OCPPSCOPE_DATABASE_URL's server):
1. baseline: bare `websockets` clients in a child process (`python -m ocppscope.bench.simulate bare`),
   each sending a hand-written BootNotification and then only a Heartbeat every interval;
2. simulator: `SimulatedStation`s in this process, the code `ocppscope simulate` runs, a share
   of them charging with a TransactionEvent every meter interval.
Both start their connections at the same rate and are measured by the same code (`measure`):
the time until every station has booted and each station's boot latency (connection started to
BootNotification accepted), then a steady window of `hold` seconds: CPU of the stations' process,
the CSMS and PostgreSQL, CALLs/s, event-loop lag, and RSS growth per station. Memory is the RSS
delta of a process that holds nothing else; tracemalloc would double the cost of every
allocation during the connect phase, so it is not used.

Every child is started here, stopped in a `finally` (SIGTERM, then SIGKILL) and killed by the
kernel if this process dies (PR_SET_PDEATHSIG, `proxy.processes`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import json
import logging
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson
from rich.console import Console, JustifyMethod
from rich.table import Table
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException
from websockets.typing import Subprotocol

from ocppscope.bench.store import BenchError, database_server, scratch_database
from proxy.heap import tune_garbage_collector
from proxy.latency import percentile_ms
from proxy.processes import (
    HOST,
    Child,
    Children,
    cpu_seconds,
    free_port,
    machine_busy_seconds,
    ocppscope_command,
    own_cpu_seconds,
    raise_fd_limit,
    rss_mb,
    tree_cpu_seconds,
)
from simulator.clock import Clock
from simulator.fleet import StationSpec, generated
from simulator.station import SUBPROTOCOL, SimulatedStation

OPEN_TIMEOUT = 30.0
"""A station's own open timeout (its MessageTimeout); the bare clients use the same."""
CALL_TIMEOUT = 30.0
BOOT_GRACE = 60.0
"""Seconds after the last connection started that the stations get to boot."""
CHARGE_GRACE = 10.0
SETTLE = 2.0
"""Seconds between the last boot (and session start) and the steady window."""
STOP_TIMEOUT = 30.0
"""Seconds the stations get to end their sessions and close."""
CHILD_SLACK = 60.0
"""Seconds a phase's child may take beyond the phase's own budget (start-up, exit)."""
POLL = 0.1
LAG_TICK = 0.1
PROGRESS_EVERY = 5.0
FD_SPARE = 256
"""Open files a process needs besides one socket per station."""
PORT_SPARE = 1024
POWER_KW = 50.0
MAX_HEARTBEATS = 1_000_000
CSMS_KINDS = {
    "reference": "`ocppscope csms` on PostgreSQL",
    "stand-in": "the stand-in CSMS of `bench proxy` (a CALLRESULT for every CALL, no database)",
}


@dataclass(frozen=True, slots=True)
class Plan:
    """What to run: the command's options."""

    stations: int = 10_000
    rate: float = 200.0
    """Connections started per second."""
    charging: float = 0.1
    """Share of the simulated stations that charge during the run."""
    heartbeat: int = 30
    meter_interval: float = 5.0
    hold: float = 60.0
    baseline: bool = True
    csms: str = "reference"
    """A key of CSMS_KINDS."""
    gc_tuning: bool = True
    """The proxy's garbage-collector tuning before the stations start (`tune_garbage_collector`)
    and gc.freeze() once they run: with CPython's defaults a full collection walks every
    station's objects several times a minute, for seconds at 10,000."""

    @property
    def charging_indices(self) -> frozenset[int]:
        """`charging` of the stations, spread evenly over the start order."""
        share = self.charging
        return frozenset(
            i for i in range(self.stations) if math.floor((i + 1) * share) > math.floor(i * share)
        )

    def budget(self) -> float:
        """Seconds a phase may take at most: every wait, with room for a loop that is late."""
        waits = self.stations / self.rate + BOOT_GRACE + CHARGE_GRACE + SETTLE + self.hold
        return 1.5 * waits + STOP_TIMEOUT + 10


@dataclass
class Phase:
    """One phase's numbers; plain data, so the baseline's child can hand it over as JSON."""

    name: str
    stations: int
    booted: int = 0
    all_booted_seconds: float | None = None
    """From the first connection started to the last BootNotification accepted."""
    last_boot_seconds: float | None = None
    boot_p50_ms: float | None = None
    boot_p99_ms: float | None = None
    charging: int = 0
    """Sessions running when the steady window began."""
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    connect_seconds: float = 0.0
    connect_cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds in the connect phase: `stations` (this process) and each watched process."""
    hold_seconds: float = 0.0
    hold_cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds in the steady window, as `connect_cpu`, plus `machine` (every process)."""
    watched_rss_mb: dict[str, float] = field(default_factory=dict)
    calls: int = 0
    """CALLs sent in the steady window."""
    expected_calls_per_second: float = 0.0
    calls_due_min: int = 0
    """CALLs the window holds at least when every station keeps its schedule, whatever its
    phase: floor(window / interval) per heartbeat and per session."""
    lag_p99_ms: float | None = None
    lag_max_ms: float | None = None
    connected_end: int = 0
    reconnects: int = 0
    """Reconnects during the steady window."""
    queued_end: int = 0
    """TransactionEvents waiting to be sent when the steady window ended."""
    gc_seconds: float = 0.0
    """Time the cyclic garbage collector held the stations' event loop in the steady window."""
    gc_longest_ms: float = 0.0
    gc_full: int = 0
    """Collections of the oldest generation in the steady window."""
    errors: list[str] = field(default_factory=list)
    """What went wrong up to the end of the steady window."""
    notes: list[str] = field(default_factory=list)
    """What went wrong while the stations closed, after the measurements."""

    @property
    def rss_kb_per_station(self) -> float | None:
        if not self.booted:
            return None
        return (self.rss_end_mb - self.rss_start_mb) * 1024 / self.booted

    def share(self, process: str, *, connect: bool = False) -> float | None:
        """CPU of `process` as a share of one core, in the steady window or the connect phase."""
        used = (self.connect_cpu if connect else self.hold_cpu).get(process)
        seconds = self.connect_seconds if connect else self.hold_seconds
        return None if used is None or seconds <= 0 else used / seconds

    @property
    def cpu_ms_per_station_minute(self) -> float | None:
        used = self.hold_cpu.get("stations")
        if used is None or not self.booted or self.hold_seconds <= 0:
            return None
        return used * 1000 / (self.booted * self.hold_seconds / 60)

    @property
    def cpu_us_per_call(self) -> float | None:
        used = self.hold_cpu.get("stations")
        return None if used is None or not self.calls else used * 1e6 / self.calls

    @property
    def calls_per_second(self) -> float | None:
        return self.calls / self.hold_seconds if self.hold_seconds > 0 else None

    @property
    def steady(self) -> bool:
        """Every station booted and stayed connected, kept its schedule (98 % of the CALLs
        surely due; the rest of the shortfall may be phase), nothing piled up and the event loop
        was never late by a second."""
        return (
            self.booted == self.stations
            and self.connected_end == self.stations
            and self.reconnects == 0
            and self.calls >= 0.98 * self.calls_due_min
            and self.queued_end <= self.charging
            and (self.lag_max_ms or 0.0) < 1000
        )


class Fleet(Protocol):
    """The stations of a phase, started one by one; what `measure` reads of them."""

    name: str
    started_at: list[float]
    sessions_due: int
    """Sessions that should be running once every station has booted."""

    def start(self, index: int) -> None: ...
    def booted_at(self, index: int) -> float | None: ...
    def on_booted(self, index: int) -> None: ...
    def calls(self) -> int: ...
    def connected(self) -> int: ...
    def reconnects(self) -> int: ...
    def queued(self) -> int: ...
    def charging(self) -> int: ...
    def failures(self) -> list[str]: ...
    async def stop(self) -> list[str]: ...


# ---- the baseline: bare websockets clients ------------------------------------------------------


class BareClient:
    """One `websockets` connection that boots and then only heartbeats, its CALLs written by hand:
    no `ocpp` library, no station logic, no reconnect."""

    def __init__(self, station_id: str) -> None:
        self.station_id = station_id
        self.booted_at: float | None = None
        self.calls = 0
        self.connected = False
        self.error: str | None = None

    async def run(self, url: str, stop: asyncio.Event) -> None:
        try:
            async with connect(
                f"{url}/{self.station_id}",
                subprotocols=[Subprotocol(SUBPROTOCOL)],
                open_timeout=OPEN_TIMEOUT,
                ping_interval=None,
                max_size=None,
            ) as ws:
                answer = await self._call(ws, "BootNotification", self._boot_payload())
                if answer.get("status") != "Accepted":
                    self.error = f"BootNotification {answer.get('status')}"
                    return
                self.booted_at, self.connected = time.monotonic(), True
                interval = float(answer.get("interval") or 30)
                for _ in range(MAX_HEARTBEATS):
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(interval):
                            await stop.wait()
                    if stop.is_set():
                        return
                    await self._call(ws, "Heartbeat", {})
        except (OSError, TimeoutError, WebSocketException, ValueError) as exc:
            self.error = type(exc).__name__
        finally:
            self.connected = False

    def _boot_payload(self) -> dict[str, Any]:
        return {
            "chargingStation": {
                "model": "Simulator",
                "vendorName": "EMART",
                "serialNumber": f"SN-{self.station_id}-001",
                "firmwareVersion": "1.0.0",
            },
            "reason": "PowerUp",
        }

    async def _call(
        self, ws: ClientConnection, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        self.calls += 1
        message_id = str(self.calls)
        await ws.send(orjson.dumps([2, message_id, action, payload]).decode())
        async with asyncio.timeout(CALL_TIMEOUT):
            reply = orjson.loads(await ws.recv())
        if not (isinstance(reply, list) and reply[:2] == [3, message_id]):
            raise ValueError(f"unexpected reply to {action}: {str(reply)[:80]}")
        return dict(reply[2])


class BareFleet:
    name = "bare websockets (baseline)"
    sessions_due = 0

    def __init__(self, url: str, ids: list[str]) -> None:
        self.url = url
        self.ids = ids
        self.clients: list[BareClient] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.started_at: list[float] = []
        self._stop = asyncio.Event()

    def start(self, index: int) -> None:
        client = BareClient(self.ids[index])
        self.clients.append(client)
        self.started_at.append(time.monotonic())
        self.tasks.append(asyncio.create_task(client.run(self.url, self._stop)))

    def booted_at(self, index: int) -> float | None:
        return self.clients[index].booted_at

    def on_booted(self, index: int) -> None:
        pass

    def calls(self) -> int:
        return sum(client.calls for client in self.clients)

    def connected(self) -> int:
        return sum(client.connected for client in self.clients)

    def reconnects(self) -> int:
        return 0

    def queued(self) -> int:
        return 0

    def charging(self) -> int:
        return 0

    def failures(self) -> list[str]:
        failed = Counter(client.error for client in self.clients if client.error)
        return [f"{count:,} clients failed: {what}" for what, count in failed.most_common()]

    async def stop(self) -> list[str]:
        self._stop.set()
        return await finish_tasks(self.tasks)


# ---- the simulator ------------------------------------------------------------------------------


class SimulatedFleet:
    name = "SimulatedStation"

    def __init__(self, url: str, specs: list[StationSpec], plan: Plan) -> None:
        self.url = url
        self.specs = specs
        self.plan = plan
        self.clock = Clock()
        self.stations: list[SimulatedStation] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.started_at: list[float] = []
        self.refused: list[str] = []
        self._charging = plan.charging_indices
        self.sessions_due = len(self._charging)
        self._sessions: set[asyncio.Task[str | None]] = set()
        self._stop = asyncio.Event()

    def start(self, index: int) -> None:
        station = SimulatedStation(
            self.specs[index], self.clock, meter_interval=self.plan.meter_interval
        )
        self.stations.append(station)
        self.started_at.append(time.monotonic())
        self.tasks.append(asyncio.create_task(station.run(self.url, self._stop)))

    def booted_at(self, index: int) -> float | None:
        return self.stations[index].booted_at

    def on_booted(self, index: int) -> None:
        """A charging station plugs in as soon as it has booted; it charges until the end."""
        if index in self._charging:
            station = self.stations[index]
            task = asyncio.create_task(station.plug_in_and_charge(f"TAG-{index + 1:05d}"))
            self._sessions.add(task)
            task.add_done_callback(lambda done: self._started(station, done))

    def _started(self, station: SimulatedStation, task: asyncio.Task[str | None]) -> None:
        self._sessions.discard(task)
        if task.cancelled() or task.exception() is not None or task.result() is None:
            self.refused.append(station.spec.id)

    def calls(self) -> int:
        return sum(station.calls for station in self.stations)

    def connected(self) -> int:
        return sum(station.connected for station in self.stations)

    def reconnects(self) -> int:
        return sum(station.reconnects for station in self.stations)

    def queued(self) -> int:
        return sum(station.queued for station in self.stations)

    def charging(self) -> int:
        return sum(station.charging for station in self.stations)

    def failures(self) -> list[str]:
        if not self.refused:
            return []
        return [f"{len(self.refused):,} sessions did not start: {self.refused[0]}, …"]

    async def stop(self) -> list[str]:
        self._stop.set()
        return await finish_tasks([*self.tasks, *self._sessions])


async def finish_tasks(tasks: list[asyncio.Task[Any]]) -> list[str]:
    """Let the stations close (bounded); cancel the rest."""
    if not tasks:
        return []
    _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return [f"{len(pending):,} stations did not close within {STOP_TIMEOUT:g} s"] if pending else []


# ---- measuring ----------------------------------------------------------------------------------


def _cpu_of(watch: dict[str, int]) -> dict[str, float]:
    used = {"stations": own_cpu_seconds(), "machine": machine_busy_seconds()}
    for name, pid in watch.items():
        with contextlib.suppress(OSError):
            used[name] = tree_cpu_seconds(pid) if name == "database" else cpu_seconds(pid)
    return used


def _since(before: dict[str, float], watch: dict[str, int]) -> dict[str, float]:
    after = _cpu_of(watch)
    return {name: after[name] - before[name] for name in before if name in after}


async def run_phase(
    fleet: Fleet, plan: Plan, watch: dict[str, int], say: Callable[[str], None]
) -> Phase:
    """`measure` within the phase's time budget. What the `ocpp` library, the stations and
    asyncio complain about is counted into the errors instead of flooding the terminal."""
    phase = Phase(fleet.name, plan.stations)
    complaints: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: complaints.update([_complaint(context)]))
    with _tallied(complaints):
        try:
            async with asyncio.timeout(plan.budget()):
                await measure(fleet, plan, watch, say, phase, complaints)
        except TimeoutError:
            phase.errors.append(f"gave up after {plan.budget():.0f} s, the phase's time budget")
        gc.collect()  # tasks whose exception nobody retrieved say so when they are collected
    phase.notes += _counted(complaints)
    return phase


def _counted(complaints: Counter[str]) -> list[str]:
    said = [f"{count:,} x {what}" for what, count in complaints.most_common()]
    complaints.clear()
    return said


def _complaint(context: dict[str, Any]) -> str:
    exception = context.get("exception")
    name = f" ({type(exception).__name__})" if exception is not None else ""
    return f"asyncio: {context.get('message', 'unhandled exception')}{name}"


class _Tally(logging.Handler):
    def __init__(self, counts: Counter[str]) -> None:
        super().__init__(logging.WARNING)
        self.counts = counts

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.name}: {record.msg}"] += 1


@contextlib.contextmanager
def _tallied(counts: Counter[str]) -> Iterator[None]:
    """Warnings of the `ocpp` library and the stations counted, not printed, for a while."""
    handler = _Tally(counts)
    loggers = [logging.getLogger(name) for name in ("ocpp", "ocppscope")]
    propagate = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, before in zip(loggers, propagate, strict=True):
            logger.removeHandler(handler)
            logger.propagate = before


async def measure(
    fleet: Fleet,
    plan: Plan,
    watch: dict[str, int],
    say: Callable[[str], None],
    phase: Phase,
    complaints: Counter[str],
) -> None:
    """Start the stations at `plan.rate`, wait until they have booted, hold the steady window,
    stop them; the numbers go into `phase` as they come. `watch`: other processes whose CPU
    counts (the CSMS, PostgreSQL)."""
    thresholds = gc.get_threshold()
    if plan.gc_tuning:
        tune_garbage_collector()
    try:
        await _connect(fleet, plan, watch, say, phase)
        for _ in range(int(CHARGE_GRACE / POLL)):
            if fleet.charging() >= fleet.sessions_due:
                break
            await asyncio.sleep(POLL)
        await asyncio.sleep(SETTLE)
        phase.charging = fleet.charging()
        if plan.gc_tuning:
            gc.freeze()
        await _hold(fleet, plan, watch, phase, say)
    finally:
        phase.errors += fleet.failures() + _counted(complaints)
        phase.notes += await fleet.stop()
        gc.unfreeze()
        gc.set_threshold(*thresholds)


async def _connect(
    fleet: Fleet, plan: Plan, watch: dict[str, int], say: Callable[[str], None], phase: Phase
) -> None:
    """Start the stations at `plan.rate`; boot latencies, connect time and CPU into `phase`."""
    phase.rss_start_mb = rss_mb(os.getpid())
    before = _cpu_of(watch)
    began = time.monotonic()
    starter = asyncio.create_task(_start_all(fleet, plan, began))
    try:
        latencies = await _until_booted(fleet, plan, starter, say)
    finally:
        starter.cancel()
        await asyncio.gather(starter, return_exceptions=True)
    phase.connect_seconds = time.monotonic() - began
    phase.connect_cpu = _since(before, watch)
    phase.booted = len(latencies)
    booted = [at for i in range(len(fleet.started_at)) if (at := fleet.booted_at(i)) is not None]
    if booted:
        phase.last_boot_seconds = max(booted) - began
    if phase.booted == plan.stations:
        phase.all_booted_seconds = phase.last_boot_seconds
    else:
        phase.errors.append(
            f"{plan.stations - phase.booted:,} of {plan.stations:,} stations never booted "
            f"(waited {BOOT_GRACE:g} s after the last connection started)"
        )
    phase.boot_p50_ms = percentile_ms(latencies, 0.5)
    phase.boot_p99_ms = percentile_ms(latencies, 0.99)


async def _start_all(fleet: Fleet, plan: Plan, began: float) -> None:
    for index in range(plan.stations):
        delay = began + index / plan.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        fleet.start(index)


async def _until_booted(
    fleet: Fleet, plan: Plan, starter: asyncio.Task[None], say: Callable[[str], None]
) -> list[float]:
    """Boot latencies (s) of the stations that booted; each one's `on_booted` is called once."""
    latencies: list[float] = []
    pending: list[int] = []
    seen = 0
    deadline: float | None = None
    said = time.monotonic()
    for _ in range(int(plan.budget() / POLL)):
        started = len(fleet.started_at)
        pending.extend(range(seen, started))
        seen = started
        waiting = []
        for index in pending:
            at = fleet.booted_at(index)
            if at is None:
                waiting.append(index)
            else:
                latencies.append(at - fleet.started_at[index])
                fleet.on_booted(index)
        pending = waiting
        now = time.monotonic()
        if starter.done():
            if not pending:
                break
            deadline = deadline or now + BOOT_GRACE
            if now > deadline:
                break
        if now - said >= PROGRESS_EVERY:
            said = now
            say(f"{fleet.name}: {started:,} started, {len(latencies):,} booted")
        await asyncio.sleep(POLL)
    return latencies


async def _hold(
    fleet: Fleet, plan: Plan, watch: dict[str, int], phase: Phase, say: Callable[[str], None]
) -> None:
    """The steady window: CPU, CALLs, reconnects and event-loop lag over `plan.hold` seconds."""
    lags: list[float] = []
    sampler = asyncio.create_task(_sample_lag(lags, plan.hold))
    calls, reconnects = fleet.calls(), fleet.reconnects()
    pauses = _GcPauses()
    gc.callbacks.append(pauses)
    before = _cpu_of(watch)
    began = time.monotonic()
    try:
        for _ in range(math.ceil(plan.hold / PROGRESS_EVERY)):
            left = began + plan.hold - time.monotonic()
            if left <= 0:
                break
            await asyncio.sleep(min(PROGRESS_EVERY, left))
            say(f"{fleet.name}: steady window {time.monotonic() - began:.0f}/{plan.hold:g} s")
    finally:
        gc.callbacks.remove(pauses)
    phase.gc_seconds, phase.gc_longest_ms, phase.gc_full = (
        pauses.seconds,
        pauses.longest * 1000,
        pauses.full,
    )
    phase.hold_seconds = time.monotonic() - began
    phase.hold_cpu = _since(before, watch)
    phase.calls = fleet.calls() - calls
    phase.reconnects = fleet.reconnects() - reconnects
    phase.rss_end_mb = rss_mb(os.getpid())
    for name, pid in watch.items():
        with contextlib.suppress(OSError):
            phase.watched_rss_mb[name] = rss_mb(pid)
    phase.connected_end = fleet.connected()
    phase.queued_end = fleet.queued()
    sampler.cancel()
    await asyncio.gather(sampler, return_exceptions=True)
    phase.lag_p99_ms = percentile_ms(lags, 0.99)
    phase.lag_max_ms = max(lags) * 1000 if lags else None
    phase.expected_calls_per_second = (
        phase.booted / plan.heartbeat + phase.charging / plan.meter_interval
    )
    phase.calls_due_min = phase.booted * math.floor(
        phase.hold_seconds / plan.heartbeat
    ) + phase.charging * math.floor(phase.hold_seconds / plan.meter_interval)


class _GcPauses:
    """A gc callback: how long the cyclic collector runs (the event loop waits meanwhile)."""

    def __init__(self) -> None:
        self.began = 0.0
        self.seconds = 0.0
        self.longest = 0.0
        self.full = 0

    def __call__(self, stage: str, info: dict[str, int]) -> None:
        if stage == "start":
            self.began = time.perf_counter()
            return
        took = time.perf_counter() - self.began
        self.seconds += took
        self.longest = max(self.longest, took)
        self.full += info["generation"] == 2


async def _sample_lag(lags: list[float], seconds: float) -> None:
    """How late the event loop wakes a sleeper: a busy loop delays every station."""
    for _ in range(int(seconds / LAG_TICK) + 10):
        asked = time.monotonic()
        await asyncio.sleep(LAG_TICK)
        lags.append(max(0.0, time.monotonic() - asked - LAG_TICK))


# ---- the run ------------------------------------------------------------------------------------


def check_limits(stations: int) -> str:
    """Raise the open-files limit for a socket per station (the CSMS child inherits it) and
    check the ephemeral ports; BenchError when the machine cannot hold `stations`."""
    needed = stations + FD_SPARE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise BenchError(
            f"--stations {stations:,} needs {needed:,} open files in this process and in the "
            f"CSMS; the hard limit is {hard:,} (ulimit -Hn)"
        )
    raised = raise_fd_limit(needed)
    low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = high - low + 1
    if stations + PORT_SPARE > ports:
        raise BenchError(
            f"--stations {stations:,} needs {stations + PORT_SPARE:,} ephemeral ports on "
            f"{HOST}; net.ipv4.ip_local_port_range {low}-{high} has {ports:,}"
        )
    return (
        f"open files: soft limit {soft:,}"
        + (f" raised to {raised:,}" if raised != soft else "")
        + f" (hard {'unlimited' if hard == resource.RLIM_INFINITY else f'{hard:,}'}); "
        f"ephemeral ports {low}-{high} ({ports:,})"
    )


def bypass_proxies() -> None:
    """websockets >= 15 honours *_proxy variables: keep every connection on 127.0.0.1."""
    if any(name.lower().endswith("_proxy") for name in os.environ):
        current = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
        os.environ["no_proxy"] = os.environ["NO_PROXY"] = ",".join(
            part for part in (current, HOST) if part
        )


def start_csms(children: Children, database_url: str | None, plan: Plan) -> tuple[Child, int]:
    """The reference CSMS on `database_url`, or the stand-in when there is none."""
    port = free_port()
    children.ports.append(port)
    if database_url is None:
        command = [
            sys.executable,
            "-m",
            "ocppscope.bench.proxy",
            "csms",
            "--listen",
            f"{HOST}:{port}",
            "--lifetime",
            str(round(plan.budget() + CHILD_SLACK)),
            "--heartbeat-interval",
            str(plan.heartbeat),
        ]
        child = children.start("stand-in", command)
    else:
        http_port = free_port()
        children.ports.append(http_port)
        env = {
            **os.environ,
            "OCPPSCOPE_DATABASE_URL": database_url,
            "OCPPSCOPE_DATA_DIR": str(children.workdir / "data"),
        }
        command = [
            *ocppscope_command(),
            "csms",
            "--ocpp",
            f"{HOST}:{port}",
            "--http",
            f"{HOST}:{http_port}",
            "--heartbeat-interval",
            str(plan.heartbeat),
        ]
        child = children.start("csms", command, env)
    children.wait_listening(child, port)
    return child, port


def _postmaster(directory: Path) -> int | None:
    """The embedded server's postmaster (its backends are its children); None for a URL's."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((directory / "postmaster.pid").read_text().split()[0])
    return None


def _baseline(
    children: Children, url: str, plan: Plan, watch: dict[str, int], say: Callable[[str], None]
) -> Phase:
    """The bare clients in a child process of their own, so that their RSS is theirs alone."""
    result = children.workdir / "baseline.json"
    command = [
        sys.executable,
        "-m",
        "ocppscope.bench.simulate",
        "bare",
        "--url",
        url,
        "--stations",
        str(plan.stations),
        "--rate",
        str(plan.rate),
        "--hold",
        str(plan.hold),
        "--heartbeat",
        str(plan.heartbeat),
        "--result",
        str(result),
        "--gc-tuning" if plan.gc_tuning else "--no-gc-tuning",
        *(arg for name, pid in watch.items() for arg in ("--watch", f"{name}={pid}")),
    ]
    child = children.start("baseline", command)
    try:
        for _ in range(math.ceil((plan.budget() + CHILD_SLACK) / PROGRESS_EVERY)):
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(PROGRESS_EVERY)
                break
            say(child.tail().rsplit(" | ", 1)[-1] or "baseline starting")
    finally:
        children.stop(child)
    if child.process.returncode != 0 or not result.exists():
        raise RuntimeError(f"the baseline exited with {child.process.returncode}: {child.tail()}")
    return Phase(**json.loads(result.read_text()))


def _phase(
    children: Children,
    server_url: str | None,
    plan: Plan,
    console: Console,
    say: Callable[[str], None],
    *,
    baseline: bool,
) -> Phase:
    """One phase against a CSMS of its own, the reference one on a scratch database of its own
    (`server_url`), else the stand-in."""
    specs = generated(plan.stations, POWER_KW)
    with contextlib.ExitStack() as stack:
        database_url = None
        if server_url is not None:
            database_url, _, _ = stack.enter_context(scratch_database(server_url, console))
        csms, port = start_csms(children, database_url, plan)
        try:
            watch = {"csms": csms.pid}
            postmaster = _postmaster(children.workdir / "postgres")
            if postmaster is not None:
                watch["database"] = postmaster
            url = f"ws://{HOST}:{port}/ocpp"
            if baseline:
                say(f"baseline: {plan.stations:,} bare websockets clients in a child process")
                return _baseline(children, url, plan, watch, say)
            say(f"simulator: {plan.stations:,} SimulatedStations in this process")
            fleet = SimulatedFleet(url, specs, plan)
            return asyncio.run(run_phase(fleet, plan, watch, say))
        finally:
            children.stop(csms)
            if csms.process.returncode not in (0, -signal.SIGTERM):
                say(f"the CSMS exited with {csms.process.returncode}: {csms.tail()[-200:]}")


def run_simulate_benchmark(
    plan: Plan, console: Console, progress: Callable[[str], None] | None = None
) -> int:
    """Run the phases, print the table; 0 when the simulator reached a steady state without
    errors. BenchError (exit code 2) when the machine or the database cannot be used."""
    say = progress or (lambda _text: None)
    limits = check_limits(plan.stations)
    bypass_proxies()
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="ocppscope-bench-") as workdir:
        children = Children(Path(workdir))
        with contextlib.ExitStack() as stack:
            server_url = None
            if plan.csms == "reference":
                server_url = stack.enter_context(database_server(Path(workdir) / "postgres"))
            try:
                for baseline in (True, False) if plan.baseline else (False,):
                    try:
                        phase = _phase(children, server_url, plan, console, say, baseline=baseline)
                    except (RuntimeError, OSError) as exc:  # a child that would not start or run
                        name = BareFleet.name if baseline else SimulatedFleet.name
                        phase = Phase(name, plan.stations, errors=[str(exc)])
                    phases.append(phase)
            finally:
                children.stop_all()
    render(phases, plan, limits, console)
    console.print(
        f"[dim]ports used: {' '.join(str(port) for port in children.ports)}; "
        f"work directory {workdir} (removed)[/]"
    )
    simulated = phases[-1]
    return 0 if simulated.steady and not any(p.errors for p in phases) else 1


# ---- report -------------------------------------------------------------------------------------


def _number(value: float | None, digits: int = 0, suffix: str = "") -> str:
    return "—" if value is None or math.isnan(value) else f"{value:,.{digits}f}{suffix}"


def _percent(value: float | None) -> str:
    return _number(None if value is None else value * 100, 0, "%")


def _ratio(mine: float | None, base: float | None) -> str | None:
    return None if mine is None or not base else f"{mine / base:.1f}x"


def render(phases: list[Phase], plan: Plan, limits: str, console: Console) -> None:
    table = Table(
        title=f"{plan.stations:,} stations started at {plan.rate:g}/s against "
        f"{CSMS_KINDS[plan.csms]} on {HOST}; heartbeat {plan.heartbeat} s; steady window "
        f"{plan.hold:g} s; simulator: {len(plan.charging_indices):,} charging, a "
        f"TransactionEvent every {plan.meter_interval:g} s",
        title_justify="left",
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("", "left"),
        ("booted", "right"),
        ("all booted\nafter s", "right"),
        ("boot p50/p99\nms", "right"),
        ("RSS per\nstation KB", "right"),
        ("CPU, share\nof a core", "right"),
        ("CPU ms per\nstation-min", "right"),
        ("CPU µs\nper CALL", "right"),
        ("CALLs/s\n(due)", "right"),
        ("loop lag\np99/max ms", "right"),
        ("CSMS\nCPU", "right"),
        ("PostgreSQL\nCPU", "right"),
        ("errors", "right"),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for phase in phases:
        table.add_row(
            phase.name,
            f"{phase.booted:,}/{phase.stations:,}",
            _number(phase.all_booted_seconds, 1),
            f"{_number(phase.boot_p50_ms)}/{_number(phase.boot_p99_ms)}",
            _number(phase.rss_kb_per_station, 1),
            _percent(phase.share("stations")),
            _number(phase.cpu_ms_per_station_minute, 2),
            _number(phase.cpu_us_per_call),
            f"{_number(phase.calls_per_second)} ({_number(phase.expected_calls_per_second)})",
            f"{_number(phase.lag_p99_ms)}/{_number(phase.lag_max_ms)}",
            _percent(phase.share("csms")),
            _percent(phase.share("database")),
            str(len(phase.errors)),
        )
    console.print(table)
    console.print(
        "[dim]CPU: utime+stime over the steady window (/proc), share of one core; RSS: VmRSS "
        "growth of the stations' process / stations booted; boot: connection started to "
        f"BootNotification accepted; {os.cpu_count()} CPUs shared by the stations, the CSMS and "
        f"PostgreSQL. {limits}.[/]"
    )
    for phase in phases:
        connect = ", ".join(
            f"{name} {_percent(phase.share(name, connect=True))}"
            for name in ("stations", "csms", "database")
            if name in phase.connect_cpu
        )
        other = phase.share("machine")
        if other is not None:
            other -= sum(phase.share(n) or 0.0 for n in ("stations", "csms", "database"))
        console.print(
            f"{phase.name}: connect phase {phase.connect_seconds:.1f} s, CPU {connect}; in the "
            f"steady window: garbage collector {phase.gc_seconds:.1f} s (longest "
            f"{phase.gc_longest_ms:,.0f} ms, {phase.gc_full} full), other processes "
            f"{_percent(other)}; CSMS RSS {_number(phase.watched_rss_mb.get('csms'))} MB"
        )
    _compare(phases, console)
    simulated = phases[-1]
    if simulated.steady:
        console.print(
            f"[green]steady state reached[/] with {simulated.stations:,} stations: all booted "
            f"and connected, no reconnects, {_number(simulated.calls_per_second)} CALLs/s of "
            f"{_number(simulated.expected_calls_per_second)} due, "
            f"{simulated.queued_end:,} TransactionEvents queued at the end."
        )
    else:
        console.print(
            f"[red]no steady state[/] with {simulated.stations:,} stations: "
            f"{simulated.booted:,} booted, {simulated.connected_end:,} connected at the end, "
            f"{simulated.reconnects:,} reconnects, {_number(simulated.calls_per_second)} CALLs/s "
            f"of {_number(simulated.expected_calls_per_second)} due, {simulated.queued_end:,} "
            f"TransactionEvents queued, loop lag max {_number(simulated.lag_max_ms)} ms."
        )
    for phase in phases:
        for error in phase.errors:
            console.print(f"[yellow]{phase.name}: {error}[/]")
        for note in phase.notes:
            console.print(f"[dim]{phase.name}, while closing: {note}[/]")


def _compare(phases: list[Phase], console: Console) -> None:
    if len(phases) < 2:
        return
    bare, simulated = phases
    parts = [
        f"{ratio} in memory ({_number(simulated.rss_kb_per_station, 1)} vs "
        f"{_number(bare.rss_kb_per_station, 1)} KB)"
        if (ratio := _ratio(simulated.rss_kb_per_station, bare.rss_kb_per_station))
        else None,
        f"{ratio} in CPU per station-minute"
        if (ratio := _ratio(simulated.cpu_ms_per_station_minute, bare.cpu_ms_per_station_minute))
        else None,
        f"{ratio} in CPU per CALL"
        if (ratio := _ratio(simulated.cpu_us_per_call, bare.cpu_us_per_call))
        else None,
    ]
    said = [part for part in parts if part]
    if said:
        console.print(f"a simulated station costs {', '.join(said)} of a bare connection")


# ---- the baseline's child process ---------------------------------------------------------------


def bare_main(argv: list[str]) -> None:
    """`python -m ocppscope.bench.simulate bare ...`: the baseline phase, its Phase as JSON in --result."""
    parser = argparse.ArgumentParser(prog="python -m ocppscope.bench.simulate bare")
    parser.add_argument("role", choices=["bare"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--stations", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--hold", type=float, required=True)
    parser.add_argument("--heartbeat", type=int, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--watch", action="append", default=[], help="NAME=PID")
    parser.add_argument("--gc-tuning", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    if not args.url.startswith(f"ws://{HOST}:"):
        parser.error(f"the baseline connects to {HOST} only")
    watch = {name: int(pid) for name, _, pid in (w.partition("=") for w in args.watch)}
    plan = Plan(
        args.stations, args.rate, 0.0, args.heartbeat, hold=args.hold, gc_tuning=args.gc_tuning
    )
    console = Console(stderr=True)

    async def run() -> Phase:
        fleet = BareFleet(args.url, [spec.id for spec in generated(plan.stations, POWER_KW)])
        return await run_phase(fleet, plan, watch, console.print)

    phase = asyncio.run(run())
    args.result.write_text(json.dumps(dataclasses.asdict(phase)))


if __name__ == "__main__":
    bare_main(sys.argv[1:])
