"""Rule groups are per-session objects: their state is not shared, and a session routes only to
the handlers of the groups it was made with (`proxy.ocppj.rulesets`, `proxy.ocppj.routing`)."""

from __future__ import annotations

import pytest

from proxy.ocppj.checks.boot import BootGroup
from proxy.ocppj.checks.heartbeat import HeartbeatGroup
from proxy.ocppj.checks.payload import PayloadGroup
from proxy.ocppj.checks.transactions import TransactionsGroup
from proxy.ocppj.findings import Finding
from proxy.ocppj.routing import RuleGroup, on_call
from proxy.ocppj.rulesets import RULESETS
from proxy.ocppj.session import Session
from tests.ocppj.wire import Wire

CUSTOM = {"customData": {"vendorId": "com.example"}}


def fed(session: Session, wire: Wire) -> list[Finding]:
    return [finding for event in wire.events for finding in session.feed(event).findings]


def test_two_sessions_keep_their_group_state_apart() -> None:
    booted, silent = Session("CS-1"), Session("CS-2")
    fed(booted, Wire("CS-1").open().boot(status="Pending", interval=60))
    assert booted.group(BootGroup).registration.status == "Pending"
    assert silent.group(BootGroup).registration.status is None
    assert booted.group(BootGroup) is not silent.group(BootGroup)
    assert silent.group(TransactionsGroup).transactions == {}


def test_the_route_table_holds_exactly_the_handlers_of_the_session_groups() -> None:
    full, payload_only = Session("CS-1"), Session("CS-1", groups=[PayloadGroup])
    owners = {handler.__self__ for handler in payload_only.routes.all()}
    assert owners == {payload_only.group(PayloadGroup)}
    assert {type(h.__self__) for h in full.routes.all()} == set(RULESETS["ocpp2.0.1"])
    # The same traffic: a Heartbeat before any BootNotification, carrying customData.
    wire = Wire().open().call("Heartbeat", CUSTOM)
    assert "BOOT-001" in {f.rule_id for f in fed(full, wire)}
    judged_by_payload = {f.rule_id for f in fed(payload_only, wire)}
    assert "SCH-002" in judged_by_payload
    assert not any(rule.startswith(("BOOT", "WS")) for rule in judged_by_payload)


def test_a_group_list_missing_a_needed_group_fails_when_the_session_is_made() -> None:
    with pytest.raises(ValueError, match="HeartbeatGroup needs BootGroup"):
        Session("CS-1", groups=[HeartbeatGroup])


class _Counting(RuleGroup):
    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.calls: list[str] = []

    @on_call("Heartbeat", "StatusNotification")
    def named(self, call: object) -> None:
        self.calls.append("named")

    @on_call()
    def every(self, call: object) -> None:
        self.calls.append("every")


def test_a_new_group_is_routed_by_its_marks_alone() -> None:
    session = Session("CS-1", groups=[_Counting])
    fed(session, Wire().open().call("Heartbeat", {}).wait(1).call("Authorize", {}))
    assert session.group(_Counting).calls == ["named", "every", "every"]
