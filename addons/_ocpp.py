"""Glue the addons share (not an addon): the Frame of the current message, upgrade details,
the `ocpp_finding` and `ocpp_fault` events through which findings and fault events reach every
addon that wants them (defined here, in an importable module: a dataclass in a script mitmdump
loads with -s cannot be made), and the proxy's options (proxy/options.py) as mitmproxy options."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass

from mitmproxy import ctx, exceptions, hooks, http
from mitmproxy.addonmanager import Loader

from proxy.connections import after_close, proxy_close
from proxy.faults.record import FaultEvent
from proxy.frame import FRAME_KEY, Frame
from proxy.ocppj.actions import Direction
from proxy.ocppj.events import station_from_path
from proxy.ocppj.findings import Finding
from proxy.ocppj.versions import known_version
from proxy.options import mitmproxy_option

VERSION_KEY = "ocppscope.version"
"""`flow.metadata` key of the connection's `known_version`, read once per connection."""
RECONNECT_KEY = "ocppscope.reconnect"
"""`flow.metadata` key of the `ReconnectEpisode` the engine concluded when this connection
opened (a station back after losing its link), set by the conformance addon."""


@dataclass
class OcppFindingHook(hooks.Hook):
    """A finding of the conformance engine; addons receive it as `ocpp_finding(finding)`."""

    finding: Finding


@dataclass
class OcppFaultHook(hooks.Hook):
    """A fault was added, applied, removed or expired; addons receive `ocpp_fault(event)`."""

    event: FaultEvent


def declare_options(loader: Loader, *names: str) -> None:
    """Declare the mitmproxy options `names` from their rows of the proxy's option table: its
    type, default and help; an option with an environment variable (a text) defaults to it, as
    `ocppscope proxy` does, and an unset text is the empty one."""
    for name in names:
        row = mitmproxy_option(name)
        value = "" if row.default is None else row.default
        if row.envvar:
            value = os.environ.get(row.envvar, value)
        loader.add_option(name, row.mitmproxy_type, value, row.mitmproxy_help or row.help)


def check_bounds(*names: str) -> None:
    """The rows' bounds, for values set in mitmdump (the command line checks its own)."""
    for name in names:
        row, value = mitmproxy_option(name), getattr(ctx.options, name)
        if row.min is not None and value < row.min:
            raise exceptions.OptionsError(f"{name} must be at least {row.min:g}")
        if row.max is not None and value > row.max:
            raise exceptions.OptionsError(f"{name} must be at most {row.max:g}")


def current_frame(flow: http.HTTPFlow) -> Frame:
    """The Frame of the message being handled, created by the first addon that asks."""
    assert flow.websocket is not None
    message = flow.websocket.messages[-1]
    held = flow.metadata.get(FRAME_KEY)
    if held is not None and held[0] is message:
        return held[1]
    frame = Frame(
        connection_id=flow.id,
        station=station_from_path(flow.request.path),
        direction=Direction.CHARGER_TO_CSMS if message.from_client else Direction.CSMS_TO_CHARGER,
        received_at=message.timestamp,
        data=message.text if message.is_text else message.content,
        version=connection_version(flow),
        after_close=after_close(flow),
    )
    flow.metadata[FRAME_KEY] = (message, frame)
    return frame


def selected_subprotocol(flow: http.HTTPFlow) -> str | None:
    """The subprotocol the CSMS selected in its 101 answer, if any."""
    return flow.response.headers.get("sec-websocket-protocol") if flow.response else None


def connection_version(flow: http.HTTPFlow) -> str | None:
    """The version the connection selected (`known_version`): None when none it knows."""
    try:
        return flow.metadata[VERSION_KEY]
    except KeyError:
        version = flow.metadata[VERSION_KEY] = known_version(selected_subprotocol(flow))
        return version


def is_websocket_upgrade(flow: http.HTTPFlow) -> bool:
    return flow.request.headers.get("upgrade", "").lower() == "websocket"


def offered_subprotocols(flow: http.HTTPFlow) -> tuple[str, ...] | None:
    values = flow.request.headers.get_all("sec-websocket-protocol")
    if not values:
        return None
    return tuple(item.strip() for value in values for item in value.split(",") if item.strip())


CLIENT_LEFT = "Client disconnected."
"""mitmproxy 11's error for a flow whose client closed (or half-closed) before its response."""


def refused_status(flow: http.HTTPFlow) -> int | None:
    """The HTTP status a charger got instead of 101 for its upgrade (502 when the CSMS could not
    be reached); None when this flow is not a refused WebSocket handshake, which includes a
    charger that left before the answer: nobody refused it."""
    if not is_websocket_upgrade(flow):
        return None
    if flow.response is not None:
        return flow.response.status_code if flow.response.status_code != 101 else None
    if flow.websocket is None and flow.error is not None and flow.error.msg != CLIENT_LEFT:
        return 502
    return None


def close_details(flow: http.HTTPFlow) -> tuple[int | None, str | None]:
    """The close code and who closed ("charger"/"csms", "proxy" when it refused a message it
    could not pass on); who is None when the link was lost."""
    assert flow.websocket is not None
    code = flow.websocket.close_code
    if code in (None, 1006):
        return code, None
    if proxy_close(flow) is not None:
        return code, "proxy"
    return code, "charger" if flow.websocket.closed_by_client else "csms"


class RefusedHandshakes(ABC):
    """Mixin for addons that want each refused WebSocket upgrade once: the CSMS (or a fault)
    answered anything but 101 (`response`), or could not be reached (`error`, the charger sees
    a 502). Subclasses implement `handshake_refused` (an addon without it cannot be made)."""

    def response(self, flow: http.HTTPFlow) -> None:
        self._refused(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.response is None:  # with a response, `response` has seen it
            self._refused(flow)

    def _refused(self, flow: http.HTTPFlow) -> None:
        status = refused_status(flow)
        if status is not None:
            self.handshake_refused(flow, status)

    @abstractmethod
    def handshake_refused(self, flow: http.HTTPFlow, status: int) -> None: ...
