"""FaultBook: which frame or handshake a rule hits, how often and for how long, with a seeded
random.Random and explicit clocks, so every count below is exact or has a stated tolerance."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from proxy.faults.book import Decision, FaultBook, corrupted
from proxy.faults.kinds import Kind
from proxy.faults.spec import parse_spec
from proxy.ocppj.actions import Direction
from proxy.ocppj.messages import CallError, parse_frame
from proxy.ocppj.schemas import validate

T0 = 1_795_478_400.0
T0_TEXT = "2026-11-24T00:00:00Z"
UP, DOWN = Direction.CHARGER_TO_CSMS, Direction.CSMS_TO_CHARGER
AUTHORIZE = {"idToken": {"idToken": "04A1B2", "type": "ISO14443"}}
STATUS = {
    "timestamp": "2026-11-24T00:00:00Z",
    "connectorStatus": "Available",
    "evseId": 1,
    "connectorId": 1,
}


def call(message_id: str, action: str, payload: dict[str, Any] | None = None) -> str:
    return json.dumps([2, message_id, action, payload or {}])


def result(message_id: str, payload: dict[str, Any] | None = None) -> str:
    return json.dumps([3, message_id, payload or {}])


def book_with(*bodies: dict[str, Any], seed: int = 1, now: float = T0) -> FaultBook:
    book = FaultBook(random.Random(seed))
    for body in bodies:
        book.add(parse_spec(body), now)
    return book


def heartbeats(
    book: FaultBook, count: int, station: str = "CS01", now: float = T0
) -> list[Decision | None]:
    return [book.frame(station, "c1", UP, call(f"hb-{n}", "Heartbeat"), now) for n in range(count)]


# ---- probability ------------------------------------------------------------------------------


def test_probability_zero_never_applies() -> None:
    book = book_with({"kind": "drop", "probability": 0})
    assert heartbeats(book, 1000) == [None] * 1000
    assert book.rules[1].applied == 0


def test_probability_one_always_applies() -> None:
    book = book_with({"kind": "drop"})
    decisions = heartbeats(book, 1000)
    assert all(d is not None and d.kind is Kind.DROP for d in decisions)
    assert book.rules[1].applied == 1000


def test_probability_one_half_applies_to_about_half_and_is_reproducible() -> None:
    """10,000 draws: the standard deviation is 50, so +/-300 is six of them."""
    book = book_with({"kind": "drop", "probability": 0.5}, seed=20261124)
    hits = [d is not None for d in heartbeats(book, 10_000)]
    assert 4700 <= sum(hits) <= 5300
    assert book.rules[1].applied == sum(hits)
    again = book_with({"kind": "drop", "probability": 0.5}, seed=20261124)
    assert [d is not None for d in heartbeats(again, 10_000)] == hits  # the seed decides


# ---- lifetimes ---------------------------------------------------------------------------------


def test_count_retires_the_rule_after_that_many_applications() -> None:
    book = book_with({"kind": "drop", "count": 3})
    decisions = heartbeats(book, 5)
    assert [d is not None for d in decisions] == [True, True, True, False, False]
    rule = book.rules[1]
    assert (rule.applied, rule.alive(T0)) == (3, False)
    assert book.retire(T0) == [rule]
    assert book.rules == {}


def test_duration_retires_the_rule_when_its_time_is_up() -> None:
    book = book_with({"kind": "drop", "for": "10s"})
    rule = book.rules[1]
    assert heartbeats(book, 1, now=T0 + 9.99)[0] is not None
    assert book.retire(T0 + 9.99) == []
    assert heartbeats(book, 1, now=T0 + 10)[0] is None  # over at created_at + for
    assert rule.alive(T0 + 9.99) and not rule.alive(T0 + 10)
    assert book.live(T0 + 10) == []
    assert book.retire(T0 + 10) == [rule]
    assert book.rules == {}


def test_a_rule_without_lifetime_stays_until_removed() -> None:
    book = book_with({"kind": "drop"})
    assert book.retire(T0 + 86_400 * 365) == []
    assert book.remove(1) is not None and book.remove(1) is None
    assert heartbeats(book, 1)[0] is None


# ---- nth ---------------------------------------------------------------------------------------


def transaction_event(book: FaultBook, station: str, number: int) -> Decision | None:
    text = call(f"{station}-te-{number}", "TransactionEvent", {"seqNo": number})
    return book.frame(station, f"conn-{station}", UP, text, T0)


def test_nth_is_counted_per_station() -> None:
    """The 3rd TransactionEvent of station A, not B's; other actions do not count."""
    book = book_with({"kind": "corrupt", "action": "TransactionEvent", "nth": 3})
    hit = []
    for station, number in [("A", 1), ("B", 1), ("A", 2), ("B", 2), ("B", 3), ("A", 3), ("A", 4)]:
        book.frame(station, f"conn-{station}", UP, call(f"hb-{number}", "Heartbeat"), T0)
        if transaction_event(book, station, number) is not None:
            hit.append((station, number))
    assert hit == [("B", 3), ("A", 3)]
    assert book.rules[1].seen == {"A": 4, "B": 3}


def test_nth_counts_the_frames_an_earlier_rule_took() -> None:
    """ "The 3rd TransactionEvent" is the third the station sent, even when another rule
    dropped the first one (one fault per frame: the earlier rule wins that frame)."""
    book = book_with(
        {"kind": "drop", "action": "TransactionEvent", "count": 1},
        {"kind": "corrupt", "action": "TransactionEvent", "nth": 3},
    )
    kinds = [transaction_event(book, "A", number) for number in range(1, 5)]
    assert [d.kind if d else None for d in kinds] == [Kind.DROP, None, Kind.CORRUPT, None]


# ---- responses carry their CALL's action -------------------------------------------------------


def test_responses_are_matched_by_the_action_of_their_call() -> None:
    book = book_with({"kind": "drop", "action": "Heartbeat", "messageType": "CALLRESULT"})
    assert book.frame("CS01", "c1", UP, call("hb-1", "Heartbeat"), T0) is None  # a CALL
    assert book.frame("CS01", "c1", UP, call("au-1", "Authorize", AUTHORIZE), T0) is None
    assert book.frame("CS01", "c1", DOWN, result("au-1"), T0) is None  # Authorize's answer
    decision = book.frame("CS01", "c1", DOWN, result("hb-1", {"currentTime": "x"}), T0)
    assert decision is not None and decision.facts is not None
    assert (decision.facts.message_type, decision.facts.action, decision.facts.message_id) == (
        "CALLRESULT",
        "Heartbeat",
        "hb-1",
    )
    assert book.frame("CS01", "c1", DOWN, result("hb-1"), T0) is None  # answered once only


def test_a_response_needs_its_call_on_the_same_connection_and_the_other_direction() -> None:
    book = book_with({"kind": "drop", "action": "Heartbeat", "messageType": "CALLRESULT"})
    book.frame("CS01", "c1", UP, call("hb-1", "Heartbeat"), T0)
    assert book.frame("CS01", "c2", DOWN, result("hb-1"), T0) is None  # another connection
    assert book.frame("CS01", "c1", UP, result("hb-1"), T0) is None  # the same direction
    book.closed("c1")
    assert book.frame("CS01", "c1", DOWN, result("hb-1"), T0) is None  # forgotten on close


def test_a_call_sent_before_any_rule_existed_leaves_its_answer_without_action() -> None:
    """Frames are only parsed while rules exist: a rule added while a CALL is in flight does
    not see its answer as that action's."""
    book = FaultBook(random.Random(1))
    assert book.frame("CS01", "c1", UP, call("hb-1", "Heartbeat"), T0) is None
    book.add(parse_spec({"kind": "drop", "action": "Heartbeat", "messageType": "CALLRESULT"}), T0)
    assert book.frame("CS01", "c1", DOWN, result("hb-1"), T0) is None


# ---- one fault per frame: the first live rule ---------------------------------------------------


def test_the_first_live_matching_rule_wins() -> None:
    book = book_with(
        {"kind": "delay", "action": "Heartbeat", "delay": "1s", "count": 1},
        {"kind": "drop", "probability": 0},
        {"kind": "duplicate", "station": "CS*"},
        {"kind": "drop"},
    )
    first, second = heartbeats(book, 2)
    assert first is not None and (first.rule.id, first.delay) == (1, 1.0)
    assert second is not None and second.rule.id == 3  # 1 used up, 2 never draws a hit
    other = book.frame("XY01", "c9", UP, call("hb", "Heartbeat"), T0)
    assert other is not None and other.rule.id == 4  # 3 is for CS* only
    book.remove(3)
    assert heartbeats(book, 1)[0].rule.id == 4  # type: ignore[union-attr]


def test_handshake_rules_leave_frames_alone_and_frame_rules_handshakes() -> None:
    book = book_with({"kind": "outage", "for": "1m"}, {"kind": "slow-accept", "delay": "2s"})
    assert heartbeats(book, 3) == [None, None, None]
    frames_only = book_with({"kind": "drop"}, {"kind": "disconnect", "action": "Heartbeat"})
    assert frames_only.handshake("CS01", T0) is None


def test_a_disconnect_naming_frames_fires_on_them_and_one_naming_stations_does_not() -> None:
    on_frames = book_with({"kind": "disconnect", "action": "Heartbeat"})
    decision = heartbeats(on_frames, 1)[0]
    assert decision is not None and decision.kind is Kind.DISCONNECT
    assert heartbeats(book_with({"kind": "disconnect", "station": "CS01"}), 1) == [None]


# ---- handshakes --------------------------------------------------------------------------------


def test_outage_refuses_handshakes_of_matching_stations_until_its_time_is_up() -> None:
    book = book_with({"kind": "outage", "station": "emart_*", "for": "20s"})
    decision = book.handshake("emart_01", T0 + 1)
    assert decision is not None and (decision.kind, decision.delay) == (Kind.OUTAGE, 0.0)
    assert decision.label == "refused (outage) (fault 1)"
    assert book.handshake("tesla_01", T0 + 1) is None
    assert book.handshake("emart_01", T0 + 20) is None
    assert book.rules[1].applied == 1


def test_slow_accept_holds_handshakes_for_its_delay_plus_jitter() -> None:
    book = book_with({"kind": "slow-accept", "station": "CS0?", "delay": "2s", "jitter": "1s"})
    delays = []
    for _ in range(200):
        decision = book.handshake("CS01", T0)
        assert decision is not None and decision.kind is Kind.SLOW_ACCEPT
        delays.append(decision.delay)
    assert all(2.0 <= d <= 3.0 for d in delays)
    assert max(delays) - min(delays) > 0.5  # the jitter is drawn, not fixed
    assert book.handshake("CS010", T0) is None  # ? is one character


def test_outage_and_slow_accept_draw_their_probability() -> None:
    book = book_with({"kind": "outage", "for": "1h", "probability": 0.5}, seed=7)
    refused = sum(book.handshake("CS01", T0) is not None for _ in range(2000))
    assert 850 <= refused <= 1150  # sd 22


# ---- corrupt -----------------------------------------------------------------------------------


def test_corrupt_without_a_field_is_no_longer_json() -> None:
    for text in (call("a-1", "Authorize", AUTHORIZE), result("a-1"), " [2] \n", "not json"):
        broken = corrupted(text, None)
        with pytest.raises(ValueError):
            json.loads(broken)
        assert parse_frame(broken, None).message_type == "INVALID"


@pytest.mark.parametrize(
    ("action", "payload", "field", "where"),
    [
        pytest.param("Authorize", AUTHORIZE, "idToken.idToken", "idToken.idToken", id="nested"),
        pytest.param("Authorize", AUTHORIZE, "idToken", "idToken", id="object"),
        pytest.param("StatusNotification", STATUS, "evseId", "evseId", id="integer"),
        pytest.param("StatusNotification", STATUS, "connectorStatus", "connector", id="enum"),
        pytest.param("Heartbeat", {}, "bogus", "bogus", id="absent"),
        pytest.param("Heartbeat", {}, "evse.id", "evse", id="absent-nested"),
    ],
)
def test_corrupt_with_a_field_is_valid_json_against_the_schema(
    action: str, payload: dict[str, Any], field: str, where: str
) -> None:
    text = call("m-1", action, payload)
    assert validate(f"{action}Request", payload) == []
    broken = corrupted(text, field)
    parsed = parse_frame(broken, None)
    assert parsed.message_type == "CALL" and parsed.violations == []  # the frame is fine
    assert parsed.message is not None and parsed.message.message_id == "m-1"
    violations = validate(f"{action}Request", json.loads(broken)[3])
    assert violations, broken
    assert any(where in v.message for v in violations), violations
    top = field.partition(".")[0]
    rest = {k: v for k, v in json.loads(broken)[3].items() if k != top}
    assert rest == {k: v for k, v in payload.items() if k != top}  # only that field changed


def test_corrupt_rules_deliver_the_corrupted_text() -> None:
    book = book_with({"kind": "corrupt", "action": "Authorize", "field": "idToken.idToken"})
    text = call("a-1", "Authorize", AUTHORIZE)
    decision = book.frame("CS01", "c1", UP, text, T0)
    assert decision is not None and decision.data == corrupted(text, "idToken.idToken")
    assert json.loads(decision.data)[3]["idToken"]["idToken"] == 12345
    assert decision.label == "corrupted: field idToken.idToken (fault 1)"


# ---- reply-error -------------------------------------------------------------------------------


def test_reply_error_answers_the_call_with_a_valid_callerror() -> None:
    book = book_with({"kind": "reply-error", "action": "Authorize", "errorCode": "SecurityError"})
    decision = book.frame("CS01", "c1", UP, call("auth-42", "Authorize", AUTHORIZE), T0)
    assert decision is not None and decision.data is not None
    parsed = parse_frame(decision.data, "ocpp2.0.1")
    assert parsed.violations == []
    assert isinstance(parsed.message, CallError)
    assert (parsed.message.message_id, parsed.message.error_code) == ("auth-42", "SecurityError")
    assert decision.label == "answered by the proxy with SecurityError (fault 1)"


def test_reply_error_leaves_the_answers_of_that_action_alone() -> None:
    book = book_with({"kind": "reply-error", "action": "GetVariables", "count": 1})
    book.frame("CS01", "c1", DOWN, call("gv-1", "GetVariables", {}), T0)
    book.remove(1)
    book.add(parse_spec({"kind": "reply-error", "action": "GetVariables"}), T0)
    assert book.frame("CS01", "c1", UP, result("gv-1"), T0) is None
    assert book.rules[2].applied == 0


# ---- the connection's version ------------------------------------------------------------------

START_16 = {"connectorId": 1, "idTag": "04A1B2", "meterStart": 20000, "timestamp": T0_TEXT}


def test_a_1_6_action_and_its_answer_are_matched_on_a_1_6_connection() -> None:
    book = book_with({"kind": "drop", "action": "StartTransaction", "messageType": "CALLRESULT"})
    assert (
        book.frame("CS16", "c1", UP, call("st-1", "StartTransaction", START_16), T0, "ocpp1.6")
        is None
    )
    answer = result("st-1", {"transactionId": 7, "idTagInfo": {"status": "Accepted"}})
    decision = book.frame("CS16", "c1", DOWN, answer, T0, "ocpp1.6")
    assert decision is not None and decision.facts is not None
    assert (decision.facts.action, decision.facts.message_type) == (
        "StartTransaction",
        "CALLRESULT",
    )


@pytest.mark.parametrize(
    ("subprotocol", "sent"),
    [
        ("ocpp1.6", "OccurenceConstraintViolation"),
        ("ocpp2.0.1", "OccurrenceConstraintViolation"),
        ("ocpp2.1", "OccurrenceConstraintViolation"),
    ],
)
@pytest.mark.parametrize("asked", ["OccurenceConstraintViolation", "OccurrenceConstraintViolation"])
def test_reply_error_answers_in_the_connections_spelling(
    asked: str, subprotocol: str, sent: str
) -> None:
    """Either spelling asked, each connection gets the code its version defines (OCPP-J 1.6
    §4.2.3 spells it with one r), so the receiver judges a valid CALLERROR, not RPC-012."""
    book = book_with({"kind": "reply-error", "action": "Heartbeat", "errorCode": asked})
    decision = book.frame("CS01", "c1", UP, call("hb-1", "Heartbeat"), T0, subprotocol)
    assert decision is not None and decision.data is not None
    parsed = parse_frame(decision.data, subprotocol)
    assert parsed.violations == []
    assert isinstance(parsed.message, CallError) and parsed.message.error_code == sent
    assert decision.label == f"answered by the proxy with {sent} (fault 1)"


def test_a_code_1_6_lacks_leaves_1_6_connections_alone() -> None:
    """RpcFrameworkError is not a 1.6 code: the 1.6 Heartbeats pass (and do not count for nth),
    the 2.0.1 ones are answered."""
    book = book_with(
        {"kind": "reply-error", "action": "Heartbeat", "errorCode": "RpcFrameworkError", "nth": 2}
    )
    on_16 = [
        book.frame("CS", "c16", UP, call(f"a{n}", "Heartbeat"), T0, "ocpp1.6") for n in range(3)
    ]
    assert on_16 == [None, None, None]
    assert book.rules[1].applied == 0
    on_201 = [
        book.frame("CS", "c201", UP, call(f"b{n}", "Heartbeat"), T0, "ocpp2.0.1") for n in range(3)
    ]
    assert [d is not None for d in on_201] == [False, True, False]
    assert on_201[1] is not None and on_201[1].error_code == "RpcFrameworkError"


def test_a_2_1_send_is_selected_by_its_action_and_message_type() -> None:
    book = book_with({"kind": "drop", "action": "NotifyPeriodicEventStream", "messageType": "SEND"})
    send = json.dumps(
        [
            6,
            "s-1",
            "NotifyPeriodicEventStream",
            {"id": 1, "pending": 0, "basetime": T0_TEXT, "data": []},
        ]
    )
    decision = book.frame("CS21", "c1", UP, send, T0, "ocpp2.1")
    assert decision is not None and decision.facts is not None
    assert (decision.facts.message_type, decision.facts.action) == (
        "SEND",
        "NotifyPeriodicEventStream",
    )
    assert book.frame("CS201", "c2", UP, send, T0, "ocpp2.0.1") is None  # no SEND in 2.0.1
