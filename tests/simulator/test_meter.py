"""Energy follows physics: the integral of power over time."""

from __future__ import annotations

import itertools

import pytest

from simulator.meter import Meter


def test_100_kw_for_30_s_is_833_wh() -> None:
    meter = Meter(max_power_kw=100.0, register_wh=1_000_000.0)
    meter.start_session()
    meter.advance(30)
    assert meter.register_wh == pytest.approx(1_000_833.33, abs=0.01)
    assert meter.session_kwh == pytest.approx(0.8333, abs=1e-4)


def test_a_limit_caps_the_power_and_the_energy() -> None:
    meter = Meter(max_power_kw=100.0, limit_kw=50.0)
    meter.start_session()
    assert meter.power_kw() == 50.0
    meter.advance(36)
    assert meter.session_kwh == pytest.approx(0.5)


def test_a_limit_above_the_rating_changes_nothing() -> None:
    assert Meter(max_power_kw=50.0, limit_kw=150.0).power_kw() == 50.0


def test_power_tapers_near_the_target_and_stops_at_it() -> None:
    meter = Meter(max_power_kw=100.0)
    meter.start_session(target_kwh=1.0)
    powers = []
    for _ in range(200):
        powers.append(meter.power_kw())
        meter.advance(1)
    assert powers[0] == 100.0
    assert all(later <= earlier for earlier, later in itertools.pairwise(powers))
    assert meter.session_kwh <= 1.0 + 1e-9
    assert meter.session_kwh > 0.95
    assert powers[-1] == 0.0


def test_the_register_never_resets_between_sessions() -> None:
    meter = Meter(max_power_kw=100.0)
    meter.start_session()
    meter.advance(36)
    meter.start_session()
    meter.advance(36)
    assert meter.register_wh == pytest.approx(2000.0)
    assert meter.session_kwh == pytest.approx(1.0)
