"""`ocppscope explore`: the session explorer (ocppscope/explore/)."""

from __future__ import annotations

from typing import Annotated

import typer

from ocppscope.cli.options import DatabaseUrl, fail
from proxy.settings import parse_listen

DEFAULT_EXPLORE = "127.0.0.1:8090"


def explore(
    listen: Annotated[
        str, typer.Option(help="HOST:PORT of the explorer's web page and its JSON API (/docs).")
    ] = DEFAULT_EXPLORE,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the session explorer: every station the proxy saw, and each one's conversation as a
    ladder of frames with their findings, round-trip times and faults, live; exports a range as
    a capture or as findings."""
    import asyncio  # noqa: PLC0415

    import asyncpg  # noqa: PLC0415

    from ocppscope.explore.server import serve_explorer  # noqa: PLC0415
    from proxy.store.database import DatabaseError, redact, resolved_database  # noqa: PLC0415

    try:
        endpoint = parse_listen(listen)
        with resolved_database(database_url) as url:
            try:
                asyncio.run(serve_explorer(endpoint, url))
            except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                fail(f"database {redact(url)}: {exc}")
    except (ValueError, OSError, DatabaseError) as exc:
        fail(str(exc))
