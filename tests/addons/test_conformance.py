"""The conformance addon: hooks in, engine events, findings out through `ocpp_finding`."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from mitmproxy import http
from mitmproxy.test import taddons, tflow

from addons import conformance as conformance_module
from addons._ocpp import current_frame, offered_subprotocols
from addons.conformance import Conformance
from proxy.frame import FRAME_KEY
from proxy.ocppj import events
from proxy.ocppj.actions import Direction
from proxy.ocppj.state import Backoff
from tests.addons import STATION, Recorder, add_message, close, deliver, ws_flow

BOOT_OK = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}}


class EventLog:
    """Wraps Monitor.feed to see exactly which engine events the addon produced."""

    def __init__(self, addon: Conformance) -> None:
        self.events: list[events.Event] = []
        feed = addon.monitor.feed

        def recording(event: events.Event):  # type: ignore[no-untyped-def]
            self.events.append(event)
            return feed(event)

        addon.monitor.feed = recording  # type: ignore[method-assign]


def test_connection_lifecycle_feeds_the_engine() -> None:
    addon, recorder = Conformance(), Recorder()
    with taddons.context(addon, recorder):
        seen = EventLog(addon)
        t0 = time.time()
        flow = ws_flow(opened_at=t0)
        addon.websocket_start(flow)
        deliver([addon], flow, True, [2, "1", "BootNotification", BOOT_OK], t0 + 1)
        close(flow, 1000, by_client=True, timestamp=t0 + 2)
        addon.websocket_end(flow)

    opened, frame, closed = seen.events
    assert isinstance(opened, events.ConnectionOpened)
    assert (opened.station, opened.connection_id, opened.path) == (STATION, flow.id, "/ocpp/CS01")
    assert opened.timestamp == t0
    assert opened.offered_subprotocols == ("ocpp2.0.1",)
    assert opened.selected_subprotocol == "ocpp2.0.1"
    assert opened.request_headers["upgrade"] == "websocket"  # names in lower case
    assert "sec-websocket-protocol" in opened.response_headers
    assert isinstance(frame, events.Frame)
    assert (frame.timestamp, frame.direction) == (t0 + 1, Direction.CHARGER_TO_CSMS)
    assert frame.data == json.dumps([2, "1", "BootNotification", BOOT_OK])
    assert frame.connection_id == flow.id
    assert isinstance(closed, events.ConnectionClosed)
    assert (closed.code, closed.closed_by, closed.timestamp) == (1000, "charger", t0 + 2)
    assert addon.monitor.sessions[STATION].frames == 1
    assert recorder.findings == []


@pytest.mark.parametrize(
    ("code", "by_client", "closed_by"),
    [(1000, False, "csms"), (4000, True, "charger"), (1006, True, None), (1006, False, None)],
)
def test_who_closed(code: int, by_client: bool, closed_by: str | None) -> None:
    addon = Conformance()
    with taddons.context(addon):
        seen = EventLog(addon)
        flow = ws_flow()
        addon.websocket_start(flow)
        close(flow, code, by_client, time.time())
        addon.websocket_end(flow)
    closed = seen.events[-1]
    assert isinstance(closed, events.ConnectionClosed)
    assert (closed.code, closed.closed_by) == (code, closed_by)


@pytest.mark.parametrize(
    ("tls", "version", "rules"),
    [(False, None, []), (True, "TLSv1.3", []), (True, "TLSv1.1", ["SEC-005"])],
)
def test_how_the_station_connected_reaches_the_engine(
    tls: bool, version: str | None, rules: list[str]
) -> None:
    addon, recorder = Conformance(), Recorder()
    with taddons.context(addon, recorder):
        seen = EventLog(addon)
        flow = ws_flow()
        flow.client_conn.timestamp_tls_setup = time.time() if tls else None
        flow.client_conn.tls_version = version  # type: ignore[assignment]
        flow.client_conn.certificate_list = []
        addon.websocket_start(flow)
    (opened,) = seen.events
    assert isinstance(opened, events.ConnectionOpened)
    not_asked = None if tls else False  # the proxy asks for no client certificate by default
    assert (opened.tls, opened.tls_version, opened.client_certificate) == (tls, version, not_asked)
    assert opened.client_certificate_cn is None
    assert recorder.rules() == rules


def test_upgrade_findings_are_published() -> None:
    addon, recorder = Conformance(), Recorder()
    with taddons.context(addon, recorder):
        addon.websocket_start(ws_flow(subprotocol=None))
    assert recorder.rules() == ["WS-001"]
    assert recorder.findings[0].station == STATION


def test_schema_invalid_boot_notification() -> None:
    addon, recorder = Conformance(), Recorder()
    with taddons.context(addon, recorder):
        t0 = time.time()
        flow = ws_flow(opened_at=t0)
        addon.websocket_start(flow)
        deliver([addon], flow, True, [2, "b1", "BootNotification", {"reason": "PowerUp"}], t0)
    [finding] = recorder.findings
    assert finding.rule_id == "SCH-001"
    assert "chargingStation" in finding.message
    assert (finding.action, finding.message_id) == ("BootNotification", "b1")
    assert finding.direction is Direction.CHARGER_TO_CSMS
    assert finding.connection_id == flow.id
    frame = current_frame(flow)
    assert frame.findings == [finding]
    assert frame.message_type == "CALL"


def test_response_frame_gets_rtt_and_action() -> None:
    addon = Conformance()
    with taddons.context(addon):
        t0 = time.time()
        flow = ws_flow(opened_at=t0 - 1)
        addon.websocket_start(flow)
        deliver([addon], flow, True, [2, "b1", "BootNotification", BOOT_OK], t0)
        call = current_frame(flow)
        answer = {"currentTime": _iso(t0), "interval": 300, "status": "Accepted"}
        deliver([addon], flow, False, [3, "b1", answer], t0 + 0.25)
        result = current_frame(flow)
    assert call is not result
    assert (call.action, call.rtt, call.message_type) == ("BootNotification", None, "CALL")
    assert result.direction is Direction.CSMS_TO_CHARGER
    assert result.action == "BootNotification"
    assert result.rtt == pytest.approx(0.25)
    assert result.message_type == "CALLRESULT"
    assert result.message_id == "b1"
    assert result.findings == []


def test_frame_is_created_once_per_message() -> None:
    flow = ws_flow()
    add_message(flow, True, [2, "1", "Heartbeat", {}], 1.0)
    first = current_frame(flow)
    assert current_frame(flow) is first
    assert flow.metadata[FRAME_KEY][1] is first
    add_message(flow, False, [3, "1", {}], 2.0)
    second = current_frame(flow)
    assert second is not first
    assert second.direction is Direction.CSMS_TO_CHARGER
    assert (second.station, second.connection_id, second.data) == (STATION, flow.id, '[3, "1", {}]')


def test_binary_frames_reach_the_engine_as_bytes() -> None:
    addon, recorder = Conformance(), Recorder()
    with taddons.context(addon, recorder):
        flow = ws_flow()
        addon.websocket_start(flow)
        flow.websocket.messages = tflow.twebsocket().messages[:1]  # type: ignore[union-attr]
        flow.websocket.messages[0].timestamp = time.time()  # type: ignore[union-attr]
        addon.websocket_message(flow)
    assert current_frame(flow).data == b"hello binary"
    assert "WS-008" in recorder.rules()


def test_refused_upgrade_is_a_handshake_refused() -> None:
    addon = Conformance()
    with taddons.context(addon):
        seen = EventLog(addon)
        flow = _upgrade_flow()
        flow.response = http.Response.make(401, b"no")
        addon.response(flow)
    [refused] = seen.events
    assert isinstance(refused, events.HandshakeRefused)
    assert (refused.station, refused.status) == (STATION, 401)


def test_accepted_or_plain_http_responses_are_not_refusals() -> None:
    addon = Conformance()
    with taddons.context(addon):
        seen = EventLog(addon)
        addon.response(ws_flow())  # 101
        plain = tflow.tflow(resp=True)  # no upgrade header
        plain.response.status_code = 404  # type: ignore[union-attr]
        addon.response(plain)
        addon.error(plain)
    assert seen.events == []


def test_unreachable_upstream_is_a_502_refusal() -> None:
    addon = Conformance()
    with taddons.context(addon):
        seen = EventLog(addon)
        flow = _upgrade_flow()
        flow.error = tflow.terr("[Errno 111] Connect call failed")
        addon.error(flow)
        established = ws_flow()
        established.error = tflow.terr("connection lost")
        addon.error(established)  # a WebSocket that existed is not a refused handshake
    [refused] = seen.events
    assert isinstance(refused, events.HandshakeRefused)
    assert refused.status == 502


def test_options_configure_the_engine() -> None:
    addon = Conformance()
    with taddons.context(addon) as tctx:
        assert addon.monitor.config.message_timeout == 30.0
        assert addon.monitor.config.backoff is None
        tctx.configure(addon, ocpp_message_timeout=5.0, ocpp_retry_backoff="1,0,4")
        assert addon.monitor.config.message_timeout == 5.0
        assert addon.monitor.config.backoff == Backoff(1.0, 0.0, 4)
        tctx.configure(addon, ocpp_retry_backoff="")
        assert addon.monitor.config.backoff is None


def test_unanswered_call_times_out_on_the_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conformance_module, "TICK_SECONDS", 0.01)

    async def scenario() -> Recorder:
        addon, recorder = Conformance(), Recorder()
        with taddons.context(addon, recorder) as tctx:
            tctx.configure(addon, ocpp_message_timeout=0.05)
            flow = ws_flow()
            addon.websocket_start(flow)
            deliver([addon], flow, True, [2, "b1", "BootNotification", BOOT_OK], time.time())
            addon.running()
            try:
                for _ in range(200):
                    if recorder.findings:
                        break
                    await asyncio.sleep(0.01)
            finally:
                await addon.done()
            assert addon._ticker is not None and addon._ticker.done()
        return recorder

    recorder = asyncio.run(asyncio.wait_for(scenario(), 10))
    [timeout] = recorder.findings
    assert (timeout.rule_id, timeout.action, timeout.message_id) == (
        "RPC-008",
        "BootNotification",
        "b1",
    )
    assert timeout.direction is Direction.CHARGER_TO_CSMS


def test_done_publishes_what_is_due() -> None:
    async def scenario() -> Recorder:
        addon, recorder = Conformance(), Recorder()
        with taddons.context(addon, recorder):
            then = time.time() - 100
            flow = ws_flow(opened_at=then)
            addon.websocket_start(flow)
            deliver([addon], flow, True, [2, "b1", "BootNotification", BOOT_OK], then)
            await addon.done()  # never started: no ticker to stop
        return recorder

    recorder = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert "RPC-008" in recorder.rules()


def test_offered_subprotocols_are_split() -> None:
    flow = _upgrade_flow()
    assert offered_subprotocols(flow) is None
    flow.request.headers["Sec-WebSocket-Protocol"] = "ocpp2.0.1, ocpp1.6"
    assert offered_subprotocols(flow) == ("ocpp2.0.1", "ocpp1.6")


def _upgrade_flow() -> http.HTTPFlow:
    """An upgrade request that has not (yet) become a WebSocket."""
    flow = ws_flow(subprotocol=None)
    flow.response = None
    flow.websocket = None
    return flow


def _iso(epoch: float) -> str:
    from proxy.ocppj.timefmt import format_datetime  # noqa: PLC0415

    return format_datetime(epoch)
