"""The table and the verdicts (against the 1.5x throughput and < 2 ms latency targets) that
`ocppscope bench proxy` prints from its results: rendering only.
"""

from __future__ import annotations

import math
import os

from rich.console import Console
from rich.table import Table

from ocppscope.bench.proxy_load import Result
from ocppscope.bench.proxy_paths import DIRECT, MITMDUMP, OCPPSCOPE, OCPPSCOPE_STORED, PATHS, Route
from proxy.processes import HOST


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
    columns = (
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
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
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
