"""Traffic for the store's integration tests: a minimal CSMS and stations speaking raw OCPP-J
over real sockets, counting every frame each side sent and received, and timing every call
from the charger's side."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import orjson
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

SUBPROTOCOL = "ocpp2.0.1"


@dataclass
class CsmsCounts:
    received: set[tuple[str, str]] = field(default_factory=set)
    """(station, message id) of every CALL that reached the CSMS."""
    answered: int = 0


@contextlib.asynccontextmanager
async def answering_csms(
    subprotocols: Sequence[str] = (SUBPROTOCOL,),
) -> AsyncIterator[tuple[int, CsmsCounts]]:
    """A CSMS that answers every CALL with a CALLRESULT (its currentTime: a Heartbeat's answer
    in every version); yields its port and its counts. It selects the first of `subprotocols`
    the charger offers, and accepts a charger that offers none of them without selecting one."""
    counts = CsmsCounts()

    def select(_: ServerConnection, offered: Sequence[str]) -> str | None:
        return next((name for name in subprotocols if name in offered), None)

    async def handle(ws: ServerConnection) -> None:
        assert ws.request is not None
        station = ws.request.path.rsplit("/", 1)[-1]
        with contextlib.suppress(ConnectionClosed):
            async for text in ws:
                message = orjson.loads(text)
                counts.received.add((station, message[1]))
                await ws.send(orjson.dumps([3, message[1], {"currentTime": _now()}]).decode())
                counts.answered += 1

    server = await serve(
        handle,
        "127.0.0.1",
        0,
        select_subprotocol=select,  # type: ignore[arg-type]
        ping_interval=None,
        max_size=None,
    )
    try:
        yield server.sockets[0].getsockname()[1], counts
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 10)


@dataclass
class Station:
    """One charger sending Heartbeats back to back with a pause; every round trip is timed."""

    name: str
    answered: set[str] = field(default_factory=set)
    round_trips: list[tuple[float, float]] = field(default_factory=list)
    """(monotonic time the CALL was sent, seconds until its answer)."""

    async def run(self, url: str, pause: float, until: float) -> None:
        async with connect(
            f"{url}/ocpp/{self.name}",
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            ping_interval=None,
            open_timeout=10,
            close_timeout=2,
        ) as ws:
            number = 0
            with contextlib.suppress(ConnectionClosed):
                while time.monotonic() < until and number < 1_000_000:
                    number += 1
                    message_id = f"{self.name}-{number}"
                    sent = time.monotonic()
                    await ws.send(f'[2,"{message_id}","Heartbeat",{{}}]')
                    answer = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
                    self.round_trips.append((sent, time.monotonic() - sent))
                    self.answered.add(answer[1])
                    await asyncio.sleep(pause)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
