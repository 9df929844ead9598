"""BACKOFF group: reconnect attempts after a lost connection against RetryBackOff* (OCPP-J §5.3, §8)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.findings import Severity
from proxy.ocppj.hooks import on_close, on_open, on_refused

if TYPE_CHECKING:
    from proxy.ocppj.events import ConnectionClosed, ConnectionOpened, HandshakeRefused
    from proxy.ocppj.session import Session

REMEMBERED_PERIODS = 32


def wait_bounds(
    wait_minimum: float, random_range: float, repeat_times: int, attempt: int
) -> tuple[float, float]:
    """Shortest and longest wait before reconnect attempt `attempt` (1 = first after the loss).

    The wait doubles after each failed attempt, at most `repeat_times` times; the upper bound
    lets the doubling include the earlier random parts, as libocpp does (RULES.md BACKOFF-003).
    """
    doublings = min(attempt - 1, repeat_times)
    factor = 2**doublings
    lower = wait_minimum * factor
    upper = (wait_minimum + random_range) * factor + random_range * (factor - 1)
    return lower, upper


@on_close
def connection_ended(session: Session, event: ConnectionClosed) -> None:
    if session.connections:
        return  # another connection of this station is still up
    link = session.link
    link.disconnected_since = event.timestamp
    link.attempts = []
    if event.closed_by == "charger":
        link.closed_by_station_at, link.lost_at = event.timestamp, None
        return
    link.lost_at, link.closed_by_station_at = event.timestamp, None
    _expect_attempt(session, "losing its connection")


def _expect_attempt(session: Session, since: str) -> None:
    bound = session.config.reconnect_bound
    session.expect(
        "reconnect",
        bound,
        "BACKOFF-001",
        f"station made no reconnect attempt within {bound:g} s after {since}",
    )


@on_refused
def attempt_refused(session: Session, event: HandshakeRefused) -> None:
    if session.link.lost_at is not None:
        _check_attempt(session, refused=True)
        _expect_attempt(session, f"refused attempt {len(session.link.attempts)}")


@on_open
def reconnected(session: Session, event: ConnectionOpened) -> None:
    link = session.link
    if link.disconnected_since is not None:
        link.offline_periods.append((link.disconnected_since, event.timestamp))
        del link.offline_periods[:-REMEMBERED_PERIODS]
        link.disconnected_since = None
    link.closed_by_station_at = None
    if link.first_connected is None:
        link.first_connected = event.timestamp
    if link.lost_at is not None:
        session.cancel("reconnect")
        _check_attempt(session, refused=False)
        link.lost_at, link.attempts = None, []


def _check_attempt(session: Session, refused: bool) -> None:
    link = session.link
    assert link.lost_at is not None
    link.attempts.append(session.now)
    attempt = len(link.attempts)
    since = link.lost_at if attempt == 1 else link.attempts[-2]
    wait = session.now - since
    backoff = session.backoff
    if backoff is None:
        return
    lower, upper = wait_bounds(
        backoff.wait_minimum, backoff.random_range, backoff.repeat_times, attempt
    )
    rule = "BACKOFF-002" if attempt == 1 else "BACKOFF-003"
    after = "the connection was lost" if attempt == 1 else f"refused attempt {attempt - 1}"
    settings = (
        f"RetryBackOffWaitMinimum {backoff.wait_minimum:g} s, RandomRange "
        f"{backoff.random_range:g} s, RepeatTimes {backoff.repeat_times}"
    )
    outcome = "refused" if refused else "accepted"
    if wait < lower - (0.1 * lower + 0.25):
        session.flag(
            rule,
            f"reconnect attempt {attempt} ({outcome}) came {wait:.1f} s after "
            f"{after}; at least {lower:g} s required ({settings})",
            Severity.ERROR,
        )
    elif wait > upper + (0.1 * upper + 1.0):
        session.flag(
            rule,
            f"reconnect attempt {attempt} ({outcome}) came {wait:.1f} s after "
            f"{after}; at most {upper:g} s expected ({settings})",
            Severity.WARNING,
        )
