"""`ocppscope scenario run [1-5|all] [--speed K]`: the seed guide's scenarios against the running
lab, a progress line per step, a table of checks at the end; exit 1 on any FAIL."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table

from ocppscope.cli.options import (
    LAB,
    AdminToken,
    AdminUrl,
    CsmsUrl,
    DatabaseUrl,
    ProxyUrl,
    fail,
)
from proxy.endpoints import LabEndpoints

if TYPE_CHECKING:
    from scenarios.runner import ScenarioResult

EXIT_FAILED = 1
NUMBERS = (1, 2, 3, 4, 5)
"""scenarios.seed.SCENARIOS' keys, without importing the simulator for `--help`."""

scenario_app = typer.Typer(
    help="The seed guide's integration scenarios 1-5, verified from the database.",
    no_args_is_help=True,
)


def parse_which(text: str) -> list[int]:
    """'all', '3' or '2,4' as scenario numbers; ValueError names what is wrong."""
    if text.strip().lower() == "all":
        return list(NUMBERS)
    try:
        numbers = [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"scenario '{text}' is not 1-5, a list like 2,4, or all") from None
    wrong = [n for n in numbers if n not in NUMBERS]
    if wrong:
        raise ValueError(f"there is no scenario {wrong[0]}: they are numbered 1-5")
    return numbers


def render_results(results: Sequence[ScenarioResult], console: Console) -> None:
    table = Table(title="Scenario checks", title_justify="left", expand=False)
    for column in ("scenario", "check", "expected", "observed", "result"):
        table.add_column(column, overflow="fold")
    for result in results:
        for number, check in enumerate(result.checks):
            table.add_row(
                f"{result.scenario} {result.title}" if number == 0 else "",
                check.name,
                check.expected,
                check.observed,
                "[green]PASS[/]" if check.passed else "[bold red]FAIL[/]",
            )
        table.add_section()
    console.print(table)
    for result in results:
        colour = "green" if result.verdict == "PASS" else "bold red"
        console.print(f"scenario {result.scenario} {result.title}: [{colour}]{result.verdict}[/]")


@scenario_app.command("run")
def run(
    which: Annotated[str, typer.Argument(help="A scenario 1-5, a list like 2,4, or all.")] = "all",
    speed: Annotated[
        float,
        typer.Option(
            min=0.1,
            max=100,
            help="Run the stations' clocks K times faster: a 30 s session takes 30/K s; "
            "durations, energy and costs stay those of the simulated time.",
        ),
    ] = 1.0,
    database_url: DatabaseUrl = None,
    proxy_url: ProxyUrl = LAB.proxy_url,
    admin_url: AdminUrl = LAB.admin_url,
    admin_token: AdminToken = LAB.admin_token,
    csms_url: CsmsUrl = LAB.csms_url,
) -> None:
    """Run scenarios against the running lab (`ocppscope up`) and record them for `ocppscope
    report`. When nothing answers at --admin, a lab is started for the run (on
    OCPPSCOPE_DATABASE_URL or the embedded PostgreSQL) and stopped after it."""
    import asyncpg  # noqa: PLC0415 (the simulator and asyncpg only when running)

    from ocppscope.lab.supervisor import LabError  # noqa: PLC0415
    from proxy.store.database import DatabaseError, redact  # noqa: PLC0415
    from proxy.store.migrations import MigrationError  # noqa: PLC0415
    from scenarios.clients import StepFailed  # noqa: PLC0415

    try:
        numbers = parse_which(which)
        endpoints = LabEndpoints(database_url or "", proxy_url, admin_url, admin_token, csms_url)
        check_endpoints(endpoints)
    except ValueError as error:
        fail(str(error))
    console = Console(width=None if sys.stdout.isatty() else 160, highlight=False)
    try:
        results = _run(endpoints, numbers, speed, console)
    except LabError as error:
        fail(str(error), error.exit_code)
    except (StepFailed, DatabaseError, MigrationError) as error:
        fail(str(error))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        fail(f"database {redact(database_url or 'embedded')}: {error or type(error).__name__}")
    render_results(results, console)
    if any(result.verdict != "PASS" for result in results):
        raise typer.Exit(EXIT_FAILED)


def check_endpoints(endpoints: LabEndpoints) -> None:
    """ValueError naming the option whose URL is not one."""
    proxy = endpoints.proxy_url
    if not proxy.startswith(("ws://", "wss://")) or urlsplit(proxy).port is None:
        raise ValueError(f"--proxy '{proxy}' is not a ws://HOST:PORT or wss://HOST:PORT URL")
    for option, url in (("--admin", endpoints.admin_url), ("--csms", endpoints.csms_url)):
        if not url.startswith(("http://", "https://")) or urlsplit(url).port is None:
            raise ValueError(f"{option} '{url}' is not an http://HOST:PORT URL")


def _run(
    endpoints: LabEndpoints, numbers: list[int], speed: float, console: Console
) -> list[ScenarioResult]:
    import asyncio  # noqa: PLC0415

    from ocppscope.cli.lab import lab_plan, log_dir  # noqa: PLC0415
    from ocppscope.lab.supervisor import running_lab  # noqa: PLC0415
    from proxy.faults.client import AdminClient, AdminError  # noqa: PLC0415
    from proxy.processes import free_port  # noqa: PLC0415
    from proxy.store.database import resolved_database  # noqa: PLC0415
    from scenarios.runner import run_scenarios  # noqa: PLC0415

    def progress(line: str) -> None:
        console.print(f"· {line}")

    try:
        AdminClient(endpoints.admin_url, endpoints.admin_token).workers()
    except AdminError:
        pass
    else:
        with resolved_database(endpoints.database_url or None) as url:
            running = replace(endpoints, database_url=url)
            return asyncio.run(run_scenarios(running, numbers, speed, progress))
    plan = lab_plan(
        listen=_address(endpoints.proxy_url),
        admin=_address(endpoints.admin_url),
        csms_ocpp=f"127.0.0.1:{free_port()}",  # only the lab's proxy connects to it
        csms_http=_address(endpoints.csms_url),
    )
    progress(f"no lab answers at {endpoints.admin_url}: starting one for this run")
    with running_lab(plan, log_dir(), console, stream_logs=False) as lab:
        progress(f"lab ready (logs in {log_dir()})")
        return asyncio.run(lab.run(run_scenarios(lab.endpoints, numbers, speed, progress)))


def _address(url: str) -> str:
    """HOST:PORT of a URL, for the lab's options."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"
