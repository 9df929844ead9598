"""Fault rules as the admin API, the CLI and fault plans hand them over: every kind with its
parameters is accepted, anything else is refused with one line naming the field, and what a rule
shows (`describe()`, the admin API's answer) can be posted again as the same rule."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.faults.kinds import (
    KINDS,
    PARAMS,
    FaultError,
    Kind,
    Target,
    kinds_markdown,
    parse_duration,
)
from proxy.faults.rules import FaultRule
from proxy.faults.spec import DIRECTIONS, MATCHERS, MESSAGE_TYPES, FaultSpec, Selector, parse_spec
from proxy.ocppj.actions import Direction
from proxy.ocppj.versions import ALL_ACTIONS, ALL_ERROR_CODES, V16, V21, V201

NOW = 1_795_478_400.0
PROPERTY = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def parsed(body: dict[str, Any]) -> FaultSpec:
    return parse_spec(body)


# ---- every kind, with its parameters -----------------------------------------------------------


def test_drop_with_a_glob_an_action_a_probability_and_a_duration() -> None:
    rule = parsed(
        {
            "kind": "drop",
            "station": "emart_*",
            "action": "Heartbeat",
            "probability": 0.5,
            "for": "10m",
        }
    )
    assert rule.kind is Kind.DROP
    assert rule.selector == Selector("emart_*", None, "Heartbeat", None, None)
    assert (rule.probability, rule.duration, rule.count) == (0.5, 600.0, None)
    assert FaultRule(7, rule, NOW).expires_at == NOW + 600
    assert rule.selector.matches_station("emart_0042")
    assert not rule.selector.matches_station("EMART_0042")  # case matters, as in station ids


def test_delay_takes_a_delay_and_a_jitter_in_one_direction() -> None:
    rule = parsed(
        {"kind": "delay", "direction": "csms-to-charger", "delay": "500ms", "jitter": "1s"}
    )
    assert rule.selector.direction is Direction.CSMS_TO_CHARGER
    assert (rule.delay, rule.jitter) == (0.5, 1.0)


def test_delay_with_only_a_jitter_is_enough() -> None:
    assert parsed({"kind": "delay", "jitter": 2}).jitter == 2.0


def test_duplicate_by_message_type_with_a_count() -> None:
    rule = parsed({"kind": "duplicate", "messageType": "CALL", "count": 3})
    assert (rule.selector.message_type, rule.count) == ("CALL", 3)


def test_corrupt_names_a_nested_field() -> None:
    rule = parsed({"kind": "corrupt", "action": "Authorize", "field": "idToken.idToken"})
    assert rule.field_path == "idToken.idToken"
    assert parsed({"kind": "corrupt"}).field_path is None  # no field: break the JSON


def test_reply_error_with_an_ocpp_j_code() -> None:
    rule = parsed({"kind": "reply-error", "action": "Authorize", "errorCode": "SecurityError"})
    assert rule.error_code == "SecurityError"
    assert parsed({"kind": "reply-error", "messageType": "CALL"}).error_code == "InternalError"


@pytest.mark.parametrize(
    ("action", "version"),
    [
        ("StartTransaction", "1.6"),
        ("StopTransaction", "1.6"),
        ("RemoteStartTransaction", "1.6"),
        ("ChangeConfiguration", "1.6"),
        ("TransactionEvent", "2.0.1"),
        ("NotifyDERAlarm", "2.1"),
        ("NotifyPeriodicEventStream", "2.1, only ever SENT"),
    ],
)
def test_an_action_of_any_version_is_selected(action: str, version: str) -> None:
    assert parsed({"kind": "drop", "action": action}).selector.action == action, version


@pytest.mark.parametrize(
    ("code", "on_16", "on_201"),
    [
        ("InternalError", "InternalError", "InternalError"),
        (
            "OccurenceConstraintViolation",
            "OccurenceConstraintViolation",
            "OccurrenceConstraintViolation",
        ),
        (
            "OccurrenceConstraintViolation",
            "OccurenceConstraintViolation",
            "OccurrenceConstraintViolation",
        ),
        ("FormationViolation", "FormationViolation", "FormatViolation"),
        ("FormatViolation", "FormationViolation", "FormatViolation"),
        ("RpcFrameworkError", None, "RpcFrameworkError"),
        ("MessageTypeNotSupported", None, "MessageTypeNotSupported"),
    ],
)
def test_reply_error_codes_of_any_version_in_each_connections_spelling(
    code: str, on_16: str | None, on_201: str | None
) -> None:
    """OCPP-J 1.6 §4.2.3 spells two codes otherwise than 2.0.1 (Part 4 Table 8) and 2.1; a code a
    version lacks is None there: the rule leaves that version's connections alone."""
    spec = parsed({"kind": "reply-error", "errorCode": code})
    assert (spec.reply_code(V16), spec.reply_code(V201), spec.reply_code(V21)) == (
        on_16,
        on_201,
        on_201,
    )


def test_a_2_0_1_only_code_is_accepted_for_an_action_2_0_1_shares_with_1_6() -> None:
    """Heartbeat exists in every version: the rule acts on the 2.0.1 and 2.1 connections."""
    spec = parsed({"kind": "reply-error", "action": "Heartbeat", "errorCode": "RpcFrameworkError"})
    assert spec.reply_code(V201) == "RpcFrameworkError"


def test_blackhole_in_one_direction_for_a_while() -> None:
    rule = parsed({"kind": "blackhole", "direction": "charger-to-csms", "for": 20})
    assert (rule.selector.direction, rule.duration) == (Direction.CHARGER_TO_CSMS, 20.0)


def test_disconnect_now_or_on_the_nth_matching_frame() -> None:
    now = parsed({"kind": "disconnect", "station": "CS01", "code": 4000, "reset": True})
    assert (now.code, now.reset, now.selector.frame_level) == (4000, True, False)
    on_frame = parsed({"kind": "disconnect", "action": "TransactionEvent", "nth": 3})
    assert (on_frame.selector.nth, on_frame.selector.frame_level, on_frame.code) == (3, True, 1001)


def test_outage_and_slow_accept_take_a_station_selector() -> None:
    outage = parsed({"kind": "outage", "for": "20s", "station": "CS0?", "code": 1012})
    assert (outage.duration, outage.code, outage.selector.station) == (20.0, 1012, "CS0?")
    slow = parsed({"kind": "slow-accept", "delay": "5s", "jitter": "2s", "probability": 0.25})
    assert (slow.delay, slow.jitter, slow.probability) == (5.0, 2.0, 0.25)


def test_every_kind_is_covered_above() -> None:
    """A new kind needs its own acceptance test here."""
    assert {k.value for k in Kind} == {
        "drop",
        "delay",
        "duplicate",
        "corrupt",
        "reply-error",
        "blackhole",
        "disconnect",
        "outage",
        "slow-accept",
    }


# ---- refused, in one line naming the field -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param(["drop"], "JSON object", id="not-an-object"),
        pytest.param({"kind": "drop", "statoin": "CS01"}, "unknown field 'statoin'", id="unknown"),
        pytest.param({"station": "CS01"}, "kind", id="no-kind"),
        pytest.param({"kind": "explode"}, "kind 'explode'", id="bad-kind"),
        pytest.param({"kind": "drop", "direction": "up"}, "direction 'up'", id="direction"),
        pytest.param({"kind": "drop", "direction": ["up"]}, "direction", id="direction-list"),
        pytest.param(
            {"kind": "drop", "action": "heartbeat"}, "did you mean Heartbeat?", id="action"
        ),
        pytest.param({"kind": "drop", "action": {"a": 1}}, "action", id="action-object"),
        pytest.param({"kind": "drop", "messageType": "RESULT"}, "messageType", id="type"),
        pytest.param({"kind": "drop", "messageType": [2]}, "messageType", id="type-list"),
        pytest.param({"kind": "drop", "station": "ocpp/CS01"}, "station", id="station-path"),
        pytest.param({"kind": "drop", "station": ""}, "station", id="station-empty"),
        pytest.param({"kind": "drop", "probability": 1.5}, "probability", id="p-high"),
        pytest.param({"kind": "drop", "probability": -0.1}, "probability", id="p-low"),
        pytest.param({"kind": "drop", "probability": "half"}, "probability", id="p-text"),
        pytest.param({"kind": "drop", "probability": True}, "probability", id="p-bool"),
        pytest.param({"kind": "drop", "for": "10x"}, "for '10x'", id="for-unit"),
        pytest.param({"kind": "drop", "for": "-1s"}, "for '-1s'", id="for-negative"),
        pytest.param({"kind": "drop", "for": -1}, "for must be between", id="for-negative-n"),
        pytest.param({"kind": "drop", "for": "169h"}, "for must be between", id="for-8-days"),
        pytest.param({"kind": "delay", "delay": "10x"}, "delay '10x'", id="delay-unit"),
        pytest.param({"kind": "delay", "jitter": "-1s"}, "jitter '-1s'", id="jitter"),
        pytest.param({"kind": "drop", "count": 0}, "count", id="count-zero"),
        pytest.param({"kind": "drop", "count": 1.5}, "count must be a whole number", id="count"),
        pytest.param({"kind": "drop", "nth": 0}, "nth", id="nth-zero"),
        pytest.param({"kind": "drop", "nth": "3rd"}, "nth", id="nth-text"),
        pytest.param({"kind": "outage"}, "outage needs 'for'", id="outage-without-for"),
        pytest.param({"kind": "blackhole"}, "direction", id="blackhole-without-direction"),
        pytest.param({"kind": "delay"}, "delay", id="delay-without-delay"),
        pytest.param({"kind": "slow-accept"}, "delay", id="slow-accept-without-delay"),
        pytest.param(
            {"kind": "reply-error", "messageType": "CALLRESULT"}, "messageType", id="reply-result"
        ),
        pytest.param({"kind": "outage", "for": 5, "action": "Heartbeat"}, "action", id="out-act"),
        pytest.param({"kind": "outage", "for": 5, "nth": 2}, "nth", id="outage-nth"),
        pytest.param(
            {"kind": "slow-accept", "delay": 5, "direction": "charger-to-csms"},
            "direction",
            id="slow-accept-direction",
        ),
        pytest.param(
            {"kind": "slow-accept", "delay": 5, "messageType": "CALL"},
            "messageType",
            id="slow-accept-type",
        ),
        pytest.param(
            {"kind": "reply-error", "errorCode": "FormatViolaton"},
            "errorCode 'FormatViolaton' is not a CALLERROR code of OCPP 1.6, 2.0.1 or 2.1",
            id="no-version-has-the-code",
        ),
        pytest.param(
            {"kind": "reply-error", "action": "StartTransaction", "errorCode": "RpcFrameworkError"},
            "errorCode 'RpcFrameworkError' does not exist in OCPP 1.6",
            id="code-not-in-the-only-version-of-the-action",
        ),
        pytest.param(
            {"kind": "drop", "action": "StartTransactions"},
            "action 'StartTransactions' is not an action of OCPP 1.6, 2.0.1 or 2.1: did you "
            "mean StartTransaction?",
            id="action-misspelt",
        ),
        pytest.param(
            {"kind": "drop", "action": "Teapot"}, "2.1 (case matters)", id="action-of-no-version"
        ),
        pytest.param(
            {"kind": "drop", "messageType": "CALLRESULTERRORS"}, "SEND", id="type-2.1-listed"
        ),
        pytest.param({"kind": "reply-error", "errorCode": ["x"]}, "errorCode", id="code-list"),
        pytest.param({"kind": "disconnect", "code": 999}, "code", id="close-code-low"),
        pytest.param({"kind": "disconnect", "code": 1006}, "code", id="close-code-local-only"),
        pytest.param({"kind": "outage", "for": 5, "code": 2000}, "code", id="close-code-reserved"),
        pytest.param({"kind": "disconnect", "reset": "yes"}, "reset", id="reset-text"),
        pytest.param({"kind": "corrupt", "field": ""}, "field", id="field-empty"),
        pytest.param({"kind": "corrupt", "field": 3}, "field", id="field-number"),
        pytest.param({"kind": "drop", "delay": "2s"}, "delay", id="delay-on-a-drop"),
        pytest.param({"kind": "drop", "errorCode": "GenericError"}, "errorCode", id="code-drop"),
        pytest.param({"kind": "reply-error", "field": "seqNo"}, "field", id="field-reply"),
        pytest.param({"kind": "delay", "delay": 1, "code": 4000}, "code", id="code-on-a-delay"),
        pytest.param({"kind": "duplicate", "reset": True}, "reset", id="reset-duplicate"),
        pytest.param({"kind": "drop", "for": "1\n0s"}, "for", id="newline-in-a-value"),
        pytest.param({"kind": "drop\nx"}, "kind", id="newline-in-the-kind"),
        pytest.param({"kind": "drop", "act\nion": 1}, "unknown field", id="newline-in-a-name"),
    ],
)
def test_bad_rules_are_refused_in_one_line_naming_the_field(body: Any, named: str) -> None:
    with pytest.raises(FaultError) as raised:
        parse_spec(body)
    message = str(raised.value)
    assert "\n" not in message
    assert named in message


# ---- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("500ms", 0.5),
        ("20s", 20.0),
        ("10m", 600.0),
        ("1h", 3600.0),
        ("1.5m", 90.0),
        (" 2 s ", 2.0),
        ("20", 20.0),
        (20, 20.0),
        (20.5, 20.5),
        (0, 0.0),
        ("168h", 7 * 86_400.0),
    ],
)
def test_durations_in_every_unit(value: object, seconds: float) -> None:
    assert parse_duration(value, "for") == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value", ["10x", "-1s", "", "1d", "s", "1e3s", "ten seconds", None, True, [1], 604_801]
)
def test_bad_durations_name_the_field(value: object) -> None:
    with pytest.raises(FaultError, match=r"^delay\b") as raised:
        parse_duration(value, "delay")
    assert "\n" not in str(raised.value)


# ---- what describe() shows can be posted again -------------------------------------------------

EXAMPLES = [
    {"kind": "drop", "station": "emart_*", "action": "Heartbeat", "probability": 0.5, "for": "10m"},
    {"kind": "delay", "direction": "csms-to-charger", "delay": "500ms", "jitter": "1s", "count": 4},
    {"kind": "duplicate", "messageType": "CALL", "nth": 2},
    {"kind": "corrupt", "action": "Authorize", "field": "idToken.idToken"},
    {"kind": "corrupt", "direction": "charger-to-csms"},
    {"kind": "reply-error", "action": "Authorize", "errorCode": "SecurityError"},
    {"kind": "blackhole", "direction": "charger-to-csms", "for": 20},
    {"kind": "disconnect", "station": "CS01", "code": 4000, "reset": True},
    {"kind": "disconnect", "action": "TransactionEvent", "nth": 3},
    {"kind": "outage", "for": "20s", "code": 1012},
    {"kind": "slow-accept", "delay": "5s", "jitter": "2s", "station": "CS0?"},
]


@pytest.mark.parametrize("body", EXAMPLES, ids=lambda body: body["kind"])
def test_what_describe_shows_is_the_same_rule_posted_again(body: dict[str, Any]) -> None:
    rule = FaultRule(7, parsed(body), NOW)
    shown = rule.describe()
    again = FaultRule(rule.id, parse_spec(shown), rule.created_at)
    assert again == rule
    assert again.describe() == shown


def test_describe_shows_the_lifetime_and_how_often_it_was_applied() -> None:
    rule = FaultRule(7, parsed({"kind": "drop", "for": "1m", "count": 5}), NOW)
    rule.applied = 2
    shown = rule.describe()
    assert (shown["for"], shown["expiresAt"], shown["count"], shown["applied"]) == (
        60.0,
        NOW + 60,
        5,
        2,
    )
    assert "delay" not in shown and "errorCode" not in shown  # only the kind's own parameters
    again = FaultRule(8, parse_spec(shown), NOW + 1)  # posted again: a new rule, from zero
    assert (again.id, again.applied, again.expires_at) == (8, 0, NOW + 61)


# ---- properties --------------------------------------------------------------------------------

durations = (
    st.floats(0, 7 * 86_400, allow_nan=False)
    | st.integers(0, 7 * 86_400)
    | st.builds(
        lambda number, unit: f"{number}{unit}",
        st.integers(0, 100),
        st.sampled_from(["ms", "s", "m", "h", ""]),
    )
)
PARAMETERS: dict[str, st.SearchStrategy[Any]] = {
    "station": st.sampled_from(["*", "CS01", "emart_*", "CS0?", "[AB]*"])
    | st.text(st.characters(blacklist_characters="/"), min_size=1, max_size=8),
    "direction": st.none() | st.sampled_from(sorted(DIRECTIONS)),
    "action": st.none() | st.sampled_from(sorted(ALL_ACTIONS)),
    "messageType": st.none() | st.sampled_from(MESSAGE_TYPES),
    "nth": st.none() | st.integers(1, 10**9),
    "probability": st.floats(0, 1) | st.integers(0, 1),
    "count": st.none() | st.integers(1, 10**9),
    "for": st.none() | durations,
    "delay": durations,
    "jitter": durations,
    "code": st.integers(1000, 4999),
    "reset": st.booleans(),
    "errorCode": st.sampled_from(sorted(ALL_ERROR_CODES)),
    "field": st.none() | st.sampled_from(["seqNo", "idToken.idToken", "evse.id", ".a.b."]),
}
plausible_bodies = st.fixed_dictionaries(
    {"kind": st.sampled_from([k.value for k in Kind])}, optional=PARAMETERS
)
texts = st.text(max_size=8) | st.text(st.sampled_from("aH1 */.\n\r"), max_size=6)
"""Any text, and often the characters that would break a message or a glob."""
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
junk_bodies = st.builds(
    lambda known, unknown: {**unknown, **known},
    st.fixed_dictionaries(
        {"kind": st.sampled_from([k.value for k in Kind]) | json_values},
        optional=dict.fromkeys(PARAMETERS, json_values),
    ),
    st.dictionaries(texts, json_values, max_size=1),
)


@PROPERTY
@given(plausible_bodies)
def test_any_rule_accepted_describes_itself_as_a_body_giving_the_same_rule(
    body: dict[str, Any],
) -> None:
    try:
        spec = parse_spec(body)
    except FaultError:
        return
    again = parse_spec(spec.body())
    assert again == spec, (body, spec.body())


@PROPERTY
@given(junk_bodies | plausible_bodies)
def test_any_json_object_is_a_rule_or_one_line_fault_error(body: dict[str, Any]) -> None:
    """Never a TypeError (the admin API would answer 500) or a multi-line message."""
    try:
        parse_spec(body)
    except FaultError as exc:
        assert str(exc) and "\n" not in str(exc)


# ---- the table ---------------------------------------------------------------------------------


def test_every_kind_has_a_row_saying_what_it_does_and_acts_on() -> None:
    assert set(KINDS) == set(Kind)
    for row in KINDS.values():
        assert row.summary and "\n" not in row.summary
        assert set(row.params) <= set(PARAMS)
    for param in PARAMS.values():  # the defaults the table documents are the spec's
        assert getattr(FaultSpec(Kind.DROP), param.attr) == param.default
    assert {k for k, row in KINDS.items() if row.acts_on is Target.CONNECTIONS} == {
        Kind.OUTAGE,
        Kind.SLOW_ACCEPT,
    }


def test_the_faults_page_shows_the_table() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "faults.md").read_text()
    assert kinds_markdown() in page


def test_a_spec_shows_only_its_kinds_parameters() -> None:
    spec = parse_spec({"kind": "reply-error", "errorCode": "SecurityError"})
    assert set(spec.body()) == {"kind", *MATCHERS, "errorCode"}
    assert spec.params() == {"errorCode": "SecurityError"}
