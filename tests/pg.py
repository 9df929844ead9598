"""Real PostgreSQL servers for the tests: private ones (pgserver's PostgreSQL 16 binaries) on
127.0.0.1, which a test may stop and start to play an outage, and a fresh database per test.

`OCPPSCOPE_TEST_DATABASE_URL` (e.g. postgresql://postgres@127.0.0.1:5432/postgres) makes the
shared fixture use that server instead: the same tests then run against any PostgreSQL 14+.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from proxy.store.database import import_pgserver
from tests.support import free_port

ENV_TEST_URL = "OCPPSCOPE_TEST_DATABASE_URL"


class PrivatePostgres:
    """A server of the test's own: `start()`, `stop()` (an outage), `start()` again."""

    def __init__(self, directory: Path) -> None:
        self.root = directory
        self.data = directory / "data"
        self.port = free_port()
        self._user: str | None = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root; pgserver has a user for it
            import_pgserver().utils.ensure_user_exists("pgserver")
            self._user = "pgserver"
        self.root.mkdir(parents=True, exist_ok=True)
        if self._user:
            account = pwd.getpwnam(self._user)
            import_pgserver().utils.ensure_prefix_permissions(self.root)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self._commands().initdb(
            ["--auth=trust", "--encoding=utf8", "-U", "postgres"], pgdata=self.data, user=self._user
        )

    def _commands(self):  # type: ignore[no-untyped-def]
        return import_pgserver()._commands

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._commands().pg_ctl(
            [
                "-w",
                "-o",
                f"-h 127.0.0.1 -p {self.port} -k {self.root}",
                "-l",
                str(self.root / "log"),
                "start",
            ],
            pgdata=self.data,
            user=self._user,
            timeout=30,
        )

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends sessions cleanly; `immediate` is a crash (recovery on the next start)."""
        self._commands().pg_ctl(
            ["-w", "-m", mode, "stop"], pgdata=self.data, user=self._user, timeout=30
        )

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def remove(self) -> None:
        if self.is_running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.asynccontextmanager
async def pg_connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection for the test's own queries, closed on the way out."""
    opened = await asyncpg.connect(url, timeout=10)
    try:
        yield opened
    finally:
        await opened.close()


async def fetch(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    async with pg_connection(url) as opened:
        return list(await opened.fetch(query, *args))


def database_url(server_url: str, database: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{database}"))


async def _admin(server_url: str, statement: str) -> None:
    async with pg_connection(server_url) as opened:
        await opened.execute(statement)


def create_database(server_url: str) -> str:
    """A new empty database on the server; its URL."""
    name = f"ocppscope_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(server_url, f"CREATE DATABASE {name}"))
    return database_url(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    asyncio.run(_admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
