"""`ocppscope up` and `ocppscope demo`: the whole lab in one command (see proxy/supervisor.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from proxy.lab import (
    DEFAULT_CONTROL,
    DEFAULT_CSMS_HTTP,
    DEFAULT_CSMS_OCPP,
    LabEndpoints,
    LabPlan,
    http_url,
)
from proxy.settings import DEFAULT_ADMIN, DEFAULT_LISTEN, data_dir, parse_listen, parse_upstream
from proxy.store.database import redact
from proxy.supervisor import EXIT_BAD_INPUT, LabError, running_lab

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
) -> LabPlan:
    """The plan from the options; ValueError (one line) for a bad address."""
    if upstream is not None:
        parse_upstream(upstream)
    return LabPlan(
        listen=parse_listen(listen),
        admin=parse_listen(admin),
        csms_ocpp=parse_listen(csms_ocpp),
        csms_http=parse_listen(csms_http),
        control=parse_listen(control),
        upstream=upstream,
        fleet=fleet,
    )


def fleet_args(fleet: Path | None, count: int | None, seed_fleet: bool) -> tuple[str, ...] | None:
    """`simulate`'s options for the fleet asked for, None for none; a fleet file is read here so
    that a bad one is an error before anything starts."""
    if sum((fleet is not None, count is not None, seed_fleet)) > 1:
        raise ValueError("give one of --fleet, --count and --seed-fleet")
    if fleet is not None:
        from simulator.fleet import load_fleet  # noqa: PLC0415 (only when a fleet is asked for)

        load_fleet(fleet)
        return ("--fleet", str(fleet.resolve()))
    if count is not None:
        return ("--count", str(count))
    return () if seed_fleet else None


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
    grid.add_row("database", redact(endpoints.database_url))
    if plan.fleet is not None:
        fleet = " ".join(plan.fleet) or "the seed's five chargers"
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
    control: Annotated[
        str, typer.Option(help="HOST:PORT of the simulated fleet's control API.")
    ] = DEFAULT_CONTROL,
) -> None:
    """Run the whole lab until Ctrl-C: PostgreSQL (OCPPSCOPE_DATABASE_URL, else the embedded
    one), the reference CSMS, the proxy in front of it, optionally a simulated fleet; their logs
    stream here with a prefix each."""
    console = Console(highlight=False)
    try:
        fleet_options = fleet_args(fleet, count, seed_fleet)
        plan = lab_plan(listen, admin, csms_ocpp, csms_http, upstream, fleet_options, control)
    except ValueError as exc:  # FleetError is one too
        _fail(str(exc))
    try:
        with running_lab(plan, log_dir(), console) as lab:
            console.print(where(plan, lab.endpoints, log_dir()))
            lab.wait()
            if lab.failure is None:
                console.print(f"[dim]{lab.signal}: stopping the lab[/]")
        if lab.failure is not None:
            raise LabError(lab.failure)
    except LabError as exc:
        typer.echo(f"ocppscope: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    console.print("lab stopped")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"ocppscope: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)
