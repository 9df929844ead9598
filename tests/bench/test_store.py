"""`ocppscope bench store`, tiny: three phases with positive rows/s on a real PostgreSQL, the
scratch database gone afterwards (also after a failure), unusable settings as one line + exit 2."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import uuid
from io import StringIO
from urllib.parse import urlsplit, urlunsplit

import pytest
from rich.console import Console

from ocppscope.bench import store as bench_store
from proxy.store.database import ENV_URL
from tests.pg import fetch
from tests.support import ocppscope_executable

PHASES = ("COPY writer", "executemany INSERT", "paced 1,000 rows/s")
CELL = re.compile(r"[│|]")


@pytest.fixture
def server_url(postgres_server: str) -> str:
    """The session's PostgreSQL server (tests/conftest.py): the bench makes its own database."""
    return postgres_server


def _scratch_databases(url: str) -> set[str]:
    rows = asyncio.run(
        fetch(url, "SELECT datname FROM pg_database WHERE datname LIKE 'ocppscope_bench_%'")
    )
    return {row[0] for row in rows}


def _table_rows(output: str) -> dict[str, list[str]]:
    """Phase name -> the other cells, from the printed table."""
    found = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in CELL.split(line)[1:-1]]
        for phase in PHASES:
            if cells and cells[0].startswith(phase):
                found[phase] = cells[1:]
    return found


def test_tiny_run_prints_three_phases_and_drops_its_database(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_URL, server_url)
    before = _scratch_databases(server_url)
    out = StringIO()
    result = bench_store.run_store_benchmark(5_000, 1_000, 1.0, Console(file=out, width=200))
    output = out.getvalue()

    rows = _table_rows(output)
    assert set(rows) == set(PHASES), output
    for phase, cells in rows.items():
        count, rows_per_second = (int(cells[index].replace(",", "")) for index in (0, 2))
        assert count == (1_000 if phase.startswith("paced") else 5_000), (phase, cells)
        assert rows_per_second > 0, (phase, cells)
    lag_p50, lag_p99, lag_max = (float(cell) for cell in rows[PHASES[2]][3:6])
    assert 0 < lag_p50 <= lag_p99 <= lag_max, rows[PHASES[2]]
    assert re.search(r"COPY writer / executemany rows/s = \d+\.\d\dx", output), output
    assert result.paced.lags is not None and len(result.paced.lags) == 1_000
    assert result.missed_lags == 0

    scratch = re.search(r"database: scratch (ocppscope_bench_\w+) on (\S+)", output)
    assert scratch, output
    assert scratch[2] == server_url
    assert scratch[1] not in _scratch_databases(server_url)
    assert _scratch_databases(server_url) == before


def test_a_failed_run_drops_its_database(server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_args: object) -> None:
        raise RuntimeError("phase broke")

    monkeypatch.setenv(ENV_URL, server_url)
    monkeypatch.setattr(bench_store, "paced_phase", broken)
    before = _scratch_databases(server_url)
    with pytest.raises(RuntimeError, match="phase broke"):
        bench_store.run_store_benchmark(1_000, 100, 1.0, Console(file=StringIO()))
    assert _scratch_databases(server_url) == before


def _run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ocppscope_executable(), "bench", "store", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_a_role_without_createdb_is_one_line_and_exit_2(server_url: str) -> None:
    role, password = f"bench_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    asyncio.run(fetch(server_url, f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
    try:
        parts = urlsplit(server_url)
        netloc = f"{role}:{password}@{parts.hostname}:{parts.port}"
        done = _run_cli(env={ENV_URL: urlunsplit(parts._replace(netloc=netloc))})
    finally:
        asyncio.run(fetch(server_url, f"DROP ROLE IF EXISTS {role}"))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "CREATEDB" in lines[0] and password not in lines[0], lines[0]
    assert not done.stdout.strip(), done.stdout


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--rows", "0"], "--rows"),
        (["--seconds", "0.1"], "--seconds"),
        (["--rate", "50000", "--seconds", "600"], "--rate"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(args: list[str], mentions: str) -> None:
    done = _run_cli(*args, env={ENV_URL: "postgresql://nobody@127.0.0.1:1/none"})
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and mentions in lines[0], done.stderr
