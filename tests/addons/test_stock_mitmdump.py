"""Every addon also loads into stock mitmdump (`-s addons/<name>.py`) and works there."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from websockets.asyncio.client import connect

from tests.support import free_port
from tests.test_proxy_cli import csms

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ("forwarding", "conformance", "latency", "metrics", "store", "console")


def test_addons_run_in_stock_mitmdump(tmp_path: Path, database_url: str) -> None:
    listen = free_port()
    out = tmp_path / "mitmdump.out"

    async def scenario() -> None:
        async with csms() as upstream_port:
            command = [
                str(Path(sys.executable).with_name("mitmdump")),
                "-q",
                "--mode",
                f"reverse:http://127.0.0.1:{upstream_port}@127.0.0.1:{listen}",
                "--set",
                "connection_strategy=lazy",
                "--set",
                f"confdir={tmp_path / 'conf'}",
                "--set",
                "ocpp_json_log=true",
                "--set",
                f"ocpp_database_url={database_url}",
                *(arg for name in SCRIPTS for arg in ("-s", str(ROOT / "addons" / f"{name}.py"))),
            ]
            with out.open("wb") as stdout:
                process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 30
                while True:
                    assert process.poll() is None, out.read_text()
                    try:
                        async with connect(
                            f"ws://127.0.0.1:{listen}/ocpp/CS01",
                            subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                            open_timeout=2,
                            close_timeout=2,
                        ) as ws:
                            await ws.send(json.dumps([2, "hb-1", "Heartbeat", {"bogus": 1}]))
                            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
                            assert answer[1] == "hb-1"
                        break
                    except OSError:
                        assert time.monotonic() < deadline, out.read_text()
                        await asyncio.sleep(0.2)
                deadline = time.monotonic() + 10
                while '"disconnected"' not in out.read_text():
                    assert time.monotonic() < deadline, out.read_text()
                    await asyncio.sleep(0.1)
                deadline = time.monotonic() + 15
                while not await stored_frames(database_url):
                    assert time.monotonic() < deadline, out.read_text()
                    await asyncio.sleep(0.1)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)

    asyncio.run(asyncio.wait_for(scenario(), 90))
    events = [json.loads(line) for line in out.read_text().splitlines() if line.startswith("{")]
    kinds = [event["event"] for event in events]
    assert kinds[0] == "connected" and "disconnected" in kinds, out.read_text()
    assert {(e.get("rule"), e.get("station")) for e in events if e["event"] == "finding"} >= {
        ("SCH-002", "CS01")
    }
    assert "error in script" not in out.read_text()
    frames = asyncio.run(stored_frames(database_url))
    assert [(f["message_id"], f["message_type"]) for f in frames] == [
        ("hb-1", "CALL"),
        ("hb-1", "CALLRESULT"),
    ]
    assert "SCH-002" in frames[0]["finding_ids"]


async def stored_frames(url: str) -> list[asyncpg.Record]:
    """The store addon's rows, once it has written both frames (it runs in mitmdump)."""
    connection = await asyncpg.connect(url, timeout=5)
    try:
        if await connection.fetchval("SELECT to_regclass('ocpp_message_log')") is None:
            return []
        rows = await connection.fetch(
            "SELECT message_id, message_type, finding_ids FROM ocpp_message_log ORDER BY seq"
        )
        return list(rows) if len(rows) >= 2 else []
    finally:
        await connection.close()
