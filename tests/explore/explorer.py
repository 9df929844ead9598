"""`ocppscope explore` as a process for the explorer's tests."""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.support import environment, free_port, ocppscope_executable, stop_process

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@contextlib.contextmanager
def running_explorer(tmp_path: Path, database_url: str) -> Iterator[str]:
    """`ocppscope explore` on a free port until it answers; its URL."""
    port = free_port()
    log_path = tmp_path / "explore.log"
    command = [ocppscope_executable(), "explore", "--listen", f"127.0.0.1:{port}"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--database-url", database_url],
            env=environment(tmp_path / "data"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            with (
                contextlib.suppress(OSError),
                DIRECT.open(f"{url}/api/stations", timeout=2) as answer,
            ):
                if answer.status == 200:
                    break
            assert time.monotonic() < deadline, f"explore did not answer: {log_path.read_text()}"
            time.sleep(0.2)
        yield url
    finally:
        stop_process(process, 10)
