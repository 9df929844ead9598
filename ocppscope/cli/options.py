"""What the `ocppscope` commands share: the options naming the parts of a running lab, the proxy's
option table as typer options, the one-line failure, and the database they connect to. No typer
app lives here, so every command's module can import it without importing ocppscope/cli/main.py
(which imports them all)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from proxy.endpoints import LabEndpoints
from proxy.ocppj.state import Backoff
from proxy.options import ProxyOption

F = TypeVar("F", bound=Callable[..., Any])

EXIT_BAD_INPUT = 2
LAB = LabEndpoints(database_url="")
"""The addresses of a lab `ocppscope up` started with its defaults: the options' defaults."""

AdminUrl = Annotated[
    str,
    typer.Option(
        "--admin",
        envvar="OCPPSCOPE_ADMIN_URL",
        help="The proxy's admin API (its first worker's, with --workers).",
    ),
]
AdminToken = Annotated[
    str | None,
    typer.Option(
        "--admin-token",
        envvar="OCPPSCOPE_API_TOKEN",
        help="Bearer token of the admin API (default: the data directory's api-token).",
    ),
]
ProxyUrl = Annotated[
    str,
    typer.Option("--proxy", envvar="OCPPSCOPE_PROXY_URL", help="Where the stations connect."),
]
CsmsUrl = Annotated[
    str,
    typer.Option(
        "--csms",
        envvar="OCPPSCOPE_CSMS_URL",
        help="The reference CSMS's HTTP address (REST API, map, /metrics).",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="OCPPSCOPE_DATABASE_URL",
        help="The lab's PostgreSQL (unset: the embedded one).",
        show_envvar=True,
    ),
]


def with_options(options: Iterable[ProxyOption]) -> Callable[[F], F]:
    """Give a command `def command(**values: Any)` one typer option per row, in the table's order:
    typer reads the signature, so the table is the only place these options are declared."""
    parameters = [
        inspect.Parameter(
            row.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=row.default,
            annotation=Annotated[
                row.type if row.default is not None else row.type | None,
                typer.Option(envvar=row.envvar, help=row.help, min=row.min, max=row.max),
            ],
        )
        for row in options
    ]

    def decorate(command: F) -> F:
        command.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
        return command

    return decorate


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """End the command with one line on stderr and `code`: what to fix, not a traceback."""
    typer.echo(f"ocppscope: {message}", err=True)
    raise typer.Exit(code)


def database_url() -> str:
    """The configured URL, or the embedded server's (started if needed and left running, so
    the URL stays usable after this command exits)."""
    from proxy.store.database import (  # noqa: PLC0415
        DatabaseError,
        EmbeddedDatabase,
        configured_url,
    )

    url = configured_url()
    if url:
        return url
    try:
        return EmbeddedDatabase().start(keep_running=True)
    except DatabaseError as exc:
        fail(str(exc))


def with_connection(url: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run `work(connection)`; an unreachable database is one line and exit code 2."""
    import asyncio  # noqa: PLC0415

    import asyncpg  # noqa: PLC0415

    from proxy.store.database import redact  # noqa: PLC0415
    from proxy.store.migrations import MigrationError  # noqa: PLC0415

    async def run() -> Any:
        connection = await asyncpg.connect(url, timeout=10)
        try:
            return await work(connection)
        finally:
            await connection.close()

    try:
        return asyncio.run(run())
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        fail(f"database {redact(url)}: {exc or type(exc).__name__}")
    except MigrationError as exc:
        fail(str(exc))


def parse_backoff(value: str | None) -> Backoff | None:
    """--retry-backoff MIN,RANGE,REPEAT as the engine's Backoff (None when not given)."""
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
