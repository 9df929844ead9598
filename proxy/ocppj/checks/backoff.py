"""BACKOFF group: reconnect attempts after a lost connection against RetryBackOff* (OCPP-J §5.3, §8).

BACKOFF-001..003 judge each attempt as it happens. BACKOFF-007 is the back-off analyser's verdict
on a whole episode, from the loss to the accepted reconnect, and then on the offline
TransactionEvents delivered after it; the episode is also kept as data (`Link.episodes`).
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
from typing import TYPE_CHECKING

from proxy.ocppj.checks.transactions import happened_offline, missing_seqs, near_offline, seq_gaps
from proxy.ocppj.findings import Severity
from proxy.ocppj.hooks import on_close, on_finish, on_open, on_refused
from proxy.ocppj.state import Attempt, Backoff, OfflineDelivery, ReconnectEpisode, Timing

if TYPE_CHECKING:
    from proxy.ocppj.events import ConnectionClosed, ConnectionOpened, HandshakeRefused
    from proxy.ocppj.session import Session

REMEMBERED_PERIODS = 32
LISTED = 8
"""Items a verdict lists before it abbreviates: a hammering station makes hundreds of attempts."""
SEVERITY: dict[Timing, Severity] = {"early": Severity.ERROR, "late": Severity.WARNING}
"""Early breaks a SHALL (the CSMS is flooded); late only delays the station's own return."""
UNKNOWN = "not judged: RetryBackOff* unknown (give --retry-backoff)"


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


def judge_wait(wait: float, bounds: tuple[float, float]) -> Timing | None:
    """Early or late beyond the slack for the observer's timing (10 % + 0.25 s; 10 % + 1 s)."""
    lower, upper = bounds
    if wait < lower - (0.1 * lower + 0.25):
        return "early"
    if wait > upper + (0.1 * upper + 1.0):
        return "late"
    return None


def _bounds(backoff: Backoff, attempt: int) -> tuple[float, float]:
    return wait_bounds(backoff.wait_minimum, backoff.random_range, backoff.repeat_times, attempt)


def _settings(backoff: Backoff) -> str:
    return (
        f"RetryBackOffWaitMinimum {backoff.wait_minimum:g} s, RandomRange "
        f"{backoff.random_range:g} s, RepeatTimes {backoff.repeat_times}"
    )


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
        _conclude(session, event)
        link.lost_at, link.attempts = None, []


def _check_attempt(session: Session, refused: bool) -> None:
    link = session.link
    assert link.lost_at is not None
    link.attempts.append(Attempt(session.now, refused))
    attempt = len(link.attempts)
    since = link.lost_at if attempt == 1 else link.attempts[-2].at
    wait = session.now - since
    backoff = session.backoff
    if backoff is None:
        return
    lower, upper = _bounds(backoff, attempt)
    timing = judge_wait(wait, (lower, upper))
    if timing is None:
        return
    rule = "BACKOFF-002" if attempt == 1 else "BACKOFF-003"
    after = "the connection was lost" if attempt == 1 else f"refused attempt {attempt - 1}"
    outcome = "refused" if refused else "accepted"
    limit = (
        f"at least {lower:g} s required" if timing == "early" else f"at most {upper:g} s expected"
    )
    session.flag(
        rule,
        f"reconnect attempt {attempt} ({outcome}) came {wait:.1f} s after {after}; "
        f"{limit} ({_settings(backoff)})",
        SEVERITY[timing],
    )


# ---- BACKOFF-007: the analyser's verdict -----------------------------------------------------


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:LISTED])
    return shown if len(items) <= LISTED else f"{shown}, … ({len(items)} in all)"


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _verdict(timings: tuple[Timing | None, ...]) -> str:
    """'compliant', or which attempts came early and which late."""
    parts = []
    for kind in ("early", "late"):
        numbers = [str(k) for k, timing in enumerate(timings, start=1) if timing == kind]
        if numbers:
            noun = "attempt" if len(numbers) == 1 else "attempts"
            parts.append(f"{noun} {_listing(numbers)} {kind}")
    return "not compliant: " + "; ".join(parts) if parts else "compliant"


def _conclude(session: Session, event: ConnectionOpened) -> None:
    """BACKOFF-007 at the accepted reconnect: the episode judged with the per-attempt bounds."""
    link = session.link
    assert link.lost_at is not None
    attempts = tuple(link.attempts)
    waits = tuple(b - a for a, b in pairwise([link.lost_at, *(a.at for a in attempts)]))
    backoff = session.backoff
    head = (
        f"reconnected after {_counted(len(attempts), 'attempt')} ({len(attempts) - 1} refused), "
        f"{'wait' if len(waits) == 1 else 'waits'} {_listing([f'{w:.1f}' for w in waits])} s"
    )
    if backoff is None:
        bounds: tuple[tuple[float, float], ...] = ()
        timings: tuple[Timing | None, ...] = (None,) * len(waits)
        verdict, severity = UNKNOWN, Severity.INFO
        message = f"{head}; {verdict}"
    else:
        bounds = tuple(_bounds(backoff, k) for k in range(1, len(waits) + 1))
        timings = tuple(judge_wait(w, b) for w, b in zip(waits, bounds, strict=True))
        verdict = _verdict(timings)
        severity = max(
            (SEVERITY[t] for t in timings if t), key=lambda s: s.rank, default=Severity.INFO
        )
        expected = _listing([f"{low:g}-{high:g}" for low, high in bounds])
        message = f"{head}; expected {expected} s ({_settings(backoff)}): {verdict}"
    episode = ReconnectEpisode(
        lost_at=link.lost_at,
        attempts=attempts,
        waits=waits,
        backoff=backoff,
        bounds=bounds,
        timings=timings,
        verdict=verdict,
        severity=severity,
        connection_id=event.connection_id,
        ref=event.ref,
    )
    link.episodes.append(episode)
    del link.episodes[:-REMEMBERED_PERIODS]
    session.flag("BACKOFF-007", message, severity)
    session.at(
        ("offline-delivery", episode.lost_at),
        session.now + session.config.transaction_grace,
        lambda: _review_delivery(session, episode),
    )


def _review_delivery(session: Session, episode: ReconnectEpisode) -> None:
    """BACKOFF-007 follow-up, once queued events should be in: were they flagged and complete?"""
    period = (episode.lost_at, episode.reconnected_at)
    events, concerned = 0, 0
    unflagged: list[tuple[str, int]] = []
    gaps: list[tuple[str, int, int]] = []
    for transaction in session.transactions.values():
        offline = [
            (seq, event)
            for seq, event in sorted(transaction.events.items())
            if event.timestamp is not None
            and (
                happened_offline(session, period, event.timestamp)
                or (event.offline and near_offline(session, period, event.timestamp))
            )
        ]
        open_at_loss = transaction.started_at < period[0] and (
            transaction.ended_at is None or transaction.ended_at > period[0]
        )
        if not (offline or open_at_loss):
            continue
        concerned += 1
        events += len(offline)
        tx_id = transaction.transaction_id
        unflagged += [(tx_id, seq) for seq, event in offline if not event.offline]
        gaps += [(tx_id, low, high) for low, high in seq_gaps(transaction)]
    if not concerned:
        return  # the outage touched no transaction: nothing was to be queued
    delivery = OfflineDelivery(events, tuple(unflagged), tuple(gaps), concerned)
    episodes = session.link.episodes
    for index, kept in enumerate(episodes):
        if kept is episode:
            episodes[index] = replace(episode, delivery=delivery)
    session.flag(
        "BACKOFF-007",
        _delivery_message(delivery),
        Severity.INFO if delivery.ok else Severity.WARNING,
        ref=episode.ref,
        connection_id=episode.connection_id,
        action="TransactionEvent",
    )


def _delivery_message(delivery: OfflineDelivery) -> str:
    if delivery.unflagged:
        which = _listing([f"seqNo {seq} of {tx_id}" for tx_id, seq in delivery.unflagged])
        said = (
            f"{_counted(delivery.events, 'TransactionEvent')} from the offline period delivered, "
            f"{len(delivery.unflagged)} without offline=true ({which})"
        )
    elif delivery.events:
        said = (
            f"{_counted(delivery.events, 'offline TransactionEvent')} delivered with offline=true"
        )
    else:
        said = "no TransactionEvent from the offline period delivered"
    if not delivery.gaps:
        return f"{said}, no seqNo gap"
    missing = _listing(
        [f"seqNo {missing_seqs(low, high)} of {tx_id}" for tx_id, low, high in delivery.gaps]
    )
    return f"{said}; seqNo gap: {missing} missing"


@on_finish
def review_deliveries(session: Session) -> None:
    """End of observation: review the deliveries still inside their grace period."""
    for episode in list(session.link.episodes):
        if session.cancel(("offline-delivery", episode.lost_at)):
            _review_delivery(session, episode)
