"""proxy.runtime against a real in-process proxy and a tiny `websockets` CSMS, all on 127.0.0.1.

These exercise the mitmproxy 11.0.2 internals the runtime reaches into (closing a live WebSocket,
the idle timeout, the message size limit, trimming messages); each test stops what it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mitmproxy import http
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from addons import default_addons
from addons._ocpp import RefusedHandshakes
from proxy import runtime
from proxy.connections import close_websocket
from proxy.runtime import (
    CertificateError,
    RunningProxy,
    check_certificate,
    start_proxy,
)
from proxy.settings import Endpoint, ProxySettings, Upstream
from tests.support import free_port

T = TypeVar("T")
STEP = 5.0
"""Seconds any single await may take."""
SUBPROTOCOL = "ocpp2.0.1"
LOSE_CONNECTION = "LoseConnection"
"""The CALL action on which the tiny CSMS drops its TCP connection without a close frame."""


def run(coroutine: Awaitable[T], timeout: float = 30.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coroutine, timeout)

    return asyncio.run(bounded())


@dataclass
class Csms:
    """The tiny CSMS: answers every CALL with [3, id, {"size": n}], records how connections end."""

    port: int = 0
    closes: asyncio.Queue[tuple[int | None, str | None]] = field(default_factory=asyncio.Queue)
    received: list[str] = field(default_factory=list)

    async def handler(self, ws: ServerConnection) -> None:
        try:
            async for raw in ws:
                assert isinstance(raw, str)
                self.received.append(raw)
                message = json.loads(raw)
                if message[0] == 2 and message[2] == LOSE_CONNECTION:
                    ws.transport.abort()  # the link dies: no close frame, no FIN
                elif message[0] == 2:
                    await ws.send(json.dumps([3, message[1], {"size": len(raw)}]))
        except ConnectionClosed:
            pass
        self.closes.put_nowait((ws.close_code, ws.close_reason))


@contextlib.asynccontextmanager
async def csms() -> AsyncIterator[Csms]:
    upstream = Csms()
    server = await serve(
        upstream.handler,
        "127.0.0.1",
        0,
        subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        max_size=None,
        ping_interval=None,
    )
    upstream.port = server.sockets[0].getsockname()[1]
    try:
        yield upstream
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), STEP)


class Hooks:
    """Last of our addons (before TrimMessages): what the proxy's hooks saw."""

    def __init__(self) -> None:
        self.started: list[http.HTTPFlow] = []
        self.ended: asyncio.Queue[tuple[int | None, str | None, bool | None]] = asyncio.Queue()
        self.held: list[int] = []
        """len(flow.websocket.messages) at every websocket_message."""

    def websocket_start(self, flow: http.HTTPFlow) -> None:
        self.started.append(flow)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        self.held.append(len(flow.websocket.messages))

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        ws = flow.websocket
        self.ended.put_nowait((ws.close_code, ws.close_reason, ws.closed_by_client))


def settings_for(tmp_path: Path, upstream: Csms, **overrides: Any) -> ProxySettings:
    return ProxySettings(
        listen=Endpoint("127.0.0.1", free_port()),
        upstream=Upstream(False, "127.0.0.1", upstream.port),
        quiet=True,
        confdir=tmp_path / "mitmproxy",
        **overrides,
    )


@contextlib.asynccontextmanager
async def running_proxy(settings: ProxySettings, hooks: Hooks) -> AsyncIterator[RunningProxy]:
    running = await start_proxy(settings, [*default_addons(), hooks])
    try:
        yield running
    finally:
        await running.stop()


@contextlib.asynccontextmanager
async def charger(
    settings: ProxySettings, station: str = "CS01"
) -> AsyncIterator[ClientConnection]:
    url = f"ws://{settings.listen.host}:{settings.listen.port}/ocpp/{station}"
    async with connect(
        url,
        subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        ping_interval=None,
        max_size=None,
        open_timeout=STEP,
        close_timeout=STEP,
    ) as ws:
        yield ws


async def call(ws: ClientConnection, message_id: str, payload: Any = None) -> list[Any]:
    await ws.send(json.dumps([2, message_id, "Heartbeat", payload or {}]))
    answer = json.loads(await asyncio.wait_for(ws.recv(), STEP))
    assert answer[:2] == [3, message_id]
    return answer


async def closed(ws: ClientConnection) -> tuple[int | None, str | None]:
    await asyncio.wait_for(ws.wait_closed(), STEP)
    return ws.close_code, ws.close_reason


def other_tasks() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]


async def tasks_left(before: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    """Tasks started since `before` that are still there after a short grace period."""
    for _ in range(50):
        left = other_tasks() - before
        if not left:
            break
        await asyncio.sleep(0.02)
    return left


# ---- starting and stopping ------------------------------------------------------------------------


def test_start_forward_and_stop(tmp_path: Path) -> None:
    async def scenario() -> None:
        before = other_tasks()
        async with csms() as upstream:
            settings = settings_for(tmp_path, upstream)
            hooks = Hooks()
            running = await start_proxy(settings, [*default_addons(), hooks])
            try:
                assert running.addresses == [("127.0.0.1", settings.listen.port)]
                async with charger(settings) as ws:
                    assert ws.subprotocol == SUBPROTOCOL
                    await call(ws, "1")
                    await ws.close()
                assert await asyncio.wait_for(hooks.ended.get(), STEP) == (1000, "", True)
            finally:
                await running.stop()
            assert running.task.done()
            with socket.socket() as probe:  # the listener is gone (TIME_WAIT aside)
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(("127.0.0.1", settings.listen.port))
                probe.listen()
            assert upstream.received == ['[2, "1", "Heartbeat", {}]']
        assert await tasks_left(before) == set()

    run(scenario())


def test_stop_closes_live_connections_with_1001(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with csms() as upstream:
            settings = settings_for(tmp_path, upstream)
            running = await start_proxy(settings, default_addons())
            try:
                async with charger(settings) as ws:
                    await call(ws, "1")
                    await running.stop()
                    assert await closed(ws) == (1001, "proxy stopping")
                    code, _ = await asyncio.wait_for(upstream.closes.get(), STEP)
                    assert code == 1001
            finally:
                if not running.task.done():
                    await running.stop()

    run(scenario())


def test_stop_closes_connections_that_never_upgraded(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with csms() as upstream:
            settings = settings_for(tmp_path, upstream)
            running = await start_proxy(settings, default_addons())
            writer = None
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(settings.listen.host, settings.listen.port), STEP
                )
                writer.write(b"GET /ocpp/CS01 HTTP/1.1\r\nHost: x\r\n")  # never finished
                await writer.drain()
                for _ in range(50):
                    if running.master.addons.get("proxyserver").connections:
                        break
                    await asyncio.sleep(0.02)
                await running.stop()
                try:
                    rest = await asyncio.wait_for(reader.read(), STEP)
                except ConnectionResetError:  # closed with the request half read
                    rest = b""
                assert rest == b""
            finally:
                if writer is not None:
                    writer.close()
                if not running.task.done():
                    await running.stop()

    run(scenario())


def test_stop_while_a_charger_is_disconnecting(tmp_path: Path) -> None:
    """A handler stays registered while its client_disconnected hooks run, after mitmproxy has
    dropped the client's transport: stop() must not trip over it."""

    class SlowDisconnect:
        def __init__(self) -> None:
            self.disconnecting = asyncio.Event()

        async def client_disconnected(self, client: object) -> None:
            self.disconnecting.set()
            await asyncio.sleep(0.5)

    async def scenario() -> None:
        async with csms() as upstream:
            settings = settings_for(tmp_path, upstream)
            slow = SlowDisconnect()
            running = await start_proxy(settings, [*default_addons(), slow])
            try:
                async with charger(settings) as ws:
                    await call(ws, "1")
                await asyncio.wait_for(slow.disconnecting.wait(), STEP)
                assert running.master.addons.get("proxyserver").connections
                await running.stop()
            finally:
                if not running.task.done():
                    running.master.shutdown()
                    await asyncio.wait_for(running.task, STEP)

    run(scenario())


def test_port_in_use_is_one_line_oserror(tmp_path: Path) -> None:
    async def scenario() -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            settings = replace(
                settings_for(tmp_path, Csms(port=1)), listen=Endpoint("127.0.0.1", port)
            )
            before = other_tasks()
            with pytest.raises(OSError) as raised:
                await start_proxy(settings, default_addons())
            message = str(raised.value)
            assert message.startswith(f"cannot listen on 127.0.0.1:{port}: ")
            assert "\n" not in message
            assert "address already in use" in message.lower()
            assert await tasks_left(before) == set()

    run(scenario())


# ---- closing a live WebSocket ---------------------------------------------------------------------


def test_close_websocket_closes_both_sides_with_the_code(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with csms() as upstream:
            settings = settings_for(tmp_path, upstream)
            hooks = Hooks()
            async with running_proxy(settings, hooks) as running, charger(settings) as ws:
                await call(ws, "1")
                [flow] = hooks.started
                client_id = flow.client_conn.id
                assert close_websocket(running.master, "no-such-client", 1012, "x") is False
                assert close_websocket(running.master, client_id, 1012, "service restart")
                assert await closed(ws) == (1012, "service restart")
                assert await asyncio.wait_for(upstream.closes.get(), STEP) == (
                    1012,
                    "service restart",
                )
                assert await asyncio.wait_for(hooks.ended.get(), STEP) == (
                    1012,
                    "service restart",
                    False,
                )
                for _ in range(50):
                    if not flow.live:
                        break
                    await asyncio.sleep(0.02)
                assert close_websocket(running.master, client_id, 1000, "again") is False

    run(scenario())


# ---- limits ---------------------------------------------------------------------------------------


def test_message_over_the_size_limit_closes_with_1009(tmp_path: Path) -> None:
    limit = 64 * 1024

    async def scenario() -> None:
        async with csms() as upstream:
            settings = settings_for(tmp_path, upstream, max_message_size=limit)
            hooks = Hooks()
            async with running_proxy(settings, hooks):
                async with charger(settings) as ws:
                    small = {"data": "x" * (limit // 2)}
                    answer = await call(ws, "small", small)
                    assert answer[2]["size"] > limit // 2
                    await ws.send(json.dumps([2, "big", "Heartbeat", {"data": "x" * limit}]))
                    assert await closed(ws) == (1009, "message too big")
                assert await asyncio.wait_for(hooks.ended.get(), STEP) == (
                    1009,
                    "message too big",
                    True,
                )
                assert await asyncio.wait_for(upstream.closes.get(), STEP) == (
                    1009,
                    "message too big",
                )
                assert len(upstream.received) == 1  # the big one never reached the CSMS
                assert hooks.held == [1, 1]  # nor any hook

                async with charger(settings) as ws:  # fragments under the limit add up
                    await call(ws, "after")
                    half = "y" * (limit // 2)
                    await ws.send(['[2,"frag","Heartbeat",{"d":"' + half, half, '"}]'])
                    code, _ = await closed(ws)
                    assert code == 1009
                async with charger(settings) as ws:  # a new connection starts from zero
                    await call(ws, "fresh", {"data": "z" * (limit // 2)})

    run(scenario())


@pytest.mark.parametrize("lost_by", ["charger", "csms"])
def test_a_lost_connection_is_relayed_as_lost(tmp_path: Path, lost_by: str) -> None:
    """A link that dies without a close frame reaches the other side as lost (1006), not as a
    clean 1000 close: a CSMS must not believe a charger left on purpose, nor the reverse."""

    async def scenario() -> None:
        async with csms() as upstream:
            settings = settings_for(tmp_path, upstream)
            hooks = Hooks()
            async with running_proxy(settings, hooks), charger(settings) as ws:
                await call(ws, "before")
                if lost_by == "charger":
                    ws.transport.abort()
                    code, _ = await asyncio.wait_for(upstream.closes.get(), STEP)
                else:
                    await ws.send(json.dumps([2, "lose", LOSE_CONNECTION, {}]))
                    code, _ = await closed(ws)
                assert code == 1006
                ended = await asyncio.wait_for(hooks.ended.get(), STEP)
                assert ended[0] == 1006

    run(scenario())


def test_a_client_that_never_finishes_its_upgrade_is_dropped(tmp_path: Path) -> None:
    """Headers that never end held a socket for the idle timeout (7,200 s); an upgraded
    connection that stays quiet is not what this timeout is for."""

    async def scenario() -> None:
        async with csms() as upstream:
            settings = settings_for(tmp_path, upstream, header_timeout=1)
            async with running_proxy(settings, Hooks()), charger(settings) as ws:
                reader, writer = await asyncio.open_connection(
                    settings.listen.host, settings.listen.port
                )
                writer.write(
                    b"GET /ocpp/SLOW HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                )
                started = time.monotonic()
                assert await asyncio.wait_for(reader.read(), STEP) == b""
                assert 0.8 <= time.monotonic() - started < 4
                writer.close()
                await call(ws, "quiet-but-upgraded")  # idle past the timeout, still there

    run(scenario())


class Refusals(RefusedHandshakes):
    def __init__(self) -> None:
        self.statuses: list[int] = []

    def handshake_refused(self, flow: http.HTTPFlow, status: int) -> None:
        self.statuses.append(status)


UPGRADE = (
    b"GET /ocpp/HALF HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n"
)


def test_a_charger_leaving_during_its_upgrade_is_no_refusal(tmp_path: Path) -> None:
    """A charger that half-closes right after its upgrade request has left; the CSMS refused
    nothing, so no 502 may be recorded (the back-off rules would count a failed attempt)."""

    async def scenario() -> None:
        async with csms() as upstream:
            settings = settings_for(tmp_path, upstream)
            refusals = Refusals()
            async with running_proxy(settings, refusals):  # type: ignore[arg-type]
                reader, writer = await asyncio.open_connection(
                    settings.listen.host, settings.listen.port
                )
                writer.write(UPGRADE)
                writer.write_eof()
                await asyncio.wait_for(reader.read(), STEP)
                writer.close()
                await asyncio.sleep(0.3)
                assert refusals.statuses == []

    run(scenario())


def test_idle_connection_is_cut(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with csms() as upstream:
            settings = settings_for(tmp_path, upstream, idle_timeout=1)
            hooks = Hooks()
            async with running_proxy(settings, hooks), charger(settings) as ws:
                for n in range(4):  # traffic every 0.4 s keeps it open past the timeout
                    await asyncio.sleep(0.4)
                    await call(ws, f"busy-{n}")
                idle_since = time.monotonic()
                await asyncio.wait_for(ws.wait_closed(), STEP)
                idle_for = time.monotonic() - idle_since
                assert 0.8 <= idle_for < 4
                code, _, by_client = await asyncio.wait_for(hooks.ended.get(), STEP)
                assert (code, by_client) == (1006, True)
                await asyncio.wait_for(upstream.closes.get(), STEP)

    run(scenario())


def test_trim_messages_keeps_no_messages(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with csms() as upstream:
            settings = settings_for(tmp_path, upstream)
            hooks = Hooks()
            async with running_proxy(settings, hooks), charger(settings) as ws:
                for n in range(20):
                    await call(ws, str(n))
                    [flow] = hooks.started
                    assert flow.websocket is not None
                    assert flow.websocket.messages == []
                assert hooks.held == [1] * 40  # each hook saw only the message at hand

    run(scenario())


# ---- certificates ---------------------------------------------------------------------------------


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_cert(key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ocppscope test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def pems(tmp_path: Path) -> dict[str, Path]:
    key, other = _key(), _key()
    files = {
        "cert": _pem_cert(key),
        "key": _pem_key(key),
        "combined": _pem_cert(key) + _pem_key(key),
        "other_key": _pem_key(other),
        "not_pem": b"this is not a certificate\n",
    }
    for name, data in files.items():
        (tmp_path / f"{name}.pem").write_bytes(data)
    return {name: tmp_path / f"{name}.pem" for name in files}


@pytest.mark.unit
def test_usable_certificates_pass(pems: dict[str, Path]) -> None:
    check_certificate(pems["cert"], pems["key"], "--cert")
    check_certificate(pems["combined"], None, "--client-cert")


@pytest.mark.parametrize(
    ("cert", "key", "reason"),
    [
        ("missing", None, "missing.pem: No such file or directory"),
        ("cert", "missing", "missing.pem: No such file or directory"),
        ("not_pem", None, "not_pem.pem: no PEM certificate in it"),
        ("cert", None, "no PEM private key in"),  # a certificate without its key
        ("cert", "not_pem", "no PEM private key in --key"),
        ("cert", "other_key", "cert.pem: the key does not match the certificate"),
    ],
)
@pytest.mark.unit
def test_unusable_certificates(
    pems: dict[str, Path], tmp_path: Path, cert: str, key: str | None, reason: str
) -> None:
    cert_path = pems.get(cert, tmp_path / "missing.pem")
    key_path = None if key is None else pems.get(key, tmp_path / "missing.pem")
    with pytest.raises(CertificateError) as raised:
        check_certificate(cert_path, key_path, "--cert")
    message = str(raised.value)
    assert message.startswith("--cert")
    assert reason in message
    assert "\n" not in message
    assert isinstance(raised.value, ValueError)


@pytest.mark.unit
def test_listener_pem_combines_cert_and_key(pems: dict[str, Path], tmp_path: Path) -> None:
    settings = ProxySettings(
        listen=Endpoint("127.0.0.1", 9000),
        upstream=Upstream(False, "127.0.0.1", 9001),
        cert=pems["cert"],
        key=pems["key"],
        confdir=tmp_path,
    )
    options = runtime.mitmproxy_options(settings)
    assert options["mode"] == ["reverse:http://127.0.0.1:9001@127.0.0.1:9000"]
    assert options["connection_strategy"] == "lazy"
    [spec] = options["certs"]
    combined = Path(spec.removeprefix("*="))
    assert combined.parent == tmp_path
    assert combined.stat().st_mode & 0o777 == 0o600
    check_certificate(combined, None, "combined")


class _Failing:
    def websocket_message(self, flow: http.HTTPFlow) -> None:
        raise RuntimeError("an addon bug")


class _AsyncCounter:
    def __init__(self) -> None:
        self.messages = 0
        self.updates = 0

    async def websocket_message(self, flow: http.HTTPFlow) -> None:
        await asyncio.sleep(0)
        self.messages += 1

    def update(self, flows: list[Any]) -> None:
        self.updates += 1


def test_fast_dispatch_keeps_mitmproxy_semantics(tmp_path: Path) -> None:
    """A failing addon does not stop the others, async handlers are awaited, and `update` still
    fires when an addon wants it."""

    async def scenario() -> None:
        counter = _AsyncCounter()
        async with csms() as upstream:
            settings = settings_for(tmp_path, upstream)
            async with running_proxy(settings, Hooks()) as running:
                running.master.addons.add(_Failing(), counter)
                async with charger(settings) as ws:
                    await call(ws, "1")
                    await call(ws, "2")
        assert counter.messages == 4  # two CALLs, two CALLRESULTs, despite the failing addon
        assert counter.updates >= 4
        assert upstream.received == ['[2, "1", "Heartbeat", {}]', '[2, "2", "Heartbeat", {}]']

    run(scenario())
