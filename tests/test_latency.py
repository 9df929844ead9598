"""proxy.latency.LatencyBook: percentiles over a bounded window, counts and timeouts."""

from __future__ import annotations

import random

import pytest

from proxy import latency
from proxy.latency import LatencyBook, LatencyRow
from proxy.ocppj.actions import Direction

UP, DOWN = Direction.CHARGER_TO_CSMS, Direction.CSMS_TO_CHARGER


def test_empty_book_has_no_rows() -> None:
    assert LatencyBook().rows() == []


def test_percentiles_in_milliseconds() -> None:
    book = LatencyBook()
    values = [n / 1000 for n in range(1, 101)]  # 1 ms .. 100 ms
    random.Random(7).shuffle(values)
    for seconds in values:
        book.record("Heartbeat", UP, seconds)
    [row] = book.rows()
    assert row == LatencyRow("Heartbeat", UP, 100, row.p50_ms, row.p99_ms, 0)
    assert row.p50_ms == pytest.approx(51.0)
    assert row.p99_ms == pytest.approx(100.0)


def test_single_value_is_every_percentile() -> None:
    book = LatencyBook()
    book.record("Authorize", UP, 0.0125)
    [row] = book.rows()
    assert row.count == 1
    assert row.p50_ms == pytest.approx(12.5)
    assert row.p99_ms == pytest.approx(12.5)


def test_p99_catches_the_slow_tail() -> None:
    book = LatencyBook()
    for _ in range(990):
        book.record("MeterValues", UP, 0.002)
    for _ in range(10):
        book.record("MeterValues", UP, 0.9)
    [row] = book.rows()
    assert row.p50_ms == pytest.approx(2.0)
    assert row.p99_ms == pytest.approx(900.0)


def test_rows_by_action_and_caller_sorted() -> None:
    book = LatencyBook()
    book.record("Heartbeat", UP, 0.01)
    book.record("GetVariables", DOWN, 0.2)
    book.record("Authorize", UP, 0.03)
    book.record("Authorize", DOWN, 0.04)  # same action, other caller: its own row
    keys = [(row.action, row.caller) for row in book.rows()]
    assert keys == [
        ("Authorize", UP),
        ("Authorize", DOWN),
        ("GetVariables", DOWN),
        ("Heartbeat", UP),
    ]
    assert {(row.action, row.caller): row.p50_ms for row in book.rows()}[
        ("GetVariables", DOWN)
    ] == pytest.approx(200.0)


def test_window_is_bounded_but_count_is_total() -> None:
    book = LatencyBook()
    for _ in range(latency.WINDOW):
        book.record("Heartbeat", UP, 5.0)  # old and slow: falls out of the window
    for _ in range(latency.WINDOW):
        book.record("Heartbeat", UP, 0.001)
    [row] = book.rows()
    assert row.count == 2 * latency.WINDOW
    assert row.p50_ms == pytest.approx(1.0)
    assert row.p99_ms == pytest.approx(1.0)
    series = next(iter(book._series.values()))
    assert len(series.recent) == latency.WINDOW


def test_timeouts_counted_apart_from_round_trips() -> None:
    book = LatencyBook()
    book.timed_out("GetVariables", DOWN)
    book.timed_out("GetVariables", DOWN)
    [row] = book.rows()
    assert row == LatencyRow("GetVariables", DOWN, 0, None, None, 2)
    book.record("GetVariables", DOWN, 0.5)
    [row] = book.rows()
    assert (row.count, row.timeouts) == (1, 2)
    assert row.p50_ms == pytest.approx(500.0)


def test_timeout_of_other_caller_is_its_own_row() -> None:
    book = LatencyBook()
    book.record("Heartbeat", UP, 0.01)
    book.timed_out("Heartbeat", DOWN)
    rows = {row.caller: row for row in book.rows()}
    assert rows[UP].timeouts == 0 and rows[UP].count == 1
    assert rows[DOWN].timeouts == 1 and rows[DOWN].count == 0
