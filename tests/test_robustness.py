"""Bad input costs nothing: hypothesis-made OCPP-J frames (well-formed and not, text and binary)
go through a live proxy, with its store, to the reference-like CSMS of the harness, while a
healthy station beside them calls Heartbeat without pause. No addon may fail on any of them
(mitmproxy logs "Addon error" and goes on, so the log is where a crash shows), the store must
take every row, and the healthy station must not miss a single answer.

The proxy, the CSMS and the healthy station run in an event loop of their own thread; the fuzzing
client is a blocking `websockets` client in the test's thread, so that hypothesis drives it as
any other test. `pytest -s` prints the figures. Slow clients (headers never finished) and a
half-open one (FIN right after its upgrade) get the same healthy station beside them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from proxy.ocppj.actions import ACTIONS, Direction
from tests.proxy_harness import (
    STEP,
    LogRecords,
    charger,
    running_csms,
    running_proxy,
    until,
    within,
)

EXAMPLES = 1500
HEALTHY = "HEALTHY-01"
FUZZED = "FUZZ-01"

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
message_ids = st.text(max_size=40) | st.integers() | st.none()
actions = st.sampled_from(sorted(ACTIONS)) | st.text(max_size=24)
error_codes = st.sampled_from(["GenericError", "FormatViolation", "NotImplemented"]) | st.text(
    max_size=12
)
frames = st.one_of(
    st.tuples(st.just(2), message_ids, actions, json_values).map(list),
    st.tuples(st.just(3), message_ids, json_values).map(list),
    st.tuples(st.just(4), message_ids, error_codes, st.text(max_size=30), json_values).map(list),
    st.lists(json_values, max_size=6),
).map(json.dumps) | st.one_of(
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200),
    st.just(""),
)


@dataclass
class Live:
    """What the event loop's thread shares with the test's."""

    url: str = ""
    ready: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    answered: int = 0
    failures: list[str] = field(default_factory=list)
    addon_errors: list[str] = field(default_factory=list)
    store: dict[str, Any] = field(default_factory=dict)
    fuzzed_seen: int = 0
    error: BaseException | None = None


async def _serve(live: Live, confdir: Path, database_url: str) -> None:
    with LogRecords.of("mitmproxy") as mitmproxy_log:
        async with (
            running_csms(record=False) as csms,
            running_proxy(confdir, csms.url, store=True, database_url=database_url) as proxy,
            charger(proxy.url(f"/ocpp/{HEALTHY}")) as healthy,
        ):
            await healthy.boot()
            live.url = proxy.url(f"/ocpp/{FUZZED}")
            live.ready.set()
            while not live.stop.is_set():  # bounded by the test's own bound on the fuzzing
                try:
                    await healthy.heartbeat()
                    live.answered += 1
                except Exception as exc:  # any failure is the finding
                    live.failures.append(repr(exc))
                    break
                await asyncio.sleep(0.01)
            if not proxy.running.task.done():
                await until(
                    lambda: proxy.running.store_stats().get("queue_depth") == 0,
                    what="the store to drain",
                )
            live.store = proxy.running.store_stats()
            live.fuzzed_seen = sum(
                1
                for f in proxy.recorder.frames
                if f.station == FUZZED and f.direction is Direction.CHARGER_TO_CSMS
            )
            if proxy.running.task.done():
                live.failures.append("the proxy stopped")
        live.addon_errors = [m for m in mitmproxy_log.messages if "Addon error" in m]


@contextlib.contextmanager
def _live(tmp_path: Path, database_url: str) -> Iterator[Live]:
    live = Live()

    def loop() -> None:
        try:
            asyncio.run(asyncio.wait_for(_serve(live, tmp_path / "conf", database_url), 600))
        except BaseException as exc:  # handed to the test thread
            live.error = exc
            live.ready.set()

    thread = threading.Thread(target=loop, name="proxy loop", daemon=True)
    thread.start()
    try:
        assert live.ready.wait(30), "the proxy did not start"
        if live.error is not None:
            raise live.error
        yield live
    finally:
        live.stop.set()
        thread.join(60)
        assert not thread.is_alive(), "the proxy's loop did not stop"
        if live.error is not None:
            raise live.error


class Fuzzer:
    """One connection at a time; a new one when the CSMS or the proxy closed the last."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ws: ClientConnection | None = None
        self._stack = contextlib.ExitStack()
        self.sent = 0
        self.connections = 0

    def send(self, frame: str | bytes) -> None:
        if self.ws is None:
            self.ws = self._stack.enter_context(
                connect(self.url, subprotocols=["ocpp2.0.1"], open_timeout=STEP)  # type: ignore[list-item]
            )
            self.connections += 1
        try:
            self.ws.send(frame)
            self.sent += 1
            with contextlib.suppress(TimeoutError):
                for _ in range(100):  # drain the answers, so none back up
                    self.ws.recv(timeout=0)
        except ConnectionClosed:
            self.close()

    def close(self) -> None:
        self._stack.close()
        self.ws = None


def test_fuzzed_frames_cost_the_proxy_and_a_healthy_station_nothing(
    tmp_path: Path, database_url: str
) -> None:
    logging.getLogger("ocpp").setLevel(logging.CRITICAL)
    with _live(tmp_path, database_url) as live:
        fuzzer = Fuzzer(live.url)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(frames)
        def fuzz(frame: str | bytes) -> None:
            fuzzer.send(frame)

        try:
            fuzz()
        finally:
            fuzzer.close()
    print(
        f"fuzzed {fuzzer.sent} frames over {fuzzer.connections} connection(s); the proxy's "
        f"addons saw {live.fuzzed_seen}; crashes (addon errors) {len(live.addon_errors)}; healthy "
        f"station: {live.answered} Heartbeats answered, {len(live.failures)} failures; store "
        f"rejected {live.store.get('rejected')}, discarded {live.store.get('discarded')}"
    )
    assert live.addon_errors == []
    assert live.failures == []
    assert live.answered > 0
    assert fuzzer.sent >= EXAMPLES * 0.9
    assert live.fuzzed_seen >= fuzzer.sent - fuzzer.connections  # the last before a close
    assert live.store["rejected"] == 0 and live.store["discarded"] == 0


SLOW_CLIENTS = 50
HALF_OPEN = (
    b"GET /ocpp/HALF-OPEN HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n"
)


def test_slow_and_half_open_clients_cost_a_healthy_station_nothing(tmp_path: Path) -> None:
    """Fifty clients that never finish their headers are dropped after the header timeout; one
    that half-closes after its upgrade reaches the CSMS as lost; a healthy station beside them
    gets every answer, and is the only connection left."""

    async def scenario() -> None:
        async with (
            running_csms(record=False) as csms,
            running_proxy(tmp_path / "conf", csms.url, header_timeout=1) as proxy,
            charger(proxy.url(f"/ocpp/{HEALTHY}")) as healthy,
        ):
            await healthy.boot()
            slow = [
                await within(asyncio.open_connection("127.0.0.1", proxy.port))
                for _ in range(SLOW_CLIENTS)
            ]
            for _, writer in slow:
                writer.write(b"GET /ocpp/SLOW HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            reader, writer = await within(asyncio.open_connection("127.0.0.1", proxy.port))
            writer.write(HALF_OPEN)
            assert (await within(reader.readuntil(b"\r\n\r\n"))).startswith(b"HTTP/1.1 101")
            writer.write_eof()
            answered = 0
            for _ in range(40):  # about two seconds, past the header timeout
                await healthy.heartbeat()
                answered += 1
                await asyncio.sleep(0.05)
            for slow_reader, slow_writer in slow:
                assert await within(slow_reader.read()) == b""
                slow_writer.close()
            writer.close()
            half_open = csms.side("HALF-OPEN")
            await within(half_open.closed.wait())
            assert half_open.close_code == 1006
            assert answered == 40
            await until(lambda: proxy.running.health()["connections"] == 1, what="one left")

    asyncio.run(asyncio.wait_for(scenario(), 60))
