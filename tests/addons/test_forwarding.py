"""The forwarding addon: X-Forwarded-For, and an unreachable CSMS reported once per outage."""

from __future__ import annotations

import logging

import pytest
from mitmproxy import http
from mitmproxy.proxy import server_hooks
from mitmproxy.test import taddons, tflow

from addons.forwarding import Forwarding
from tests.addons import ws_flow

REFUSED = "[Errno 111] Connect call failed ('127.0.0.1', 9001)"


@pytest.fixture(autouse=True)
def _capture_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ocppscope")


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The forwarding addon's log lines so far."""
    return [r.getMessage() for r in caplog.records if r.name == "ocppscope.forwarding"]


def test_adds_x_forwarded_for() -> None:
    addon = Forwarding()
    with taddons.context(addon):
        flow = _upgrade()
        addon.request(flow)
    assert flow.request.headers.get_all("X-Forwarded-For") == ["127.0.0.1"]


def test_extends_x_forwarded_for() -> None:
    addon = Forwarding()
    with taddons.context(addon):
        flow = _upgrade()
        flow.request.headers["X-Forwarded-For"] = "203.0.113.7, 10.0.0.2"
        addon.request(flow)
    assert flow.request.headers.get_all("X-Forwarded-For") == ["203.0.113.7, 10.0.0.2, 127.0.0.1"]


def test_leaves_the_rest_of_the_upgrade_alone() -> None:
    addon = Forwarding()
    with taddons.context(addon):
        flow = _upgrade()
        flow.request.headers["Authorization"] = "Basic Q1MwMTpzZWNyZXQ="
        flow.request.headers["Sec-WebSocket-Protocol"] = "ocpp2.0.1, ocpp1.6"
        before = [(k, v) for k, v in flow.request.headers.items(multi=True)]
        path = flow.request.path
        addon.request(flow)
    after = [(k, v) for k, v in flow.request.headers.items(multi=True)]
    assert after == [*before, ("X-Forwarded-For", "127.0.0.1")]
    assert flow.request.path == path


def test_no_peer_no_header() -> None:
    addon = Forwarding()
    with taddons.context(addon):
        flow = _upgrade()
        flow.client_conn.peername = None  # type: ignore[assignment]
        addon.request(flow)
    assert "X-Forwarded-For" not in flow.request.headers


def test_unreachable_once_per_outage_and_back(caplog: pytest.LogCaptureFixture) -> None:
    addon = Forwarding()
    with taddons.context(addon):
        for _ in range(3):
            addon.server_connect_error(_connect_error())
        [down] = logged(caplog)
        assert "upstream 127.0.0.1:9001 unreachable" in down
        assert REFUSED in down
        assert addon.upstream_down and addon.failed_attempts == 3

        refused = _upgrade()
        refused.response = http.Response.make(502, b"bad gateway")
        addon.response(refused)  # not a 101: still down
        assert len(logged(caplog)) == 1

        addon.response(ws_flow())  # the next 101
        assert len(logged(caplog)) == 2
        assert logged(caplog)[1] == "upstream back after 3 failed charger attempt(s)"
        assert not addon.upstream_down and addon.failed_attempts == 0

        addon.response(ws_flow())  # up and staying up: nothing more
        addon.server_connect_error(_connect_error())  # a new outage: reported again
        assert len(logged(caplog)) == 3
        assert "unreachable" in logged(caplog)[2]


def test_tls_failure_towards_the_csms_counts_as_outage(caplog: pytest.LogCaptureFixture) -> None:
    addon = Forwarding()
    with taddons.context(addon):
        for _ in range(2):
            flow = _upgrade()
            flow.server_conn.tls = True
            flow.error = tflow.terr("Certificate verify failed: self-signed certificate")
            addon.error(flow)
        plain = _upgrade()  # a ws:// upstream's error is no TLS failure
        plain.error = tflow.terr("connection reset")
        addon.error(plain)
    [line] = logged(caplog)
    assert line.startswith("upstream TLS handshake failed: ")
    assert "self-signed certificate" in line
    assert addon.upstream_down


def test_a_101_without_outage_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    addon = Forwarding()
    with taddons.context(addon):
        addon.response(ws_flow())
    assert len(logged(caplog)) == 0


def _upgrade() -> http.HTTPFlow:
    flow = ws_flow(subprotocol=None)
    flow.response = None
    flow.websocket = None
    return flow


def _connect_error() -> server_hooks.ServerConnectionHookData:
    server = tflow.tserver_conn()
    server.address = ("127.0.0.1", 9001)
    server.error = REFUSED
    return server_hooks.ServerConnectionHookData(server=server, client=tflow.tclient_conn())
