"""`ocppscope up` and `ocppscope demo`: the whole lab in one command (see ocppscope/lab/supervisor.py)."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ocppscope.cli.explore import DEFAULT_EXPLORE
from ocppscope.cli.options import fail
from ocppscope.lab.plan import LabPlan
from ocppscope.lab.supervisor import Lab, LabError, running_lab
from proxy.endpoints import (
    DEFAULT_CONTROL,
    DEFAULT_CSMS_HTTP,
    DEFAULT_CSMS_OCPP,
    LabEndpoints,
    http_url,
)
from proxy.options import DEFAULT_ADMIN, DEFAULT_LISTEN
from proxy.settings import data_dir, parse_listen, parse_upstream
from proxy.store.database import configured_url, redact

T = TypeVar("T")
Listen = Annotated[
    str, typer.Option(help="HOST:PORT the proxy listens on for chargers (ws:// and wss://).")
]
Admin = Annotated[
    str, typer.Option(help="HOST:PORT of the proxy's admin API (/healthz, /metrics, /faults).")
]
CsmsOcpp = Annotated[str, typer.Option(help="HOST:PORT of the reference CSMS's OCPP endpoint.")]
CsmsHttp = Annotated[
    str, typer.Option(help="HOST:PORT of the reference CSMS's REST API, map and /metrics.")
]
Explore = Annotated[
    str, typer.Option(help="HOST:PORT of the session explorer ('ocppscope explore').")
]


def log_dir() -> Path:
    """The children's logs of the latest lab, kept after it stops."""
    return data_dir() / "lab"


def lab_plan(
    listen: str,
    admin: str,
    csms_ocpp: str,
    csms_http: str,
    upstream: str | None = None,
    fleet: tuple[str, ...] | None = None,
    control: str = DEFAULT_CONTROL,
    explore: str | None = None,
) -> LabPlan:
    """The plan from the options; ValueError naming the option of a bad address."""
    if upstream is not None:
        _option("--upstream", upstream, parse_upstream)
    return LabPlan(
        listen=_option("--listen", listen, parse_listen),
        admin=_option("--admin", admin, parse_listen),
        csms_ocpp=_option("--csms-ocpp", csms_ocpp, parse_listen),
        csms_http=_option("--csms-http", csms_http, parse_listen),
        control=_option("--control", control, parse_listen),
        upstream=upstream,
        fleet=fleet,
        explore=_option("--explore", explore, parse_listen) if explore is not None else None,
    )


def _option(option: str, value: str, parse: Callable[[str], T]) -> T:
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"{option}: {exc}") from None


def fleet_args(
    fleet: Path | None, count: int | None, seed_fleet: bool, protocol: str | None = None
) -> tuple[str, ...] | None:
    """`simulate`'s options for the fleet asked for, None for none; a fleet file is read here so
    that a bad one is an error before anything starts. `protocol`: the fleet's OCPP version, as
    `simulate --protocol` takes it (a fleet file's stations may name their own)."""
    if sum((fleet is not None, count is not None, seed_fleet)) > 1:
        raise ValueError("give one of --fleet, --count and --seed-fleet")
    versions: tuple[str, ...] = ()
    if protocol is not None:
        from simulator.versions import VERSIONS  # noqa: PLC0415 (only when a fleet is asked for)

        if protocol not in VERSIONS:
            raise ValueError(f"--protocol '{protocol}' is not one of {', '.join(VERSIONS)}")
        if fleet is None and count is None and not seed_fleet:
            raise ValueError(
                "--protocol is the simulated fleet's: give --seed-fleet, --fleet or --count"
            )
        versions = ("--protocol", protocol)
    if fleet is not None:
        from simulator.fleet import load_fleet  # noqa: PLC0415 (only when a fleet is asked for)

        load_fleet(fleet)
        return ("--fleet", str(fleet.resolve()), *versions)
    if count is not None:
        return ("--count", str(count), *versions)
    return versions if seed_fleet else None


def where(plan: LabPlan, endpoints: LabEndpoints, logs: Path) -> Panel:
    """Where everything is, as the panel `up` and `demo` print once the lab is ready."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    admin = endpoints.admin_url
    listen = f"{plan.listen.host}:{plan.listen.port}"
    grid.add_row(
        "chargers connect to", f"{endpoints.proxy_url}/<stationId>  (listening on {listen})"
    )
    if plan.upstream is None:
        grid.add_row("reference CSMS", f"{plan.upstream_url}  (the proxy's upstream)")
        grid.add_row("live map", f"{endpoints.csms_url}/")
        grid.add_row("REST API docs", f"{endpoints.csms_url}/docs")
        grid.add_row("metrics", f"{admin}/metrics (proxy)  {endpoints.csms_url}/metrics (CSMS)")
    else:
        grid.add_row("upstream CSMS", plan.upstream)
        grid.add_row("metrics", f"{admin}/metrics (proxy)")
    grid.add_row("proxy admin API", f"{admin}/docs  {admin}/healthz")
    if plan.explore is not None:
        grid.add_row("session explorer", http_url(plan.explore, "/"))
    grid.add_row("API token", f"{endpoints.admin_token}  (Authorization: Bearer, for changes)")
    grid.add_row("database", redact(endpoints.database_url))
    if plan.fleet is not None:
        fleet = " ".join(plan.fleet)
        if not {"--fleet", "--count"} & set(plan.fleet):
            fleet = f"the seed's five chargers {fleet}".rstrip()
        grid.add_row("simulated fleet", f"{fleet}, control API {http_url(plan.control, '/docs')}")
    option = "" if admin == f"http://{DEFAULT_ADMIN}" else f" --admin {admin}"
    grid.add_row("faults", f"ocppscope fault outage --for 20s{option}")
    grid.add_row("", f"ocppscope fault disconnect --station ID{option}")
    grid.add_row("", f"ocppscope fault list{option}")
    grid.add_row("logs", str(logs))
    return Panel(grid, title="ocppscope lab is up", subtitle="Ctrl-C stops everything")


def up(
    listen: Listen = DEFAULT_LISTEN,
    admin: Admin = DEFAULT_ADMIN,
    csms_ocpp: CsmsOcpp = DEFAULT_CSMS_OCPP,
    csms_http: CsmsHttp = DEFAULT_CSMS_HTTP,
    upstream: Annotated[
        str | None,
        typer.Option(
            help="ws:// or wss:// URL of an external CSMS to put the proxy in front of, instead "
            "of the reference CSMS (which then does not start)."
        ),
    ] = None,
    fleet: Annotated[
        Path | None, typer.Option(help="Also run this simulated fleet (TOML or YAML).")
    ] = None,
    count: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="Also run N simulated 50 kW stations.")
    ] = None,
    seed_fleet: Annotated[
        bool, typer.Option(help="Also run the seed's five simulated chargers.")
    ] = False,
    protocol: Annotated[
        str | None,
        typer.Option(
            help="OCPP version of the simulated fleet: ocpp1.6, ocpp2.0.1 (the default) or "
            "ocpp2.1 (a fleet file's stations may name their own)."
        ),
    ] = None,
    control: Annotated[
        str, typer.Option(help="HOST:PORT of the simulated fleet's control API.")
    ] = DEFAULT_CONTROL,
    explore: Explore = DEFAULT_EXPLORE,
) -> None:
    """Run the whole lab until Ctrl-C: PostgreSQL (OCPPSCOPE_DATABASE_URL, else the embedded
    one), the reference CSMS, the proxy in front of it, optionally a simulated fleet; their logs
    stream here with a prefix each."""
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    try:
        fleet_options = fleet_args(fleet, count, seed_fleet, protocol)
        plan = lab_plan(
            listen, admin, csms_ocpp, csms_http, upstream, fleet_options, control, explore
        )
    except ValueError as exc:  # FleetError is one too
        fail(str(exc))
    try:
        with running_lab(plan, log_dir(), console) as lab:
            console.print(where(plan, lab.endpoints, log_dir()))
            lab.wait()
            if lab.failure is None:
                console.print(f"[dim]{lab.signal}: stopping the lab[/]")
        if lab.failure is not None:
            raise LabError(lab.failure)
    except LabError as exc:
        fail(str(exc), exc.exit_code)
    console.print("lab stopped")


SEED_SCENARIOS = (1, 2, 3, 4, 5)


def demo(
    listen: Listen = DEFAULT_LISTEN,
    admin: Admin = DEFAULT_ADMIN,
    csms_ocpp: CsmsOcpp = DEFAULT_CSMS_OCPP,
    csms_http: CsmsHttp = DEFAULT_CSMS_HTTP,
    explore: Explore = DEFAULT_EXPLORE,
    speed: Annotated[
        float,
        typer.Option(
            min=0.1,
            max=100,
            help="Run the stations' clocks K times faster (CI); every number stays that of "
            "the simulated time.",
        ),
    ] = 1.0,
    keep_running: Annotated[
        bool, typer.Option(help="Leave the lab up afterwards to explore, until Ctrl-C.")
    ] = False,
) -> None:
    """The seed guide in one command: the lab (as `up`), scenarios 1-5 with the seed's five
    chargers in real time (about three minutes), then the verification report; exit 1 when a
    scenario FAILs."""
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    try:
        plan = lab_plan(listen, admin, csms_ocpp, csms_http, explore=explore)
    except ValueError as exc:
        fail(str(exc))
    try:
        with running_lab(plan, log_dir(), console, stream_logs=False) as lab:
            console.print(where(plan, lab.endpoints, log_dir()))
            code = _scenarios_and_report(lab, speed, console)
            explorer = http_url(plan.explore, "/") if plan.explore else "ocppscope explore"
            console.print(next_steps(lab.endpoints, log_dir(), keep_running, explorer))
            if keep_running:
                lab.wait()
        if lab.failure is not None:
            raise LabError(lab.failure)
    except LabError as exc:
        fail(str(exc), exc.exit_code)
    raise typer.Exit(code)


def _scenarios_and_report(lab: Lab, speed: float, console: Console) -> int:
    """Scenarios 1-5 with a progress display, then the report of the traffic since they
    began; 1 when a scenario FAILed. LabError when the lab stops or its database fails."""
    import asyncio  # noqa: PLC0415

    import asyncpg  # noqa: PLC0415 (the scenarios and the report only when run)

    from scenarios.runner import run_scenarios  # noqa: PLC0415

    began = datetime.now(UTC)
    try:
        with _progress(console) as progress:
            results = asyncio.run(
                lab.run(run_scenarios(lab.endpoints, SEED_SCENARIOS, speed, progress))
            )
        code = asyncio.run(_report(lab.endpoints.database_url, began, console))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        database = redact(lab.endpoints.database_url)
        raise LabError(f"database {database}: {exc or type(exc).__name__}") from None
    return max(code, int(any(result.verdict != "PASS" for result in results)))


@contextlib.contextmanager
def _progress(console: Console) -> Iterator[Callable[[str], None]]:
    """A spinner with the latest step and the time so far; each step also stays as a line."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("starting", total=None)
        began = time.monotonic()

        def step(text: str) -> None:
            progress.update(task, description=text)
            progress.console.print(f"[dim]{time.monotonic() - began:6.1f} s[/] {text}")

        yield step


async def _report(database_url: str, since: datetime, console: Console) -> int:
    """Print the verification report of the demo's traffic; its exit code (a scenario not run
    fails it: the demo runs them all)."""
    import asyncpg  # noqa: PLC0415

    from scenarios.report import exit_code, render  # noqa: PLC0415
    from scenarios.report_queries import collect  # noqa: PLC0415

    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        report = await collect(connection, since, datetime.now(UTC))
    finally:
        await connection.close()
    render(report, console, require_all=True)
    return exit_code(report, require_all=True)


def next_steps(endpoints: LabEndpoints, logs: Path, running: bool, explore: str) -> Panel:
    """What to open after the demo: the lab's pages while it runs, the record for ever (the
    explorer reads it: `ocppscope explore` shows it after the lab has stopped)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    later = "" if running else "  (with the lab up: ocppscope up, or demo --keep-running)"
    grid.add_row("live map", f"{endpoints.csms_url}/{later}")
    grid.add_row("conversations", explore if running else "ocppscope explore")
    grid.add_row("metrics", f"{endpoints.admin_url}/metrics  {endpoints.csms_url}/metrics")
    database = redact(endpoints.database_url) if configured_url() else 'psql "$(ocppscope db url)"'
    grid.add_row("database", database)
    grid.add_row("the report again", "ocppscope report")
    grid.add_row("logs", str(logs))
    subtitle = "Ctrl-C stops the lab" if running else None
    return Panel(grid, title="what to open now", subtitle=subtitle)
