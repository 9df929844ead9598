"""`ocppscope dashboards ...`: write the Grafana dashboards' JSON from the code that defines them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dashboards import JSON_DIR
from dashboards.queries import parse_interval
from ocppscope.cli.options import LAB, AdminUrl, CsmsUrl, DatabaseUrl, fail
from proxy.faults.client import AdminClient
from proxy.store.database import DatabaseError, resolved_database

if TYPE_CHECKING:
    from dashboards.check import Outcome

dashboards_app = typer.Typer(
    help="Grafana dashboards generated from dashboards/ (traffic, conformance, charging).",
    no_args_is_help=True,
)
EXIT_FAILED = 1
QUERY_SHOWN = 160
"""Characters of a query shown under its verdict."""


@dashboards_app.command()
def build(
    out: Annotated[
        Path,
        typer.Option("--out", help="Directory to write the JSON files into (made if missing)."),
    ] = JSON_DIR,
) -> None:
    """Write the three dashboards' JSON (by default into the package's dashboards/json)."""
    if out.exists() and not out.is_dir():
        fail(f"--out {out} is not a directory")
    from dashboards.generate import write  # noqa: PLC0415 (the SDK: ~90 ms for every command)

    try:
        written = write(out)
    except OSError as error:
        fail(f"cannot write into {out}: {error.strerror}", EXIT_FAILED)
    for path in written:
        typer.echo(f"wrote {path}")


@dashboards_app.command()
def check(
    admin: AdminUrl = LAB.admin_url,
    csms: CsmsUrl = LAB.csms_url,
    prometheus: Annotated[
        str | None,
        typer.Option(
            envvar="OCPPSCOPE_PROMETHEUS_URL",
            help="A Prometheus already scraping the proxy (job ocppscope-proxy) and the CSMS "
            "(job ocppscope-csms). Default: start Debian's prometheus to scrape them.",
        ),
    ] = None,
    scrape_interval: Annotated[
        float,
        typer.Option(min=0.1, help="Seconds between scrapes: ours, or what --prometheus uses."),
    ] = 1.0,
    window: Annotated[
        str, typer.Option("--range", help="The dashboards' time range: 30s, 15m, 1h...")
    ] = "15m",
    directory: Annotated[
        Path, typer.Option("--dir", help="The directory of the dashboards' JSON to check.")
    ] = JSON_DIR,
    database_url: DatabaseUrl = None,
    every: Annotated[
        bool, typer.Option("--all", help="List every query, not only failures.")
    ] = False,
) -> None:
    """Run every query of the dashboards as Grafana would against the running lab: PromQL parsed
    by promtool and run on Prometheus, SQL run on PostgreSQL, each variable at All and at one
    value (`--csms none` for a lab without the reference CSMS). Exit 1 when a query fails,
    returns no data at All, or the JSON is out of date."""
    from dashboards.live import CheckError, LiveCheck, run_check  # noqa: PLC0415 (asyncpg)

    try:
        span = timedelta(milliseconds=parse_interval(window))
    except ValueError:
        fail(f"--range '{window}' is not a duration such as 30s, 15m or 1h")
    dashboards = _load(directory)
    stale = _stale(directory)
    try:
        with resolved_database(database_url) as url:
            outcomes = run_check(
                LiveCheck(
                    dashboards=dashboards,
                    admin=AdminClient(admin),
                    csms_url=None if csms == "none" else csms,
                    database_url=url,
                    window=span,
                    scrape_interval=scrape_interval,
                    prometheus_url=prometheus,
                )
            )
    except (CheckError, DatabaseError) as error:
        fail(str(error))
    failed = [outcome for outcome in outcomes if outcome.failed]
    _print([*outcomes] if every else failed)
    for name in stale:
        typer.echo(f"{name}: differs from what the code generates (ocppscope dashboards build)")
    if failed or stale:
        typer.echo(f"{len(failed)} of {len(outcomes)} queries failed")
        raise typer.Exit(EXIT_FAILED)
    typer.echo(f"{len(outcomes)} queries checked: every query returns data")


def _load(directory: Path) -> list[dict[str, Any]]:
    paths = sorted(directory.glob("*.json")) if directory.is_dir() else []
    if not paths:
        fail(f"--dir {directory} holds no dashboard (*.json)")
    dashboards = []
    for path in paths:
        try:
            dashboards.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as error:
            fail(f"{path}: not a dashboard's JSON ({error})")
    return dashboards


def _stale(directory: Path) -> list[str]:
    """The committed files out of step with the code; a directory of the user's own (exported
    from Grafana, say) has no code to be in step with."""
    if directory.resolve() != JSON_DIR.resolve():
        return []
    from dashboards.generate import stale_files  # noqa: PLC0415 (the SDK)

    return stale_files(directory)


def _print(outcomes: list[Outcome]) -> None:
    """A line per query (its verdict), then the query as sent, on one line."""
    for outcome in outcomes:
        mark = "FAIL" if outcome.failed else "ok"
        verdict = outcome.verdict if outcome.failed or outcome.rows else "no data (allowed)"
        where = f"{outcome.dashboard} / {outcome.panel}"
        selection = f" [{outcome.selection}]" if outcome.selection else ""
        typer.echo(f"{mark:4} {where}{selection}: {verdict}")
        query = " ".join(outcome.text.split())
        if len(query) > QUERY_SHOWN:
            query = query[: QUERY_SHOWN - 1] + "…"
        typer.echo(f"       {query}")
