"""The scenarios' judgements on hand-made evidence: each check passes on what a correct lab
records and fails, saying why, on what a broken one records; numbers scale with --speed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scenarios import check_commands, check_common, check_fleet, check_outage, check_sessions
from scenarios.model import (
    CsmsConnection,
    Evidence,
    Finding,
    LinkEvent,
    Message,
    PowerReading,
    RunWindow,
    Transaction,
    TransactionEvent,
)

T0 = datetime(2026, 1, 21, 15, 30, 45, tzinfo=UTC)
CHARGER = "emart_jeju_01"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def window(
    speed: float = 1.0, seconds: float = 60, chargers: tuple[str, ...] = (CHARGER,)
) -> RunWindow:
    return RunWindow(T0, at(seconds), speed, chargers)


def call(
    seconds: float, action: str, message_id: str, payload: object = None, **kw: Any
) -> Message:
    return Message(
        at(seconds), kw.pop("charger", CHARGER), kw.pop("direction", "charger_to_csms"), "CALL",
        action, message_id, payload or {}, **kw,
    )  # fmt: skip


def result(
    seconds: float, action: str, message_id: str, payload: object = None, **kw: Any
) -> Message:
    return Message(
        at(seconds), kw.pop("charger", CHARGER), kw.pop("direction", "csms_to_charger"),
        "CALLRESULT", action, message_id, payload or {}, **kw,
    )  # fmt: skip


def session(
    energy_kwh: float = 0.8333,
    duration: int = 30,
    gaps: tuple[float, ...] = (5,) * 6,
    seq_nos: list[int] | None = None,
    offline: tuple[int, ...] = (),
    **kw: object,
) -> Transaction:
    moments = [0.0]
    for gap in gaps:
        moments.append(moments[-1] + gap)
    types = ["Started", *["Updated"] * (len(moments) - 2), "Ended"]
    numbers = seq_nos if seq_nos is not None else list(range(len(moments)))
    events = tuple(
        TransactionEvent(n, kind, at(m), n in offline)
        for n, kind, m in zip(numbers, types, moments, strict=True)
    )
    fields: dict[str, Any] = {
        "transaction_id": "TX-1",
        "charger_id": CHARGER,
        "energy_kwh": energy_kwh,
        "cost": round(energy_kwh * 150, 2),
        "duration_seconds": duration,
        "start_time": T0,
        "end_time": at(duration),
        "events": events,
    }
    return Transaction(**{**fields, **kw})


RATED = {CHARGER: 100.0}


# ---- building blocks -----------------------------------------------------------------------------


def test_zero_lost_messages_names_the_unanswered_call_and_the_dropped_frame() -> None:
    answered = Evidence(messages=(call(1, "Heartbeat", "a"), result(1.01, "Heartbeat", "a")))
    assert check_common.calls_answered(answered).passed
    lost = Evidence(
        messages=(
            call(1, "Heartbeat", "a"),
            call(2, "TransactionEvent", "b", status="dropped"),
            call(3, "TransactionEvent", "c"),
            result(3.01, "TransactionEvent", "c"),
        )
    )
    verdict = check_common.calls_answered(lost)
    assert not verdict.passed
    assert "Heartbeat CALL a of emart_jeju_01 (charger_to_csms) unanswered" in verdict.observed
    assert "TransactionEvent CALL of emart_jeju_01 dropped in transit" in verdict.observed


def test_seq_no_gaps_and_tx_003_fail_a_complete_transaction_passes() -> None:
    assert check_common.seq_numbers_contiguous(Evidence(transactions=(session(),))).passed
    gap = check_common.seq_numbers_contiguous(
        Evidence(transactions=(session(seq_nos=[0, 2, 3, 4, 5, 6, 7]),))
    )
    assert not gap.passed and "TX-1: seqNo [1] missing (TX-003)" in gap.observed
    finding = Finding(at(5), CHARGER, "TX-003", "warning", "seqNo 2 follows 0: 1 missing")
    flagged = check_common.seq_numbers_contiguous(
        Evidence(transactions=(session(),), findings=(finding,))
    )
    assert not flagged.passed and "TX-003 emart_jeju_01: seqNo 2 follows 0" in flagged.observed
    assert not check_common.seq_numbers_contiguous(Evidence()).passed  # nothing to judge is no PASS


def test_energy_is_power_times_simulated_time_not_the_guides_1_67_kwh() -> None:
    evidence = Evidence(ratings=RATED)
    assert check_common.energy_is_power_times_time(evidence, [session(0.8333)]).passed
    guide = check_common.energy_is_power_times_time(evidence, [session(1.67)])
    assert not guide.passed
    assert "1.6700 kWh, 100 kW x 30 s = 0.8333 kWh" in guide.observed
    assert not check_common.energy_is_power_times_time(evidence, []).passed


def test_cost_is_energy_times_150_krw() -> None:
    assert check_sessions.cost_is_energy_times_price(session(0.8333, cost=125.0)).passed
    wrong = check_sessions.cost_is_energy_times_price(session(0.8333, cost=166.66))
    assert not wrong.passed and wrong.observed == "166.66 KRW"
    assert not check_sessions.cost_is_energy_times_price(None).passed


def test_updated_every_5_s_between_started_and_ended() -> None:
    assert check_sessions.meter_every_interval(session()).passed
    late = check_sessions.meter_every_interval(session(gaps=(5, 5, 10, 5, 5)))
    assert not late.passed and "gaps 5, 5, 10, 5, 5 s" in late.observed
    assert not check_sessions.meter_every_interval(session(gaps=(30,))).passed  # no Updated at all
    assert not check_sessions.meter_every_interval(None).passed


@pytest.mark.parametrize(("duration", "passed"), [(29, True), (30, True), (31, True), (32, False)])
def test_duration_30_s_within_1_s(duration: int, passed: bool) -> None:
    assert check_sessions.duration_is(session(duration=duration), 30).passed is passed


def test_only_error_findings_fail() -> None:
    warning = Finding(at(1), CHARGER, "TX-014", "warning", "timestamp 20 s in the future")
    error = Finding(at(1), CHARGER, "BOOT-001", "error", "Heartbeat before boot")
    assert check_common.no_serious_findings(Evidence(findings=(warning,))).passed
    failed = check_common.no_serious_findings(Evidence(findings=(warning, error)))
    assert not failed.passed and failed.observed == "BOOT-001 emart_jeju_01: Heartbeat before boot"


# ---- scenario 1 --------------------------------------------------------------------------------


def booted(heartbeat_after: float, interval: int = 30) -> Evidence:
    return Evidence(
        messages=(
            call(0.0, "BootNotification", "b"),
            result(0.01, "BootNotification", "b", {"status": "Accepted", "interval": interval}),
            call(0.01 + heartbeat_after, "Heartbeat", "h"),
            result(0.02 + heartbeat_after, "Heartbeat", "h"),
        ),
        csms_connections=(CsmsConnection(at(0), CHARGER, "connected"),),
    )


def test_scenario_1_passes_at_speed_10_with_the_first_heartbeat_3_real_seconds_after_boot() -> None:
    verdicts = check_sessions.scenario_1(booted(3.0), window(speed=10))
    assert [c.name for c in verdicts] == [
        "connected",
        "BootNotification",
        "heartbeats begin",
        "no conformance errors",
    ]
    assert all(c.passed for c in verdicts), verdicts


def test_scenario_1_the_same_heartbeat_in_real_time_is_far_too_early() -> None:
    heartbeat = check_sessions.scenario_1(booted(3.0), window(speed=1))[2]
    assert not heartbeat.passed and "the first 3.0 s after the boot" in heartbeat.observed


def test_scenario_1_wants_interval_30() -> None:
    boot = check_sessions.scenario_1(booted(60.0, interval=60), window())[1]
    assert not boot.passed and boot.observed == "Accepted, interval 60"


# ---- scenario 3 --------------------------------------------------------------------------------


def limited(powers: list[float], limit_w: float = 50_000) -> Evidence:
    profile = {
        "evseId": 1,
        "chargingProfile": {
            "chargingSchedule": [
                {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"limit": limit_w}]}
            ]
        },
    }
    return Evidence(
        messages=(
            call(10, "SetChargingProfile", "p", profile, direction="csms_to_charger"),
            result(10.01, "SetChargingProfile", "p", {"status": "Accepted"}, direction="x"),
        ),
        power=tuple(
            PowerReading(at(5 * n), CHARGER, "Occupied", kw) for n, kw in enumerate(powers)
        ),
    )


def test_power_limit_to_50_kw_is_seen_in_the_readings() -> None:
    assert check_commands.power_limited(limited([100, 100, 50, 50, 0]), session()).passed
    ignored = check_commands.power_limited(limited([100, 100, 100, 100, 0]), session())
    assert not ignored.passed and "power 100" in ignored.observed
    other = check_commands.power_limited(limited([100, 75, 0], limit_w=75_000), session())
    assert not other.passed and other.observed.startswith("75 kW Accepted")


# ---- scenario 4 --------------------------------------------------------------------------------

FIVE = ("emart_jeju_01", "emart_jeju_02", "emart_jeju_03", "emart_shinjeju_01", "emart_shinjeju_02")
FIVE_RATED = dict(zip(FIVE, (100.0, 100.0, 100.0, 50.0, 50.0), strict=True))


def test_power_together_is_the_sum_of_the_ratings_at_one_moment() -> None:
    readings = [PowerReading(at(i * 0.1), c, "Occupied", FIVE_RATED[c]) for i, c in enumerate(FIVE)]
    together = Evidence(power=tuple(readings), ratings=FIVE_RATED)
    verdict = check_fleet.power_together(together, window(chargers=FIVE))
    assert verdict.passed and verdict.expected.startswith("400 kW")
    # the first charger stops before the last starts: never 400 kW at once
    staggered = Evidence(
        power=(*readings[:4], PowerReading(at(0.35), FIVE[0], "Occupied", 0), readings[4]),
        ratings=FIVE_RATED,
    )
    assert check_fleet.peak_power_kw(staggered) == 350
    assert not check_fleet.power_together(staggered, window(chargers=FIVE)).passed


def test_response_time_judges_the_95th_percentile_of_the_csms_answers() -> None:
    def answers(rtts: list[float]) -> Evidence:
        return Evidence(
            messages=tuple(
                result(n, "TransactionEvent", str(n), rtt_ms=rtt) for n, rtt in enumerate(rtts)
            )
        )

    one_slow = check_fleet.response_time(answers([10.0] * 19 + [250.0]))
    assert one_slow.passed and "max 250.0 ms" in one_slow.observed
    slow = check_fleet.response_time(answers([10.0] * 18 + [150.0, 250.0]))
    assert not slow.passed and slow.observed.startswith("p95 150.0 ms")
    assert not check_fleet.response_time(Evidence()).passed


# ---- scenario 5 --------------------------------------------------------------------------------


def outage_links(real_waits: list[float], charger: str = CHARGER) -> tuple[LinkEvent, ...]:
    events = [LinkEvent(at(0), charger, "open"), LinkEvent(at(5), charger, "close", "csms")]
    moment = 5.0
    for number, wait in enumerate(real_waits, 1):
        moment += wait
        last = number == len(real_waits)
        events.append(LinkEvent(at(moment), charger, "open" if last else "refused"))
    return tuple(events)


@pytest.mark.parametrize(
    ("speed", "real_waits", "passed"),
    [
        pytest.param(1, [1.01, 2.0, 4.02, 8.01], True, id="real-time"),
        pytest.param(10, [0.112, 0.21, 0.407, 0.811], True, id="speed-10-as-measured"),
        pytest.param(1, [0.112, 0.21, 0.407, 0.811], False, id="same-waits-real-time"),
        pytest.param(10, [0.0, 0.2, 0.4, 0.8], False, id="no-back-off"),
        pytest.param(10, [0.1, 0.1, 0.1, 0.1, 0.1], False, id="no-doubling"),
        pytest.param(1, [1.0, 2.0, 4.0, 9.5], False, id="last-late"),
    ],
)
def test_back_off_waits_scale_with_speed(
    speed: float, real_waits: list[float], passed: bool
) -> None:
    evidence = Evidence(links=outage_links(real_waits))
    verdict = check_outage.reconnect_waits(evidence, window(speed))
    assert verdict.passed is passed, verdict


def test_a_charger_the_outage_never_cut_fails_the_back_off_check() -> None:
    evidence = Evidence(links=(LinkEvent(at(0), CHARGER, "open"),))
    verdict = check_outage.reconnect_waits(evidence, window())
    assert not verdict.passed and verdict.observed == "emart_jeju_01: never cut"


def test_boot_and_operation_after_the_reconnect() -> None:
    links = outage_links([1, 2, 4, 8])  # reopened at 20 s
    after = (
        call(20.1, "BootNotification", "b2"),
        result(20.11, "BootNotification", "b2", {"status": "Accepted", "interval": 30}),
        call(20.2, "StatusNotification", "s2"),
    )
    unanswered = Evidence(links=links, messages=after)
    assert check_outage.boot_after_reconnect(unanswered, window()).passed
    resumed = check_outage.operation_resumes(unanswered, window())
    assert (
        not resumed.passed and resumed.observed == "emart_jeju_01: unanswered: StatusNotification"
    )
    answered = Evidence(links=links, messages=(*after, result(20.21, "StatusNotification", "s2")))
    assert check_outage.operation_resumes(answered, window()).passed
    no_boot = check_outage.boot_after_reconnect(Evidence(links=links, messages=after[2:]), window())
    assert not no_boot.passed and no_boot.observed == "emart_jeju_01: no BootNotification"


def test_energy_across_the_outage_needs_replayed_offline_events_and_all_the_energy() -> None:
    replayed = session(energy_kwh=0.8333, offline=(2, 3))
    verdict = check_outage.energy_across_outage(Evidence(transactions=(replayed,), ratings=RATED))
    assert verdict.passed and verdict.observed.startswith("2 offline events replayed")
    short = session(energy_kwh=0.6944, offline=(2, 3))  # 25 s of energy for 30 s
    assert not check_outage.energy_across_outage(
        Evidence(transactions=(short,), ratings=RATED)
    ).passed
    online = check_outage.energy_across_outage(Evidence(transactions=(session(),), ratings=RATED))
    assert not online.passed and online.observed == "no transaction with offline events"
