"""Acting on live connections of the running proxy where mitmproxy 11.0.2 has no public API:
closing a WebSocket with a code on both sides, resetting a charger's TCP connection, relaying a
lost connection as lost, reading what a side sends after the other side's Close. The
version is pinned; tests/test_runtime.py, tests/test_after_close.py and the fault tests exercise
each."""

from __future__ import annotations

import asyncio
import functools
import socket
import struct
from dataclasses import dataclass
from typing import Any

import wsproto.connection
import wsproto.events
import wsproto.frame_protocol
from mitmproxy import connection as mitmproxy_connection
from mitmproxy import ctx, http, websocket
from mitmproxy.master import Master
from mitmproxy.proxy import commands
from mitmproxy.proxy import events as proxy_events
from mitmproxy.proxy.layers import websocket as websocket_layer
from wsproto.frame_protocol import Opcode


def close_websocket(master: Master, client_id: str, code: int, reason: str) -> bool:
    """Close a live WebSocket on both sides with `code`, as if the CSMS had closed it.

    mitmproxy has no public API for this (flow.kill() does nothing on a live WebSocket): queue a
    Close on the server-side protocol object and let the layer relay it as it would a real one.
    It is read ahead of CSMS frames already on the wire and not yet read: those are reported
    after the flow's end, and the caller decides what becomes of them (addons/faults.py drops them).
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
    close_all(handler)
    return True


def close_all(handler: Any) -> None:
    """Close every connection of a mitmproxy connection handler, the charger's and the CSMS's,
    whatever state its layers are in (one still being set up has no task to cancel yet)."""
    for connection, io in list(handler.transports.items()):
        if io.handler is not None:
            handler.close_connection(connection)


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
endpoints answer within milliseconds; the wait only holds one side and the end of the flow,
never traffic, and never the side that closed."""

_relay_messages = websocket_layer.WebsocketLayer.relay_messages
_LOCAL_CLOSING = wsproto.connection.ConnectionState.LOCAL_CLOSING
_SENT_ITS_CLOSE = (
    wsproto.connection.ConnectionState.REMOTE_CLOSING,
    wsproto.connection.ConnectionState.CLOSED,
)


def read_after_close() -> None:
    """Keep reading the side a Close was relayed to, until its own Close.

    RFC 6455 §5.5.1 lets an endpoint that received a Close send data until it answers with its
    own; mitmproxy closes both sockets at once and such frames vanish. Hold open the one side
    the Close was relayed to (the CSMS when the charger closed, the charger when the CSMS did),
    report every message it sends meanwhile to the addons without forwarding it
    (`after_close`), and close it on its answer, when its link drops, or after CLOSE_GRACE
    seconds; the end of the flow waits for that. The side that closed is answered and closed
    at once, as before, and so are both sides of a close the proxy decides.
    """
    websocket_layer.WebsocketLayer.relay_messages = _relay  # type: ignore[method-assign]


def after_close(flow: http.HTTPFlow) -> bool:
    """Whether the message being handled came after the flow's Close was relayed: it was
    forwarded to no one (the side it was for had closed)."""
    return flow.websocket is not None and flow.websocket.timestamp_end is not None


def _relay(layer: websocket_layer.WebsocketLayer, event: Any) -> Any:
    """mitmproxy's relay; when it relays a Close, the side that still owes the answer is held
    (its close and the end of the flow withheld) and the layer reads it on with `_drain`."""
    relayed = _relay_messages(layer, event)
    held = None
    reply = None
    while True:
        try:
            command = relayed.send(reply)
        except StopIteration:
            break
        reply = None
        held = held or _owing(layer, command)
        if held is None:
            reply = yield command
        elif isinstance(command, commands.CloseConnection) and command.connection is not held.conn:
            if not _half_close(command.connection):  # the side that closed: told at once
                reply = yield command
        elif not isinstance(command, (commands.CloseConnection, websocket_layer.WebsocketEndHook)):
            reply = yield command
    if held is not None:
        layer._handle_event = functools.partial(_drain, layer, held)
        yield commands.RequestWakeup(CLOSE_GRACE)


def _owing(
    layer: websocket_layer.WebsocketLayer, command: Any
) -> websocket_layer.WebsocketConnection | None:
    """The side a Close was just relayed to, when `command` is mitmproxy closing it before its
    answer: the CSMS when the charger closed, else the charger. None when the side that closed
    sent no Close: a close the proxy decides (a fault, a stop, a refused message; both sides get
    one and are closed at once, as before) or a link relayed as lost (`_send2` sent no Close)."""
    if not isinstance(command, commands.CloseConnection):
        return None
    assert layer.flow.websocket is not None
    by_client = layer.flow.websocket.closed_by_client
    ws, closer = (
        (layer.server_ws, layer.client_ws) if by_client else (layer.client_ws, layer.server_ws)
    )
    if command.connection is not ws.conn or ws.state is not _LOCAL_CLOSING:
        return None
    return ws if closer.state in _SENT_ITS_CLOSE else None


def _half_close(connection: mitmproxy_connection.Connection) -> bool:
    """End the charger's TCP connection for writing, so it sees its close complete, while
    mitmproxy still counts it open: mitmproxy ends every server connection with the client's,
    and the CSMS is being held. False when that cannot be done (the caller closes it outright)."""
    handler = ctx.master.addons.get("proxyserver").connections.get(connection.id)
    io = handler.transports.get(connection) if handler is not None else None
    writer = io.writer if io is not None else None
    if not isinstance(writer, asyncio.StreamWriter) or not writer.can_write_eof():
        return False
    if not writer.is_closing():
        writer.write_eof()
    return True


def _drain(
    layer: websocket_layer.WebsocketLayer,
    held: websocket_layer.WebsocketConnection,
    event: Any,
) -> Any:
    """The layer's handler once the Close was relayed: report what `held` sends, until its
    answer, its link's end or the wakeup; then close both sides and end the flow. Events from
    the side that closed (its link ending) change nothing."""
    if isinstance(event, proxy_events.Wakeup):
        answered = True
    elif isinstance(event, proxy_events.ConnectionEvent) and event.connection is held.conn:
        held.receive_data(event.data if isinstance(event, proxy_events.DataReceived) else None)
        answered = False
        for ws_event in held.events():
            if isinstance(ws_event, wsproto.events.CloseConnection):
                answered = True
                break
            if isinstance(ws_event, wsproto.events.Message):
                yield from _report(layer, held, ws_event)
    else:
        return
    if answered:
        layer._handle_event = _ended
        yield commands.CloseConnection(layer.context.server)
        yield commands.CloseConnection(layer.context.client)
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


def _ended(event: Any) -> Any:
    """The layer's handler after `_drain`: a late wakeup or event finds nothing to do."""
    yield from ()


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
