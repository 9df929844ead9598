"""Drop clients that connect and never finish their upgrade request (slowloris): mitmproxy's only
timeout is the idle one, 7,200 s by default, so one socket per such client stayed that long.
Upgraded connections are not touched, however quiet: a charger may send nothing for hours."""

from __future__ import annotations

import asyncio
import logging

from mitmproxy import connection, ctx, http

log = logging.getLogger("ocppscope")


class HeaderTimeout:
    """Internal addon: a client has `seconds` from connecting to send its whole request head."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def client_connected(self, client: connection.Client) -> None:
        self._timers[client.id] = asyncio.get_running_loop().call_later(
            self.seconds, self._expired, client.id
        )

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self._cancel(flow.client_conn.id)

    def client_disconnected(self, client: connection.Client) -> None:
        self._cancel(client.id)

    def _cancel(self, client_id: str) -> None:
        timer = self._timers.pop(client_id, None)
        if timer is not None:
            timer.cancel()

    def _expired(self, client_id: str) -> None:
        self._timers.pop(client_id, None)
        handler = ctx.master.addons.get("proxyserver").connections.get(client_id)
        if handler is None or handler.client not in handler.transports:
            return
        log.info(
            "dropped %s: no complete upgrade request within %g s",
            _address(handler.client.peername),
            self.seconds,
        )
        handler.close_connection(handler.client)


def _address(peername: tuple[str, int] | None) -> str:
    return f"{peername[0]}:{peername[1]}" if peername else "a client"
