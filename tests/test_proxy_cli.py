"""`ocppscope proxy` and `ocppscope ca` as users run them: the installed console script."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import typer.main
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from ocppscope.cli.main import app
from tests.support import environment, free_port, ocppscope_executable

ROOT = Path(__file__).resolve().parents[1]
EXIT_TIMEOUT = 10.0
FLAGS = (
    "--listen",
    "--upstream",
    "--cert",
    "--key",
    "--upstream-ca",
    "--upstream-insecure",
    "--client-cert",
    "--message-timeout",
    "--retry-backoff",
    "--idle-timeout",
    "--max-message-size",
    "--quiet",
    "--json-log",
    "--workers",
)


OCPPSCOPE = ocppscope_executable()


def ocppscope(data_dir: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OCPPSCOPE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env=environment(data_dir),
    )


# ---- usage errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["--listen", "nonsense"], "'nonsense' is not HOST:PORT", id="listen"),
        pytest.param(
            ["--upstream", "ws://127.0.0.1:9001/ocpp"], "has a path", id="upstream-with-path"
        ),
        pytest.param(
            ["--upstream", "http://127.0.0.1:9001"],
            "is not a ws:// or wss:// URL",
            id="upstream-scheme",
        ),
        pytest.param(["--cert", "{tmp}/missing.pem"], "--cert {tmp}/missing.pem: ", id="cert"),
        pytest.param(["--cert", "{tmp}/notes.txt"], "--cert {tmp}/notes.txt: ", id="not-a-cert"),
        pytest.param(
            ["--upstream-ca", "{tmp}/missing.pem"], "--upstream-ca {tmp}/missing.pem", id="ca"
        ),
        pytest.param(["--retry-backoff", "1,2"], "MIN,RANGE,REPEAT", id="backoff-short"),
        pytest.param(["--retry-backoff=-1,0,4"], "three non-negative", id="backoff-negative"),
        pytest.param(["--idle-timeout", "0"], "--idle-timeout", id="idle-timeout"),
        pytest.param(["--max-message-size", "10"], "--max-message-size", id="max-size"),
        pytest.param(["--bogus"], "--bogus", id="unknown-option"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], expected: str) -> None:
    (tmp_path / "notes.txt").write_text("not a certificate\n")
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    data_dir = tmp_path / "data"
    run = ocppscope(data_dir, "proxy", *args)
    assert run.returncode == 2, run
    assert run.stdout == ""
    [line] = run.stderr.splitlines()
    assert line.startswith("ocppscope: ")
    assert expected.replace("{tmp}", str(tmp_path)) in line
    assert "Traceback" not in run.stderr
    assert not data_dir.exists()  # nothing was started


def test_help_documents_every_option(tmp_path: Path) -> None:
    command = typer.main.get_command(app).commands["proxy"]  # type: ignore[attr-defined]
    run = ocppscope(tmp_path, "proxy", "--help")
    assert run.returncode == 0
    assert run.stderr == ""
    text = " ".join(run.stdout.split())
    options = [param for param in command.params if param.name != "help"]
    assert {param.opts[0] for param in options} >= set(FLAGS)
    for param in options:
        assert param.help, f"--{param.name} has no help"
        flag = param.opts[0]
        assert flag in run.stdout, flag
        assert " ".join(param.help.split())[:40] in text, flag
    assert "Run the man-in-the-middle" in text


def test_ca_prints_an_existing_pem(tmp_path: Path) -> None:
    first = ocppscope(tmp_path, "ca")
    assert first.returncode == 0, first.stderr
    path = Path(first.stdout.strip())
    assert path == tmp_path / "mitmproxy" / "mitmproxy-ca-cert.pem"
    assert path.read_text().startswith("-----BEGIN CERTIFICATE-----")
    again = ocppscope(tmp_path, "ca")
    assert again.stdout == first.stdout
    assert path.read_bytes() == Path(again.stdout.strip()).read_bytes()  # the same CA, kept


# ---- a real run -----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def csms() -> AsyncIterator[int]:
    async def answer(ws: ServerConnection) -> None:
        async for raw in ws:
            message = json.loads(raw)
            if message[0] == 2:
                await ws.send(json.dumps([3, message[1], {"currentTime": "2026-01-01T00:00:00Z"}]))

    server = await serve(
        answer,
        "127.0.0.1",
        0,
        subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
        ping_interval=None,
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)


async def exited(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return process.returncode
        await asyncio.sleep(0.05)
    return None


def test_proxy_forwards_a_call_and_stops_on_sigterm(tmp_path: Path) -> None:
    listen = f"127.0.0.1:{free_port()}"
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"

    async def scenario() -> int | None:
        async with csms() as upstream_port:
            with out.open("wb") as stdout, err.open("wb") as stderr:
                process = subprocess.Popen(
                    [
                        OCPPSCOPE,
                        "proxy",
                        "--quiet",
                        "--listen",
                        listen,
                        "--upstream",
                        f"ws://127.0.0.1:{upstream_port}",
                    ],
                    stdout=stdout,
                    stderr=stderr,
                    cwd=ROOT,
                    env=environment(tmp_path / "data"),
                )
            try:
                answer = await heartbeat_through(process, f"ws://{listen}/ocpp/CS%2001")
                assert answer[:2] == [3, "hb-1"]
                process.send_signal(signal.SIGTERM)
                return await exited(process, EXIT_TIMEOUT)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=5)

    code = asyncio.run(asyncio.wait_for(scenario(), 60))
    stderr_text = err.read_text()
    assert code == 0, stderr_text
    assert "Traceback" not in stderr_text
    assert f"listening on {listen}" in out.read_text()


async def heartbeat_through(process: subprocess.Popen[bytes], url: str) -> list[object]:
    """Connect once the proxy listens (bounded), send one Heartbeat CALL, return the answer."""
    deadline = time.monotonic() + 20
    while True:
        assert process.poll() is None, "the proxy exited early"
        try:
            async with connect(
                url,
                subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                ping_interval=None,
                open_timeout=2,
                close_timeout=2,
            ) as ws:
                assert ws.subprotocol == "ocpp2.0.1"
                await ws.send(json.dumps([2, "hb-1", "Heartbeat", {}]))
                return list(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
