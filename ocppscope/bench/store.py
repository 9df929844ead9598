"""`ocppscope bench store`: rows/s into PostgreSQL through the store's writer (COPY batches) next
to asyncpg `executemany`, and the writer's lag at a paced load, measured in the same run.

Rows: the engine bench's fleet traffic (TransactionEvents with meter values, Heartbeats,
StatusNotifications and the rest of a charging day, with their CALLRESULTs), fed once through the
real conformance engine so every frame carries its Outcome, then turned into rows by the store's
RowMaker, all before anything is timed.

Database: OCPPSCOPE_DATABASE_URL's server, else the embedded one. The bench creates a scratch
database there, lets the writer migrate it, and drops it at the end, also after an error or
Ctrl-C, so it never touches the user's data. Phases, each on an emptied ocpp_message_log:
1. COPY writer: all rows submitted as fast as the writer takes them (backlog kept under its bound);
2. executemany: the same rows, INSERTed with executemany in batches of 1,000 on one connection;
3. paced: the writer at a steady rate; the lag from queueing to commit of every row.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from rich.console import Console
from rich.table import Table as RichTable

from ocppscope.bench.engine import synthetic_traffic
from proxy.frame import Frame, observed_frames
from proxy.latency import percentile_ms
from proxy.store.database import DatabaseError, EmbeddedDatabase, configured_url, redact
from proxy.store.records import COLUMNS, Row, RowMaker, Table
from proxy.store.writer import StoreWriter, WriterOptions

POOL_STATIONS, POOL_MINUTES = 20, 30
"""The distinct frames rows are made of (about 15,000); rows cycle through them."""
CHUNK = 5_000
"""Rows submitted between two yields to the loop in the COPY phase (the writer's batch size)."""
BASELINE_BATCH = 1_000
POLL = 0.001
CONNECT_SECONDS = 30.0
STOP_SECONDS = 2.0
"""Normally the backlog is empty at stop; after an error or Ctrl-C the rest is not written."""
SLOWEST_ROWS_PER_SECOND = 500
"""A phase slower than this is taken as stuck (bounds every wait)."""
MAX_PACED_ROWS = 1_000_000
SCRATCH_PREFIX = "ocppscope_bench_"
INSTANCE = "ocppscope-bench"
DESIGN_NOTE = "design estimate (docs/performance.md): 43-53k rows/s COPY, 7-16k executemany"


class BenchError(RuntimeError):
    """The database cannot be used for the bench; one line, exit code 2."""

    exit_code = 2


class BenchFailed(BenchError):
    """A phase did not complete (stuck, rows missing); one line, exit code 1."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    rows: int
    seconds: float
    lags: list[float] | None = field(default=None, repr=False)
    """Seconds from queueing to commit of every row (paced phase only), sorted."""
    max_queue: int | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def lag_ms(self, fraction: float) -> float | None:
        return percentile_ms(self.lags, fraction) if self.lags else None


@dataclass(frozen=True, slots=True)
class StoreBench:
    server: str
    """The server's URL, password redacted."""
    version: str
    scratch: str
    copy: Phase
    executemany: Phase
    paced: Phase
    rate: float
    buffer_rows: int
    missed_lags: int
    mix: dict[str, float]
    """Share of rows per action."""
    distinct_frames: int

    @property
    def ratio(self) -> float:
        baseline = self.executemany.rows_per_second
        return self.copy.rows_per_second / baseline if baseline else 0.0


def check_paced(rate: float, seconds: float) -> int:
    """Rows of the paced phase; they are built ahead, so their number is bounded."""
    rows = round(rate * seconds)
    if not 1 <= rows <= MAX_PACED_ROWS:
        raise ValueError(
            f"--rate x --seconds must come to 1..{MAX_PACED_ROWS:,} rows, not {rows:,}"
        )
    return rows


# ---- rows --------------------------------------------------------------------------------------


def build_frames(stations: int = POOL_STATIONS, minutes: int = POOL_MINUTES) -> list[Frame]:
    """The engine bench's traffic, each frame with the Outcome the engine gave it, as the
    conformance addon hands it to the store addon."""
    return observed_frames(synthetic_traffic(stations, minutes))


def build_rows(frames: list[Frame], maker: RowMaker, count: int) -> list[Row]:
    """`count` rows cycling through the frames; each has its own sequence number."""
    return [maker.message(frames[index % len(frames)]) for index in range(count)]


def action_mix(rows: list[Row]) -> dict[str, float]:
    actions = Counter(str(row[4]) for row in rows)
    return {action: count / len(rows) for action, count in actions.most_common()}


# ---- database ----------------------------------------------------------------------------------


def scratch_url(server_url: str, name: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


@contextlib.contextmanager
def database_server(directory: Path | None = None) -> Iterator[str]:
    """OCPPSCOPE_DATABASE_URL, or the embedded server in `directory` (default: the data
    directory's), started here and released on the way out."""
    url = configured_url()
    if url:
        yield url
        return
    embedded = EmbeddedDatabase(directory)
    try:
        url = embedded.start()
    except DatabaseError as exc:
        raise BenchError(str(exc)) from None
    try:
        yield url
    finally:
        embedded.release()


async def _create_scratch(server_url: str) -> tuple[str, str]:
    """A new empty database on the server: its name, and the server's version."""
    name = f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:10]}"
    try:
        connection = await asyncpg.connect(server_url, timeout=CONNECT_SECONDS)
        try:
            version = await connection.fetchval("SHOW server_version")
            await connection.execute(f"CREATE DATABASE {name}")
        finally:
            await connection.close()
    except asyncpg.InsufficientPrivilegeError as exc:
        raise BenchError(
            f"database {redact(server_url)}: cannot create a scratch database ({exc}); the bench "
            "needs a role with CREATEDB (it drops the database at the end)"
        ) from None
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise BenchError(f"database {redact(server_url)}: {exc or type(exc).__name__}") from None
    return name, str(version).split()[0]


async def _drop_scratch(server_url: str, name: str) -> None:
    connection = await asyncpg.connect(server_url, timeout=CONNECT_SECONDS)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await connection.close()


def _drop(server_url: str, name: str) -> str | None:
    """Drop the scratch database; what went wrong, if anything."""
    try:
        asyncio.run(_drop_scratch(server_url, name))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return (
            f"could not drop the scratch database {name} on {redact(server_url)} "
            f"({exc or type(exc).__name__}); drop it by hand"
        )
    return None


# ---- phases ------------------------------------------------------------------------------------


def _written(writer: StoreWriter) -> int:
    return sum(writer.written.values())


def _budget(rows: int) -> float:
    return CONNECT_SECONDS + rows / SLOWEST_ROWS_PER_SECOND


async def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Wait for a condition on the writer's counters. The writer signals nothing when it commits,
    so look every POLL seconds (nothing next to a COPY batch) and give up after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() >= deadline:
            raise BenchFailed(f"gave up after {seconds:.0f} s waiting for {what}")
        await asyncio.sleep(POLL)


class LagTap:
    """Every row's write lag in a phase, not only the writer's last LAG_WINDOW.

    The lag is the writer's own (`lags`: monotonic seconds from `submit` to commit). The writer
    appends one entry per committed row and counts the row in `written` in the same synchronous
    step, so the growth of `written` since the last look says how many entries at the right end
    of the bounded `lags` are new. Looking after every pacing tick, when at most a batch or two
    (of BATCH_ROWS, below LAG_WINDOW) can have been committed, sees them all; `missed` counts
    any that slid out of the window unseen.
    """

    def __init__(self, writer: StoreWriter) -> None:
        self.writer = writer
        self.seen = _written(writer)
        self.lags: list[float] = []
        self.missed = 0

    def take(self) -> int:
        """Collect the new lags; the writer's count of rows written."""
        total = _written(self.writer)
        new = total - self.seen
        if new > 0:
            kept = min(new, len(self.writer.lags))
            self.lags.extend(islice(reversed(self.writer.lags), kept))
            self.missed += new - kept
            self.seen = total
        return total


async def copy_phase(writer: StoreWriter, rows: list[Row]) -> Phase:
    """Submit every row as fast as the writer takes them; time until all are committed."""
    loop = asyncio.get_running_loop()
    target = _written(writer) + len(rows)
    room = writer.backlog.capacity - CHUNK
    budget = _budget(len(rows))
    started = loop.time()
    for start in range(0, len(rows), CHUNK):
        await _until(lambda: len(writer.backlog) <= room, budget, "room in the writer's backlog")
        for row in rows[start : start + CHUNK]:
            writer.submit(Table.MESSAGES, row)
        await asyncio.sleep(0)  # the writer runs between chunks
    await _until(lambda: _written(writer) >= target, budget, f"{len(rows):,} rows committed")
    return Phase("COPY writer (StoreWriter)", len(rows), loop.time() - started)


async def executemany_phase(connection: asyncpg.Connection, rows: list[Row]) -> Phase:
    """The same rows with INSERT executemany, one implicit transaction per batch."""
    columns = COLUMNS[Table.MESSAGES]
    statement = (
        f"INSERT INTO {Table.MESSAGES.value} ({', '.join(columns)}) "
        f"VALUES ({', '.join(f'${index}' for index in range(1, len(columns) + 1))})"
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(_budget(len(rows))):
        for start in range(0, len(rows), BASELINE_BATCH):
            await connection.executemany(statement, rows[start : start + BASELINE_BATCH])
    name = f"executemany INSERT (batches of {BASELINE_BATCH:,})"
    return Phase(name, len(rows), loop.time() - started)


async def paced_phase(writer: StoreWriter, rows: list[Row], rate: float) -> tuple[Phase, int]:
    """Row k is submitted at start + k/rate (the loop's clock); the phase ends when all are
    committed. Returns the phase and the number of lags missed (0 expected)."""
    loop = asyncio.get_running_loop()
    tap = LagTap(writer)
    target = tap.seen + len(rows)
    deepest = sent = 0
    started = loop.time()
    while sent < len(rows):  # one row at least per pass: at most len(rows) passes
        due = min(len(rows), max(sent + 1, int((loop.time() - started) * rate) + 1))
        for row in rows[sent:due]:
            writer.submit(Table.MESSAGES, row)
        sent = due
        deepest = max(deepest, len(writer.backlog))
        tap.take()
        await asyncio.sleep(max(0.0, started + sent / rate - loop.time()))

    def committed() -> bool:
        nonlocal deepest
        deepest = max(deepest, len(writer.backlog))
        return tap.take() >= target

    await _until(committed, _budget(len(rows)), f"{len(rows):,} paced rows committed")
    name = f"paced {rate:,.0f} rows/s (StoreWriter)"
    phase = Phase(name, len(rows), loop.time() - started, sorted(tap.lags), deepest)
    return phase, tap.missed


async def _expect_rows(connection: asyncpg.Connection, count: int, phase: str) -> None:
    stored = await connection.fetchval(f"SELECT count(*) FROM {Table.MESSAGES.value}")
    if stored != count:
        raise BenchFailed(f"{phase}: {stored:,} rows in the table, {count:,} submitted")


async def _empty(connection: asyncpg.Connection) -> None:
    await connection.execute(f"TRUNCATE {Table.MESSAGES.value}")


async def measure(
    url: str,
    rows: list[Row],
    paced_rows: list[Row],
    rate: float,
    maker: RowMaker,
    say: Callable[[str], None],
) -> tuple[list[Phase], int, int]:
    """The three phases on the scratch database: the phases, missed lags, the writer's bound."""
    writer = StoreWriter(WriterOptions(url, retention_days=0), maker)
    writer.start()
    try:
        await _until(
            lambda: writer.connected or writer.last_error is not None,
            CONNECT_SECONDS,
            "the writer to connect and migrate",
        )
        if not writer.connected:
            raise BenchError(f"database {redact(url)}: {writer.last_error}")
        connection = await asyncpg.connect(url, timeout=CONNECT_SECONDS)
        try:
            say(f"COPY writer, {len(rows):,} rows")
            copy = await copy_phase(writer, rows)
            await _expect_rows(connection, len(rows), copy.name)
            await _empty(connection)
            say(f"executemany, {len(rows):,} rows")
            baseline = await executemany_phase(connection, rows)
            await _expect_rows(connection, len(rows), baseline.name)
            await _empty(connection)
            say(f"paced, {len(paced_rows):,} rows at {rate:,.0f} rows/s")
            paced, missed = await paced_phase(writer, paced_rows, rate)
            await _expect_rows(connection, len(paced_rows), paced.name)
        finally:
            await connection.close(timeout=STOP_SECONDS)
    finally:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_SECONDS):
                await writer.stop()
    stats = writer.stats()
    if stats["discarded"] or stats["rejected"]:
        raise BenchFailed(f"the writer lost rows: {stats}")
    return [copy, baseline, paced], missed, writer.backlog.capacity


# ---- the run -----------------------------------------------------------------------------------


def run_store_benchmark(
    rows: int,
    rate: float,
    seconds: float,
    console: Console,
    progress: Callable[[str], None] | None = None,
) -> StoreBench:
    """Run the phases on a scratch database (always dropped) and print the table. The database
    comes first, so a server that cannot be used fails before the rows are built."""
    say = progress or (lambda _text: None)
    paced_count = check_paced(rate, seconds)
    with (
        database_server() as server_url,
        scratch_database(server_url, console) as (url, name, version),
    ):
        say("building rows")
        frames = build_frames()
        maker = RowMaker(INSTANCE)
        copy_rows = build_rows(frames, maker, rows)
        paced_rows = build_rows(frames, maker, paced_count)
        try:
            phases, missed, bound = asyncio.run(
                measure(url, copy_rows, paced_rows, rate, maker, say)
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise BenchFailed(f"database {redact(url)}: {exc or type(exc).__name__}") from None
    result = StoreBench(
        server=redact(server_url),
        version=version,
        scratch=name,
        copy=phases[0],
        executemany=phases[1],
        paced=phases[2],
        rate=rate,
        buffer_rows=bound,
        missed_lags=missed,
        mix=action_mix(copy_rows),
        distinct_frames=len(frames),
    )
    render(result, console)
    return result


@contextlib.contextmanager
def scratch_database(server_url: str, console: Console) -> Iterator[tuple[str, str, str]]:
    """A scratch database's URL, name and server version; dropped on the way out, whatever
    happened inside (an error, Ctrl-C)."""
    name, version = asyncio.run(_create_scratch(server_url))
    try:
        yield scratch_url(server_url, name), name, version
    except BaseException:
        _warn_undropped(_drop(server_url, name), console)
        raise
    problem = _drop(server_url, name)
    if problem:
        raise BenchFailed(problem)


def _warn_undropped(problem: str | None, console: Console) -> None:
    """After a failure, a database left behind is worth a line, not a second exception."""
    if problem:
        console.print(f"[yellow]{problem}[/]")


# ---- report ------------------------------------------------------------------------------------


def _number(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def render(result: StoreBench, console: Console) -> None:
    table = RichTable(
        title=f"OCPP 2.0.1 frames into ocpp_message_log, PostgreSQL {result.version}",
        title_justify="left",
    )
    for column in (
        "phase",
        "rows",
        "seconds",
        "rows/s",
        "lag p50\nms",
        "lag p99\nms",
        "lag max\nms",
        "max queue\nrows",
    ):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for phase in (result.copy, result.executemany, result.paced):
        table.add_row(
            phase.name,
            f"{phase.rows:,}",
            f"{phase.seconds:.2f}",
            f"{phase.rows_per_second:,.0f}",
            _number(phase.lag_ms(0.50), 2),
            _number(phase.lag_ms(0.99), 2),
            _number(phase.lag_ms(1.0), 2),
            "—" if phase.max_queue is None else f"{phase.max_queue:,}",
        )
    console.print(table)
    console.print(
        f"COPY writer / executemany rows/s = {result.ratio:.2f}x "
        f"({result.copy.rows_per_second:,.0f} vs {result.executemany.rows_per_second:,.0f}; "
        f"{DESIGN_NOTE})"
    )
    paced = result.paced
    missed = f"; {result.missed_lags:,} lags not seen" if result.missed_lags else ""
    console.print(
        f"[dim]paced phase: lag from submit to commit of all {paced.rows:,} rows{missed}; "
        f"queue depth peaked at {paced.max_queue or 0:,} rows (bound {result.buffer_rows:,})[/]"
    )
    shares = ", ".join(f"{action} {share:.1%}" for action, share in list(result.mix.items())[:4])
    console.print(
        f"[dim]rows: {shares} (CALLs and their CALLRESULTs; {result.distinct_frames:,} distinct "
        f"frames of {POOL_STATIONS} stations x {POOL_MINUTES} min, engine outcomes included)[/]"
    )
    console.print(
        f"database: scratch {result.scratch} on {result.server} (created and dropped by this run)"
    )
