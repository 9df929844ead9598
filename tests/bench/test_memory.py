"""Oversized frames must not grow a proxy for good: a real `ocppscope proxy` process, with
`--max-message-size` raised so that 16 MiB frames are forwarded, gets a burst of them in two
shapes (one connection sending many, many stations sending one each and staying connected);
its RSS must come back near where it was before the burst.

The figures are printed (`pytest -s` shows them); the bound is generous (a quarter of the
burst's volume): before the fix the proxy kept every remembered CALL's payload and glibc kept
the freed heap, ending 400 MB above its baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from proxy.processes import HOST, Children, free_port, ocppscope_command, rss_mb
from tests.proxy_harness import STEP, run, within
from tests.support import environment

FRAME_MIB = 16
FRAMES = 20
SETTLE_SECONDS = 2.0
"""After the burst: the last answers are relayed and their buffers freed by then."""
BOUND_MB = FRAMES * FRAME_MIB / 4


def _big_call(number: int) -> str:
    """A DataTransfer CALL of FRAME_MIB MiB (its `data` is anyType: the schema accepts it)."""
    head = f'[2,"big-{number}","DataTransfer",{{"vendorId":"ocppscope","data":"'
    return head + "x" * (FRAME_MIB * 1024 * 1024 - len(head) - 4) + '"}]'


@contextlib.contextmanager
def _proxy(workdir: Path) -> Iterator[tuple[int, int]]:
    """The benchmark's CSMS stand-in and `ocppscope proxy` before it: (proxy port, proxy pid)."""
    children = Children(workdir)
    try:
        csms_port, port = free_port(), free_port()
        csms = children.start(
            "csms",
            [
                sys.executable,
                "-m",
                "ocppscope.bench.proxy",
                "csms",
                "--listen",
                f"{HOST}:{csms_port}",
            ],
        )
        children.wait_listening(csms, csms_port)
        command = [
            *ocppscope_command(),
            "proxy",
            "--listen",
            f"{HOST}:{port}",
            "--upstream",
            f"ws://{HOST}:{csms_port}",
            "--quiet",
            "--no-store",
            "--max-message-size",
            str(2 * FRAME_MIB * 1024 * 1024),
        ]
        proxy = children.start("proxy", command, environment(workdir / "data"))
        children.wait_listening(proxy, port)
        yield port, proxy.pid
    finally:
        children.stop_all()


async def _station(port: int, name: str) -> ClientConnection:
    return await within(
        connect(
            f"ws://{HOST}:{port}/ocpp/{name}",
            subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
            max_size=None,
            open_timeout=STEP,
        )
    )


async def _call(ws: ClientConnection, text: str, number: int) -> None:
    await within(ws.send(text), 30)
    reply = await within(ws.recv(), 30)
    assert str(reply).startswith(f'[3,"big-{number}"'), str(reply)[:200]


async def _rss_after_burst(port: int, pid: int, stations: int) -> float:
    """FRAMES big CALLs from `stations` connections in turn; the proxy's RSS once they are
    answered and have settled, read while every connection is still open."""
    connections = [await _station(port, f"MEM-{n}") for n in range(stations)]
    try:
        for number in range(FRAMES):
            await _call(connections[number % stations], _big_call(number), number)
        await asyncio.sleep(SETTLE_SECONDS)
        return rss_mb(pid)
    finally:
        for ws in connections:
            await within(ws.close())


async def _warm_up(port: int) -> None:
    """One small call, so that the baseline includes a connection's and the engine's caches."""
    async with await _station(port, "MEM-WARM") as ws:
        await within(ws.send('[2,"big-0","Heartbeat",{}]'))
        await within(ws.recv())


@pytest.mark.parametrize(("shape", "stations"), [("one connection", 1), ("many stations", FRAMES)])
def test_oversized_frames_leave_the_proxys_rss_near_its_baseline(
    tmp_path: Path, shape: str, stations: int
) -> None:
    with _proxy(tmp_path) as (port, pid):
        run(_warm_up(port))
        time.sleep(SETTLE_SECONDS)
        before = rss_mb(pid)
        after = run(_rss_after_burst(port, pid, stations), timeout=240)
        print(
            f"{shape}: {FRAMES} frames of {FRAME_MIB} MiB: proxy RSS {before:.0f} MB before, "
            f"{after:.0f} MB after (+{after - before:.0f} MB)"
        )
        assert after - before < BOUND_MB, f"RSS {before:.0f} -> {after:.0f} MB"
