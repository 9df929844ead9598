"""`ocppscope db ...`: the PostgreSQL database the proxy and the CSMS share."""

from __future__ import annotations

import os

import typer
from rich.console import Console

from ocppscope.cli.options import database_url, fail, with_connection

db_app = typer.Typer(
    help="The PostgreSQL database: OCPPSCOPE_DATABASE_URL, or the embedded one started on demand.",
    no_args_is_help=True,
)


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
