"""The load generator of `ocppscope bench proxy`: stations on `websockets` clients in this process,
connected in batches, driven in the two load shapes (throughput: back to back; latency: one CALL
a second), with the CPU of the processes on the path measured over the throughput phase.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from ocppscope.bench.proxy_paths import Route
from ocppscope.bench.proxy_traffic import SUBPROTOCOL, StationTraffic
from proxy.processes import (
    HOST,
    cpu_seconds,
    machine_busy_seconds,
    own_cpu_seconds,
    rss_mb,
)

CONNECT_BATCH = 50
"""Handshakes in flight at once (asyncio's default listen backlog is 100)."""
OPEN_TIMEOUT = 10.0
CONNECT_SECONDS_PER_STATION = 0.05
CONNECT_MIN_SECONDS = 20.0
CALL_TIMEOUT = 10.0
CLOSE_TIMEOUT = 10.0
WARMUP_SECONDS = 0.5
MAX_CALLS_PER_STATION = 1_000_000


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
        await self.call(self.traffic.startup())

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
