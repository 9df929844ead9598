"""Acting on live connections of the running proxy where mitmproxy 11.0.2 has no public API:
closing a WebSocket with a code on both sides, resetting a charger's TCP connection, relaying a
lost connection as lost, reading what a side sends after the other side's Close. The
version is pinned; tests/test_runtime.py, tests/test_after_close.py and the fault tests exercise
each."""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass
from typing import Any

import wsproto.connection
import wsproto.events
import wsproto.frame_protocol
from mitmproxy import connection as mitmproxy_connection
from mitmproxy import http, websocket
from mitmproxy.master import Master
from mitmproxy.proxy import commands
from mitmproxy.proxy import events as proxy_events
from mitmproxy.proxy.layers import websocket as websocket_layer
from wsproto.frame_protocol import Opcode


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


CLOSE_GRACE = 3.0
"""Seconds the proxy waits for the answer to a Close it relayed; a side that has not answered by
then is dropped (RFC 6455 §7.1.1 lets an endpoint give up on the closing handshake). Healthy
endpoints answer within milliseconds; the wait only holds the end of the flow, never traffic."""

_relay_messages = websocket_layer.WebsocketLayer.relay_messages
_LOCAL_CLOSING = wsproto.connection.ConnectionState.LOCAL_CLOSING


def read_after_close() -> None:
    """Keep reading a side after relaying the other side's Close to it, until its own Close.

    RFC 6455 §5.5.1 lets an endpoint that received a Close send data until it answers with its
    own; mitmproxy closes both sockets at once and such frames vanish. Hold open each side the
    Close went to (and the end of the flow), report every message it sends meanwhile to the
    addons without forwarding it (`after_close`), and close it on its answer, when its link
    drops, or after CLOSE_GRACE seconds. A charger that closed stays connected meanwhile too:
    mitmproxy drops the CSMS's connection as soon as the charger's is gone.
    """
    websocket_layer.WebsocketLayer.relay_messages = _relay  # type: ignore[method-assign]


def after_close(flow: http.HTTPFlow) -> bool:
    """Whether the message being handled came after the flow's Close was relayed: it was
    forwarded to no one (the side it was for had closed)."""
    return flow.websocket is not None and flow.websocket.timestamp_end is not None


def _relay(layer: websocket_layer.WebsocketLayer, event: Any) -> Any:
    """mitmproxy's relay, with what `_held_back` names withheld; once it has relayed a Close
    that a side still owes an answer to, the layer reads on with `_drain`."""
    relayed = _relay_messages(layer, event)
    reply = None
    while True:
        try:
            command = relayed.send(reply)
        except StopIteration:
            break
        reply = None
        if not _held_back(layer, command):
            reply = yield command
    waiting = [ws for ws in (layer.server_ws, layer.client_ws) if ws.state is _LOCAL_CLOSING]
    if layer._handle_event == layer.done and waiting:
        layer._handle_event = lambda later: _drain(layer, waiting, later)
        yield commands.RequestWakeup(CLOSE_GRACE)


def _held_back(layer: websocket_layer.WebsocketLayer, command: Any) -> bool:
    """While a side owes an answer to the Close it was sent: its close, the charger's, and the
    end of the flow (`_drain` issues them later)."""
    sides = (layer.server_ws, layer.client_ws)
    if not any(ws.state is _LOCAL_CLOSING for ws in sides):
        return False
    if isinstance(command, websocket_layer.WebsocketEndHook):
        return True
    return isinstance(command, commands.CloseConnection) and any(
        ws.conn is command.connection and (ws.state is _LOCAL_CLOSING or ws is layer.client_ws)
        for ws in sides
    )


def _drain(
    layer: websocket_layer.WebsocketLayer,
    waiting: list[websocket_layer.WebsocketConnection],
    event: Any,
) -> Any:
    """The layer's handler once the Close was relayed: read the sides in `waiting`; then close
    both and end the flow."""
    if not waiting:
        return  # a wakeup after every side answered
    ws = next(
        (
            w
            for w in waiting
            if isinstance(event, proxy_events.ConnectionEvent) and w.conn is event.connection
        ),
        None,
    )
    if isinstance(event, proxy_events.Wakeup) or (
        isinstance(event, proxy_events.ConnectionClosed)
        and ws is None
        and event.connection is layer.context.client
    ):
        waiting.clear()  # out of time, or the charger that closed has gone
    elif ws is not None:
        ws.receive_data(event.data if isinstance(event, proxy_events.DataReceived) else None)
        for ws_event in ws.events():
            if isinstance(ws_event, wsproto.events.Message):
                yield from _report(layer, ws, ws_event)
            elif isinstance(ws_event, wsproto.events.CloseConnection):
                waiting.remove(ws)
                break
    if not waiting:
        for side in (layer.server_ws, layer.client_ws):
            yield commands.CloseConnection(side.conn)
        yield websocket_layer.WebsocketEndHook(layer.flow)


def _report(
    layer: websocket_layer.WebsocketLayer,
    ws: websocket_layer.WebsocketConnection,
    event: wsproto.events.Message,
) -> Any:
    """A message received after the Close: to the addons, not to the side that closed."""
    data = event.data
    ws.frame_buf[-1] += data.encode() if isinstance(data, str) else data
    if not event.message_finished:
        return
    content, ws.frame_buf = b"".join(ws.frame_buf), [b""]
    kind = Opcode.TEXT if isinstance(data, str) else Opcode.BINARY
    from_client = ws is layer.client_ws
    assert layer.flow.websocket is not None
    layer.flow.websocket.messages.append(websocket.WebSocketMessage(kind, from_client, content))
    yield websocket_layer.WebsocketMessageHook(layer.flow)


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
