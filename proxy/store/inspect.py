"""`ocppscope db stats`: what the store holds (plain catalog queries), as a table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from rich.console import Console
from rich.table import Table

from proxy.store import records


@dataclass(frozen=True, slots=True)
class TableStats:
    table: str
    rows: int
    bytes: int
    """Table, indexes and TOAST; for ocpp_message_log summed over its partitions."""
    oldest: datetime | None
    newest: datetime | None


@dataclass(frozen=True, slots=True)
class StoreStats:
    migrations: list[str]
    tables: list[TableStats]
    partitions: list[str]
    """Daily partitions of ocpp_message_log, oldest first."""


async def store_stats(connection: asyncpg.Connection) -> StoreStats | None:
    """None when ocppscope has never migrated this database."""
    if await connection.fetchval("SELECT to_regclass('ocppscope_migrations')") is None:
        return None
    migrations = [
        f"{row['version']:03d}_{row['name']}"
        for row in await connection.fetch(
            "SELECT version, name FROM ocppscope_migrations ORDER BY version"
        )
    ]
    partitions = [
        row["relname"]
        for row in await connection.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'ocpp_message_log'::regclass ORDER BY c.relname"
        )
    ]
    tables = []
    for table in records.Table:
        time_column = records.TIME_COLUMN[table]
        row = await connection.fetchrow(
            f"SELECT count(*) AS rows, min({time_column}) AS oldest, max({time_column}) AS newest "
            f"FROM {table.value}"
        )
        assert row is not None  # an aggregate without GROUP BY has one row, even on no rows
        size = await connection.fetchval(
            "SELECT coalesce(sum(pg_total_relation_size(oid)), 0) FROM pg_class "
            "WHERE oid = $1::regclass OR oid IN "
            "(SELECT inhrelid FROM pg_inherits WHERE inhparent = $1::regclass)",
            table.value,
        )
        tables.append(TableStats(table.value, row["rows"], int(size), row["oldest"], row["newest"]))
    return StoreStats(migrations, tables, partitions)


def render_store_stats(stats: StoreStats, console: Console) -> None:
    table = Table(title="ocppscope store", title_justify="left")
    for column in ("table", "rows", "size", "oldest", "newest"):
        table.add_column(column, justify="right" if column in ("rows", "size") else "left")
    for entry in stats.tables:
        table.add_row(
            entry.table,
            f"{entry.rows:,}",
            _size(entry.bytes),
            _when(entry.oldest),
            _when(entry.newest),
        )
    console.print(table)
    if stats.partitions:
        console.print(
            f"ocpp_message_log partitions: {len(stats.partitions)}, oldest {stats.partitions[0]}, "
            f"newest {stats.partitions[-1]}"
        )
    else:
        console.print("ocpp_message_log partitions: none yet")
    console.print(f"migrations: {', '.join(stats.migrations)}")


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"
