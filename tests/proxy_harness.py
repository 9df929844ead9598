"""Real sockets on 127.0.0.1 for the proxy's integration tests: a CSMS and chargers built with
the `ocpp` library over `websockets`, an in-process proxy, and an addon that records what it saw.

Everything here is bounded: every await has a timeout, every loop a count, and everything that
is started is stopped by the context manager that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import logging
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mitmproxy import http
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from addons import default_addons
from proxy.frame import FRAME_KEY, Frame
from proxy.ocppj.events import station_from_path
from proxy.ocppj.findings import Finding
from proxy.runtime import RunningProxy, start_proxy
from proxy.settings import Endpoint, ProxySettings, parse_upstream

STEP = 10.0
"""Seconds any single await in these tests may take."""
SUBPROTOCOL = "ocpp2.0.1"
T = TypeVar("T")

logging.getLogger("ocpp").setLevel(logging.CRITICAL)  # junk frames make it log tracebacks


def run(coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    """Drive one test's coroutine in a fresh event loop, bounded in time."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


async def within(awaitable: Awaitable[T], seconds: float = STEP) -> T:
    return await asyncio.wait_for(awaitable, seconds)


async def until(
    predicate: Callable[[], bool], seconds: float = STEP, what: str = "condition"
) -> None:
    """Poll `predicate` every 10 ms for at most `seconds`."""
    for _ in range(int(seconds / 0.01) + 1):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def rss_bytes() -> int:
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


# ---- the proxy ---------------------------------------------------------------------------------


class Recorder:
    """Test addon, added after ours (and so before TrimMessages): what the addons made of it."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.frames: list[Frame] = []
        self.flows: list[http.HTTPFlow] = []
        self.ended: list[http.HTTPFlow] = []
        self.upgrades: list[http.HTTPFlow] = []
        """Every WebSocket handshake the proxy received, accepted or not (a 502 while the
        upstream is down): `flow.request.timestamp_start` is when the attempt came in."""
        self.most_messages_held = 0
        self.keep_frames = True

    def ocpp_finding(self, finding: Finding) -> None:
        self.findings.append(finding)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.request.headers.get("upgrade", "").lower() == "websocket":
            self.upgrades.append(flow)

    def websocket_start(self, flow: http.HTTPFlow) -> None:
        self.flows.append(flow)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        self.most_messages_held = max(self.most_messages_held, len(flow.websocket.messages))
        if self.keep_frames:
            self.frames.append(flow.metadata[FRAME_KEY][1])

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        self.ended.append(flow)

    def rules(self, station: str | None = None) -> list[str]:
        return [f.rule_id for f in self.findings if station is None or f.station == station]


@dataclass
class Proxy:
    running: RunningProxy
    addons: list[Any]
    recorder: Recorder
    settings: ProxySettings

    @property
    def port(self) -> int:
        return self.running.addresses[0][1]

    def url(self, path: str, secure: bool = False) -> str:
        return f"{'wss' if secure else 'ws'}://127.0.0.1:{self.port}{path}"

    def addon(self, kind: type[T]) -> T:
        return next(a for a in self.addons if isinstance(a, kind))

    async def stop(self) -> None:
        if not self.running.task.done():
            await within(self.running.stop(), 15)


@contextlib.asynccontextmanager
async def running_proxy(confdir: Path, upstream: str, **settings: Any) -> AsyncIterator[Proxy]:
    """A proxy on a free port of 127.0.0.1, quiet, with a Recorder after our addons."""
    proxy_settings = ProxySettings(
        listen=Endpoint("127.0.0.1", 0),
        upstream=parse_upstream(upstream),
        confdir=confdir,
        quiet=True,
        **settings,
    )
    recorder = Recorder()
    addons = [*default_addons(), recorder]
    running = await within(start_proxy(proxy_settings, addons), 15)
    proxy = Proxy(running, addons, recorder, proxy_settings)
    try:
        yield proxy
    finally:
        await proxy.stop()


# ---- both ends: a recording connection and the ocpp library's ChargePoint -----------------------


class Recording:
    """What `ocpp.ChargePoint` calls its connection: records every text as it hits the socket."""

    def __init__(self, ws: ClientConnection | ServerConnection, keep: bool = True) -> None:
        self.ws = ws
        self.keep = keep
        self.sent: list[str | bytes] = []
        self.received: list[str | bytes] = []

    async def recv(self) -> str | bytes:
        message = await self.ws.recv()
        if self.keep:
            self.received.append(message)
        return message

    async def send(self, message: str | bytes) -> None:
        if self.keep:
            self.sent.append(message)
        await within(self.ws.send(message))


async def _serve_messages(cp: ChargePoint, connection: Recording, limit: int) -> None:
    """ChargePoint.start(), but bounded and deaf to junk (the ocpp library gives up on some)."""
    with contextlib.suppress(ConnectionClosed):
        for _ in range(limit):
            message = await connection.recv()
            try:
                await cp.route_message(message)
            except Exception:  # junk from the tests must not stop the loop
                logging.getLogger("tests.csms").debug("unroutable message", exc_info=True)


class CsmsChargePoint(ChargePoint):
    def __init__(self, station: str, connection: Recording, csms: Csms) -> None:
        super().__init__(station, connection, response_timeout=STEP)
        self.csms = csms

    @on("BootNotification")
    def on_boot(self, charging_station: dict[str, Any], reason: str, **_: Any) -> Any:
        self.csms.counts["BootNotification"] += 1
        return call_result.BootNotification(
            current_time=now_iso(), interval=self.csms.heartbeat_interval, status="Accepted"
        )

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        self.csms.counts["Heartbeat"] += 1
        return call_result.Heartbeat(current_time=now_iso())

    @on("DataTransfer")
    def on_data_transfer(self, vendor_id: str, **_: Any) -> Any:
        self.csms.counts["DataTransfer"] += 1
        return call_result.DataTransfer(status="Accepted")


@dataclass
class CsmsSide:
    """One connection as the CSMS saw it."""

    path: str
    headers: dict[str, str]
    subprotocol: str | None
    connection: Recording
    cp: CsmsChargePoint
    close_code: int | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class Csms:
    """A CSMS on 127.0.0.1 built on ocpp.v201.ChargePoint, one per accepted connection."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext | None = None,
        heartbeat_interval: int = 300,
        record: bool = True,
    ) -> None:
        self.ssl_context = ssl_context
        self.record = record
        self.heartbeat_interval = heartbeat_interval
        self.server: Server | None = None
        self.port = 0
        self.sides: list[CsmsSide] = []
        self.counts = dict.fromkeys(("BootNotification", "Heartbeat", "DataTransfer"), 0)
        self.open_now = 0
        self.most_open = 0

    @property
    def url(self) -> str:
        return f"{'wss' if self.ssl_context else 'ws'}://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free port, or again on the same one after `stop()`."""
        self.server = await within(
            serve(
                self._handle,
                "127.0.0.1",
                self.port,
                subprotocols=[SUBPROTOCOL],
                ssl=self.ssl_context,
                max_size=None,
                ping_interval=None,
            )
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener and every connection with 1001 (websockets' default)."""
        if self.server is not None:
            self.server.close()
            await within(self.server.wait_closed())
            self.server = None

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        connection = Recording(ws, keep=self.record)
        side = CsmsSide(
            path=ws.request.path,
            headers={k.lower(): v for k, v in ws.request.headers.raw_items()},
            subprotocol=ws.subprotocol,
            connection=connection,
            cp=CsmsChargePoint(station_from_path(ws.request.path), connection, self),
        )
        self.sides.append(side)
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            await _serve_messages(side.cp, connection, limit=1_000_000)
        finally:
            self.open_now -= 1
            side.close_code = ws.close_code
            side.closed.set()

    def side(self, station: str) -> CsmsSide:
        return next(s for s in self.sides if station_from_path(s.path) == station)


@contextlib.asynccontextmanager
async def running_csms(**kwargs: Any) -> AsyncIterator[Csms]:
    csms = Csms(**kwargs)
    await csms.start()
    try:
        yield csms
    finally:
        await csms.stop()


class ChargerChargePoint(ChargePoint):
    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        return call_result.GetVariables(
            get_variable_result=[
                {
                    "attribute_status": "Accepted",
                    "attribute_value": "300",
                    "component": item["component"],
                    "variable": item["variable"],
                }
                for item in get_variable_data
            ]
        )


class Charger:
    """A connected station: the ocpp library's ChargePoint over a websockets client."""

    def __init__(self, ws: ClientConnection, station: str) -> None:
        self.ws = ws
        self.station = station
        self.connection = Recording(ws)
        self.cp = ChargerChargePoint(station, self.connection, response_timeout=STEP)
        self.task = asyncio.get_running_loop().create_task(
            _serve_messages(self.cp, self.connection, limit=1_000_000)
        )

    async def boot(self) -> Any:
        return await within(
            self.cp.call(
                call.BootNotification(
                    charging_station={"model": "Integration", "vendor_name": "ocppscope"},
                    reason="PowerUp",
                )
            )
        )

    async def heartbeat(self) -> Any:
        return await within(self.cp.call(call.Heartbeat()))

    async def closed(self) -> int | None:
        """Wait until the connection is closed (by the other side); its close code."""
        await within(self.task)
        return self.ws.close_code

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await within(self.ws.close(), 5)
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await within(self.task, 5)


@contextlib.asynccontextmanager
async def charger(
    url: str, station: str | None = None, **connect_args: Any
) -> AsyncIterator[Charger]:
    connect_args.setdefault("subprotocols", [SUBPROTOCOL])
    ws = await within(
        connect(url, open_timeout=STEP, ping_interval=None, max_size=None, **connect_args)
    )
    station = station or station_from_path(url.split("://", 1)[1].split("/", 1)[1])
    station_charger = Charger(ws, station)
    try:
        yield station_charger
    finally:
        await station_charger.close()


# ---- certificates ------------------------------------------------------------------------------


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed leaf for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ocppscope test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def client_context(trusted: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(trusted))


class LogRecords(logging.Handler):
    """Collects the records of one logger while installed (`with LogRecords.of(name) as logs`)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self.records: list[logging.LogRecord] = []
        """The records themselves, for their unformatted `msg` and `args`."""

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.records.append(record)

    @classmethod
    @contextlib.contextmanager
    def of(cls, name: str) -> Any:
        logger = logging.getLogger(name)
        handler, level = cls(), logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        try:
            yield handler
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
