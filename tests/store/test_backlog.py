"""The store's bounded queue (proxy/store/backlog.py): rows leave only once committed, the oldest
first, and when it is full new rows are discarded and counted, never the ones waiting."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.store.backlog import Backlog, DiscardWindow, Pending
from proxy.store.records import Table


def pending(n: int) -> Pending:
    """A distinguishable queued row; its queue time is its number."""
    return Pending(Table.MESSAGES, (n,), float(n))


def numbers(rows: list[Pending]) -> list[object]:
    return [row.row[0] for row in rows]


def filled(capacity: int, count: int) -> Backlog:
    backlog = Backlog(capacity)
    for n in range(count):
        assert backlog.put(pending(n), 1000.0 + n)
    return backlog


def test_peek_does_not_remove() -> None:
    backlog = filled(10, 3)
    assert numbers(backlog.peek(2)) == [0, 1]
    assert numbers(backlog.peek(10)) == [0, 1, 2]
    assert len(backlog) == 3


def test_commit_removes_the_oldest_first() -> None:
    backlog = filled(10, 5)
    backlog.commit(2)
    assert numbers(backlog.peek(10)) == [2, 3, 4]
    assert backlog.oldest_queued_at() == 2.0
    backlog.commit(3)
    assert len(backlog) == 0
    assert backlog.oldest_queued_at() is None


def test_a_full_backlog_refuses_new_rows_and_keeps_the_waiting_ones() -> None:
    backlog = filled(3, 3)
    assert backlog.window is None
    assert not backlog.put(pending(100), 2000.0)
    assert not backlog.put(pending(101), 2001.5)
    assert not backlog.put(pending(102), 2003.0)
    assert numbers(backlog.peek(10)) == [0, 1, 2]
    assert backlog.discarded == 3
    assert backlog.window == DiscardWindow(first_at=2000.0, last_at=2003.0, records=3)


def test_take_window_hands_over_the_discards_once() -> None:
    """The count since start stays; the window restarts with the next discard."""
    backlog = filled(1, 1)
    backlog.put(pending(1), 10.0)
    assert backlog.take_window() == DiscardWindow(10.0, 10.0, 1)
    assert backlog.take_window() is None
    backlog.put(pending(2), 20.0)
    assert backlog.window == DiscardWindow(20.0, 20.0, 1)
    assert backlog.discarded == 2


def test_room_made_by_commit_is_usable_again() -> None:
    backlog = filled(2, 2)
    assert not backlog.put(pending(2), 0.0)
    backlog.commit(1)
    assert backlog.put(pending(3), 0.0)
    assert numbers(backlog.peek(10)) == [1, 3]


def test_put_anyway_goes_past_the_bound() -> None:
    """The record of a discard must not itself be discarded."""
    backlog = filled(2, 2)
    backlog.put_anyway(pending(99))
    assert len(backlog) == 3
    assert numbers(backlog.peek(10)) == [0, 1, 99]
    assert backlog.discarded == 0
    assert not backlog.put(pending(100), 0.0)


@pytest.mark.parametrize("capacity", [0, -1])
def test_a_capacity_below_one_is_refused(capacity: int) -> None:
    with pytest.raises(ValueError, match="at least one row"):
        Backlog(capacity)


_OPERATIONS = st.lists(
    st.one_of(
        st.just(("put", 0)),
        st.tuples(st.just("peek"), st.integers(0, 12)),
        st.tuples(st.just("commit"), st.integers(0, 12)),
    ),
    max_size=200,
)


@given(capacity=st.integers(1, 10), operations=_OPERATIONS)
def test_rows_come_out_in_order_and_every_put_is_accounted_for(
    capacity: int, operations: list[tuple[str, int]]
) -> None:
    """Against a plain FIFO model: what is queued, what peek shows, what is discarded."""
    backlog = Backlog(capacity)
    model: deque[int] = deque()
    puts = committed = discarded = 0
    for operation, count in operations:
        if operation == "put":
            fits = len(model) < capacity
            assert backlog.put(pending(puts), float(puts)) is fits
            if fits:
                model.append(puts)
            else:
                discarded += 1
            puts += 1
        elif operation == "peek":
            assert numbers(backlog.peek(count)) == list(model)[:count]
        else:
            done = min(count, len(model))  # the writer commits only what it peeked
            backlog.commit(done)
            for _ in range(done):
                model.popleft()
            committed += done
        assert len(backlog) + backlog.discarded == puts - committed
        assert backlog.discarded == discarded
        assert (backlog.window.records if backlog.window else 0) == discarded
        assert len(backlog) <= capacity
    assert numbers(backlog.peek(capacity)) == list(model)
