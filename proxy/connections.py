"""Acting on live connections of the running proxy where mitmproxy 11.0.2 has no public API:
closing a WebSocket with a code on both sides, resetting a charger's TCP connection, relaying a
lost connection as lost. The
version is pinned; tests/test_runtime.py and the fault tests exercise each."""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass
from typing import Any

import wsproto.events
import wsproto.frame_protocol
from mitmproxy import connection as mitmproxy_connection
from mitmproxy import http
from mitmproxy.master import Master
from mitmproxy.proxy import commands
from mitmproxy.proxy import events as proxy_events
from mitmproxy.proxy.layers import websocket as websocket_layer


def close_websocket(master: Master, client_id: str, code: int, reason: str) -> bool:
    """Close a live WebSocket on both sides with `code`, as if the CSMS had closed it.

    mitmproxy has no public API for this (flow.kill() does nothing on a live WebSocket): queue a
    Close on the server-side protocol object and let the layer relay it as it would a real one.
    """
    handler = master.addons.get("proxyserver").connections.get(client_id)
    layer = _websocket_layer(handler) if handler else None
    if layer is None or not hasattr(layer, "server_ws") or not layer.flow.live:
        return False
    layer.server_ws._events.append(wsproto.events.CloseConnection(code=code, reason=reason))
    _background(handler.server_event(proxy_events.DataReceived(layer.context.server, b"")))
    return True


def _websocket_layer(handler: Any) -> websocket_layer.WebsocketLayer | None:
    stack = [handler.layer]
    while stack:
        layer = stack.pop()
        if isinstance(layer, websocket_layer.WebsocketLayer):
            return layer
        stack.extend(
            c
            for c in (getattr(layer, "layer", None), getattr(layer, "child_layer", None))
            if c is not None
        )
        stack.extend(getattr(layer, "streams", {}).values())
    return None


_background_tasks: set[asyncio.Task[Any]] = set()


def _background(coroutine: Any) -> None:
    task = asyncio.get_running_loop().create_task(coroutine)
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)


def reset_connection(master: Master, client_id: str) -> bool:
    """Reset the charger's TCP connection (RST, no Close frame: the link just dies) and close
    the CSMS side; False when there is no such connection."""
    handler = master.addons.get("proxyserver").connections.get(client_id)
    if handler is None or handler.client not in handler.transports:
        return False
    writer = handler.transports[handler.client].writer
    sock = writer.get_extra_info("socket") if writer is not None else None
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    for connection in list(handler.transports):
        handler.close_connection(connection)
    return True


_send_close = websocket_layer.WebsocketConnection.send2


def relay_lost_connections() -> None:
    """Relay a connection that died without a close frame as lost, not as closed.

    mitmproxy forwards the 1006 wsproto reports for such a link as a Close frame, which wsproto
    turns into 1000 (1006 may not be sent): the CSMS would believe the charger left cleanly.
    Send no Close frame instead; the layer then closes the TCP connection, which the other side
    reports as 1006, as it would a direct link that died.
    """
    websocket_layer.WebsocketConnection.send2 = _send2  # type: ignore[method-assign, assignment]


def _send2(connection: websocket_layer.WebsocketConnection, event: wsproto.events.Event) -> Any:
    if (
        isinstance(event, wsproto.events.CloseConnection)
        and event.code == wsproto.frame_protocol.CloseReason.ABNORMAL_CLOSURE
    ):
        return commands.SendData(connection.conn, b"")
    return _send_close(connection, event)


@dataclass(frozen=True, slots=True)
class ProxyClose:
    """A close the proxy decided: a message it could not pass on (over the size limit, a text
    frame that is not UTF-8), refused on the side that sent it."""

    code: int
    reason: str
    from_client: bool


_proxy_closes: dict[str, ProxyClose] = {}
"""By the id of the mitmproxy connection the refused message came in on; forgotten when its
flow ends (`forget_proxy_close`)."""


def note_proxy_close(
    connection: websocket_layer.WebsocketConnection, code: int, reason: str
) -> None:
    conn = connection.conn
    _proxy_closes[conn.id] = ProxyClose(code, reason, isinstance(conn, mitmproxy_connection.Client))


def proxy_close(flow: http.HTTPFlow) -> ProxyClose | None:
    """Whether the proxy closed this flow's WebSocket, and why."""
    return _proxy_closes.get(flow.client_conn.id) or _proxy_closes.get(flow.server_conn.id)


def forget_proxy_close(flow: http.HTTPFlow) -> None:
    _proxy_closes.pop(flow.client_conn.id, None)
    _proxy_closes.pop(flow.server_conn.id, None)
