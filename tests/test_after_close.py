"""Frames sent after the other side's Close (issue 19): RFC 6455 lets an endpoint that received a
Close send data until it answers with its own, so the proxy keeps reading that side until its
Close, its link's end or a grace period, and records each such frame as not forwarded, with a
finding. The side that closed is answered and let go at once; a close the proxy decides holds no
one; a stopping proxy lets go of all.

`websockets` peers cannot send after a Close, so the late sender here drives wsproto by hand;
its other end is a plain `websockets` CSMS or charger. All on 127.0.0.1, every await bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
import wsproto
import wsproto.events
import wsproto.frame_protocol
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from addons.faults import Faults
from addons.metrics import Metrics
from proxy import connections
from proxy.faults.spec import parse_spec
from proxy.ocppj.actions import Direction
from tests.pg import fetch
from tests.proxy_harness import (
    STEP,
    Proxy,
    client_context,
    run,
    running_proxy,
    self_signed_certificate,
    until,
    within,
)

SUBPROTOCOL = "ocpp2.0.1"
EARLY = '[2,"early","Heartbeat",{}]'
LATE_CHARGER = '[2,"late","Heartbeat",{}]'
LATE_CSMS = '[2,"late","Reset",{"type":"Immediate"}]'
READS = 100
"""Reads a hand-driven peer makes at most."""
LONG_GRACE = 60.0
"""A grace period no test waits for: what ends the hold there is an answer, a link's end or a
stop, never the wakeup."""

Then = Literal["answers", "never-answers", "drops"]
"""What a late sender does after its late frame: answers the Close, never answers it (the
proxy drops it after the grace), or drops its TCP connection without answering."""


@dataclass
class LateSender:
    """One end of a WebSocket driven by hand: on the other side's Close it sends `late` as a text
    frame, then does what `then` says."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    ws: wsproto.WSConnection
    late: str
    then: Then = "answers"
    received: list[str] = field(default_factory=list)
    close_code: int | None = None
    closed: bool = False
    """Whether the proxy has closed this TCP connection (or, for `drops`, this side has)."""

    def send(self, event: wsproto.events.Event) -> None:
        self.writer.write(self.ws.send(event))

    async def events(self) -> AsyncIterator[wsproto.events.Event]:
        for _ in range(READS):
            data = await within(self.reader.read(65536))
            self.ws.receive_data(data or None)
            for event in self.ws.events():
                yield event
            if not data:
                return

    async def until_closed(self) -> None:
        """Serve the connection until the other side's Close, send the late frame, answer (or
        not, or drop the link), and wait for the proxy to close the TCP connection."""
        async for event in self.events():
            if isinstance(event, wsproto.events.TextMessage):
                self.received.append(event.data)
            elif isinstance(event, wsproto.events.CloseConnection):
                self.close_code = event.code
                client = self.ws.client
                framing = wsproto.frame_protocol.FrameProtocol(client=client, extensions=[])
                self.writer.write(framing.send_data(self.late, fin=True))
                if self.then == "answers":
                    self.send(event.response())
                await self.writer.drain()
                break
        if self.then != "drops":
            assert await within(self.reader.read(), STEP + connections.CLOSE_GRACE) == b""
        self.writer.close()
        self.closed = True


@contextlib.asynccontextmanager
async def late_charger(proxy: Proxy, station: str, then: Then) -> AsyncIterator[LateSender]:
    reader, writer = await within(asyncio.open_connection("127.0.0.1", proxy.port))
    sender = LateSender(
        reader, writer, wsproto.WSConnection(wsproto.ConnectionType.CLIENT), LATE_CHARGER, then
    )
    sender.send(
        wsproto.events.Request(
            host="127.0.0.1", target=f"/ocpp/{station}", subprotocols=[SUBPROTOCOL]
        )
    )
    async for event in sender.events():
        assert isinstance(event, wsproto.events.AcceptConnection)
        break
    try:
        yield sender
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def closing_csms() -> AsyncIterator[tuple[str, list[str]]]:
    """A `websockets` CSMS that closes with 1000 after the first message it receives."""
    received: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            received.append(str(await ws.recv()))
            await ws.close(1000, "bye")

    server = await serve(handler, "127.0.0.1", 0, subprotocols=[SUBPROTOCOL])  # type: ignore[list-item]
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}", received
    finally:
        server.close()
        await within(server.wait_closed())


@contextlib.asynccontextmanager
async def late_csms(then: Then) -> AsyncIterator[tuple[str, list[LateSender]]]:
    """A hand-driven CSMS that accepts every upgrade and sends a late frame on the charger's
    Close, then does what `then` says."""
    senders: list[LateSender] = []
    served: list[asyncio.Task[None]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sender = LateSender(
            reader,
            writer,
            wsproto.WSConnection(wsproto.ConnectionType.SERVER),
            LATE_CSMS,
            then,
        )
        senders.append(sender)
        async for event in sender.events():
            assert isinstance(event, wsproto.events.Request)
            sender.send(wsproto.events.AcceptConnection(subprotocol=SUBPROTOCOL))
            break
        await sender.until_closed()

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.append(asyncio.get_running_loop().create_task(handle(reader, writer)))

    server = await asyncio.start_server(accepted, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}", senders
        for task in served:
            await within(task)
    finally:
        server.close()
        for task in served:
            task.cancel()
        await within(server.wait_closed())


async def stored(proxy: Proxy, url: str, messages: int) -> tuple[list[dict], list[str]]:
    """The stored frames (message id, direction, status, rule ids) and close rows, once written."""
    await until(
        lambda: (
            proxy.running.store_stats().get("queue_depth") == 0
            and proxy.running.store_stats()["written"].get("ocpp_message_log", 0) >= messages
            and proxy.running.store_stats()["written"].get("proxy_connection_log", 0) >= 2
        ),
        what="the frames and the close stored",
    )
    rows = await fetch(
        url,
        "SELECT message_id, direction, status, finding_ids FROM ocpp_message_log ORDER BY seq",
    )
    closes = await fetch(
        url, "SELECT closed_by FROM proxy_connection_log WHERE event = 'close' ORDER BY seq"
    )
    return [dict(r) for r in rows], [r["closed_by"] for r in closes]


THENS = ["answers", "never-answers", "drops"]


def grace_for(then: Then) -> float:
    """Only a side that never answers waits for the grace; for the others it is out of reach."""
    return 1.0 if then == "never-answers" else LONG_GRACE


@pytest.mark.parametrize("then", THENS)
def test_a_frame_the_charger_sends_after_the_csms_closed_is_stored_and_judged(
    tmp_path: Path, database_url: str, then: Then, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connections, "CLOSE_GRACE", grace_for(then))

    async def scenario() -> None:
        async with (
            closing_csms() as (csms_url, csms_received),
            running_proxy(
                tmp_path / "conf", csms_url, store=True, database_url=database_url
            ) as proxy,
        ):
            async with late_charger(proxy, "CS-LATE", then) as station:
                station.send(wsproto.events.TextMessage(EARLY))
                started = time.monotonic()
                await station.until_closed()
                waited = time.monotonic() - started
            assert station.close_code == 1000
            if then == "never-answers":
                assert waited >= connections.CLOSE_GRACE  # dropped by the wakeup, not before
            await until(lambda: bool(proxy.recorder.ended), what="the end of the flow")
            (finding,) = [f for f in proxy.recorder.findings if f.rule_id == "WS-017"]
            assert finding.direction is Direction.CHARGER_TO_CSMS
            assert finding.message_id == "late"
            assert "the station sent this CALL after the CSMS closed" in finding.message
            exchanged = proxy.addon(Metrics).registry.get_sample_value(
                "ocppscope_frames_total",
                {
                    "direction": "charger_to_csms",
                    "message_type": "CALL",
                    "action": "Heartbeat",
                    "ocpp_version": SUBPROTOCOL,
                },
            )
            assert exchanged == 1  # the early frame only: the late one reached no one
            rows, closes = await stored(proxy, database_url, 2)
            assert csms_received == [EARLY]
        assert [(r["message_id"], r["direction"], r["status"]) for r in rows] == [
            ("early", "charger_to_csms", "sent"),
            ("late", "charger_to_csms", "after_close"),
        ]
        assert "WS-017" in rows[1]["finding_ids"]
        assert closes == ["csms"]
        assert "WS-017" in [
            r["rule_id"] for r in await fetch(database_url, "SELECT * FROM findings")
        ]

    run(scenario())


@pytest.mark.parametrize(
    ("then", "secure"),
    [*((then, False) for then in THENS), ("never-answers", True)],
    ids=[*THENS, "never-answers-wss"],
)
def test_a_frame_the_csms_sends_after_the_charger_closed_is_stored_and_judged(
    tmp_path: Path, database_url: str, then: Then, secure: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The charger that closed is answered and let go at once (its close completes while the
    CSMS, which has not answered, is still held; over wss:// too); the CSMS is held until it
    answers, drops its link or the grace ends."""
    monkeypatch.setattr(connections, "CLOSE_GRACE", grace_for(then))
    cert, key = self_signed_certificate(tmp_path / "certs")  # used for wss:// only
    tls = {"cert": cert, "key": key} if secure else {}

    async def scenario() -> None:
        async with (
            late_csms(then) as (csms_url, senders),
            running_proxy(
                tmp_path / "conf", csms_url, store=True, database_url=database_url, **tls
            ) as proxy,
        ):
            async with connect(
                proxy.url("/ocpp/CS-LEAVES", secure=secure),
                subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
                ssl=client_context(cert) if secure else None,
                open_timeout=STEP,
                close_timeout=STEP,
            ) as ws:
                await ws.send(EARLY)
                await until(lambda: bool(senders) and senders[0].received == [EARLY])
                await within(ws.close(1000, "leaving"))
                if then == "never-answers":
                    assert not senders[0].closed  # the station did not wait for the CSMS
                assert (ws.close_code, ws.close_reason) == (1000, "leaving")  # answered
                with pytest.raises(ConnectionClosed):
                    await within(ws.recv())  # nothing after the close reached the charger
            await until(lambda: bool(proxy.recorder.ended), what="the end of the flow")
            await until(lambda: senders[0].closed, what="the CSMS let go")
            (finding,) = [f for f in proxy.recorder.findings if f.rule_id == "WS-017"]
            assert finding.direction is Direction.CSMS_TO_CHARGER
            assert finding.message_id == "late"
            assert "the CSMS sent this CALL after the station closed" in finding.message
            rows, closes = await stored(proxy, database_url, 2)
        assert [(r["message_id"], r["direction"], r["status"]) for r in rows] == [
            ("early", "charger_to_csms", "sent"),
            ("late", "csms_to_charger", "after_close"),
        ]
        assert closes == ["charger"]

    run(scenario())


def test_a_stopping_proxy_lets_go_of_a_csms_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The charger closed; the CSMS sent a late frame and never answers. Stopping the proxy,
    long before the grace ends, closes the CSMS's connection and ends the flow."""
    monkeypatch.setattr(connections, "CLOSE_GRACE", LONG_GRACE)

    async def scenario() -> None:
        async with late_csms("never-answers") as (csms_url, senders):
            async with running_proxy(tmp_path / "conf", csms_url) as proxy:
                async with connect(
                    proxy.url("/ocpp/CS-STOP"),
                    subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
                    open_timeout=STEP,
                    close_timeout=STEP,
                ) as ws:
                    await until(lambda: bool(senders))
                    await within(ws.close(1000, "leaving"))
                await until(lambda: "WS-017" in proxy.recorder.rules(), what="the late frame")
                assert not senders[0].closed and not proxy.recorder.ended  # held
                await proxy.stop()
                assert [f.request.path for f in proxy.recorder.ended] == ["/ocpp/CS-STOP"]
            await until(lambda: senders[0].closed, what="the CSMS let go")

    run(scenario())


def test_a_stopping_proxy_lets_go_of_a_charger_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CSMS closed; the charger sent a late frame and never answers. Stopping the proxy,
    long before the grace ends, closes the charger's connection and ends the flow."""
    monkeypatch.setattr(connections, "CLOSE_GRACE", LONG_GRACE)

    async def scenario() -> None:
        async with (
            closing_csms() as (csms_url, _),
            running_proxy(tmp_path / "conf", csms_url) as proxy,
            late_charger(proxy, "CS-STOP", "never-answers") as station,
        ):
            station.send(wsproto.events.TextMessage(EARLY))
            served = asyncio.create_task(station.until_closed())
            await until(lambda: "WS-017" in proxy.recorder.rules(), what="the late frame")
            assert not station.closed and not proxy.recorder.ended  # held
            await proxy.stop()
            await within(served)
            assert station.closed
            assert [f.request.path for f in proxy.recorder.ended] == ["/ocpp/CS-STOP"]

    run(scenario())


def test_a_close_the_proxy_decides_holds_no_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault's disconnect (like a stop's 1001 or a refused message) closes both sides at once,
    as before: a charger that would never answer is not kept for the grace."""
    monkeypatch.setattr(connections, "CLOSE_GRACE", LONG_GRACE)

    async def scenario() -> None:
        async with (
            closing_csms() as (csms_url, _),
            running_proxy(tmp_path / "conf", csms_url) as proxy,
            late_charger(proxy, "CS-CUT", "never-answers") as station,
        ):
            await until(lambda: bool(proxy.recorder.flows), what="the connection")
            proxy.addon(Faults).add(parse_spec({"kind": "disconnect", "code": 4000}))
            closes = []
            async for event in station.events():
                if isinstance(event, wsproto.events.CloseConnection):
                    closes.append(event.code)
                    break
            assert closes == [4000]
            assert await within(station.reader.read()) == b""  # the TCP connection too
            await until(lambda: bool(proxy.recorder.ended), what="the end of the flow")

    run(scenario())
