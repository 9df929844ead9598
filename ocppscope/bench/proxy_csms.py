"""The benchmark's CSMS stand-in, run as a child process (`python -m ocppscope.bench.proxy csms`):
it answers every CALL with a CALLRESULT at once, so that the numbers are the proxy's, not a CSMS's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import WebSocketException

from ocppscope.bench.proxy_traffic import SUBPROTOCOL, now_text
from proxy.processes import HOST

HEARTBEAT_INTERVAL = 300
CSMS_LIFETIME = 3600.0
"""The CSMS exits on its own after this long, whatever happens to this process."""


def csms_response(action: str, heartbeat_interval: int = HEARTBEAT_INTERVAL) -> dict[str, Any]:
    if action == "BootNotification":
        return {"currentTime": now_text(), "interval": heartbeat_interval, "status": "Accepted"}
    if action == "Heartbeat":
        return {"currentTime": now_text()}
    if action == "Authorize":
        return {"idTokenInfo": {"status": "Accepted"}}
    return {}


async def _csms_connection(ws: ServerConnection, heartbeat_interval: int) -> None:
    with contextlib.suppress(WebSocketException):
        async for text in ws:
            try:
                message = orjson.loads(text)
            except orjson.JSONDecodeError:
                continue
            if isinstance(message, list) and len(message) == 4 and message[0] == 2:
                reply = [3, message[1], csms_response(str(message[2]), heartbeat_interval)]
                await ws.send(orjson.dumps(reply).decode())


async def run_csms(
    port: int, lifetime: float, heartbeat_interval: int = HEARTBEAT_INTERVAL
) -> None:
    """Answer every CALL with a CALLRESULT until `lifetime` passes or the parent goes away."""
    parent = os.getppid()
    async with serve(
        functools.partial(_csms_connection, heartbeat_interval=heartbeat_interval),
        HOST,
        port,
        subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        ping_interval=None,
        max_size=None,  # the proxy's --max-message-size decides what is too big
        backlog=1024,
    ):
        for _ in range(int(lifetime)):
            if os.getppid() != parent:
                return
            await asyncio.sleep(1)


def csms_main(argv: list[str]) -> None:
    """`python -m ocppscope.bench.proxy csms --listen 127.0.0.1:PORT`: the benchmark's CSMS."""
    parser = argparse.ArgumentParser(prog="python -m ocppscope.bench.proxy csms")
    parser.add_argument("role", choices=["csms"])
    parser.add_argument("--listen", required=True, help="127.0.0.1:PORT")
    parser.add_argument("--lifetime", type=float, default=CSMS_LIFETIME)
    parser.add_argument("--heartbeat-interval", type=int, default=HEARTBEAT_INTERVAL)
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    if host != HOST:
        parser.error("the benchmark CSMS listens on 127.0.0.1 only")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_csms(int(port), args.lifetime, args.heartbeat_interval))
