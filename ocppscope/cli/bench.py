"""`ocppscope bench ...`: the benchmarks, each printing ratios measured in the same run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from ocppscope.cli.options import fail

bench_app = typer.Typer(
    help="Benchmarks that print numbers measured in the same run.", no_args_is_help=True
)


def _progress(text: str) -> None:
    """What a benchmark is doing now, on stderr so that its table alone goes to stdout."""
    Console(stderr=True).print(f"[dim]running: {text}[/]")


def _table_console(width: int) -> Console:
    """Wide enough for the benchmark's table when piped; the terminal's width otherwise."""
    return Console(width=None if sys.stdout.isatty() else width)


def _exit_with(run: Callable[[], int | None]) -> None:
    """Run a benchmark: its refusal (a BenchError) is one line and its exit code, and a run that
    measured something wrong exits with the code it returns."""
    from ocppscope.bench.store import BenchError  # noqa: PLC0415 (heavy, bench only)

    try:
        code = run()
    except BenchError as exc:
        fail(str(exc), exc.exit_code)
    if code:
        raise typer.Exit(code)


@bench_app.command("engine")
def bench_engine(
    stations: Annotated[int, typer.Option(min=1, max=10_000, help="Simulated stations.")] = 50,
    minutes: Annotated[
        int, typer.Option(min=1, max=600, help="Simulated minutes of traffic per station.")
    ] = 10,
) -> None:
    """Frames/s of the conformance engine on one core for an ocpp2.0.1 and an ocpp1.6 fleet, next to
    the ocpp library's validation."""
    from ocppscope.bench.engine import run_engine_benchmark  # noqa: PLC0415 (heavy, bench only)

    run_engine_benchmark(stations, minutes, Console())


@bench_app.command("proxy")
def bench_proxy(
    stations: Annotated[
        str,
        typer.Option(help="Comma-separated station counts, each run through every path."),
    ] = "1,100,1000",
    seconds: Annotated[
        float,
        typer.Option(
            min=0.5, max=600, help="Seconds of the throughput phase (calls back to back)."
        ),
    ] = 4.0,
    latency_seconds: Annotated[
        float | None,
        typer.Option(
            min=1,
            max=600,
            help="Seconds of the latency phase (1 call/s per station); default 2.5x --seconds.",
        ),
    ] = None,
) -> None:
    """Calls/s, added latency, CPU per call and RSS: direct vs mitmdump vs ocppscope proxy."""
    from ocppscope.bench.proxy import parse_station_counts, run_proxy_benchmark  # noqa: PLC0415

    try:
        counts = parse_station_counts(stations)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--stations'") from None
    latency = latency_seconds if latency_seconds is not None else 2.5 * seconds
    console = _table_console(180)
    _exit_with(lambda: run_proxy_benchmark(counts, seconds, latency, console, progress=_progress))


@bench_app.command("store")
def bench_store(
    rows: Annotated[
        int,
        typer.Option(
            min=1_000,
            max=1_000_000,
            help="Rows of the throughput phases (COPY writer, then executemany, same rows).",
        ),
    ] = 200_000,
    rate: Annotated[
        int, typer.Option(min=1, max=50_000, help="Rows/s of the write-lag phase.")
    ] = 1_000,
    seconds: Annotated[
        float, typer.Option(min=1, max=600, help="Seconds of the write-lag phase.")
    ] = 10.0,
) -> None:
    """Rows/s into PostgreSQL: the store's COPY writer vs executemany, and its write lag.

    Runs on a scratch database (created, then dropped) on OCPPSCOPE_DATABASE_URL's server, else
    on the embedded one.
    """
    from ocppscope.bench.store import check_paced, run_store_benchmark  # noqa: PLC0415

    try:
        check_paced(rate, seconds)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--rate'") from None
    console = _table_console(160)

    def run() -> None:  # the store benchmark has no verdict of its own: it prints, or refuses
        run_store_benchmark(rows, rate, seconds, console, progress=_progress)

    _exit_with(run)


class SimulateCsms(StrEnum):
    REFERENCE = "reference"
    STAND_IN = "stand-in"


@bench_app.command("simulate")
def bench_simulate(
    stations: Annotated[
        int, typer.Option(min=1, max=50_000, help="Simulated stations, all in this process.")
    ] = 10_000,
    rate: Annotated[
        float, typer.Option(min=1, max=5_000, help="Connections started per second.")
    ] = 200.0,
    charging: Annotated[
        float, typer.Option(min=0, max=1, help="Share of the stations charging throughout.")
    ] = 0.1,
    heartbeat: Annotated[
        int, typer.Option(min=1, max=3_600, help="HeartbeatInterval the CSMS grants, seconds.")
    ] = 30,
    meter_interval: Annotated[
        float,
        typer.Option(
            min=1,
            max=3_600,
            help="Seconds between a session's TransactionEvents (1.6: MeterValues).",
        ),
    ] = 5.0,
    hold: Annotated[
        float, typer.Option(min=1, max=3_600, help="Seconds of the steady window measured.")
    ] = 60.0,
    baseline: Annotated[
        bool,
        typer.Option(help="Measure bare websockets clients first, for the per-station ratios."),
    ] = True,
    csms: Annotated[
        SimulateCsms,
        typer.Option(
            help="reference: ocppscope csms; stand-in: the proxy bench's CSMS (no database)."
        ),
    ] = SimulateCsms.REFERENCE,
    gc_tuning: Annotated[
        bool,
        typer.Option(
            help="Tune the garbage collector as the proxy does, and gc.freeze() the booted fleet."
        ),
    ] = True,
    protocol: Annotated[
        str,
        typer.Option(
            help="OCPP version of both fleets: ocpp1.6, ocpp2.0.1 or ocpp2.1 (reference CSMS only)."
        ),
    ] = "ocpp2.0.1",
) -> None:
    """Connect time, memory and CPU per station of the simulator against the reference CSMS,
    next to bare websockets clients; on the embedded PostgreSQL in a temporary directory, or on
    a scratch database of OCPPSCOPE_DATABASE_URL's server."""
    from ocppscope.bench.simulate import run_simulate_benchmark  # noqa: PLC0415
    from ocppscope.bench.simulate_plan import Plan  # noqa: PLC0415
    from simulator.versions import DEFAULT_VERSION, VERSIONS  # noqa: PLC0415

    if protocol not in VERSIONS:
        fail(f"--protocol '{protocol}' is not one of {', '.join(VERSIONS)}")
    if protocol != DEFAULT_VERSION and csms is SimulateCsms.STAND_IN:
        fail(f"--protocol {protocol} needs --csms reference: the stand-in speaks {DEFAULT_VERSION}")
    plan = Plan(
        stations,
        rate,
        charging,
        heartbeat,
        meter_interval,
        hold,
        baseline,
        csms.value,
        gc_tuning,
        protocol,
    )
    console = _table_console(200)
    _exit_with(lambda: run_simulate_benchmark(plan, console, progress=_progress))


@bench_app.command("soak")
def bench_soak(
    minutes: Annotated[
        float, typer.Option(min=0.1, max=600, help="Minutes of charging under faults.")
    ] = 10.0,
    stations: Annotated[
        int, typer.Option(min=1, max=20_000, help="Simulated stations, all in this process.")
    ] = 500,
    drop: Annotated[
        float,
        typer.Option(
            min=0, max=0.9, help="Probability a TransactionEvent answer or a Heartbeat is dropped."
        ),
    ] = 0.1,
) -> None:
    """Stations charging through a real proxy running a fault plan (drops, disconnects, an
    outage) to the reference CSMS; exit 0 when charger_usage_log lost no energy."""
    from ocppscope.bench.soak import SoakPlan, run_soak  # noqa: PLC0415

    console = _table_console(160)
    _exit_with(lambda: run_soak(SoakPlan(minutes, stations, drop), console, progress=_progress))
