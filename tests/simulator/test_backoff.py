"""The simulator's reconnect schedule, held against what the conformance engine accepts."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from proxy.ocppj.checks.backoff import wait_bounds
from proxy.ocppj.state import Backoff
from simulator.backoff import SEED_GUIDE, Reconnect


def test_the_seed_guides_schedule_is_1_2_4_8_16_then_16() -> None:
    schedule = Reconnect(SEED_GUIDE)
    assert [schedule.next_wait() for _ in range(7)] == [1, 2, 4, 8, 16, 16, 16]


def test_a_connection_starts_the_schedule_over() -> None:
    schedule = Reconnect(SEED_GUIDE)
    for _ in range(3):
        schedule.next_wait()
    schedule.connected()
    assert schedule.next_wait() == 1


@given(
    wait_minimum=st.floats(0.1, 60),
    random_range=st.floats(0, 30),
    repeat_times=st.integers(0, 8),
    seed=st.integers(0, 2**32),
)
def test_every_wait_is_one_the_engine_accepts(
    wait_minimum: float, random_range: float, repeat_times: int, seed: int
) -> None:
    policy = Backoff(wait_minimum, random_range, repeat_times)
    schedule = Reconnect(policy, random.Random(seed))
    for attempt in range(1, 13):
        lower, upper = wait_bounds(wait_minimum, random_range, repeat_times, attempt)
        wait = schedule.next_wait()
        assert lower - 1e-9 <= wait <= upper + 1e-9, (attempt, wait, lower, upper)


def test_each_schedule_has_its_own_policy() -> None:
    """SetVariables on one station changes its policy in place, and no other station's."""
    one, other = Reconnect(), Reconnect()
    one.policy.wait_minimum = 30.0
    assert other.policy.wait_minimum == 1.0
