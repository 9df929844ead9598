"""The `ocppscope` command line."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dashboards.cli import dashboards_app
from proxy.capture import CaptureError, read_capture
from proxy.check import run_check
from proxy.commandline import database_url, fail, with_connection
from proxy.fault_cli import fault_app
from proxy.lab_cli import demo, up
from proxy.ocppj.findings import Severity
from proxy.ocppj.session import Config
from proxy.ocppj.state import Backoff
from proxy.report import render_rules, render_table, to_json, to_junit
from proxy.settings import (
    DEFAULT_ADMIN,
    DEFAULT_LISTEN,
    DEFAULT_UPSTREAM,
    ProxySettings,
    check_admin_exposure,
    data_dir,
    parse_listen,
    parse_upstream,
)
from scenarios.cli import scenario_app
from scenarios.report_cli import report

app = typer.Typer(
    help="OCPP 2.0.1 man-in-the-middle: validate, time and record every frame.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(
    help="Benchmarks that print numbers measured in the same run.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")
db_app = typer.Typer(
    help="The PostgreSQL database: OCPPSCOPE_DATABASE_URL, or the embedded one started on demand.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(fault_app, name="fault")
app.add_typer(scenario_app, name="scenario")
app.add_typer(dashboards_app, name="dashboards")
app.command()(up)
app.command()(demo)
app.command()(report)

EXIT_FINDINGS = 1


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    JUNIT = "junit"


def _backoff(value: str | None) -> Backoff | None:
    if value is None:
        return None
    parts = value.split(",")
    try:
        minimum, spread, repeat = float(parts[0]), float(parts[1]), int(parts[2])
    except (ValueError, IndexError):
        raise typer.BadParameter("expected MIN,RANGE,REPEAT, e.g. 1,0,4") from None
    if len(parts) != 3 or minimum < 0 or spread < 0 or repeat < 0:
        raise typer.BadParameter("expected three non-negative numbers MIN,RANGE,REPEAT")
    return Backoff(minimum, spread, repeat)


@app.command()
def check(
    capture: Annotated[Path, typer.Argument(help="Capture file (JSON Lines; see README).")],
    output_format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = (
        Format.TABLE
    ),
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report here instead of standard output."),
    ] = None,
    min_severity: Annotated[
        Severity,
        typer.Option(help="Hide findings below this severity (the summary still counts them)."),
    ] = (Severity.INFO),
    message_timeout: Annotated[
        float,
        typer.Option(
            min=0.001,
            help="Seconds before an unanswered CALL times out, until MessageTimeout "
            "is seen in the traffic.",
        ),
    ] = 30.0,
    retry_backoff: Annotated[
        str | None,
        typer.Option(
            help="RetryBackOffWaitMinimum,RandomRange,RepeatTimes to assume until learned from "
            "the traffic, e.g. 1,0,4 for waits of 1, 2, 4, 8, 16 s."
        ),
    ] = None,
) -> None:
    """Check a recorded capture against the OCPP 2.0.1 rules; exit 1 when errors were found."""
    config = Config(message_timeout=message_timeout, backoff=_backoff(retry_backoff))
    try:
        report = run_check(read_capture(capture), config)
    except CaptureError as exc:
        fail(str(exc))
    shown = [f for f in report.findings if f.severity.rank >= min_severity.rank]
    if output_format is Format.TABLE:
        console = Console(
            file=output.open("w", encoding="utf-8") if output else None,
            width=160 if output else None,
        )
        render_table(report, console, shown)
    else:
        text = to_json(report, shown) if output_format is Format.JSON else to_junit(report)
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
    if report.count(Severity.ERROR):
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def proxy(
    listen: Annotated[
        str,
        typer.Option(
            envvar="OCPPSCOPE_LISTEN",
            help="HOST:PORT chargers connect to (ws:// and wss:// on the "
            "same port; point a charger at ws://HOST:PORT/<stationId>).",
        ),
    ] = DEFAULT_LISTEN,
    upstream: Annotated[
        str,
        typer.Option(
            envvar="OCPPSCOPE_UPSTREAM",
            help="The CSMS: ws://HOST:PORT or wss://HOST:PORT. The "
            "charger's path is forwarded unchanged.",
        ),
    ] = DEFAULT_UPSTREAM,
    cert: Annotated[
        Path | None,
        typer.Option(
            help="PEM certificate for wss:// on the listening side (with its key in the same file, "
            "or --key). Without it, certificates are issued by ocppscope's CA (see 'ocppscope ca')."
        ),
    ] = None,
    key: Annotated[Path | None, typer.Option(help="PEM private key of --cert.")] = None,
    upstream_ca: Annotated[
        Path | None,
        typer.Option(help="PEM CA bundle to verify a wss:// CSMS with (default: the system's)."),
    ] = None,
    upstream_insecure: Annotated[
        bool,
        typer.Option(
            help="Do not verify the wss:// CSMS's certificate (test CSMSs with self-signed ones)."
        ),
    ] = False,
    client_cert: Annotated[
        Path | None,
        typer.Option(
            help="PEM certificate and key the proxy presents when the CSMS asks for a client "
            "certificate (security profile 3). The CSMS sees this one, never the charger's."
        ),
    ] = None,
    message_timeout: Annotated[
        float,
        typer.Option(
            min=0.001,
            help="Seconds before an unanswered CALL times out, until MessageTimeout "
            "is seen on the wire.",
        ),
    ] = 30.0,
    retry_backoff: Annotated[
        str | None,
        typer.Option(
            help="RetryBackOffWaitMinimum,RandomRange,RepeatTimes to assume until seen on the wire, "
            "e.g. 1,0,4."
        ),
    ] = None,
    idle_timeout: Annotated[
        float,
        typer.Option(
            min=1,
            help="Seconds without any traffic before a connection is cut (above the longest "
            "HeartbeatInterval of your chargers).",
        ),
    ] = 7200.0,
    max_message_size: Annotated[
        int,
        typer.Option(
            min=1024,
            help="Largest WebSocket message in bytes; a bigger one closes the connection "
            "with 1009.",
        ),
    ] = 4 * 1024 * 1024,
    quiet: Annotated[bool, typer.Option(help="No live view; only ocppscope's own messages.")] = (
        False
    ),
    json_log: Annotated[
        bool,
        typer.Option(help="One JSON object per line for every connection, finding and message."),
    ] = False,
    store: Annotated[
        bool,
        typer.Option(
            help="Store every frame, connection and finding in PostgreSQL "
            "(OCPPSCOPE_DATABASE_URL, or the embedded server)."
        ),
    ] = True,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="OCPPSCOPE_DATABASE_URL",
            help="postgresql://USER:PASSWORD@HOST:PORT/DB (PostgreSQL 14+); unset: an embedded "
            "PostgreSQL under the data directory, started and stopped with the proxy.",
            show_envvar=True,
        ),
    ] = None,
    store_buffer: Annotated[
        int,
        typer.Option(
            min=1,
            help="Rows held in memory while PostgreSQL is unavailable; beyond that, rows are "
            "discarded, counted and recorded in store_discards. Frames are always forwarded.",
        ),
    ] = 100_000,
    retention_days: Annotated[
        int,
        typer.Option(
            min=0,
            help="Days of frames to keep; older daily partitions are dropped (0: keep all).",
        ),
    ] = 30,
    instance: Annotated[
        str | None,
        typer.Option(help="This proxy's name in the tables (default: HOSTNAME:PORT)."),
    ] = None,
    admin: Annotated[
        str,
        typer.Option(
            envvar="OCPPSCOPE_ADMIN",
            help="HOST:PORT of the admin HTTP API (/healthz, /docs), or 'off'. With --workers, "
            "worker N listens on PORT+N.",
        ),
    ] = DEFAULT_ADMIN,
    admin_token: Annotated[
        str | None,
        typer.Option(
            envvar="OCPPSCOPE_ADMIN_TOKEN",
            help="Bearer token the admin API's /faults requires; needed when --admin is not "
            "on loopback.",
        ),
    ] = None,
    fault_plan: Annotated[
        Path | None,
        typer.Option(help="Run this fault plan (YAML or TOML) from start-up; see README."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Proxy processes behind the one port; each station always lands on the same "
            "one (by station id, or the charger's address for wss://). With more than one, "
            "findings print as lines instead of the live view.",
        ),
    ] = 1,
) -> None:
    """Run the man-in-the-middle: forward every frame, check and time it live."""
    import asyncio  # noqa: PLC0415 (keeps `check` free of the proxy's start-up cost)

    from proxy.runtime import CertificateError, check_certificate, serve  # noqa: PLC0415
    from proxy.store.database import DatabaseError, database_for  # noqa: PLC0415

    try:
        if retry_backoff:
            _backoff(retry_backoff)
        settings = ProxySettings(
            listen=parse_listen(listen),
            upstream=parse_upstream(upstream),
            cert=cert,
            key=key,
            upstream_ca=upstream_ca,
            upstream_insecure=upstream_insecure,
            client_cert=client_cert,
            message_timeout=message_timeout,
            retry_backoff=retry_backoff or "",
            idle_timeout=idle_timeout,
            max_message_size=max_message_size,
            quiet=quiet,
            json_log=json_log,
            confdir=data_dir() / "mitmproxy",
            store=store,
            database_url=database_url or None,
            store_buffer=store_buffer,
            retention_days=retention_days,
            instance=instance or "",
            admin=None if admin == "off" else parse_listen(admin),
            admin_token=admin_token or None,
            fault_plan=fault_plan,
        )
        check_admin_exposure(settings)
        if fault_plan is not None:
            from proxy.faults.plan import load_plan  # noqa: PLC0415

            load_plan(fault_plan)
        if cert:
            check_certificate(cert, key, "--cert")
        if client_cert:
            check_certificate(client_cert, None, "--client-cert")
        if upstream_ca and not upstream_ca.is_file():
            raise ValueError(f"--upstream-ca {upstream_ca}: no such file")
        with database_for(settings) as settings_with_database:
            if workers > 1:
                from proxy.workers import serve_workers  # noqa: PLC0415

                serve_workers(settings_with_database, workers)
            else:
                asyncio.run(serve(settings_with_database))
    except (ValueError, CertificateError, OSError, DatabaseError) as exc:
        fail(str(exc))


@app.command()
def csms(
    ocpp: Annotated[
        str, typer.Option(help="HOST:PORT for stations: ws://HOST:PORT/<path>/<stationId>.")
    ] = "127.0.0.1:9001",
    http: Annotated[
        str, typer.Option(help="HOST:PORT of the REST API (/docs) and the live map (/).")
    ] = "127.0.0.1:8080",
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="OCPPSCOPE_DATABASE_URL",
            help="PostgreSQL 14+; unset: the embedded one (shared with the proxy).",
            show_envvar=True,
        ),
    ] = None,
    price: Annotated[float, typer.Option(min=0, help="KRW per kWh.")] = 150.0,
    heartbeat_interval: Annotated[
        int, typer.Option(min=1, help="Seconds, granted in BootNotification responses.")
    ] = 30,
    reject_unknown: Annotated[
        bool,
        typer.Option(
            help="Reject the BootNotification of a station not in charger_info (default: "
            "register it)."
        ),
    ] = False,
    deny_token: Annotated[
        list[str] | None,
        typer.Option(help="An idToken to answer with Blocked (repeat the option for more)."),
    ] = None,
    command_timeout: Annotated[
        float,
        typer.Option(
            min=1, help="Seconds the REST API waits for a station's answer or transaction event."
        ),
    ] = 30.0,
) -> None:
    """Run the reference CSMS: OCPP 2.0.1 server, REST API and the live map of the fleet."""
    import asyncio  # noqa: PLC0415

    from csms.app import CsmsSettings, serve_csms  # noqa: PLC0415
    from csms.station import Policy  # noqa: PLC0415
    from proxy.store.database import DatabaseError, resolved_database  # noqa: PLC0415

    try:
        ocpp_endpoint, http_endpoint = parse_listen(ocpp), parse_listen(http)
        policy = Policy(
            price_per_kwh=price,
            heartbeat_interval=heartbeat_interval,
            accept_unknown=not reject_unknown,
            denied_tokens=frozenset(deny_token or ()),
        )
        with resolved_database(database_url) as url:
            asyncio.run(
                serve_csms(CsmsSettings(ocpp_endpoint, http_endpoint, url, policy, command_timeout))
            )
    except (ValueError, OSError, DatabaseError) as exc:
        fail(str(exc))


@app.command()
def simulate(
    url: Annotated[
        str,
        typer.Option(
            help="Where the stations connect (the proxy or a CSMS); /<stationId> is added."
        ),
    ] = "ws://127.0.0.1:9000/ocpp",
    fleet: Annotated[
        Path | None,
        typer.Option(help="Fleet file (TOML or YAML, see README); default: the seed's five."),
    ] = None,
    count: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="Simulate N generated 50 kW stations.")
    ] = None,
    speed: Annotated[
        float, typer.Option(min=0.01, max=1000, help="Run the stations' clocks K times faster.")
    ] = 1.0,
    duration: Annotated[
        float | None,
        typer.Option(min=1, help="Simulated seconds to run (default: until Ctrl-C)."),
    ] = None,
    charge: Annotated[
        float | None,
        typer.Option(min=1, help="Each station charges once for this many simulated seconds."),
    ] = None,
    control: Annotated[
        str,
        typer.Option(
            help="HOST:PORT of the control API (plug in, start, stop, fault; see README), or 'off'."
        ),
    ] = "127.0.0.1:9002",
) -> None:
    """Run a fleet of simulated OCPP 2.0.1 stations (boot, heartbeats, sessions, back-off,
    offline queue) until --duration passes or Ctrl-C."""
    import asyncio  # noqa: PLC0415

    from simulator.fleet import SEED_FLEET, FleetError, generated, load_fleet  # noqa: PLC0415
    from simulator.runner import simulate as run_simulation  # noqa: PLC0415

    if fleet is not None and count is not None:
        fail("give --fleet or --count, not both")
    if not url.startswith(("ws://", "wss://")):
        fail(f"--url '{url}' is not a ws:// or wss:// URL")
    try:
        specs = load_fleet(fleet) if fleet else generated(count) if count else list(SEED_FLEET)
        control_endpoint = None if control == "off" else parse_listen(control)
    except (FleetError, ValueError) as exc:
        fail(str(exc))
    try:
        asyncio.run(run_simulation(specs, url, speed, duration, charge, control_endpoint))
    except OSError as exc:
        fail(str(exc))


@app.command()
def ca() -> None:
    """Print the path of the CA certificate to install on chargers for wss:// through the proxy."""
    from mitmproxy.certs import CertStore  # noqa: PLC0415

    confdir = data_dir() / "mitmproxy"
    confdir.mkdir(parents=True, exist_ok=True)
    CertStore.from_store(confdir, "mitmproxy", 2048)
    typer.echo(confdir / "mitmproxy-ca-cert.pem")


@app.command()
def rules() -> None:
    """List every rule the conformance engine checks, with its severity and spec reference."""
    render_rules(Console())


@bench_app.command("engine")
def bench_engine(
    stations: Annotated[int, typer.Option(min=1, max=10_000, help="Simulated stations.")] = 50,
    minutes: Annotated[
        int, typer.Option(min=1, max=600, help="Simulated minutes of traffic per station.")
    ] = 10,
) -> None:
    """Frames/s of the conformance engine on one core, next to the ocpp library's validation."""
    from proxy.bench_engine import run_engine_benchmark  # noqa: PLC0415 (heavy, bench only)

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
    from proxy.bench_proxy import parse_station_counts, run_proxy_benchmark  # noqa: PLC0415

    try:
        counts = parse_station_counts(stations)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--stations'") from None
    console = Console(width=None if sys.stdout.isatty() else 180)
    code = run_proxy_benchmark(
        counts,
        seconds,
        latency_seconds if latency_seconds is not None else 2.5 * seconds,
        console,
        progress=lambda text: Console(stderr=True).print(f"[dim]running: {text}[/]"),
    )
    if code:
        raise typer.Exit(code)


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
    from proxy.bench_store import BenchError, check_paced, run_store_benchmark  # noqa: PLC0415

    try:
        check_paced(rate, seconds)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--rate'") from None
    console = Console(width=None if sys.stdout.isatty() else 160)
    try:
        run_store_benchmark(
            rows,
            rate,
            seconds,
            console,
            progress=lambda text: Console(stderr=True).print(f"[dim]running: {text}[/]"),
        )
    except BenchError as exc:
        fail(str(exc), exc.exit_code)


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
        typer.Option(min=1, max=3_600, help="Seconds between a session's TransactionEvents."),
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
) -> None:
    """Connect time, memory and CPU per station of the simulator against the reference CSMS,
    next to bare websockets clients; on the embedded PostgreSQL in a temporary directory, or on
    a scratch database of OCPPSCOPE_DATABASE_URL's server."""
    from proxy.bench_store import BenchError  # noqa: PLC0415 (heavy, bench only)
    from simulator.bench import Plan, run_simulate_benchmark  # noqa: PLC0415

    plan = Plan(
        stations, rate, charging, heartbeat, meter_interval, hold, baseline, csms.value, gc_tuning
    )
    console = Console(width=None if sys.stdout.isatty() else 200)
    try:
        code = run_simulate_benchmark(
            plan,
            console,
            progress=lambda text: Console(stderr=True).print(f"[dim]running: {text}[/]"),
        )
    except BenchError as exc:
        fail(str(exc), exc.exit_code)
    if code:
        raise typer.Exit(code)


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
    from proxy.bench_store import BenchError  # noqa: PLC0415 (heavy, bench only)
    from simulator.soak import SoakPlan, run_soak  # noqa: PLC0415

    console = Console(width=None if sys.stdout.isatty() else 160)
    try:
        code = run_soak(
            SoakPlan(minutes, stations, drop),
            console,
            progress=lambda text: Console(stderr=True).print(f"[dim]running: {text}[/]"),
        )
    except BenchError as exc:
        fail(str(exc), exc.exit_code)
    if code:
        raise typer.Exit(code)


@db_app.command("url")
def db_url() -> None:
    """Print the database URL, e.g. for psql "$(ocppscope db url)". Starts the embedded server
    when OCPPSCOPE_DATABASE_URL is unset and leaves it running ('ocppscope db stop')."""
    typer.echo(database_url())


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the migrations in sql/ that the database lacks (the proxy does this at start)."""
    from proxy.store.migrations import load_migrations, migrate  # noqa: PLC0415

    migrations = load_migrations()
    applied = with_connection(database_url(), lambda c: migrate(c, migrations))
    for migration in applied:
        typer.echo(f"applied {migration.version:03d}_{migration.name}")
    typer.echo(f"database is at migration {migrations[-1].version:03d}" if migrations else "")


@db_app.command("shell")
def db_shell() -> None:
    """Open psql on the database (the system's psql, else the embedded server's)."""
    from proxy.store.database import psql_executable  # noqa: PLC0415

    url = database_url()
    psql = psql_executable()
    os.execv(psql, [psql, url])


@db_app.command("stats")
def db_stats() -> None:
    """Rows, size and time span per table, and the daily partitions of ocpp_message_log."""
    from proxy.store.inspect import render_store_stats, store_stats  # noqa: PLC0415

    stats = with_connection(database_url(), store_stats)
    if stats is None:
        fail("no ocppscope tables in this database yet (run 'ocppscope db migrate' or the proxy)")
    render_store_stats(stats, Console())


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL (refused while a proxy uses it)."""
    from proxy.store.database import DatabaseError, EmbeddedDatabase  # noqa: PLC0415

    try:
        stopped = EmbeddedDatabase().stop()
    except DatabaseError as exc:
        fail(str(exc))
    typer.echo("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


def main() -> None:
    """Console entry point: usage errors are one line on stderr and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        typer.echo("ocppscope: aborted", err=True)
        code = 130
    except typer.TyperException as exc:
        message = exc.format_message()
        if message:  # empty when the usage was printed instead (no command given)
            context = getattr(exc, "ctx", None)
            where = f" (see '{context.command_path} --help')" if context else ""
            typer.echo(f"ocppscope: {message}{where}", err=True)
        code = exc.exit_code
    sys.exit(code if isinstance(code, int) else 0)
