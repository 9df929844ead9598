"""The latency addon: round trips per action and caller from the conformance engine's matching."""

from __future__ import annotations

import logging
import time

import pytest
from mitmproxy.test import taddons

from addons.conformance import Conformance
from addons.latency import Latency
from proxy.ocppj.actions import Direction
from proxy.ocppj.findings import Finding, Severity
from proxy.ocppj.timefmt import format_datetime
from tests.addons import deliver, ws_flow

BOOT = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}}


def _booted(chain: list[object], conformance: Conformance, t0: float):  # type: ignore[no-untyped-def]
    """A flow whose station has booted, so later CALLs raise no registration findings."""
    flow = ws_flow(opened_at=t0)
    conformance.websocket_start(flow)
    deliver(chain, flow, True, [2, "b1", "BootNotification", BOOT], t0)
    answer = {"currentTime": format_datetime(t0), "interval": 300, "status": "Accepted"}
    deliver(chain, flow, False, [3, "b1", answer], t0 + 0.02)
    return flow


def test_round_trips_by_action_and_caller() -> None:
    conformance, latency = Conformance(), Latency()
    with taddons.context(conformance, latency):
        chain = [conformance, latency]
        t0 = time.time() - 10
        flow = _booted(chain, conformance, t0)
        deliver(chain, flow, True, [2, "h1", "Heartbeat", {}], t0 + 1)
        deliver(chain, flow, False, [3, "h1", {"currentTime": format_datetime(t0 + 1)}], t0 + 1.04)
        deliver(chain, flow, False, [2, "g1", "GetVariables", _get_variables()], t0 + 2)
        deliver(chain, flow, True, [3, "g1", _get_variables_result()], t0 + 2.5)
    rows = {(row.action, row.caller): row for row in latency.book.rows()}
    assert set(rows) == {
        ("BootNotification", Direction.CHARGER_TO_CSMS),
        ("Heartbeat", Direction.CHARGER_TO_CSMS),
        ("GetVariables", Direction.CSMS_TO_CHARGER),
    }
    heartbeat = rows["Heartbeat", Direction.CHARGER_TO_CSMS]
    assert heartbeat.count == 1
    assert heartbeat.p50_ms == pytest.approx(40.0, abs=0.01)
    assert rows["GetVariables", Direction.CSMS_TO_CHARGER].p50_ms == pytest.approx(500.0)
    assert rows["BootNotification", Direction.CHARGER_TO_CSMS].p50_ms == pytest.approx(20.0)


def test_unanswered_call_counts_as_timeout() -> None:
    conformance, latency = Conformance(), Latency()
    with taddons.context(conformance, latency) as tctx:
        tctx.configure(conformance, ocpp_message_timeout=2.0)
        chain = [conformance, latency]
        t0 = time.time() - 10
        flow = _booted(chain, conformance, t0)
        deliver(chain, flow, True, [2, "h1", "Heartbeat", {}], t0 + 1)
        # what the ticker does; the RPC-008 reaches Latency through the ocpp_finding event
        conformance._publish(conformance.monitor.tick(t0 + 5))
    [row] = [row for row in latency.book.rows() if row.action == "Heartbeat"]
    assert (row.count, row.timeouts, row.p50_ms) == (0, 1, None)
    assert row.caller is Direction.CHARGER_TO_CSMS


def test_only_timeouts_with_action_and_direction_count() -> None:
    latency = Latency()
    with taddons.context(latency):
        latency.ocpp_finding(_finding("RPC-008", "Heartbeat", Direction.CHARGER_TO_CSMS))
        latency.ocpp_finding(_finding("RPC-008", None, None))
        latency.ocpp_finding(_finding("RPC-006", "Heartbeat", Direction.CHARGER_TO_CSMS))
    [row] = latency.book.rows()
    assert (row.action, row.timeouts, row.count) == ("Heartbeat", 1, 0)


def test_without_conformance_it_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    latency = Latency()
    caplog.set_level(logging.WARNING, logger="ocppscope")
    with taddons.context(latency):
        flow = ws_flow()
        deliver([latency], flow, True, [2, "h1", "Heartbeat", {}], time.time())
        deliver([latency], flow, False, [3, "h1", {}], time.time())
    warnings = [r for r in caplog.records if r.name == "ocppscope.latency"]
    assert len(warnings) == 1
    assert "needs the conformance addon" in warnings[0].getMessage()
    assert latency.book.rows() == []


def test_latency_command() -> None:
    conformance, latency = Conformance(), Latency()
    with taddons.context(conformance, latency) as tctx:
        t0 = time.time() - 10
        _booted([conformance, latency], conformance, t0)
        assert tctx.master.commands.call("ocppscope.latency") == [
            "BootNotification from station: n=1 p50=20.0 ms p99=20.0 ms timeouts=0"
        ]


def _finding(rule: str, action: str | None, direction: Direction | None) -> Finding:
    return Finding(
        rule, Severity.WARNING, "CS01", "m", "ref", time.time(), action=action, direction=direction
    )


def _get_variables() -> dict[str, object]:
    return {
        "getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "X"}}]
    }


def _get_variables_result() -> dict[str, object]:
    return {
        "getVariableResult": [
            {
                "attributeStatus": "UnknownVariable",
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "X"},
            }
        ]
    }
