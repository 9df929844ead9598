"""A regular install (`pip install .`, pipx, the Dockerfile) has every file the app reads at run
time: the wheel is built from a copy of the tree, installed into a directory of its own and run
from there, where neither the source tree nor the editable install can stand in for it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.support import environment

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("proxy", "addons", "csms", "simulator", "scenarios", "dashboards")
DATA = {
    "sql": "proxy/migrations",
    "csms/static": "csms/static",
    "ocppscope/explore/static": "ocppscope/explore/static",
    "dashboards/json": "dashboards/json",
    "proxy/samples": "proxy/samples",
}
"""Each folder of run-time data in the tree, and where the wheel puts its files."""
NOT_BUILT_FROM = shutil.ignore_patterns(
    ".*", "build", "*.egg-info", "__pycache__", "tests", "test-artifacts"
)
"""Hidden folders (.venv, .git, caches), earlier builds and what the wheel never holds."""
TIMEOUT = 120
INSTALLED_PYTHON = [sys.executable, "-S"]


def tree_files(folder: str) -> list[str]:
    return sorted(path.name for path in (ROOT / folder).iterdir() if path.is_file())


def expected_in_wheel() -> set[str]:
    """Every module of the packages and every data file, as named inside the wheel."""
    modules = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    data = {f"{target}/{name}" for folder, target in DATA.items() for name in tree_files(folder)}
    return modules | data


def pip(*args: str) -> None:
    """This venv's pip, offline: no dependencies, no build isolation (setuptools is in the venv)."""
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the working tree: an in-place build would leave build/ and egg-info
    behind in it, and other sessions use that tree too."""
    source = tmp_path_factory.mktemp("source") / "ocppscope"
    shutil.copytree(ROOT, source, symlinks=True, ignore=NOT_BUILT_FROM)
    out = tmp_path_factory.mktemp("dist")
    pip("wheel", "--no-deps", "--no-build-isolation", str(source), "-w", str(out))
    [built] = out.glob("ocppscope-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    pip("install", "--no-deps", "--target", str(target), str(wheel))
    return target


def installed_environment(target: Path, data_dir: Path) -> dict[str, str]:
    """For `python -S` (INSTALLED_PYTHON): site-packages is not processed, so the venv's editable
    install (a .pth file) cannot stand in for `target`; the dependencies come from the venv's
    site-packages on PYTHONPATH after `target`, never from the current directory."""
    paths = dict.fromkeys(
        [str(target), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]
    )
    return {**environment(data_dir), "PYTHONPATH": os.pathsep.join(paths), "PYTHONSAFEPATH": "1"}


PROBE = """
import importlib, json
import proxy
from csms.api import STATIC
from dashboards import JSON_DIR
from proxy.store.migrations import load_migrations
print(json.dumps({
    "proxy": proxy.__file__,
    "migrations dir": list(importlib.import_module("proxy.migrations").__path__),
    "migrations": [f"{m.version:03d}_{m.name}.sql" for m in load_migrations()],
    "static dir": str(STATIC),
    "static": sorted(path.name for path in STATIC.iterdir()),
    "dashboards dir": str(JSON_DIR),
    "dashboards": sorted(path.name for path in JSON_DIR.glob("*.json")),
}))
"""


def test_the_wheel_holds_every_module_and_data_file(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert sorted(expected_in_wheel() - names) == []


def test_the_installed_wheel_reads_its_own_migrations_static_files_and_dashboards(
    installed: Path, tmp_path: Path
) -> None:
    probe = subprocess.run(
        [*INSTALLED_PYTHON, "-c", PROBE],
        cwd=installed,
        env=installed_environment(installed, tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    places = [
        found["proxy"],
        *found["migrations dir"],
        found["static dir"],
        found["dashboards dir"],
    ]
    assert [place for place in places if not Path(place).is_relative_to(installed)] == []
    assert found["migrations"] == tree_files("sql")
    assert found["static"] == tree_files("csms/static")
    assert found["dashboards"] == tree_files("dashboards/json")


def test_the_installed_console_script_migrates_a_fresh_database(
    installed: Path, tmp_path: Path, database_url: str
) -> None:
    env = {
        **installed_environment(installed, tmp_path / "data"),
        "OCPPSCOPE_DATABASE_URL": database_url,
    }
    result = subprocess.run(
        [*INSTALLED_PYTHON, str(installed / "bin" / "ocppscope"), "db", "migrate"],
        cwd=installed,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    migrations = [name.removesuffix(".sql") for name in tree_files("sql")]
    assert result.stdout.splitlines() == [
        *(f"applied {name}" for name in migrations),
        f"database is at migration {migrations[-1][:3]}",
    ]
