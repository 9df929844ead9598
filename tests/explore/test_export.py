"""An exported capture (the explorer's download) keeps the subprotocol its connection selected,
so `ocppscope check` judges it by that version's rules, as the proxy did live."""

from __future__ import annotations

import json

import pytest

from ocppscope.explore.export import capture_text, findings_report

T0 = 1_795_500_000.0


def rows(selected: str | None) -> list[tuple[float, str, dict[str, object]]]:
    """A stored connection, as queries.capture_rows gives it: its open row and one Heartbeat
    with a property no version's schema has."""
    frame = {
        "connection_id": "c1",
        "direction": "charger_to_csms",
        "message_type": "CALL",
        "message_id": "h1",
        "status": "sent",
        "text": '[2,"h1","Heartbeat",{"x":1}]',
    }
    opened = {"event": "open", "connection_id": "c1", "path": "/ocpp/CP", "subprotocol": selected}
    return [(T0, "connection", opened), (T0 + 1, "frame", frame)]


@pytest.mark.parametrize("selected", ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"])
def test_the_open_line_keeps_the_selected_version_and_check_judges_by_it(selected: str) -> None:
    capture = capture_text(rows(selected), "CP")
    opened = json.loads(capture.splitlines()[0])
    assert (opened["subprotocols"], opened["selected"]) == ([selected], selected)
    report = json.loads(findings_report(capture, "json"))
    assert [station["version"] for station in report["stations"]] == [selected]
    assert report["versions"] == {selected: 1}
    assert report["findings"] and {f["version"] for f in report["findings"]} == {selected}


def test_a_connection_that_selected_none_exports_none_and_is_judged_as_2_0_1() -> None:
    capture = capture_text(rows(None), "CP")
    opened = json.loads(capture.splitlines()[0])
    assert (opened["subprotocols"], opened["selected"]) == (None, None)
    report = json.loads(findings_report(capture, "json"))
    assert report["versions"] == {"ocpp2.0.1": 1}
    assert "WS-002" in {f["rule"] for f in report["findings"]}
    assert {f["version"] for f in report["findings"]} == {None}
