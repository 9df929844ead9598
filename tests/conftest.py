"""Fixtures: one real PostgreSQL server for the session, a fresh database for each test that
asks for one (tests/pg.py). The tiers: every test is `unit` or `integration` (tests/tiers.py),
and a unit test that reaches for a socket, a process or a database fails (tests/purity.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import ENV_TEST_URL, PrivatePostgres, create_database, drop_database
from tests.purity import forbid_io
from tests.tiers import INTEGRATION_MODULES, UNIT_MODULES

TIERS = ("unit", "integration")
ROOT = Path(__file__).resolve().parent.parent
OWN_BASETEMP = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """A temporary root of this run's own: in pytest's shared /tmp/pytest-of-USER, a second run
    on the machine (make test-fast while make test runs) deletes the first run's oldest numbered
    directories, live PostgreSQL data directories among them."""
    if config.option.basetemp is None:
        own = Path(tempfile.mkdtemp(prefix="ocppscope-tests-"))
        config.option.basetemp = str(own)
        config.stash[OWN_BASETEMP] = own


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the run's own temporary root when every test passed; keep it to look into when
    one failed (its path is in the failures' tracebacks)."""
    own = session.config.stash.get(OWN_BASETEMP, None)
    if own is not None and exitstatus == pytest.ExitCode.OK:
        shutil.rmtree(own, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give each test its module's tier unless it has one of its own; fail the collection when
    a test ends up with none or with both."""
    wrong = []
    for item in items:
        if not _tiers(item):
            module = item.path.resolve().relative_to(ROOT).as_posix()
            if module in UNIT_MODULES:
                item.add_marker(pytest.mark.unit)
            elif module in INTEGRATION_MODULES:
                item.add_marker(pytest.mark.integration)
        tiers = _tiers(item)
        if len(tiers) != 1:
            wrong.append(f"{item.nodeid}: {' and '.join(sorted(tiers)) or 'no tier'}")
        elif tiers == {"unit"} and (wide := _wide_fixtures(item)):
            wrong.append(f"{item.nodeid}: unit, but uses {', '.join(wide)}, set up unguarded")
    if wrong:
        raise pytest.UsageError(
            "every test needs exactly one tier, unit or integration (tests/tiers.py):\n  "
            + "\n  ".join(wrong)
        )


def _tiers(item: pytest.Item) -> set[str]:
    return {marker.name for marker in item.iter_markers() if marker.name in TIERS}


def _wide_fixtures(item: pytest.Item) -> list[str]:
    """Our fixtures wider than one test (module, session: a lab, a server) that `item` uses:
    they are set up before the purity guard of a unit test, so a unit test may not use them."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    return [
        name
        for name, definitions in info.name2fixturedefs.items()
        if definitions[-1].scope != "function" and definitions[-1].baseid.startswith("tests")
    ]


@pytest.fixture(autouse=True)
def _unit_tests_stay_pure(request: pytest.FixtureRequest) -> Iterator[None]:
    """No socket, process or database for a `unit` test, even one whose code catches the
    refusal."""
    if request.node.get_closest_marker("unit") is None:
        yield
        return
    with pytest.MonkeyPatch.context() as monkeypatch:
        refused = forbid_io(monkeypatch)
        yield
    if refused:
        pytest.fail(f"a unit test tried to {', '.join(dict.fromkeys(refused))}", pytrace=False)


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
