"""A lab of real processes for the scenario tests: `ocppscope csms` and `ocppscope proxy` on free
ports of 127.0.0.1 over one test database, as `ocppscope up` runs them. Each is waited for
(bounded) and stopped (SIGTERM, then SIGKILL) by the context manager that started it."""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from proxy.apiguard import TOKEN_ENV
from proxy.endpoints import LabEndpoints
from tests.support import environment, free_port, ocppscope_executable, stop_process

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
COMMAND_TIMEOUT = 5.0
"""The CSMS's --command-timeout: a REST command the station never answers fails in 5 s."""
TOKEN = "scenario-lab-token"
"""The API token of the lab's CSMS and proxy."""
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def _process(args: list[str], log: Path, ready: str, env: dict[str, str]) -> Iterator[None]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            [ocppscope_executable(), *args], stdout=output, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(ready):
            assert process.poll() is None, f"{args[0]} exited: {log.read_text()}"
            assert time.monotonic() < deadline, f"{args[0]} did not start: {log.read_text()}"
            time.sleep(0.1)
        yield
    finally:
        stop_process(process, STOP_TIMEOUT)


@contextlib.contextmanager
def running_lab(directory: Path, database_url: str, *proxy_args: str) -> Iterator[LabEndpoints]:
    """The reference CSMS and the proxy in front of it, storing into `database_url`."""
    env = {**environment(directory), "OCPPSCOPE_DATABASE_URL": database_url, TOKEN_ENV: TOKEN}
    ocpp, http, listen, admin = (free_port() for _ in range(4))
    endpoints = LabEndpoints(
        database_url=database_url,
        proxy_url=f"ws://127.0.0.1:{listen}",
        admin_url=f"http://127.0.0.1:{admin}",
        admin_token=TOKEN,
        csms_url=f"http://127.0.0.1:{http}",
    )
    csms = [
        "csms",
        f"--ocpp=127.0.0.1:{ocpp}",
        f"--http=127.0.0.1:{http}",
        f"--command-timeout={COMMAND_TIMEOUT:g}",
    ]
    proxy = [
        "proxy",
        "--quiet",
        f"--listen=127.0.0.1:{listen}",
        f"--upstream=ws://127.0.0.1:{ocpp}",
        f"--admin=127.0.0.1:{admin}",
        *proxy_args,
    ]
    with (
        _process(csms, directory / "csms.log", f"{endpoints.csms_url}/chargers", env),
        _process(proxy, directory / "proxy.log", f"{endpoints.admin_url}/healthz", env),
    ):
        yield endpoints
