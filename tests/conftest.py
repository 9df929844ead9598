"""Fixtures: one real PostgreSQL server for the session, a fresh database for each test that
asks for one (tests/pg.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import ENV_TEST_URL, PrivatePostgres, create_database, drop_database


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the session's server: OCPPSCOPE_TEST_DATABASE_URL's, else a private one."""
    given = os.environ.get(ENV_TEST_URL)
    if given:
        yield given
        return
    server = PrivatePostgres(Path(tmp_path_factory.mktemp("postgres")))
    server.start()
    try:
        yield server.url()
    finally:
        server.remove()


@pytest.fixture
def database_url(postgres_server: str) -> Iterator[str]:
    url = create_database(postgres_server)
    try:
        yield url
    finally:
        drop_database(postgres_server, url)


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PrivatePostgres]:
    """A started server of this test's own, which it may stop and start (outages)."""
    server = PrivatePostgres(tmp_path / "postgres")
    server.start()
    try:
        yield server
    finally:
        server.remove()
