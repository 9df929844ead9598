"""Measuring one phase of `ocppscope bench simulate`, the same code for either fleet: start the
stations at the plan's rate, wait for their boots, hold the steady window (CPU, CALLs, event-loop
lag, garbage-collector pauses, RSS) and stop them, the numbers going into a `Phase`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from ocppscope.bench.simulate_fleets import Fleet
from ocppscope.bench.simulate_plan import BOOT_GRACE, CHARGE_GRACE, SETTLE, Phase, Plan
from proxy.heap import tune_garbage_collector
from proxy.latency import percentile_ms
from proxy.processes import (
    cpu_seconds,
    machine_busy_seconds,
    own_cpu_seconds,
    rss_mb,
    tree_cpu_seconds,
)

POLL = 0.1
LAG_TICK = 0.1
PROGRESS_EVERY = 5.0


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
