"""Which PostgreSQL to use: `OCPPSCOPE_DATABASE_URL`, or a private one started on demand.

The embedded server is PyPI's `pgserver` (PostgreSQL 16 binaries in a wheel) with its data under
ocppscope's data directory, listening on a Unix socket only. pgserver counts the processes using
it: the proxy stops it on exit unless someone else still uses it; `db url` and `db shell` leave it
running so the URL they print stays usable, and `db stop` stops it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from proxy.settings import ProxySettings, data_dir

if TYPE_CHECKING:
    from pgserver import PostgresServer

ENV_URL = "OCPPSCOPE_DATABASE_URL"


class DatabaseError(RuntimeError):
    """The database cannot be started or reached; the message says why in one line."""


def configured_url() -> str | None:
    return os.environ.get(ENV_URL) or None


def embedded_dir() -> Path:
    return data_dir() / "postgres"


class EmbeddedDatabase:
    """A handle on the private PostgreSQL; starting it twice, or from two processes, is fine."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or embedded_dir()
        self._server: PostgresServer | None = None

    def start(self, keep_running: bool = False) -> str:
        """Start the server (or join the running one) and return its URL."""
        try:
            pgserver = import_pgserver()
            self.directory.parent.mkdir(parents=True, exist_ok=True)
            self._forget_dead_users()
            self._server = pgserver.get_server(
                self.directory, cleanup_mode=None if keep_running else "stop"
            )
        except Exception as exc:
            log_file = self.directory / "log"
            raise DatabaseError(
                f"cannot start the embedded PostgreSQL in {self.directory}: {exc} "
                f"(its log: {log_file}); set {ENV_URL} to use another server, or --no-store"
            ) from None
        return self._server.get_uri()

    def release(self) -> None:
        """Stop the server if no other process uses it (with keep_running: leave it)."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def is_running(self) -> bool:
        info = import_pgserver().utils.PostmasterInfo.read_from_pgdata(self.directory)
        return info is not None and info.is_running()

    def stop(self) -> bool:
        """Stop the server; False when it was not running. Refuses while a process uses it."""
        if not self.is_running():
            return False
        users = self._forget_dead_users()
        if users:
            raise DatabaseError(
                f"the embedded PostgreSQL is in use by process {', '.join(map(str, users))}; "
                "stop that first (it stops the database when it exits)"
            )
        user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs it as that user
        import_pgserver()._commands.pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.directory, user=user
        )
        return True

    def _forget_dead_users(self) -> list[int]:
        """pgserver stops the server when its last user exits, counting users in a file; a user
        that was killed never leaves it. Drop those, return the living."""
        import psutil  # noqa: PLC0415 (comes with pgserver)

        handles = self.directory / ".handle_pids.json"
        if not handles.exists():
            return []
        try:
            users = [int(pid) for pid in json.loads(handles.read_text())]
        except (ValueError, TypeError):
            users = []
        living = [pid for pid in users if psutil.pid_exists(pid) and pid != os.getpid()]
        if living != users:
            handles.write_text(json.dumps(living))
        return living


def psql_executable() -> str:
    """The system's psql, else the one that comes with the embedded server."""
    found = shutil.which("psql")
    if found:
        return found
    return str(import_pgserver()._commands.POSTGRES_BIN_PATH / "psql")


def import_pgserver() -> ModuleType:
    """pgserver, imported only when the embedded server is wanted (it pulls in psutil & co)."""
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver  # noqa: PLC0415
        import pgserver._commands  # noqa: PLC0415
        import pgserver.utils  # noqa: PLC0415
    return pgserver


def redact(url: str) -> str:
    """The URL without its password (in the user part or as a `password=` parameter), for logs."""
    parts = urlsplit(url)
    if not parts.password and "password=" not in parts.query:
        return url
    netloc = parts.netloc
    if parts.password:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = [
        (name, "***" if name == "password" else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="*/")))


@contextlib.contextmanager
def resolved_database(url: str | None) -> Iterator[str]:
    """`url`, or the embedded server's URL (started here, released on the way out)."""
    if url:
        yield url
        return
    embedded = EmbeddedDatabase()
    started = embedded.start()
    try:
        yield started
    finally:
        embedded.release()


@contextlib.contextmanager
def database_for(settings: ProxySettings) -> Iterator[ProxySettings]:
    """The settings with a database URL when storing is on: the configured one, or the
    embedded server's."""
    if not settings.store:
        yield settings
        return
    with resolved_database(settings.database_url) as url:
        yield replace(settings, database_url=url)
