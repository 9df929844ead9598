"""Numbered plain-SQL migrations (`sql/NNN_name.sql`), applied in order, once, under a lock.

They are read as the resources of the package `proxy.migrations`, a link to the repository's
`sql/`: a wheel carries them as package data, an editable install reads `sql/` itself.

Each applied file is recorded with its SHA-256 in `ocppscope_migrations`; a file edited after it
was applied is an error, not a silent divergence between databases.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable

import asyncpg

MIGRATIONS = files("proxy.migrations")
ADVISORY_LOCK_KEY = 0x6F637070  # "ocpp": one lock for every process migrating this database
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The migrations on disk and those recorded in the database disagree."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str = field(repr=False)

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Traversable = MIGRATIONS) -> list[Migration]:
    """Every `NNN_name.sql` in `directory`, by version; other files are an error, not ignored."""
    migrations = []
    for path in sorted(directory.iterdir(), key=lambda entry: entry.name):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNN_name.sql")
        migrations.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{directory}: two migrations share a version number")
    return migrations


_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS ocppscope_migrations (
    version    integer PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


async def migrate(
    connection: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy, migrations: list[Migration]
) -> list[Migration]:
    """Apply the migrations the database lacks, each in its own transaction; return those applied.

    The session-level advisory lock makes a second process wait and then find nothing to do.
    """
    await connection.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
    try:
        await connection.execute(_BOOKKEEPING)
        rows = await connection.fetch("SELECT version, name, checksum FROM ocppscope_migrations")
        applied = {row["version"]: row for row in rows}
        for migration in migrations:
            recorded = applied.get(migration.version)
            if recorded is not None and recorded["checksum"] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:03d}_{migration.name} was changed after it was "
                    "applied to this database; add a new migration instead of editing it"
                )
        newer = sorted(set(applied) - {m.version for m in migrations})
        if newer:
            raise MigrationError(
                f"the database has migration {newer[-1]:03d} that this ocppscope does not know; "
                "it was migrated by a newer version"
            )
        done = []
        for migration in migrations:
            if migration.version in applied:
                continue
            async with connection.transaction():
                await connection.execute(migration.sql)
                await connection.execute(
                    "INSERT INTO ocppscope_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            done.append(migration)
        return done
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
