"""`ocppscope csms` on the command line: bad values are one line and exit code 2."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from tests.support import environment, free_port, ocppscope_executable


def csms(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ocppscope_executable(), "csms", *args],
        check=False,
        capture_output=True,
        text=True,
        env=environment(tmp_path / "data"),
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--ocpp", "nowhere"], "HOST:PORT"),
        (["--http", "127.0.0.1:99999"], "HOST:PORT"),
        (["--price", "-1"], "--price"),
        (["--heartbeat-interval", "0"], "--heartbeat-interval"),
    ],
)
def test_bad_options_are_one_line(tmp_path: Path, args: list[str], mentions: str) -> None:
    result = csms(tmp_path, *args)
    assert result.returncode == 2, result.stderr
    assert mentions in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_taken_http_port_is_one_line(tmp_path: Path, database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = csms(
            tmp_path,
            "--ocpp",
            f"127.0.0.1:{free_port()}",
            "--http",
            f"127.0.0.1:{port}",
            "--database-url",
            database_url,
        )
    assert result.returncode == 2, result.stderr
    assert f"127.0.0.1:{port}" in result.stderr and "--http" in result.stderr
    assert "Traceback" not in result.stderr
