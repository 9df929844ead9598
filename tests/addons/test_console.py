"""The console addon: JSON lines for machines, plain lines when not on a terminal, no markup."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from typing import Any

import pytest
from mitmproxy.test import taddons

from addons.conformance import Conformance
from addons.console import Console
from proxy.faults.kinds import Kind
from proxy.faults.record import FaultEvent
from proxy.ocppj.actions import Direction
from proxy.ocppj.findings import Finding, Severity
from tests.addons import STATION, close, deliver, ws_flow

TRICKY = "meterValue[0].sampledValue[1] is [bold]not[/bold] a number"


def _records(out: str) -> list[dict[str, Any]]:
    lines = out.splitlines()
    assert lines and all(line.startswith("{") for line in lines), out
    return [json.loads(line) for line in lines]


def test_json_mode_prints_one_object_per_event(capsys: pytest.CaptureFixture[str]) -> None:
    conformance, console = Conformance(), Console()
    with taddons.context(conformance, console) as tctx:
        tctx.options.update(ocpp_json_log=True)
        assert console.mode == "json"
        t0 = time.time()
        flow = ws_flow(opened_at=t0)
        for addon in (conformance, console):
            addon.websocket_start(flow)
        deliver(
            [conformance, console], flow, True, [2, "b1", "BootNotification", {"reason": "x"}], t0
        )
        close(flow, 1000, by_client=True, timestamp=t0 + 1)
        for addon in (conformance, console):
            addon.websocket_end(flow)
    records = _records(capsys.readouterr().out)
    kinds = [record["event"] for record in records]
    assert kinds[0] == "connected" and kinds[-1] == "disconnected"
    assert set(kinds[1:-1]) == {"finding"}
    connected, disconnected = records[0], records[-1]
    assert connected["station"] == STATION
    assert connected["peer"] == "127.0.0.1:22"
    assert connected["subprotocol"] == connected["ocpp_version"] == "ocpp2.0.1"
    assert connected["time"].endswith("Z")
    assert (disconnected["code"], disconnected["closed_by"]) == (1000, "charger")
    finding = records[1]
    assert finding["rule"] == "SCH-001"
    assert finding["severity"] == "error"
    assert (finding["action"], finding["message_id"]) == ("BootNotification", "b1")
    assert finding["reference"]
    assert finding["ocpp_version"] == "ocpp2.0.1"
    assert console.frames == 1
    assert console.stations[STATION].frames == 1
    assert console.stations[STATION].connected == 0
    assert console.totals[Severity.ERROR] >= 1


def test_json_mode_keeps_messages_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console()
    with taddons.context(console) as tctx:
        tctx.options.update(ocpp_json_log=True)
        console.ocpp_finding(_finding(TRICKY))
    [record] = _records(capsys.readouterr().out)
    assert record["message"] == TRICKY


def test_lines_mode_prints_a_line_per_finding(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console()
    with taddons.context(console):
        assert console.mode == "lines"  # captured stdout is no terminal
        flow = ws_flow()
        console.websocket_start(flow)  # connections are not printed as lines
        console.ocpp_finding(_finding("first"))
        console.ocpp_finding(_finding("second", rule="RPC-008", severity=Severity.WARNING))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(f"RPC-004 error {STATION}: first")
    assert lines[1].endswith(f"RPC-008 warning {STATION}: second")
    assert "\x1b[" not in "".join(lines)


@pytest.mark.parametrize(
    ("subprotocol", "shown"), [("ocpp1.6", "ocpp1.6"), ("ocpp1.5", None), (None, None)]
)
def test_the_selected_version_is_on_the_connected_record_the_finding_and_the_live_view(
    capsys: pytest.CaptureFixture[str], subprotocol: str | None, shown: str | None
) -> None:
    """The raw selection stays `subprotocol`; `ocpp_version` is null unless it is a version the
    engine knows (no selection, or an unknown one, is judged by the 2.0.1 rules)."""
    conformance, console = Conformance(), Console()
    with taddons.context(conformance, console) as tctx:
        tctx.options.update(ocpp_json_log=True)
        flow = ws_flow(subprotocol=subprotocol)
        for addon in (conformance, console):
            addon.websocket_start(flow)
        deliver([conformance, console], flow, True, [2, "h1", "Heartbeat", {"x": 1}], time.time())
        records = _records(capsys.readouterr().out)
        [connected] = [record for record in records if record["event"] == "connected"]
        assert (connected["subprotocol"], connected["ocpp_version"]) == (subprotocol, shown)
        findings = [record for record in records if record["event"] == "finding"]
        assert findings and {record["ocpp_version"] for record in findings} == {shown}
        console._out.print(console._stations_table(), soft_wrap=True)
    [row] = [line for line in capsys.readouterr().out.splitlines() if STATION in line]
    assert (shown or "-") in row


def test_lines_mode_names_the_version_after_the_station(
    capsys: pytest.CaptureFixture[str],
) -> None:
    console = Console()
    with taddons.context(console):
        console.ocpp_finding(dataclasses.replace(_finding("first"), version="ocpp1.6"))
    [line] = capsys.readouterr().out.splitlines()
    assert line.endswith(f"RPC-004 error {STATION} (ocpp1.6): first")


def test_lines_mode_never_interprets_markup(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console()
    with taddons.context(console):
        console.ocpp_finding(_finding(TRICKY, station="[red]CS[0]"))
    [line] = capsys.readouterr().out.splitlines()
    assert line.endswith(f"[red]CS[0]: {TRICKY}")


def test_quiet_mode_prints_no_findings(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console()
    with taddons.context(console) as tctx:
        tctx.options.update(ocpp_quiet=True)
        assert console.mode == "quiet"
        console.websocket_start(ws_flow())
        console.ocpp_finding(_finding("hidden"))
    assert capsys.readouterr().out == ""
    assert console.totals[Severity.ERROR] == 1  # still counted


def test_json_wins_over_quiet() -> None:
    console = Console()
    with taddons.context(console) as tctx:
        tctx.options.update(ocpp_quiet=True, ocpp_json_log=True)
        assert console.mode == "json"


@pytest.mark.parametrize("json_log", [True, False])
def test_own_log_messages_reach_the_console(
    capsys: pytest.CaptureFixture[str], json_log: bool
) -> None:
    async def scenario() -> None:
        console = Console()
        with taddons.context(console) as tctx:
            tctx.options.update(ocpp_json_log=json_log, ocpp_quiet=not json_log)
            console.running()
            try:
                logging.getLogger("ocppscope.forwarding").warning("upstream [b]down[/b]")
            finally:
                await console.done()
            logging.getLogger("ocppscope.forwarding").warning("after done: not shown")

    asyncio.run(asyncio.wait_for(scenario(), 10))
    out = capsys.readouterr().out
    if json_log:
        [record] = _records(out)
        assert (record["event"], record["message"]) == ("warning", "upstream [b]down[/b]")
    else:
        [line] = out.splitlines()
        assert line.endswith(" upstream [b]down[/b]")


def test_timeouts_and_round_trips_feed_the_latency_table() -> None:
    console = Console()
    with taddons.context(console) as tctx:
        tctx.options.update(ocpp_quiet=True)
        console.ocpp_finding(
            _finding(
                "late", rule="RPC-008", action="Heartbeat", direction=Direction.CHARGER_TO_CSMS
            )
        )
    [row] = console.latency.rows()
    assert (row.action, row.caller, row.timeouts) == ("Heartbeat", Direction.CHARGER_TO_CSMS, 1)


def test_live_view_renders(capsys: pytest.CaptureFixture[str]) -> None:
    """The live view's tables render station ids and messages as text, not markup."""
    console = Console()
    with taddons.context(console):
        console.ocpp_finding(_finding(TRICKY, station="[0]"))
        console._out.print(console._render(), soft_wrap=True)
    out = capsys.readouterr().out
    assert "1 errors" in out
    assert "[0]" in out


def _finding(
    message: str,
    *,
    rule: str = "RPC-004",
    severity: Severity = Severity.ERROR,
    station: str = STATION,
    action: str | None = None,
    direction: Direction | None = None,
) -> Finding:
    return Finding(
        rule,
        severity,
        station,
        message,
        "OCPP-J 2.0.1 §4.1.4",
        time.time(),
        message_id="m1",
        action=action,
        direction=direction,
    )


def test_fault_events_print_as_lines_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    event = FaultEvent(
        at=time.time(),
        fault_id=3,
        kind=Kind.DROP,
        event="applied",
        station="[b]CS-1",
        action="Heartbeat",
        message_id="hb-1",
        detail="dropped (fault 3)",
    )
    console = Console()
    with taddons.context(console) as tctx:
        console.ocpp_fault(event)
        tctx.options.update(ocpp_json_log=True)
        console.ocpp_fault(event)
    line, record = capsys.readouterr().out.splitlines()
    assert line.endswith("fault 3 drop applied [b]CS-1 Heartbeat hb-1: dropped (fault 3)")
    parsed = json.loads(record)
    assert (parsed["event"], parsed["fault_kind"], parsed["fault_event"]) == (
        "fault",
        "drop",
        "applied",
    )
    assert parsed["messageId"] == "hb-1"
