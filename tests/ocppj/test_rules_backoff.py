"""BACKOFF rules: reconnect attempts after a lost connection against RetryBackOff* (OCPP-J 2.0.1 §5.3),
and BACKOFF-007, the analyser's verdict on each episode and on the offline delivery after it.

The seed guide's station uses RetryBackOffWaitMinimum 1 s, RandomRange 0 s, RepeatTimes 4, so a
compliant station retries 1, 2, 4, 8 and 16 s apart and keeps 16 s from then on.
"""

from __future__ import annotations

import pytest

from proxy.ocppj.checks.backoff import BackoffGroup, wait_bounds
from proxy.ocppj.events import Event
from proxy.ocppj.findings import Finding, Severity
from proxy.ocppj.session import Config, Monitor, Session
from proxy.ocppj.state import Attempt, Backoff, OfflineDelivery
from tests.ocppj.test_rules_transactions import TX, periodic, started
from tests.ocppj.wire import Wire, Wire21, rule_ids, rule_severities, run

SEED = Config(backoff=Backoff(1, 0, 4))
HEARTBEAT_INTERVAL = 60


def severities(findings: list[Finding]) -> list[Severity]:
    return [finding.severity for finding in findings]


def online(w: Wire | None = None) -> Wire:
    """A booted station exchanging heartbeats; the link is lost 5 s after the last one."""
    w = w or Wire()
    w.boot(interval=HEARTBEAT_INTERVAL)
    w.wait(HEARTBEAT_INTERVAL).heartbeat()
    return w.wait(5)


def outage(w: Wire, attempts: list[float], status: int | None = 503) -> Wire:
    """Connection lost (1006, nobody closed it); attempts at these offsets from the loss.

    Every attempt but the last is refused (the CSMS behind its load balancer answers 503); the
    last one is accepted and the station carries on with a Heartbeat, without rebooting.
    """
    lost = w.now
    w.close(1006, closed_by=None)
    for offset in attempts[:-1]:
        w.wait(lost + offset - w.now).refused(status)
    w.wait(lost + attempts[-1] - w.now).open()
    return w.wait(1).heartbeat()


def set_variables(w: Wire, values: dict[str, str], status: str = "Accepted") -> Wire:
    """The CSMS writes OCPPCommCtrlr variables; the station answers `status` for each."""
    data = [
        {
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": name},
            "attributeValue": value,
        }
        for name, value in values.items()
    ]
    w.wait(2).call("SetVariables", {"setVariableData": data}, sender="csms")
    results = [
        {"attributeStatus": status, "component": item["component"], "variable": item["variable"]}
        for item in data
    ]
    return w.result({"setVariableResult": results}, sender="charger", after=0.2)


def merged(*wires: Wire) -> list[Event]:
    """One capture of several stations behind the same proxy, in time order."""
    return sorted((event for w in wires for event in w.events), key=lambda e: e.timestamp)


def neighbour_keeps_talking(seconds: float) -> Wire:
    """Another station on the same proxy, so that the capture goes on for `seconds`."""
    w = Wire("ALF-ACE0012346")
    w.boot(interval=HEARTBEAT_INTERVAL)
    while w.now < seconds + w.events[0].timestamp:
        w.wait(HEARTBEAT_INTERVAL).heartbeat()
    return w


SEED_ATTEMPTS = [1, 3, 7, 15, 31]
"""Loss at 0; refused at 1, 3, 7, 15; accepted at 31: waits of 1, 2, 4, 8, 16 s."""


# ---- wait_bounds -------------------------------------------------------------------------


def test_wait_bounds_seed_guide() -> None:
    bounds = [wait_bounds(1, 0, 4, attempt) for attempt in range(1, 8)]
    assert bounds == [(1, 1), (2, 2), (4, 4), (8, 8), (16, 16), (16, 16), (16, 16)]


def test_wait_bounds_with_random_range() -> None:
    bounds = [wait_bounds(10, 5, 3, attempt) for attempt in range(1, 6)]
    assert bounds == [(10, 15), (20, 35), (40, 75), (80, 155), (80, 155)]


def test_wait_bounds_without_doubling() -> None:
    assert [wait_bounds(30, 10, 0, attempt) for attempt in (1, 2, 5)] == [(30, 40)] * 3


def test_wait_bounds_tc_b_57() -> None:
    """Part 6 TC_B_57_CS: RepeatTimes 2, RandomRange 0; the second attempt is 3 x Wmin after loss."""
    first, _ = wait_bounds(7, 0, 2, 1)
    second, _ = wait_bounds(7, 0, 2, 2)
    assert first == 7
    assert first + second == 3 * 7


@pytest.mark.parametrize(("minimum", "spread", "repeat"), [(1, 0, 4), (10, 5, 3), (3, 7, 2)])
def test_wait_bounds_upper_is_libocpp_worst_case(minimum: int, spread: int, repeat: int) -> None:
    """libocpp: b1 = Wmin + r1, bk = 2 b(k-1) + rk with every r at its maximum."""
    worst = minimum + spread
    for attempt in range(1, repeat + 2):
        assert wait_bounds(minimum, spread, repeat, attempt)[1] == worst
        worst = 2 * worst + spread


# ---- BACKOFF-002 / BACKOFF-003 with assumed values -----------------------------------------


def test_compliant_outage_has_no_findings() -> None:
    w = outage(online(), SEED_ATTEMPTS)
    w.wait(30).heartbeat()

    assert run(w.events, SEED) == []


def test_compliant_outage_with_tcp_failures_has_no_findings() -> None:
    w = outage(online(), SEED_ATTEMPTS, status=None)

    assert run(w.events, SEED) == []


def test_backoff002_first_attempt_too_early() -> None:
    w = outage(online(), [0.1, 2.1, 6.1, 14.1, 30.1])  # reconnects at once, then doubles

    findings = run(w.events, SEED)
    assert rule_ids(findings) == ["BACKOFF-002"]
    assert severities(findings) == [Severity.ERROR]
    assert "attempt 1 (refused)" in findings[0].message


def test_backoff002_first_attempt_accepted_too_early() -> None:
    w = outage(online(), [0.2])

    findings = run(w.events, SEED)
    assert rule_ids(findings) == ["BACKOFF-002"]
    assert severities(findings) == [Severity.ERROR]
    assert "attempt 1 (accepted)" in findings[0].message


def test_backoff003_attempt_that_does_not_double() -> None:
    w = outage(online(), [1, 3, 5, 13, 29])  # 1, 2, 2, 8, 16: the third wait stayed at 2 s

    findings = run(w.events, SEED)
    assert rule_ids(findings) == ["BACKOFF-003"]
    assert severities(findings) == [Severity.ERROR]
    assert "attempt 3 (refused) came 2.0 s after refused attempt 2" in findings[0].message


@pytest.mark.parametrize(
    ("attempts", "rule"),
    [
        ([5, 7, 11, 19, 35], "BACKOFF-002"),  # first wait 5 s instead of 1 s
        ([1, 3, 7, 30, 46], "BACKOFF-003"),  # fourth wait 23 s instead of 8 s
    ],
    ids=["first", "later"],
)
def test_backoff_wait_beyond_upper_bound_is_warning(attempts: list[float], rule: str) -> None:
    w = outage(online(), attempts)

    findings = run(w.events, SEED)
    assert rule_ids(findings) == [rule]
    assert severities(findings) == [Severity.WARNING]


def test_backoff003_growth_past_repeat_times_judged_against_capped_wait() -> None:
    # 1, 2, 4, 8, 16, then 32: the fifth doubling exceeds RepeatTimes 4
    w = outage(online(), [1, 3, 7, 15, 31, 63, 79])

    findings = run(w.events, SEED)
    assert rule_ids(findings) == ["BACKOFF-003"]
    assert severities(findings) == [Severity.WARNING]
    assert "attempt 6" in findings[0].message


def test_backoff003_capped_wait_repeated_is_fine() -> None:
    w = outage(online(), [1, 3, 7, 15, 31, 47, 63, 79])  # 16 s from the fifth attempt on

    assert run(w.events, SEED) == []


def test_backoff_resets_after_a_successful_connection() -> None:
    w = outage(online(), SEED_ATTEMPTS)
    w.wait(20)
    outage(w, SEED_ATTEMPTS)  # the second outage starts again from 1 s

    assert run(w.events, SEED) == []


# ---- values learned from SetVariables ------------------------------------------------------

LEARNED = {
    "RetryBackOffWaitMinimum": "10",
    "RetryBackOffRandomRange": "5",
    "RetryBackOffRepeatTimes": "3",
}
LEARNED_ATTEMPTS = [12, 39, 89, 189]
"""Waits of 12, 27, 50 and 100 s: inside 10-15, 20-35, 40-75 and 80-155 s."""


def test_learned_values_override_config() -> None:
    w = set_variables(online(), LEARNED)
    outage(w.wait(5), LEARNED_ATTEMPTS)

    assert run(w.events, SEED) == []


def test_learned_values_judge_a_seed_guide_outage() -> None:
    w = set_variables(online(), LEARNED)
    outage(w.wait(5), SEED_ATTEMPTS)

    findings = run(w.events, SEED)
    assert rule_ids(findings) == ["BACKOFF-002"] + ["BACKOFF-003"] * 4
    assert set(severities(findings)) == {Severity.ERROR}
    assert "at least 10 s required" in findings[0].message


def test_config_applies_when_the_same_outage_is_not_learned() -> None:
    w = outage(online(), LEARNED_ATTEMPTS)  # 12, 27, 50, 100 s against 1, 2, 4, 8 s

    findings = run(w.events, SEED)
    assert rule_ids(findings) == ["BACKOFF-002"] + ["BACKOFF-003"] * 3
    assert set(severities(findings)) == {Severity.WARNING}


def test_learned_values_apply_without_config() -> None:
    w = set_variables(online(), LEARNED)
    outage(w.wait(5), [3, 39, 89, 189])  # the first attempt 3 s after the loss

    findings = run(w.events)
    assert rule_ids(findings) == ["BACKOFF-002"]
    assert severities(findings) == [Severity.ERROR]


def test_rejected_set_variables_teach_nothing() -> None:
    w = set_variables(online(), LEARNED, status="Rejected")
    outage(w.wait(5), SEED_ATTEMPTS)

    assert run(w.events, SEED) == []


def test_partly_learned_values_complete_from_config() -> None:
    w = set_variables(online(), {"RetryBackOffWaitMinimum": "2"})
    outage(w.wait(5), [2, 6, 14, 30, 62])  # 2, 4, 8, 16, 32 s: RandomRange 0, RepeatTimes 4

    assert run(w.events, SEED) == []


# ---- nothing known: only the qualitative checks -------------------------------------------


def test_no_backoff_known_means_no_timing_checks() -> None:
    w = outage(online(), [0.1, 0.3, 0.6, 1.0, 1.5])  # hammering the CSMS

    assert run(w.events) == []


def test_partly_learned_values_without_config_mean_no_timing_checks() -> None:
    w = set_variables(online(), {"RetryBackOffWaitMinimum": "30"})
    outage(w.wait(5), [0.1, 0.3, 0.6])

    assert run(w.events) == []


# ---- BACKOFF-001: the station never comes back ---------------------------------------------


def test_backoff001_station_not_back_within_bound() -> None:
    w = online()
    lost = w.now
    w.close(1006)
    neighbour = neighbour_keeps_talking(600)

    findings = run(merged(w, neighbour))
    assert rule_ids(findings) == ["BACKOFF-001"]
    assert findings[0].station == w.station
    assert findings[0].severity is Severity.WARNING
    assert findings[0].timestamp == pytest.approx(lost + 300)


def test_backoff001_station_back_within_bound_is_fine() -> None:
    w = outage(online(), [250])
    neighbour = neighbour_keeps_talking(600)

    assert run(merged(w, neighbour)) == []


def test_backoff001_capture_ending_before_bound_is_fine() -> None:
    w = online()
    w.close(1006)
    neighbour = neighbour_keeps_talking(240)

    assert run(merged(w, neighbour)) == []


# ---- a close by the station itself is not a lost connection ----------------------------------


def test_station_close_and_reboot_is_not_checked_for_backoff() -> None:
    w = online()
    w.call("Reset", {"type": "Immediate"}, sender="csms").result({"status": "Accepted"}, "charger")
    w.wait(1).close(1000, closed_by="charger")
    w.wait(0.3).boot(interval=HEARTBEAT_INTERVAL, reason="RemoteReset")

    assert run(w.events, SEED) == []


def test_ws007_station_close_without_reconnect() -> None:
    w = online()
    w.close(1000, closed_by="charger")
    neighbour = neighbour_keeps_talking(600)

    findings = run(merged(w, neighbour), SEED)
    assert rule_ids(findings) == ["WS-007"]
    assert findings[0].station == w.station
    assert findings[0].severity is Severity.WARNING


# ---- BACKOFF-007: the analyser's verdict on an episode -------------------------------------


def verdicts(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.rule_id == "BACKOFF-007"]


def observed(events: list[Event], config: Config | None = None) -> Session:
    """The station's session after every event, the observation finished at the last one."""
    monitor = Monitor(config)
    for event in events:
        monitor.feed(event)
    monitor.finish(events[-1].timestamp)
    return monitor.session(events[0].station)


SEED_SETTINGS = "RetryBackOffWaitMinimum 1 s, RandomRange 0 s, RepeatTimes 4"


def test_backoff007_compliant_episode_is_info() -> None:
    w = online()
    lost = w.now
    reconnect = outage(w, SEED_ATTEMPTS).now - 1 - 0.05  # before the Heartbeat and its answer

    findings = run(w.events, SEED, verdicts=True)
    assert rule_severities(findings) == [("BACKOFF-007", Severity.INFO)]
    assert findings[0].message == (
        "reconnected after 5 attempts (4 refused), waits 1.0, 2.0, 4.0, 8.0, 16.0 s; "
        f"expected 1-1, 2-2, 4-4, 8-8, 16-16 s ({SEED_SETTINGS}): compliant"
    )
    assert findings[0].timestamp == pytest.approx(reconnect)
    assert findings[0].reference == "OCPP-J 2.0.1 §5.3, §8.1-8.3; OCPP 2.0.1 Part 6 TC_B_57_CS"
    [episode] = observed(w.events, SEED).group(BackoffGroup).reconnects.episodes
    assert episode.lost_at == lost
    assert episode.attempts == (
        *(Attempt(lost + offset, True) for offset in SEED_ATTEMPTS[:-1]),
        Attempt(lost + SEED_ATTEMPTS[-1], False),
    )
    assert episode.waits == pytest.approx((1, 2, 4, 8, 16))
    assert episode.bounds == ((1, 1), (2, 2), (4, 4), (8, 8), (16, 16))
    assert episode.timings == (None,) * 5
    assert (episode.verdict, episode.severity, episode.compliant) == (
        "compliant",
        Severity.INFO,
        True,
    )
    assert episode.backoff == Backoff(1, 0, 4)
    assert episode.reconnected_at == lost + 31
    assert episode.delivery is None  # no transaction was going on


def test_backoff007_early_first_attempt_is_an_error() -> None:
    w = outage(online(), [0.1, 2.1, 6.1, 14.1, 30.1])

    findings = run(w.events, SEED, verdicts=True)
    assert rule_severities(findings) == [
        ("BACKOFF-002", Severity.ERROR),
        ("BACKOFF-007", Severity.ERROR),
    ]
    assert findings[1].message.endswith("): not compliant: attempt 1 early")
    assert "waits 0.1, 2.0, 4.0, 8.0, 16.0 s" in findings[1].message
    [episode] = observed(w.events, SEED).group(BackoffGroup).reconnects.episodes
    assert episode.timings == ("early", None, None, None, None)
    assert episode.compliant is False


def test_backoff007_names_early_and_late_attempts_and_takes_the_worst_severity() -> None:
    w = outage(online(), [1, 11, 11.5, 15.5, 31.5])  # 1, 10 (late), 0.5 (early), 4 (early), 16

    findings = verdicts(run(w.events, SEED, verdicts=True))
    assert [f.severity for f in findings] == [Severity.ERROR]
    assert findings[0].message.endswith(": not compliant: attempts 3, 4 early; attempt 2 late")


def test_backoff007_late_attempts_only_are_a_warning() -> None:
    w = outage(online(), [5, 7, 11, 19, 35])  # the first wait 5 s instead of 1 s

    findings = run(w.events, SEED, verdicts=True)
    assert rule_severities(findings) == [
        ("BACKOFF-002", Severity.WARNING),
        ("BACKOFF-007", Severity.WARNING),
    ]
    assert findings[1].message.endswith(": not compliant: attempt 1 late")


def test_backoff007_random_range_within_bounds_is_compliant() -> None:
    w = outage(online(), LEARNED_ATTEMPTS)  # waits 12, 27, 50, 100 s

    findings = run(w.events, Config(backoff=Backoff(10, 5, 3)), verdicts=True)
    assert rule_severities(findings) == [("BACKOFF-007", Severity.INFO)]
    assert findings[0].message == (
        "reconnected after 4 attempts (3 refused), waits 12.0, 27.0, 50.0, 100.0 s; "
        "expected 10-15, 20-35, 40-75, 80-155 s "
        "(RetryBackOffWaitMinimum 10 s, RandomRange 5 s, RepeatTimes 3): compliant"
    )


def test_backoff007_unknown_settings_are_not_judged() -> None:
    w = outage(online(), [0.1, 0.3, 0.6])  # hammering, but nobody said what is allowed

    findings = run(w.events, verdicts=True)
    assert rule_severities(findings) == [("BACKOFF-007", Severity.INFO)]
    assert findings[0].message == (
        "reconnected after 3 attempts (2 refused), waits 0.1, 0.2, 0.3 s; "
        "not judged: RetryBackOff* unknown (give --retry-backoff)"
    )
    [episode] = observed(w.events).group(BackoffGroup).reconnects.episodes
    assert (episode.backoff, episode.bounds, episode.compliant) == (None, (), None)


def test_backoff007_at_the_first_attempt() -> None:
    w = outage(online(), [1])

    [finding] = run(w.events, SEED, verdicts=True)
    assert finding.message.startswith("reconnected after 1 attempt (0 refused), wait 1.0 s; ")


def test_backoff007_values_learned_from_set_variables_change_the_verdict() -> None:
    w = set_variables(online(), LEARNED)
    outage(w.wait(5), SEED_ATTEMPTS)  # right for the 1/0/4 assumed, early for 10/5/3

    findings = verdicts(run(w.events, SEED, verdicts=True))
    assert [f.severity for f in findings] == [Severity.ERROR]
    assert "expected 10-15, 20-35, 40-75, 80-155, 80-155 s" in findings[0].message
    assert findings[0].message.endswith("not compliant: attempts 1, 2, 3, 4, 5 early")


def test_backoff007_values_learned_from_get_variables_are_judged_against() -> None:
    w = online()
    data = [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": name}} for name in LEARNED
    ]
    w.wait(2).call("GetVariables", {"getVariableData": data}, sender="csms")
    results = [
        {"attributeStatus": "Accepted", "attributeValue": value, **item}
        for item, value in zip(data, LEARNED.values(), strict=True)
    ]
    w.result({"getVariableResult": results}, sender="charger", after=0.2)
    outage(w.wait(5), LEARNED_ATTEMPTS)

    [finding] = run(w.events, verdicts=True)  # nothing assumed: all three were read
    assert finding.severity is Severity.INFO
    assert "(RetryBackOffWaitMinimum 10 s, RandomRange 5 s, RepeatTimes 3): compliant" in (
        finding.message
    )


def test_backoff007_many_attempts_are_abbreviated() -> None:
    w = outage(online(), [0.5 * k for k in range(1, 41)])  # every 0.5 s for 20 s

    [finding] = verdicts(run(w.events, SEED, verdicts=True))
    assert "waits 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, … (40 in all) s" in finding.message
    assert finding.message.endswith("attempts 1, 2, 3, 4, 5, 6, 7, 8, … (40 in all) early")


def test_backoff007_one_verdict_per_episode() -> None:
    w = outage(online(), SEED_ATTEMPTS)
    w.wait(20)
    outage(w, [0.2, 2.2])

    findings = verdicts(run(w.events, SEED, verdicts=True))
    assert [f.severity for f in findings] == [Severity.INFO, Severity.ERROR]
    assert [
        len(e.attempts) for e in observed(w.events, SEED).group(BackoffGroup).reconnects.episodes
    ] == [5, 2]


def test_backoff007_no_verdict_when_the_station_closed_its_connection() -> None:
    w = online()
    w.call("Reset", {"type": "Immediate"}, sender="csms").result({"status": "Accepted"}, "charger")
    w.wait(1).close(1000, closed_by="charger")
    w.wait(0.3).boot(interval=HEARTBEAT_INTERVAL, reason="RemoteReset")

    assert run(w.events, SEED, verdicts=True) == []


def test_backoff007_csms_closing_the_connection_is_an_episode_tc_b_57() -> None:
    """TC_B_57_CS: the test tool closes the WebSocket; the station reconnects after Wmin."""
    w = online()
    w.close(1000, closed_by="csms")
    w.wait(7).open()

    findings = run(w.events, Config(backoff=Backoff(7, 0, 2)), verdicts=True)
    assert rule_severities(findings) == [("BACKOFF-007", Severity.INFO)]
    assert findings[0].message.endswith(
        "expected 7-7 s (RetryBackOffWaitMinimum 7 s, RandomRange 0 s, RepeatTimes 2): compliant"
    )


# ---- BACKOFF-007: the offline TransactionEvents delivered after the reconnect -----------------

GRACE = Config().transaction_grace


def charging_outage(w: Wire, queued: list[tuple[int, float, bool]]) -> tuple[Wire, float, float]:
    """Charging when the link is lost; back after 1, 2, 4, 8, 16 s, the station delivers its queue.

    `queued`: (seqNo, seconds after the loss it happened, offline flag) in delivery order. Returns
    the wire and the times of the loss and of the reconnect.
    """
    started(w)
    periodic(w.wait(15), 1, 12600.0)
    lost = w.wait(5).now
    outage(w, SEED_ATTEMPTS)
    reconnected = lost + SEED_ATTEMPTS[-1]
    for seq, happened, offline in queued:
        periodic(w.wait(0.5), seq, 12600.0 + 10 * seq, at=lost + happened - w.now, offline=offline)
    return w, lost, reconnected


def test_backoff007_offline_events_delivered_with_the_flag_and_no_gap() -> None:
    w, _, reconnected = charging_outage(Wire(), [(2, 8, True), (3, 16, True), (4, 24, True)])
    periodic(w.wait(5), 5, 12700.0)
    w.wait(GRACE).heartbeat()

    findings = run(w.events, SEED, verdicts=True)
    assert rule_severities(findings) == [
        ("BACKOFF-007", Severity.INFO),
        ("BACKOFF-007", Severity.INFO),
    ]
    assert findings[0].message.endswith(": compliant")
    follow_up = findings[1]
    assert (
        follow_up.message == "3 offline TransactionEvents delivered with offline=true, no seqNo gap"
    )
    assert follow_up.timestamp == pytest.approx(reconnected + GRACE)
    assert follow_up.connection_id == findings[0].connection_id
    assert (follow_up.action, follow_up.message_id) == ("TransactionEvent", None)
    [episode] = observed(w.events, SEED).group(BackoffGroup).reconnects.episodes
    assert episode.delivery == OfflineDelivery(3, (), (), 1)
    assert episode.delivery.ok


@pytest.mark.parametrize(
    ("flagged", "counted"),
    [(True, "3 offline TransactionEvents"), (False, "1 offline TransactionEvent")],
    ids=["flagged", "unflagged"],
)
def test_backoff007_events_within_the_station_clock_uncertainty_of_the_outage(
    flagged: bool, counted: str
) -> None:
    """The live events put the station's clock 0-0.5 s ahead of the observer's: 0.3 s after the
    loss or 0.2 s after the reconnect, either flag is right, so an event is counted only if set."""
    w, _, _ = charging_outage(Wire(), [(2, 0.3, flagged), (3, 16, True), (4, 31.2, flagged)])
    w.wait(GRACE).heartbeat()

    findings = run(w.events, SEED, verdicts=True)
    assert rule_ids(findings) == ["BACKOFF-007", "BACKOFF-007"]
    assert findings[1].message == f"{counted} delivered with offline=true, no seqNo gap"


def test_backoff007_offline_events_without_the_flag() -> None:
    w, _, _ = charging_outage(Wire(), [(2, 8, True), (3, 16, False), (4, 24, True)])
    w.wait(GRACE).heartbeat()

    findings = run(w.events, SEED, verdicts=True)
    assert rule_severities(findings) == [
        ("BACKOFF-007", Severity.INFO),
        ("TX-007", Severity.WARNING),
        ("BACKOFF-007", Severity.WARNING),
    ]
    assert findings[2].message == (
        "3 TransactionEvents from the offline period delivered, 1 without offline=true "
        f"(seqNo 3 of {TX}), no seqNo gap"
    )
    [episode] = observed(w.events, SEED).group(BackoffGroup).reconnects.episodes
    assert episode.delivery == OfflineDelivery(3, ((TX, 3),), (), 1)


def test_backoff007_offline_events_with_a_gap() -> None:
    w, _, _ = charging_outage(Wire(), [(2, 8, True), (4, 24, True)])  # seqNo 3 never comes
    periodic(w.wait(5), 5, 12700.0)
    w.wait(GRACE).heartbeat()

    findings = run(w.events, SEED, verdicts=True)
    assert rule_severities(findings) == [
        ("BACKOFF-007", Severity.INFO),
        ("BACKOFF-007", Severity.WARNING),
        ("TX-003", Severity.WARNING),  # at the end of the capture, the transaction still open
    ]
    assert findings[1].message == (
        f"2 offline TransactionEvents delivered with offline=true; seqNo gap: seqNo 3 of {TX} missing"
    )
    [episode] = observed(w.events, SEED).group(BackoffGroup).reconnects.episodes
    assert episode.delivery == OfflineDelivery(2, (), ((TX, 2, 4),), 1)


def test_backoff007_queue_lost_while_a_transaction_was_open() -> None:
    w, _, _ = charging_outage(Wire(), [])
    periodic(w.wait(1), 5, 12700.0)  # 2-4 were never delivered

    findings = verdicts(run(w.events, SEED, verdicts=True))
    assert [f.severity for f in findings] == [Severity.INFO, Severity.WARNING]
    assert findings[1].message == (
        f"no TransactionEvent from the offline period delivered; seqNo gap: seqNo 2-4 of {TX} missing"
    )


def test_backoff007_delivery_reviewed_at_the_end_of_a_short_capture() -> None:
    w, _, reconnected = charging_outage(Wire(), [(2, 8, True)])

    findings = verdicts(run(w.events, SEED, verdicts=True))
    assert [f.message for f in findings][1:] == [
        "1 offline TransactionEvent delivered with offline=true, no seqNo gap"
    ]
    assert findings[1].timestamp < reconnected + GRACE


# ---- short outages: a few seconds --------------------------------------------------------------


def test_backoff007_two_second_outage_says_the_wait_rests_on_the_timing_slack() -> None:
    """Back after one attempt 2 s after the loss: 1 s more than RetryBackOffWaitMinimum, which
    only the 1 s slack for the observer's timing excuses; the verdict says so."""
    w = online()
    outage(w, [2])
    w.wait(GRACE).heartbeat()

    findings = run(w.events, SEED, verdicts=True)
    assert rule_severities(findings) == [("BACKOFF-007", Severity.INFO)]
    assert findings[0].message == (
        "reconnected after 1 attempt (0 refused), wait 2.0 s; "
        f"expected 1-1 s ({SEED_SETTINGS}): compliant "
        "(attempt 1 1.0 s late: within the slack for the observer's timing)"
    )
    [episode] = observed(w.events, SEED).group(BackoffGroup).reconnects.episodes
    assert (episode.verdict, episode.compliant) == ("compliant", True)


def test_backoff007_usual_jitter_is_not_mentioned() -> None:
    w = online()
    outage(w, [1.004, 3.012])
    findings = run(w.events, SEED, verdicts=True)
    assert findings[0].message.endswith(": compliant")


def short_charging_outage(offline: bool) -> Wire:
    """Charging; the link drops for 3 s (back at the first attempt seen, 2 s late: BACKOFF-002,
    or after one unseen attempt: BACKOFF-005), and
    the meter sample taken 1.5 s into the outage is delivered after the reconnect."""
    w = started(Wire())
    periodic(w.wait(15), 1, 12600.0)
    lost = w.wait(5).now
    outage(w, [3])
    periodic(w.wait(0.5), 2, 12610.0, at=lost + 1.5 - w.now, offline=offline)
    periodic(w.wait(15), 3, 12700.0)
    return w.wait(GRACE).heartbeat()


def test_backoff007_three_second_outage_event_delivered_with_the_flag() -> None:
    findings = run(short_charging_outage(offline=True).events, SEED, verdicts=True)
    assert rule_ids(findings) == ["BACKOFF-002", "BACKOFF-005", "BACKOFF-007", "BACKOFF-007"]
    assert findings[3].message == (
        "1 offline TransactionEvent delivered with offline=true, no seqNo gap"
    )
    assert findings[3].severity is Severity.INFO


def test_backoff007_three_second_outage_event_delivered_without_the_flag() -> None:
    findings = run(short_charging_outage(offline=False).events, SEED, verdicts=True)
    assert rule_ids(findings) == [
        "BACKOFF-002",
        "BACKOFF-005",
        "BACKOFF-007",
        "TX-007",
        "BACKOFF-007",
    ]
    assert findings[4].message == (
        "1 TransactionEvent from the offline period delivered, 1 without offline=true "
        f"(seqNo 2 of {TX}), no seqNo gap"
    )
    assert findings[4].severity is Severity.WARNING


# ---- BACKOFF-004 / BACKOFF-005: why a first attempt came late (info; 004 a warning on 2.1) ---


def test_backoff004_back_off_continued_from_the_previous_outage() -> None:
    """RetryBackOffWaitMinimum 10 s: after an outage with two attempts (10, 20 s) the next
    outage's first wait is 40 s, attempt 3 of a continued back-off, instead of 10 s again.
    (40 s fits no run of unseen attempts either: 10 + 20 = 30, 10 + 20 + 40 = 70.)"""
    config = Config(backoff=Backoff(10, 0, 4))
    w = outage(online(), [10, 30])
    w.wait(20)
    outage(w, [40])

    findings = run(w.events, config)
    assert rule_severities(findings) == [
        ("BACKOFF-002", Severity.WARNING),
        ("BACKOFF-004", Severity.INFO),
    ]
    assert "fits attempt 3 of a back-off continued from the previous outage (2 attempts)" in (
        findings[1].message
    )
    assert findings[1].reference == "OCPP-J 2.0.1 §5.3, §8.1-8.3"


def test_backoff004_is_a_warning_on_ocpp21_whose_text_requires_the_reset() -> None:
    """OCPP-J 2.1 §5.4: "After a successful connection the backoff wait timer SHALL be reset to
    RetryBackOffWaitMinimum seconds" (2.0.1 §5.3 has no such sentence: info there)."""
    config = Config(backoff=Backoff(10, 0, 4))
    w = outage(online(Wire21()), [10, 30])
    w.wait(20)
    outage(w, [40])

    findings = run(w.events, config)
    assert rule_severities(findings) == [
        ("BACKOFF-002", Severity.WARNING),
        ("BACKOFF-004", Severity.WARNING),
    ]
    assert findings[1].reference == "OCPP-J 2.1 §5.4, §8.1-8.3"


@pytest.mark.parametrize("wire", [Wire, Wire21], ids=["ocpp2.0.1", "ocpp2.1"])
def test_backoff_reset_after_the_successful_connection_is_fine(wire: type[Wire]) -> None:
    """The second outage starts again at RetryBackOffWaitMinimum: 10 s, then 20 s."""
    config = Config(backoff=Backoff(10, 0, 4))
    w = outage(online(wire()), [10, 30])
    w.wait(20)
    outage(w, [10, 30])

    assert run(w.events, config) == []


def test_backoff004_not_raised_when_the_wait_fits_no_continued_back_off() -> None:
    """Late, but 40 s fits neither attempt 6 (16 s) nor unseen attempts exactly: BACKOFF-002 alone."""
    w = outage(online(), SEED_ATTEMPTS)
    w.wait(20)
    outage(w, [40])

    assert rule_ids(run(w.events, SEED)) == ["BACKOFF-002"]


def test_backoff005_late_reconnect_fits_attempts_the_observer_did_not_see() -> None:
    """Back after 7 s with no refusal seen: attempts at 1 and 3 s never reached the observer."""
    w = outage(online(), [7])

    findings = run(w.events, SEED)
    assert rule_severities(findings) == [
        ("BACKOFF-002", Severity.WARNING),
        ("BACKOFF-005", Severity.INFO),
    ]
    assert "fit 3 attempts (7-7 s): 2 may have failed" in findings[1].message
    assert findings[1].details == {"unseen_attempts": 2}


def test_backoff005_not_raised_when_the_refused_attempts_were_seen() -> None:
    """The observer saw the station's refused attempts: nothing is left to explain."""
    w = outage(online(), [1, 3, 7, 30, 46])

    assert rule_ids(run(w.events, SEED)) == ["BACKOFF-003"]
