"""`ocppscope proxy --workers N`: stations stay on one worker, so state across reconnects holds."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from proxy.workers import affinity_key, worker_for
from tests.support import environment, free_port, stop_process
from tests.test_proxy_cli import OCPPSCOPE, ROOT, csms, exited

STATIONS = 8


@pytest.mark.unit
def test_affinity_is_the_station_id_from_the_request_line() -> None:
    request = b"GET /ocpp/CS%2001 HTTP/1.1\r\nHost: x\r\n"
    assert affinity_key(request, "10.0.0.7") == "station:CS 01"
    assert affinity_key(b"GET /ocpp/CS%2001?x=1 HTTP/1.1\r\n", "10.0.0.7") == "station:CS 01"


@pytest.mark.unit
def test_affinity_falls_back_to_the_address_for_tls_and_junk() -> None:
    assert affinity_key(b"\x16\x03\x01\x02\x00\x01", "10.0.0.7") == "ip:10.0.0.7"
    assert affinity_key(b"", "10.0.0.7") == "ip:10.0.0.7"
    assert affinity_key(b"POST / HTTP/1.1\r\n", "10.0.0.7") == "ip:10.0.0.7"


@pytest.mark.unit
def test_worker_choice_is_stable_and_spreads() -> None:
    chosen = [worker_for(f"station:CS{i:03d}", 4) for i in range(200)]
    assert chosen == [worker_for(f"station:CS{i:03d}", 4) for i in range(200)]
    assert sorted(set(chosen)) == [0, 1, 2, 3]


async def _reuse_id_across_reconnects(listen: str, station: str) -> None:
    """Two connections, the same MessageId for two different CALLs: RPC-005 only if one worker
    saw both connections."""
    for attempt, payload in enumerate(({}, {"customData": {"vendorId": "com.example"}})):
        async with connect(
            f"ws://{listen}/ocpp/{station}",
            subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
            open_timeout=5,
            close_timeout=2,
            ping_interval=None,
        ) as ws:
            await ws.send(json.dumps([2, "reused-id", "Heartbeat", payload]))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert answer[1] == "reused-id", attempt


def test_a_station_keeps_its_worker_across_reconnects(tmp_path: Path) -> None:
    listen = f"127.0.0.1:{free_port()}"
    out = tmp_path / "stdout.jsonl"

    async def scenario() -> int | None:
        async with csms() as upstream_port:
            with out.open("wb") as stdout:
                process = subprocess.Popen(
                    [
                        OCPPSCOPE,
                        "proxy",
                        "--json-log",
                        "--workers",
                        "3",
                        "--listen",
                        listen,
                        "--upstream",
                        f"ws://127.0.0.1:{upstream_port}",
                    ],
                    stdout=stdout,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                    env=environment(tmp_path / "data"),
                )
            try:
                deadline = time.monotonic() + 30
                while "with 3 workers" not in out.read_text():
                    assert process.poll() is None and time.monotonic() < deadline, out.read_text()
                    await asyncio.sleep(0.1)
                for index in range(STATIONS):
                    await _reuse_id_across_reconnects(listen, f"CS-{index:03d}")
                deadline = time.monotonic() + 10
                while out.read_text().count('"RPC-005"') < STATIONS and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                process.send_signal(signal.SIGTERM)
                return await exited(process, 20)
            finally:  # SIGTERM first: the proxy stops its embedded PostgreSQL on the way out
                stop_process(process, 15)

    code = asyncio.run(asyncio.wait_for(scenario(), 90))
    lines = [json.loads(line) for line in out.read_text().splitlines() if line.startswith("{")]
    reused = {line["station"] for line in lines if line.get("rule") == "RPC-005"}
    assert reused == {f"CS-{index:03d}" for index in range(STATIONS)}, out.read_text()
    assert code == 0, out.read_text()
    assert "Traceback" not in out.read_text()
