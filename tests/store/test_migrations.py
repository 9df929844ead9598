"""Migrations (proxy/store/migrations.py) and the partition functions of sql/001, on a real
PostgreSQL: applied once, safe when two proxies start together, loud when code and database
disagree."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest

from proxy.store.migrations import (
    ADVISORY_LOCK_KEY,
    Migration,
    MigrationError,
    load_migrations,
    migrate,
)
from tests.pg import pg_connection

T = TypeVar("T")
TIMEOUT = 30.0
TABLES = (
    "ocpp_message_log",
    "proxy_connection_log",
    "findings",
    "store_discards",
    "fault_events",
    "scenario_runs",
)


def run(body: Callable[[], Awaitable[T]], timeout: float = TIMEOUT) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(body(), timeout)

    return asyncio.run(bounded())


async def recorded(connection: asyncpg.Connection) -> list[tuple[int, str, str]]:
    rows = await connection.fetch(
        "SELECT version, name, checksum FROM ocppscope_migrations ORDER BY version"
    )
    return [tuple(row) for row in rows]


async def partitions(connection: asyncpg.Connection) -> list[str]:
    rows = await connection.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'ocpp_message_log'::regclass ORDER BY c.relname"
    )
    return [row[0] for row in rows]


async def ensure_partition(connection: asyncpg.Connection, day: date) -> str:
    return await connection.fetchval("SELECT ocppscope_ensure_partition($1)", day)


async def utc_today(connection: asyncpg.Connection) -> date:
    return await connection.fetchval("SELECT (now() AT TIME ZONE 'UTC')::date")


async def insert_message(connection: asyncpg.Connection, logged_at: datetime) -> str:
    """Insert a minimal frame; return the partition that took it."""
    return await connection.fetchval(
        "INSERT INTO ocpp_message_log (logged_at, charger_id, direction, message_type, "
        "size_bytes, connection_id, proxy_instance, proxy_run, seq) VALUES "
        "($1, 'CP-1', 'charger_to_csms', 'CALL', 2, 'c#1', 'p', gen_random_uuid(), 1) "
        "RETURNING tableoid::regclass::text",
        logged_at,
    )


def write_files(directory: Path, *names: str) -> Path:
    directory.mkdir(exist_ok=True)
    for name in names:
        (directory / name).write_text("SELECT 1;\n", encoding="utf-8")
    return directory


# load_migrations


@pytest.mark.unit
def test_the_shipped_migrations_load_in_order() -> None:
    migrations = load_migrations()
    assert [(m.version, m.name) for m in migrations] == [
        (1, "message_log"),
        (2, "connections_findings"),
        (3, "csms"),
        (4, "fault_events"),
        (5, "scenario_runs"),
        (6, "raw_frames"),
        (7, "proxy_closes"),
        (8, "ocpp_versions"),
        (9, "frame_versions"),
        (10, "after_close"),
        (11, "transactions_per_charger"),
        (12, "ocpp21_message_types"),
    ]
    assert all(len(m.checksum) == 64 for m in migrations)


@pytest.mark.unit
def test_files_load_by_version(tmp_path: Path) -> None:
    directory = write_files(tmp_path / "sql", "010_c.sql", "002_b.sql", "001_a.sql")
    assert [(m.version, m.name) for m in load_migrations(directory)] == [
        (1, "a"),
        (2, "b"),
        (10, "c"),
    ]


@pytest.mark.unit
@pytest.mark.parametrize("name", ["README.md", "1_short.sql", "001_Upper.sql", "001-dash.sql"])
def test_a_badly_named_file_is_an_error_not_ignored(tmp_path: Path, name: str) -> None:
    directory = write_files(tmp_path / "sql", "001_a.sql", name)
    with pytest.raises(MigrationError, match=r"named NNN_name\.sql"):
        load_migrations(directory)


@pytest.mark.unit
def test_two_files_with_one_version_are_an_error(tmp_path: Path) -> None:
    directory = write_files(tmp_path / "sql", "001_a.sql", "001_b.sql")
    with pytest.raises(MigrationError, match="share a version"):
        load_migrations(directory)


# migrate


def test_migrate_applies_each_migration_once(database_url: str) -> None:
    async def body() -> None:
        migrations = load_migrations()
        async with pg_connection(database_url) as connection:
            applied = await migrate(connection, migrations)
            assert [m.version for m in applied] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
            assert await migrate(connection, migrations) == []
            assert await recorded(connection) == [
                (m.version, m.name, m.checksum) for m in migrations
            ]
            for table in TABLES:
                assert await connection.fetchval("SELECT to_regclass($1)::text", table) == table

    run(body)


def test_two_proxies_migrating_at_once_apply_each_migration_once(database_url: str) -> None:
    """The advisory lock makes the second wait, then find nothing to do."""

    async def body() -> None:
        migrations = load_migrations()
        async with pg_connection(database_url) as first, pg_connection(database_url) as second:
            results = await asyncio.gather(migrate(first, migrations), migrate(second, migrations))
            assert sorted(len(applied) for applied in results) == [0, len(migrations)]
            counts = await first.fetch(
                "SELECT version, count(*) FROM ocppscope_migrations GROUP BY version"
            )
            assert sorted(tuple(row) for row in counts) == [(m.version, 1) for m in migrations]

    run(body)


def test_a_migration_edited_after_it_was_applied_is_refused(database_url: str) -> None:
    async def body() -> None:
        migrations = load_migrations()
        edited = [
            migrations[0],
            Migration(migrations[1].version, migrations[1].name, migrations[1].sql + "\n-- x\n"),
        ]
        async with pg_connection(database_url) as connection:
            await migrate(connection, migrations)
            with pytest.raises(MigrationError, match="002_connections_findings was changed"):
                await migrate(connection, edited)
            await assert_lock_released(database_url)

    run(body)


def test_a_database_migrated_by_a_newer_version_is_refused(database_url: str) -> None:
    async def body() -> None:
        async with pg_connection(database_url) as connection:
            migrations = load_migrations()
            await migrate(connection, migrations)
            future = migrations[-1].version + 1
            await connection.execute(
                "INSERT INTO ocppscope_migrations (version, name, checksum) "
                "VALUES ($1, 'from_the_future', 'x')",
                future,
            )
            with pytest.raises(MigrationError, match=f"migration {future:03d} that this ocppscope"):
                await migrate(connection, load_migrations())
            await assert_lock_released(database_url)

    run(body)


def test_a_failing_migration_is_rolled_back_and_not_recorded(database_url: str) -> None:
    """Each migration is one transaction: nothing of it stays, and it runs again next time."""

    async def body() -> None:
        broken = Migration(99, "broken", "CREATE TABLE half_done (id int); SELECT 1 / 0;")
        async with pg_connection(database_url) as connection:
            with pytest.raises(asyncpg.DivisionByZeroError):
                await migrate(connection, [*load_migrations(), broken])
            assert [row[0] for row in await recorded(connection)] == [
                m.version for m in load_migrations()
            ]
            assert await connection.fetchval("SELECT to_regclass('half_done')") is None
            await assert_lock_released(database_url)

    run(body)


async def assert_lock_released(url: str) -> None:
    """A failed migrate must not leave other proxies waiting on the lock."""
    async with pg_connection(url) as other:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", ADVISORY_LOCK_KEY)


# Partition functions


def test_ensure_partition_creates_the_utc_day_once(database_url: str) -> None:
    """Whatever the session's time zone, the partition holds one UTC day."""

    async def body() -> None:
        day = date(2026, 2, 1)
        async with pg_connection(database_url) as connection:
            await migrate(connection, load_migrations())
            await connection.execute("SET TIME ZONE 'Asia/Seoul'")
            assert await ensure_partition(connection, day) == "ocpp_message_log_20260201"
            assert await ensure_partition(connection, day) == "ocpp_message_log_20260201"
            assert await partitions(connection) == ["ocpp_message_log_20260201"]
            start = datetime(2026, 2, 1, tzinfo=UTC)
            for moment in (start, start + timedelta(days=1, microseconds=-1)):
                assert await insert_message(connection, moment) == "ocpp_message_log_20260201"
            for moment in (start - timedelta(microseconds=1), start + timedelta(days=1)):
                with pytest.raises(asyncpg.CheckViolationError, match="no partition"):
                    await insert_message(connection, moment)

    run(body)


def test_ensure_partition_is_safe_when_writers_race(database_url: str) -> None:
    async def body() -> None:
        day = date(2026, 2, 2)
        async with pg_connection(database_url) as first, pg_connection(database_url) as second:
            await migrate(first, load_migrations())
            names = await asyncio.gather(
                ensure_partition(first, day), ensure_partition(second, day)
            )
            assert names == ["ocpp_message_log_20260202"] * 2
            assert await partitions(first) == ["ocpp_message_log_20260202"]

    run(body)


def test_drop_partitions_drops_only_days_outside_the_window(database_url: str) -> None:
    """keep_days=2 keeps today and the two days before; partitions not named by day stay."""

    async def body() -> None:
        async with pg_connection(database_url) as connection:
            await migrate(connection, load_migrations())
            today = await utc_today(connection)
            days = [today - timedelta(days=n) for n in (0, 1, 2, 3, 10)]
            names = [await ensure_partition(connection, day) for day in days]
            await connection.execute(
                "CREATE TABLE ocpp_message_log_archive PARTITION OF ocpp_message_log "
                "FOR VALUES FROM ('2000-01-01 00:00Z') TO ('2000-01-02 00:00Z')"
            )
            dropped = await connection.fetch("SELECT ocppscope_drop_partitions(2)")
            assert [row[0] for row in dropped] == sorted(names[3:])
            assert await partitions(connection) == sorted([*names[:3], "ocpp_message_log_archive"])
            assert await connection.fetch("SELECT ocppscope_drop_partitions(2)") == []

    run(body)


def test_drop_partitions_with_no_days_kept_spares_today(database_url: str) -> None:
    async def body() -> None:
        async with pg_connection(database_url) as connection:
            await migrate(connection, load_migrations())
            today = await utc_today(connection)
            kept = await ensure_partition(connection, today)
            gone = await ensure_partition(connection, today - timedelta(days=1))
            dropped = await connection.fetch("SELECT ocppscope_drop_partitions(0)")
            assert [row[0] for row in dropped] == [gone]
            assert await partitions(connection) == [kept]

    run(body)
