"""Addon unit tests: flows from mitmproxy.test.tflow driven through mitmproxy.test.taddons.

Helpers shared by these tests live here: a WebSocket flow as a charger opens it, messages with
chosen timestamps, and a recorder that collects what the `ocpp_finding` event carries.
"""

from __future__ import annotations

import json
import time
from typing import Any

from mitmproxy import http
from mitmproxy.test import tflow
from mitmproxy.websocket import WebSocketMessage
from wsproto.frame_protocol import Opcode

from proxy.ocppj.findings import Finding

STATION = "CS01"


def ws_flow(
    path: str = f"/ocpp/{STATION}", subprotocol: str | None = "ocpp2.0.1", opened_at: float = 0.0
) -> http.HTTPFlow:
    """A live WebSocket flow just after its 101, no messages yet."""
    flow = tflow.twebsocketflow()
    flow.request.path = path
    assert flow.response is not None and flow.websocket is not None
    if subprotocol is not None:
        flow.request.headers["Sec-WebSocket-Protocol"] = subprotocol
        flow.response.headers["Sec-WebSocket-Protocol"] = subprotocol
    flow.response.timestamp_end = opened_at or time.time()
    flow.websocket.messages = []
    flow.websocket.timestamp_end = None
    return flow


def add_message(
    flow: http.HTTPFlow, from_client: bool, data: Any, timestamp: float
) -> WebSocketMessage:
    """Append a text message (JSON-encoded unless already a str) as the layer would."""
    assert flow.websocket is not None
    text = data if isinstance(data, str) else json.dumps(data)
    message = WebSocketMessage(Opcode.TEXT, from_client, text.encode(), timestamp)
    flow.websocket.messages.append(message)
    return message


def deliver(
    addons: list[Any], flow: http.HTTPFlow, from_client: bool, data: Any, timestamp: float
) -> None:
    """One message through `addons` in chain order, as mitmproxy would hand it over."""
    add_message(flow, from_client, data, timestamp)
    for addon in addons:
        addon.websocket_message(flow)


def close(flow: http.HTTPFlow, code: int, by_client: bool, timestamp: float) -> None:
    assert flow.websocket is not None
    flow.websocket.close_code = code
    flow.websocket.closed_by_client = by_client
    flow.websocket.timestamp_end = timestamp
    flow.live = False


class Recorder:
    """An addon that keeps every finding published through the `ocpp_finding` event."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def ocpp_finding(self, finding: Finding) -> None:
        self.findings.append(finding)

    def rules(self) -> list[str]:
        return [finding.rule_id for finding in self.findings]
