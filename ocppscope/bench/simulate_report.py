"""The table and the verdict `ocppscope bench simulate` prints from its phases: rendering only."""

from __future__ import annotations

import math
import os

from rich.console import Console
from rich.table import Table

from ocppscope.bench.simulate_plan import CSMS_KINDS, Phase, Plan
from proxy.processes import HOST


def _number(value: float | None, digits: int = 0, suffix: str = "") -> str:
    return "—" if value is None or math.isnan(value) else f"{value:,.{digits}f}{suffix}"


def _percent(value: float | None) -> str:
    return _number(None if value is None else value * 100, 0, "%")


def _ratio(mine: float | None, base: float | None) -> str | None:
    return None if mine is None or not base else f"{mine / base:.1f}x"


def render(phases: list[Phase], plan: Plan, limits: str, console: Console) -> None:
    table = Table(
        title=f"{plan.stations:,} {plan.protocol} stations started at {plan.rate:g}/s against "
        f"{CSMS_KINDS[plan.csms]} on {HOST}; heartbeat {plan.heartbeat} s; steady window "
        f"{plan.hold:g} s; simulator: {len(plan.charging_indices):,} charging, a "
        f"{plan.metering} every {plan.meter_interval:g} s",
        title_justify="left",
    )
    columns = (
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
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
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
