"""`ocppscope report`: the verification report of the lab's database, on the command line."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ocppscope.cli.options import database_url, fail, with_connection
from scenarios.report import Report, exit_code, parse_since, render
from scenarios.report_formats import to_json, to_junit


def report(
    since: Annotated[
        str,
        typer.Option(
            help="Traffic sections from this far back: all, a span like 30m, 1h or 7d, or an "
            "ISO 8601 time. Scenario verdicts always use each scenario's newest run."
        ),
    ] = "1h",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (everything the tables show) instead.")
    ] = False,
    junit: Annotated[
        Path | None,
        typer.Option(help="Also write JUnit XML here: one test case per scenario."),
    ] = None,
    require_all: Annotated[
        bool,
        typer.Option(help="A scenario never run fails the report too (as in 'ocppscope demo')."),
    ] = False,
) -> None:
    """Verify the newest run of each seed scenario from the database and summarise the traffic;
    exit 1 when a scenario FAILs."""
    from proxy.store.migrations import load_migrations, migrate  # noqa: PLC0415
    from scenarios.report_queries import collect  # noqa: PLC0415 (asyncpg only when run)

    now = datetime.now(UTC)
    try:
        start = parse_since(since, now)
    except ValueError as exc:
        fail(str(exc))

    async def work(connection: Any) -> Report:
        await migrate(connection, load_migrations())  # a fresh database reports "not run"
        return await collect(connection, start, now)

    result: Report = with_connection(database_url(), work)
    if junit:
        try:
            junit.write_text(to_junit(result, require_all), encoding="utf-8")
        except OSError as exc:
            fail(f"--junit {junit}: {exc.strerror}")
    if as_json:
        sys.stdout.write(to_json(result, require_all) + "\n")
    else:
        render(result, Console(width=None if sys.stdout.isatty() else 160), require_all)
    raise typer.Exit(exit_code(result, require_all))
