"""Every addon also loads into stock mitmdump (`-s addons/<name>.py`) and works there; the
faults addon takes its rules from a fault plan (`--set ocpp_fault_plan=FILE`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.support import free_port
from tests.test_proxy_cli import csms

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ("forwarding", "conformance", "latency", "metrics", "store", "console")


@pytest.mark.unit
def test_every_addon_is_tried_in_stock_mitmdump() -> None:
    """The README's promise: each module of addons/ loads alone in mitmdump; the faults addon
    has its own test (its rules come from a plan)."""
    addons = {path.stem for path in (ROOT / "addons").glob("*.py") if not path.stem.startswith("_")}
    assert addons == {*SCRIPTS, "faults"}


def mitmdump(
    upstream_port: int, listen: int, confdir: Path, scripts: Iterable[str], *options: str
) -> list[str]:
    """Stock mitmdump as a reverse proxy on 127.0.0.1:`listen` in front of the CSMS, with our
    `scripts` (addons/<name>.py) logging JSON lines, and `options` (NAME=VALUE) set."""
    return [
        str(Path(sys.executable).with_name("mitmdump")),
        "--mode",
        f"reverse:http://127.0.0.1:{upstream_port}@127.0.0.1:{listen}",
        "--set",
        "connection_strategy=lazy",
        "--set",
        f"confdir={confdir}",
        "-q",
        "--set",
        "ocpp_json_log=true",
        *(arg for option in options for arg in ("--set", option)),
        *(arg for name in scripts for arg in ("-s", str(ROOT / "addons" / f"{name}.py"))),
    ]


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


async def connected(process: subprocess.Popen[bytes], listen: int, out: Path) -> ClientConnection:
    """A charger's connection through mitmdump, once it listens."""
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, out.read_text()
        try:
            return await connect(
                f"ws://127.0.0.1:{listen}/ocpp/CS01",
                subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                open_timeout=2,
                close_timeout=2,
            )
        except OSError:
            assert time.monotonic() < deadline, out.read_text()
            await asyncio.sleep(0.2)


def test_addons_run_in_stock_mitmdump(tmp_path: Path, database_url: str) -> None:
    listen = free_port()
    out = tmp_path / "mitmdump.out"

    async def scenario() -> None:
        async with csms() as upstream_port:
            command = mitmdump(
                upstream_port,
                listen,
                tmp_path / "conf",
                SCRIPTS,
                f"ocpp_database_url={database_url}",
            )
            with out.open("wb") as stdout:
                process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.STDOUT)
            try:
                async with await connected(process, listen, out) as ws:
                    await ws.send(json.dumps([2, "hb-1", "Heartbeat", {"bogus": 1}]))
                    answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    assert answer[1] == "hb-1"
                deadline = time.monotonic() + 10
                while '"disconnected"' not in out.read_text():
                    assert time.monotonic() < deadline, out.read_text()
                    await asyncio.sleep(0.1)
                deadline = time.monotonic() + 15
                while not await stored_frames(database_url):
                    assert time.monotonic() < deadline, out.read_text()
                    await asyncio.sleep(0.1)
            finally:
                stop(process)

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


def test_the_faults_addon_runs_a_plan_in_stock_mitmdump(tmp_path: Path) -> None:
    """A drop rule from the plan: the charger's first Heartbeat gets no answer, the second
    does; the console addon reports the rule added and applied once."""
    listen = free_port()
    out = tmp_path / "mitmdump.out"
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "step:\n  - {at: 0s, fault: {kind: drop, action: Heartbeat, count: 1}}\nend: 60s\n"
    )

    def faults() -> list[tuple[str, str]]:
        lines = [json.loads(line) for line in out.read_text().splitlines() if line[:1] == "{"]
        return [(e["fault_kind"], e["fault_event"]) for e in lines if e["event"] == "fault"]

    async def scenario() -> list[Any]:
        async with csms() as upstream_port:
            command = mitmdump(
                upstream_port,
                listen,
                tmp_path / "conf",
                ("faults", "console"),
                f"ocpp_fault_plan={plan}",
            )
            with out.open("wb") as stdout:
                process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 30
                while ("drop", "added") not in faults():
                    assert process.poll() is None and time.monotonic() < deadline, out.read_text()
                    await asyncio.sleep(0.1)
                async with await connected(process, listen, out) as ws:
                    await ws.send(json.dumps([2, "hb-1", "Heartbeat", {}]))
                    await ws.send(json.dumps([2, "hb-2", "Heartbeat", {}]))
                    answers = [json.loads(await asyncio.wait_for(ws.recv(), 5))]
                    with contextlib.suppress(TimeoutError):  # nothing more may come
                        answers.append(json.loads(await asyncio.wait_for(ws.recv(), 1)))
                return answers
            finally:
                stop(process)

    answers = asyncio.run(asyncio.wait_for(scenario(), 90))
    assert [answer[1] for answer in answers] == ["hb-2"], out.read_text()
    assert "error in script" not in out.read_text()
    assert faults()[:3] == [("drop", "added"), ("drop", "applied"), ("drop", "expired")]
