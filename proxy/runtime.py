"""The mitmproxy runtime: a master with only what reverse-proxying WebSockets needs, plus the addons
it is given (the application passes `addons.default_addons()`; the runtime knows none by name but
the faults and metrics addons it looks up for the admin API).

Stock `mitmdump` loads ~35 addons and walks them on every message; this master loads four of
mitmproxy's and ours (measured: about half the CPU per call). Several helpers here reach into
mitmproxy 11.0.2 internals where it has no public API (closing a live WebSocket, the idle timeout,
a message size limit); the version is pinned and tests/test_runtime.py exercises each.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
import ssl
from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any

import wsproto.connection
import wsproto.events
from fastapi import APIRouter
from mitmproxy import addonmanager, exceptions, hooks, http, options
from mitmproxy.addons import core, next_layer, proxyserver, tlsconfig
from mitmproxy.master import Master
from mitmproxy.proxy import server as proxy_server
from mitmproxy.proxy.layers import websocket as websocket_layer
from mitmproxy.proxy.layers.websocket import WebsocketMessageHook

from proxy.admin import HttpServer, admin_app
from proxy.connections import (
    close_all,
    close_websocket,
    forget_proxy_close,
    note_proxy_close,
)
from proxy.frame import FRAME_KEY
from proxy.handshakes import HeaderTimeout
from proxy.heap import return_big_blocks_to_the_system, tune_garbage_collector
from proxy.metrics import StoreMetrics, metrics_router
from proxy.options import PROXY_OPTIONS
from proxy.settings import ProxySettings
from proxy.store.database import redact

log = logging.getLogger("ocppscope")
START_TIMEOUT = 10.0
SHUTDOWN_CLOSE_CODE = 1001  # "going away": the charger reconnects with its back-off
SHUTDOWN_WAIT = 5.0
"""Seconds for the connection handlers to end on stop, each closed at once (a WebSocket with 1001
on both sides; anything else, a side held for the answer to a Close included, by closing the
charger's connection). Whatever is left then is closed outright, both sides (its handler then
ends within SHUTDOWN_FORCED_WAIT): no connection outlives the proxy."""
SHUTDOWN_FORCED_WAIT = 2.0


class CertificateError(ValueError):
    """A certificate or key given on the command line cannot be used."""


class TrimMessages:
    """Last in the chain: mitmproxy keeps every message of a flow until it closes (~330 B each);
    chargers stay connected for months, so drop them once every addon has seen them, and the
    message's Frame with them (a station's last 16 MiB frame would stay as long as it does);
    and, when the flow ends, why the proxy closed it, which every addon has read by then."""

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        flow.websocket.messages.clear()
        flow.metadata.pop(FRAME_KEY, None)

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        forget_proxy_close(flow)


class _FastMessageDispatch(addonmanager.AddonManager):
    """mitmproxy walks every addon twice per WebSocket message (`websocket_message`, then an
    `update` event nobody here handles); measured at 38 % of the proxy's CPU. Call the cached
    `websocket_message` handlers directly, with the same error handling, and skip `update`
    while no addon wants it. Every other event takes mitmproxy's own path."""

    _handlers: list[Any] | None = None
    _wants_update = True

    def register(self, addon: Any) -> Any:
        self._handlers = None
        return super().register(addon)

    def remove(self, addon: Any) -> None:
        self._handlers = None
        super().remove(addon)

    async def handle_lifecycle(self, event: hooks.Hook) -> None:
        if not isinstance(event, WebsocketMessageHook):
            await super().handle_lifecycle(event)
            return
        if self._handlers is None:
            self._handlers = [f for a in self.chain for _a, f in self._iter_hooks(a, event)]
            self._wants_update = any(
                callable(getattr(a, "update", None)) for a in addonmanager.traverse(self.chain)
            )
        try:
            for handler in self._handlers:
                with addonmanager.safecall():
                    result = handler(event.flow)
                    if inspect.isawaitable(result):
                        await result
        except exceptions.AddonHalt:
            return
        if self._wants_update:
            await self.trigger_event(hooks.UpdateHook([event.flow]))


class OcppMaster(Master):
    def __init__(self, opts: options.Options, addons: list[Any], header_timeout: float) -> None:
        super().__init__(opts)
        self.addons = _FastMessageDispatch(self)
        self.addons.add(
            core.Core(),
            proxyserver.Proxyserver(),
            next_layer.NextLayer(),
            tlsconfig.TlsConfig(),
            HeaderTimeout(header_timeout),
            *addons,
            TrimMessages(),
        )


def check_certificate(cert: Path, key: Path | None, what: str) -> None:
    """Fail early, in one line that says which part is wrong, rather than at the first handshake."""
    try:
        pem = cert.read_bytes()
        key_pem = key.read_bytes() if key else pem
    except OSError as exc:
        raise CertificateError(f"{what} {exc.filename}: {exc.strerror}") from None
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        raise CertificateError(f"{what} {cert}: no PEM certificate in it")
    if b"PRIVATE KEY-----" not in key_pem:
        where = f"--key {key}" if key else f"{cert} (give the key in the same file or with --key)"
        raise CertificateError(f"{what}: no PEM private key in {where}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        reason = (
            "the key does not match the certificate"
            if "KEY_VALUES_MISMATCH" in str(exc)
            else f"unusable certificate or key ({exc.reason or exc})"
        )
        raise CertificateError(f"{what} {cert}: {reason}") from None


def mitmproxy_options(settings: ProxySettings) -> dict[str, Any]:
    listen, upstream = settings.listen, settings.upstream
    values: dict[str, Any] = {
        "mode": [f"reverse:{upstream.mitmproxy_spec}@{listen.host}:{listen.port}"],
        # lazy: connect upstream only after the upgrade request, so a down CSMS gives the
        # charger a proper handshake failure (502) instead of a reset.
        "connection_strategy": "lazy",
        "confdir": str(settings.confdir),
        "ssl_insecure": settings.upstream_insecure,
        **{
            row.mitmproxy: row.mitmproxy_value(getattr(settings, row.name))
            for row in PROXY_OPTIONS
            if row.mitmproxy
        },
        # where the addons' option means more than the setting:
        "ocpp_database_url": (settings.database_url or "") if settings.store else "",
        "ocpp_instance": settings.instance_name,
        "ocpp_live": settings.live_view,
    }
    if settings.upstream_ca:
        values["ssl_verify_upstream_trusted_ca"] = str(settings.upstream_ca)
    if settings.client_cert:
        values["client_certs"] = str(settings.client_cert)
    if settings.cert:
        values["certs"] = [f"*={_listener_pem(settings)}"]
    return values


def _listener_pem(settings: ProxySettings) -> Path:
    """mitmproxy wants certificate and key in one file."""
    assert settings.cert is not None
    if settings.key is None:
        return settings.cert
    combined = settings.confdir / "listener.pem"
    combined.write_bytes(settings.cert.read_bytes() + b"\n" + settings.key.read_bytes())
    combined.chmod(0o600)
    return combined


def apply_limits(idle_timeout: float, max_message_size: int) -> None:
    """mitmproxy 11 has no options for these; set them where it reads them."""
    # mitmproxy annotates the timeout as int; it only does arithmetic with time.time() on it
    proxy_server.TCP_TIMEOUT = idle_timeout  # type: ignore[assignment]
    _MessageSizeLimit.install(max_message_size)


MESSAGE_TOO_BIG = 1009
TOO_BIG_REASON = "message too big"
_OPEN = (wsproto.connection.ConnectionState.OPEN, wsproto.connection.ConnectionState.LOCAL_CLOSING)


class _MessageSizeLimit:
    """Close both sides with 1009 when a message grows past the limit (mitmproxy would buffer a
    50 MB frame whole); wsproto hands messages over in pieces, so memory stays near the limit."""

    limit = 0
    _original: Any = None

    @classmethod
    def install(cls, limit: int) -> None:
        cls.limit = limit
        if cls._original is None:
            cls._original = websocket_layer.WebsocketConnection.events
            # patching wsproto's method on mitmproxy's class, which mypy sees as a misplaced self
            websocket_layer.WebsocketConnection.events = cls._events  # type: ignore[method-assign, assignment]

    @staticmethod
    def _events(connection: Any) -> Generator[wsproto.events.Event, None, None]:
        for event in _MessageSizeLimit._original(connection):
            if isinstance(event, wsproto.events.CloseConnection) and connection.state in _OPEN:
                # wsproto refused what it received (a text frame that is not UTF-8: 1007, a
                # protocol error: 1002); a Close frame received would have changed the state
                note_proxy_close(connection, event.code, event.reason or "")
            if isinstance(event, wsproto.events.Message):
                data = event.data
                size = getattr(connection, "_ocppscope_size", 0) + len(data)
                if isinstance(data, str) and size + 3 * len(data) > _MessageSizeLimit.limit:
                    size += len(data.encode()) - len(data)  # the limit is in bytes, not characters
                if size > _MessageSizeLimit.limit:
                    connection._ocppscope_size = 0
                    connection.frame_buf = [b""]
                    note_proxy_close(connection, MESSAGE_TOO_BIG, TOO_BIG_REASON)
                    yield wsproto.events.CloseConnection(
                        code=MESSAGE_TOO_BIG, reason=TOO_BIG_REASON
                    )
                    return
                connection._ocppscope_size = 0 if event.message_finished else size
            yield event


class RunningProxy:
    """A started master and its task; `stop()` closes listeners and connections, then the master."""

    def __init__(self, master: OcppMaster, task: asyncio.Task[None]) -> None:
        self.master = master
        self.task = task

    @property
    def addresses(self) -> list[tuple[str, int]]:
        servers = self.master.addons.get("proxyserver").servers
        return [address[:2] for server in servers for address in server.listen_addrs]

    def store_stats(self) -> dict[str, Any]:
        store = self.master.addons.get("store")
        return store.stats() if store is not None else {"enabled": False}

    def health(self) -> dict[str, Any]:
        """What the admin /healthz reports: `degraded` while the store cannot write."""
        store_stats = self.store_stats()
        degraded = store_stats["enabled"] and not store_stats["connected"]
        return {
            "status": "degraded" if degraded else "ok",
            "connections": len(self.master.addons.get("proxyserver").connections),
            "store": store_stats,
        }

    async def stop(self) -> None:
        server = self.master.addons.get("proxyserver")
        for instance in list(server.servers):
            if instance.is_running:  # Master.done() leaves listeners open
                await instance.stop()
        for client_id, handler in list(server.connections.items()):
            if close_websocket(self.master, client_id, SHUTDOWN_CLOSE_CODE, "proxy stopping"):
                continue
            if handler.client in handler.transports:  # gone while its disconnect hooks run
                handler.close_connection(handler.client)
        if not await _ended(server, SHUTDOWN_WAIT):  # every handler ended
            for handler in list(server.connections.values()):
                close_all(handler)
            await _ended(server, SHUTDOWN_FORCED_WAIT)
        self.master.shutdown()
        await asyncio.wait_for(self.task, START_TIMEOUT)


async def _ended(server: proxyserver.Proxyserver, seconds: float) -> bool:
    """Whether every connection handler of `server` finished within `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while server.connections and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    return not server.connections


async def start_proxy(settings: ProxySettings, addons: list[Any]) -> RunningProxy:
    """Start listening with `addons` in hook order; raises OSError when the port cannot be had."""
    return_big_blocks_to_the_system()
    apply_limits(settings.idle_timeout, settings.max_message_size)
    settings.confdir.mkdir(parents=True, exist_ok=True)
    opts = options.Options()
    master = OcppMaster(opts, addons, settings.header_timeout)
    opts.update(**mitmproxy_options(settings))
    ready = asyncio.Event()

    class _Started:
        def running(self) -> None:
            ready.set()

    master.addons.add(_Started())
    task = asyncio.get_running_loop().create_task(master.run(), name="mitmproxy master")
    waiter = asyncio.get_running_loop().create_task(ready.wait())
    done, _ = await asyncio.wait(
        [task, waiter], timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
    )
    waiter.cancel()
    if task in done:
        task.result()
        raise RuntimeError("mitmproxy stopped while starting")
    running = RunningProxy(master, task)
    failed = [s for s in master.addons.get("proxyserver").servers if not s.is_running]
    if failed or not ready.is_set():
        reasons = "; ".join(str(s.last_exception) for s in failed) or "did not start in time"
        await running.stop()
        raise OSError(f"cannot listen on {settings.listen.host}:{settings.listen.port}: {reasons}")
    return running


@contextlib.asynccontextmanager
async def running_proxy(settings: ProxySettings, addons: list[Any]) -> AsyncIterator[RunningProxy]:
    """The proxy and its admin API; on the way out connections close, then the store drains."""
    logging.getLogger("mitmproxy").setLevel(logging.WARNING)
    log.setLevel(logging.INFO)
    running = await start_proxy(settings, addons)
    admin = None
    try:
        if settings.admin is not None:
            faults = running.master.addons.get("faults")

            def health() -> dict[str, Any]:
                return {**running.health(), "workers": settings.worker_count}

            app = admin_app(health, faults, settings.admin_token, _metrics_routes(running))
            admin = HttpServer(app, settings.admin)
            await admin.start()
        if settings.store:
            log.info("storing frames in %s", redact(settings.database_url or ""))
        tune_garbage_collector()
        yield running
    finally:
        if admin is not None:
            await admin.stop()
        await running.stop()


def _metrics_routes(running: RunningProxy) -> APIRouter | None:
    """/metrics: the metrics addon's registry, plus the store's health read at each scrape."""
    metrics = running.master.addons.get("metrics")
    if metrics is None:
        return None
    store = StoreMetrics(running.store_stats, metrics.registry)
    return metrics_router(metrics.registry, store.refresh)


async def serve(settings: ProxySettings, addons: list[Any]) -> None:
    """Run until SIGINT or SIGTERM, then close every connection with 1001 and stop."""
    async with running_proxy(settings, addons):
        await _until_signalled(settings)


async def _until_signalled(settings: ProxySettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info(
        "listening on %s:%d, forwarding to %s",
        settings.listen.host,
        settings.listen.port,
        settings.upstream,
    )
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signum)
