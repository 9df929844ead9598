"""Forwarding: the upgrade reaches the CSMS as the charger sent it, plus X-Forwarded-For; a link
lost on one side is lost on the other too (1006, no Close frame); a station id too long to store
is refused (414) rather than forwarded unrecorded; what a side sends after the other side's Close
reaches the addons (proxy/connections.py, `read_after_close`); an unreachable CSMS is reported
once per outage, not once per charger attempt."""

from __future__ import annotations

import logging

from mitmproxy import http, tls
from mitmproxy.proxy import server_hooks

from addons._ocpp import is_websocket_upgrade
from proxy.connections import read_after_close, relay_lost_connections
from proxy.ocppj.events import station_from_path
from proxy.store.records import STATION_ID_BYTES

log = logging.getLogger("ocppscope.forwarding")


class Forwarding:
    def __init__(self) -> None:
        self.upstream_down = False
        self.failed_attempts = 0

    def load(self, loader: object) -> None:
        relay_lost_connections()
        read_after_close()

    def request(self, flow: http.HTTPFlow) -> None:
        if is_websocket_upgrade(flow) and _too_long(station_from_path(flow.request.path)):
            flow.response = http.Response.make(
                414, f"station id longer than {STATION_ID_BYTES} bytes\n"
            )
            return
        peer = flow.client_conn.peername[0] if flow.client_conn.peername else None
        if peer:
            earlier = flow.request.headers.get("X-Forwarded-For")
            flow.request.headers["X-Forwarded-For"] = f"{earlier}, {peer}" if earlier else peer

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        self.failed_attempts += 1
        if not self.upstream_down:
            self.upstream_down = True
            log.warning(
                "upstream %s unreachable (%s); chargers' handshakes fail with 502 until it is back",
                _address(data),
                data.server.error,
            )

    def error(self, flow: http.HTTPFlow) -> None:
        """A TLS failure towards a wss upstream comes here, not to server_connect_error."""
        if is_websocket_upgrade(flow) and flow.server_conn.tls and not self.upstream_down:
            self.upstream_down = True
            self.failed_attempts += 1
            log.warning("upstream TLS handshake failed: %s", flow.error)

    def tls_failed_client(self, data: tls.TlsData) -> None:
        """A charger that refuses the proxy's certificate (or speaks no TLS) never sends its
        upgrade: without this line it would leave no trace."""
        log.warning(
            "TLS handshake with the charger at %s failed: %s",
            _peer(data.conn.peername),
            data.conn.error,
        )

    def response(self, flow: http.HTTPFlow) -> None:
        if self.upstream_down and flow.response and flow.response.status_code == 101:
            log.warning("upstream back after %d failed charger attempt(s)", self.failed_attempts)
            self.upstream_down, self.failed_attempts = False, 0


def _too_long(station: str) -> bool:
    return len(station.encode("utf-8", "surrogatepass")) > STATION_ID_BYTES


def _peer(peername: tuple[str, int] | None) -> str:
    return f"{peername[0]}:{peername[1]}" if peername else "?"


def _address(data: server_hooks.ServerConnectionHookData) -> str:
    address = data.server.address
    return f"{address[0]}:{address[1]}" if address else "?"


addons = [Forwarding()]
