"""Each finding names the version its connection selected (what the store, metrics, console and
reports carry), not merely the ruleset that judged it."""

from __future__ import annotations

import pytest

from proxy.ocppj.findings import Finding
from proxy.ocppj.session import Monitor
from tests.ocppj.wire import Wire

EXTRA = '[2,"m1","Heartbeat",{"extra":1}]'
"""A Heartbeat with a property no version's schema has."""


def findings(wire: Wire, until: float | None = None) -> tuple[Monitor, list[Finding]]:
    monitor = Monitor()
    found = [finding for event in wire.events for finding in monitor.feed(event).findings]
    if until is not None:
        found += monitor.tick(until)
    return monitor, found


@pytest.mark.parametrize("selected", ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"])
def test_a_finding_names_the_version_its_connection_selected(selected: str) -> None:
    _, found = findings(Wire().open(offered=(selected,), selected=selected).raw(EXTRA))
    assert found and {finding.version for finding in found} == {selected}


@pytest.mark.parametrize("selected", [None, "ocpp1.5"])
def test_a_connection_without_a_known_version_is_judged_as_2_0_1_and_named_none(
    selected: str | None,
) -> None:
    wire = Wire().open(offered=("ocpp1.5",), selected=selected).raw(EXTRA)
    monitor, found = findings(wire)
    assert monitor.sessions[wire.station].version.name == "ocpp2.0.1"
    assert {"WS-001", "WS-002"} & {finding.rule_id for finding in found}  # the handshake's
    assert {finding.version for finding in found} == {None}


def test_a_timeout_after_its_connection_closed_names_that_version() -> None:
    """BACKOFF-001 fires long after the lost connection is gone: the station's latest
    connection's version names it."""
    wire = Wire().open(offered=("ocpp1.6",), selected="ocpp1.6").close(1006)
    _, found = findings(wire, until=wire.now + 301)
    [late] = [finding for finding in found if finding.rule_id == "BACKOFF-001"]
    assert late.version == "ocpp1.6"
