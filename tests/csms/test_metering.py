"""csms/metering.py: energy, power, duration and cost of a transaction from its events, checked
against hand computation. Pure code: no sockets, no database."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csms.metering import Transaction, Usage, event_from_request, samples
from tests.csms.sim import REGISTER_START_WH, ocpp_time, session_events, transaction_event

T0 = datetime(2024, 1, 21, 15, 30, 45, tzinfo=UTC)
PRICE = 150.0


def usage_of(payloads: list[dict[str, Any]], price: float = PRICE) -> Usage:
    transaction: Transaction | None = None
    for payload in payloads:
        transaction_id, event = event_from_request(payload)
        transaction = transaction or Transaction(transaction_id)
        assert transaction.transaction_id == transaction_id
        transaction.add(event)
    assert transaction is not None
    return transaction.usage(price)


def with_sampled(payload: dict[str, Any], sampled: list[dict[str, Any]]) -> dict[str, Any]:
    """`payload` with its one meter value's sampledValue replaced."""
    changed = copy.deepcopy(payload)
    changed["meterValue"] = [{"timestamp": payload["timestamp"], "sampledValue": sampled}]
    return changed


def test_100_kw_for_30_s_in_wh_is_0_8333_kwh_and_125_krw() -> None:
    # By hand: 100 kW x 30 s / 3600 s/h = 0.8333... kWh; x 150 KRW/kWh = 125.00 KRW.
    usage = usage_of(session_events("TX-1", T0, power_kw=100, seconds=30))
    assert usage.transaction_id == "TX-1"
    assert usage.energy_kwh == 0.8333
    assert usage.cost == 125.0
    assert usage.duration_seconds == 30
    assert usage.start_time == T0
    assert usage.end_time == T0 + timedelta(seconds=30)
    assert usage.ended
    assert usage.power_kw == 0.0
    assert usage.stopped_reason == "Local"
    assert usage.id_token == "TAG-0001"
    assert usage.evse_id == 1


def test_50_kw_for_30_s_is_half_of_that() -> None:
    # 50 x 30 / 3600 = 0.41666... kWh -> 0.4167; x 150 = 62.50 KRW.
    usage = usage_of(session_events("TX-1", T0, power_kw=50, seconds=30))
    assert (usage.energy_kwh, usage.cost, usage.duration_seconds) == (0.4167, 62.5, 30)


def test_cost_is_rounded_from_the_unrounded_energy() -> None:
    # 7.4 kW x 30 s = 0.061666... kWh: cost 9.25 KRW (0.0617 x 150 would give 9.255 -> 9.26).
    usage = usage_of(session_events("TX-1", T0, power_kw=7.4, seconds=30))
    assert usage.energy_kwh == 0.0617
    assert usage.cost == 9.25


def test_the_price_is_a_parameter() -> None:
    usage = usage_of(session_events("TX-1", T0, power_kw=100, seconds=30), price=300.0)
    assert usage.cost == 250.0


def _rescaled(payloads: list[dict[str, Any]], unit: dict[str, Any], factor: float) -> list:
    """The same session with the energy register in another unit (values x factor)."""
    changed = copy.deepcopy(payloads)
    for payload in changed:
        for meter_value in payload.get("meterValue", ()):
            for sampled in meter_value["sampledValue"]:
                if sampled["measurand"] == "Energy.Active.Import.Register":
                    sampled["value"] *= factor
                    sampled["unitOfMeasure"] = unit
    return changed


def test_register_in_kwh() -> None:
    in_kwh = _rescaled(session_events("TX-1", T0), {"unit": "kWh"}, 0.001)
    assert in_kwh[0]["meterValue"][0]["sampledValue"][0]["value"] == 1000.0
    usage = usage_of(in_kwh)
    assert (usage.energy_kwh, usage.cost) == (0.8333, 125.0)


def test_register_with_a_multiplier() -> None:
    # unit Wh, multiplier 3: the values are in units of 10^3 Wh.
    with_multiplier = _rescaled(session_events("TX-1", T0), {"unit": "Wh", "multiplier": 3}, 0.001)
    usage = usage_of(with_multiplier)
    assert (usage.energy_kwh, usage.cost) == (0.8333, 125.0)


def test_a_negative_multiplier_divides() -> None:
    # unit Wh, multiplier -1: the values are in tenths of a Wh.
    tenths = _rescaled(session_events("TX-1", T0), {"unit": "Wh", "multiplier": -1}, 10)
    assert usage_of(tenths).energy_kwh == 0.8333


def test_a_sampled_value_without_measurand_is_the_energy_register() -> None:
    payloads = [
        with_sampled(payload, [{"value": payload["meterValue"][0]["sampledValue"][0]["value"]}])
        for payload in session_events("TX-1", T0)
    ]
    assert "measurand" not in payloads[0]["meterValue"][0]["sampledValue"][0]
    usage = usage_of(payloads)
    assert (usage.energy_kwh, usage.cost) == (0.8333, 125.0)


def test_other_measurands_are_ignored() -> None:
    payloads = session_events("TX-1", T0)
    for payload in payloads:
        payload["meterValue"][0]["sampledValue"].append(
            {"value": 400.0, "measurand": "Voltage", "unitOfMeasure": {"unit": "V"}}
        )
        payload["meterValue"][0]["sampledValue"].append(
            {"value": 55.0, "measurand": "SoC", "unitOfMeasure": {"unit": "Percent"}}
        )
    assert usage_of(payloads).energy_kwh == 0.8333


def _power_reading(sampled: list[dict[str, Any]]) -> float | None:
    readings = samples([{"timestamp": ocpp_time(T0), "sampledValue": sampled}])
    assert len(readings) == 1
    return readings[0].power_kw


def test_power_in_w_and_in_kw() -> None:
    measurand = "Power.Active.Import"
    in_w = [{"value": 100000, "measurand": measurand, "unitOfMeasure": {"unit": "W"}}]
    in_kw = [{"value": 100, "measurand": measurand, "unitOfMeasure": {"unit": "kW"}}]
    default_unit = [{"value": 100000, "measurand": measurand}]
    assert _power_reading(in_w) == pytest.approx(100.0)
    assert _power_reading(in_kw) == pytest.approx(100.0)
    assert _power_reading(default_unit) == pytest.approx(100.0)


def test_per_phase_power_is_summed_when_there_is_no_total() -> None:
    phases = [
        {"value": value, "measurand": "Power.Active.Import", "phase": phase}
        for phase, value in (("L1", 33000), ("L2", 33500), ("L3", 33500))
    ]
    assert _power_reading(phases) == pytest.approx(100.0)
    total = {"value": 90000, "measurand": "Power.Active.Import"}
    assert _power_reading([*phases, total]) == pytest.approx(90.0)
    assert _power_reading([total, *phases]) == pytest.approx(90.0)


def test_a_running_transaction_reports_its_latest_power_and_energy() -> None:
    running = session_events("TX-1", T0, power_kw=50, seconds=30)[:-1]  # no Ended yet
    usage = usage_of(running)
    assert not usage.ended
    assert usage.end_time is None
    assert usage.power_kw == pytest.approx(50.0)
    # Latest Updated at 25 s: 50 x 25 / 3600 = 0.34722... kWh.
    assert usage.energy_kwh == 0.3472
    assert usage.duration_seconds == 25


def test_duration_comes_from_the_started_and_ended_timestamps() -> None:
    # No meter values at all: duration is still Ended - Started.
    payloads = [
        transaction_event("Started", 0, T0, "TX-1"),
        transaction_event("Ended", 1, T0 + timedelta(minutes=42, seconds=7), "TX-1"),
    ]
    usage = usage_of(payloads)
    assert usage.duration_seconds == 42 * 60 + 7
    assert usage.energy_kwh == 0.0
    assert usage.cost == 0.0


def test_offline_replay_in_shuffled_seq_no_order_gives_the_same_usage() -> None:
    live = usage_of(session_events("TX-1", T0))
    replayed = session_events("TX-1", T0, offline=True)
    assert all(payload["offline"] is True for payload in replayed)
    for seed in range(5):
        shuffled = list(replayed)
        random.Random(seed).shuffle(shuffled)
        assert usage_of(shuffled) == live


def test_a_repeated_ended_changes_nothing() -> None:
    events = session_events("TX-1", T0)
    once = usage_of(events)
    assert usage_of([*events, copy.deepcopy(events[-1])]) == once
    assert usage_of([*events, copy.deepcopy(events[-1]), copy.deepcopy(events[-1])]) == once


def test_a_transaction_without_started_still_gives_a_record() -> None:
    events = session_events("TX-1", T0)[1:]  # Updated at 5..25 s, Ended at 30 s
    usage = usage_of(events)
    assert usage.ended
    assert usage.start_time == T0 + timedelta(seconds=5)
    assert usage.duration_seconds == 25
    # 100 kW from 5 s to 30 s: 100 x 25 / 3600 = 0.69444... kWh, 104.17 KRW.
    assert usage.energy_kwh == 0.6944
    assert usage.cost == 104.17


def test_only_an_ended_gives_a_record_with_no_energy() -> None:
    usage = usage_of(session_events("TX-1", T0)[-1:])
    assert usage.ended
    assert (usage.energy_kwh, usage.cost, usage.duration_seconds) == (0.0, 0.0, 0)


def test_a_register_that_goes_backwards_gives_no_energy_not_negative() -> None:
    payloads = [
        transaction_event("Started", 0, T0, "TX-1", register_wh=REGISTER_START_WH),
        transaction_event(
            "Ended", 1, T0 + timedelta(seconds=30), "TX-1", register_wh=REGISTER_START_WH - 500
        ),
    ]
    usage = usage_of(payloads)
    assert usage.energy_kwh == 0.0
    assert usage.cost == 0.0
    assert usage.duration_seconds == 30


@settings(max_examples=60, deadline=None)
@given(
    power_kw=st.sampled_from([3.7, 7.4, 11.0, 22.0, 50.0, 100.0, 150.0, 350.0]),
    seconds=st.integers(min_value=1, max_value=24).map(lambda n: n * 5),
    order=st.randoms(use_true_random=False),
    repeats=st.lists(st.integers(min_value=0, max_value=30), max_size=4),
)
def test_any_order_of_a_sessions_events_gives_the_same_usage(
    power_kw: float, seconds: int, order: random.Random, repeats: list[int]
) -> None:
    events = session_events("TX-P", T0, power_kw=power_kw, seconds=seconds)
    expected = usage_of(events)
    assert expected.duration_seconds == seconds
    assert expected.energy_kwh == pytest.approx(
        power_kw * seconds / 3600, abs=1e-4
    )  # rounding to 4 decimals, float
    assert expected.cost == pytest.approx(
        power_kw * seconds / 3600 * PRICE, abs=0.01
    )  # rounding to 2
    replayed = [copy.deepcopy(e) for e in events] + [
        copy.deepcopy(events[i % len(events)]) for i in repeats
    ]
    for payload in replayed:
        payload["offline"] = True
    order.shuffle(replayed)
    assert usage_of(replayed) == expected
