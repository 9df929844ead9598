"""One-sided observations: the rules that need both sides are skipped, said so, and nothing else
changes; `proxy.check`'s look-ahead pass detects (or checks a declared) side per station."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from proxy.capture import read_capture
from proxy.check import InputError, observed_sides, run_check, survey
from proxy.ocppj.actions import Direction
from proxy.ocppj.events import Event, Frame
from proxy.ocppj.observed import NEEDS_BOTH_SIDES, Observed, skipped_rules
from proxy.ocppj.rules import RULES
from proxy.ocppj.session import Config, Monitor
from tests.ocppj.wire import Wire, rule_ids, run

SAMPLE = Path(__file__).resolve().parents[2] / "proxy" / "samples" / "jeju-morning.jsonl"
ONE_SIDED_NOISE = {"RPC-006", "RPC-007", "RPC-008"}


def conversation() -> Wire:
    """A station that boots, heartbeats and is asked for its status: compliant on both sides."""
    wire = Wire().boot(interval=60).wait(1)
    for _ in range(4):
        wire.heartbeat().wait(50)
    wire.call("TriggerMessage", {"requestedMessage": "Heartbeat"}, sender="csms")
    wire.result({"status": "Accepted"}, sender="charger").wait(0.5).heartbeat()
    return wire.wait(50).heartbeat()


def only(events: list[Event], direction: Direction) -> list[Event]:
    return [e for e in events if not isinstance(e, Frame) or e.direction is direction]


def test_every_rule_skipped_is_in_the_catalogue() -> None:
    assert set(NEEDS_BOTH_SIDES) <= set(RULES)
    assert skipped_rules("both") == {}
    for side in ("charger", "csms"):
        reasons = skipped_rules(side)
        assert set(reasons) == set(NEEDS_BOTH_SIDES)
        assert all("frames are recorded" in reason for reason in reasons.values())


def test_the_whole_conversation_is_clean() -> None:
    assert run(conversation().events) == []


@pytest.mark.parametrize(
    ("direction", "side"),
    [(Direction.CHARGER_TO_CSMS, "charger"), (Direction.CSMS_TO_CHARGER, "csms")],
)
def test_one_side_judged_as_a_conversation_floods(direction: Direction, side: Observed) -> None:
    """The firing case: what a one-sided log looks like to the rules that pair messages."""
    half = only(conversation().events, direction)
    assert set(rule_ids(run(half))) & ONE_SIDED_NOISE


@pytest.mark.parametrize(
    ("direction", "side"),
    [(Direction.CHARGER_TO_CSMS, "charger"), (Direction.CSMS_TO_CHARGER, "csms")],
)
def test_one_side_declared_skips_the_pairing_rules(direction: Direction, side: Observed) -> None:
    half = only(conversation().events, direction)
    assert run(half, Config(observed=side)) == []
    monitor = Monitor(observed={"ALF-ACE0012345": side})
    for event in half:
        monitor.feed(event)
    monitor.finish(half[-1].timestamp + 120)
    session = monitor.sessions["ALF-ACE0012345"]
    assert session.observed == side
    assert set(session.skipped) == set(NEEDS_BOTH_SIDES)
    assert set(session.suppressed) & ONE_SIDED_NOISE  # counted, not reported


def test_a_one_sided_session_still_judges_what_its_side_sent() -> None:
    wire = Wire().open().call("Heartbeat", {}, message_id="x" * 37).wait(1)
    wire.call("HeartBeat", {})
    assert sorted(rule_ids(run(wire.events, Config(observed="charger")))) == [
        "RPC-004",
        "RPC-009",
    ]


def test_detection_is_per_station() -> None:
    both = conversation()
    charger = Wire("CHARGER-ONLY").boot()
    csms = Wire("CSMS-ONLY").open().call("Reset", {"type": "Immediate"}, sender="csms")
    silent = Wire("NO-FRAMES").open()
    events = only(charger.events, Direction.CHARGER_TO_CSMS)
    events += both.events + csms.events + silent.events
    events.sort(key=lambda event: event.timestamp)
    found = survey(events)
    assert found.events == len(events)
    assert observed_sides(found) == {
        "ALF-ACE0012345": "both",
        "CHARGER-ONLY": "charger",
        "CSMS-ONLY": "csms",
        "NO-FRAMES": "both",
    }
    assert set(observed_sides(found, "none").values()) == {"both"}


def test_a_declared_side_must_match_the_frames() -> None:
    events = [replace(event, ref=line) for line, event in enumerate(conversation().events, 1)]
    first_csms = next(
        e for e in events if isinstance(e, Frame) and e.direction is Direction.CSMS_TO_CHARGER
    )
    with pytest.raises(InputError) as caught:
        observed_sides(survey(events), "charger")
    assert caught.value.ref == first_csms.ref
    assert "declared --one-sided charger" in str(caught.value)
    charger_only = only(events, Direction.CHARGER_TO_CSMS)
    assert set(observed_sides(survey(charger_only), "charger").values()) == {"charger"}


def test_no_events_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no events"):
        observed_sides(survey([]))


def test_the_sample_is_judged_exactly_as_before() -> None:
    """The bundled two-sided capture: detection changes nothing."""
    observed = observed_sides(survey(read_capture(SAMPLE)))
    assert set(observed.values()) == {"both"}
    before = run_check(read_capture(SAMPLE))
    after = run_check(read_capture(SAMPLE), observed=observed)
    assert after.findings == before.findings
    assert all(station.skipped == {} for station in after.stations)
