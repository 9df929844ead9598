"""BACKOFF group: reconnect attempts after a lost connection against RetryBackOff* (OCPP-J §5.3, §8).

BACKOFF-001..003 judge each attempt as it happens; BACKOFF-004 (a warning on 2.1, whose §5.4
requires the reset, info otherwise) and 005 (info) name the likely cause of a late first
attempt. BACKOFF-007 is the back-off analyser's verdict on a whole episode, from the loss to the
accepted reconnect, and then on the offline TransactionEvents delivered after it; the episode is
also kept as data (`BackoffGroup.reconnects.episodes`).
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
from typing import TYPE_CHECKING

from proxy.ocppj.checks.transactions import (
    TransactionsGroup,
    happened_offline,
    missing_seqs,
    near_offline,
    seq_gaps,
)
from proxy.ocppj.findings import Severity
from proxy.ocppj.routing import RuleGroup, on_close, on_finish, on_open, on_refused
from proxy.ocppj.state import (
    REMEMBERED_PERIODS,
    Attempt,
    Backoff,
    OfflineDelivery,
    ReconnectEpisode,
    Reconnects,
    Timing,
)

if TYPE_CHECKING:
    from proxy.ocppj.events import ConnectionClosed, ConnectionOpened, HandshakeRefused
    from proxy.ocppj.session import Session

LISTED = 8
"""Items a verdict lists before it abbreviates: a hammering station makes hundreds of attempts."""
SEVERITY: dict[Timing, Severity] = {"early": Severity.ERROR, "late": Severity.WARNING}
"""Early breaks a SHALL (the CSMS is flooded); late only delays the station's own return."""
UNKNOWN = "not judged: RetryBackOff* unknown (give --retry-backoff)"
MAX_UNSEEN = 32
"""Unseen failed attempts BACKOFF-005 considers: past them the waits no longer grow."""


def wait_bounds(
    wait_minimum: float, random_range: float, repeat_times: int, attempt: int
) -> tuple[float, float]:
    """Shortest and longest wait before reconnect attempt `attempt` (1 = first after the loss).

    The wait doubles after each failed attempt, at most `repeat_times` times; the upper bound
    lets the doubling include the earlier random parts, as libocpp does (rule BACKOFF-003).
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


def _expect_attempt(session: Session, since: str) -> None:
    bound = session.config.reconnect_bound
    session.expect(
        "reconnect",
        bound,
        "BACKOFF-001",
        f"station made no reconnect attempt within {bound:g} s after {since}",
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


def _within_slack(
    waits: tuple[float, ...],
    bounds: tuple[tuple[float, float], ...],
    timings: tuple[Timing | None, ...],
) -> str:
    """The waits that only the fixed part of the observer's timing slack (0.25 s early, 1 s late;
    `judge_wait`) excuses, beyond the 10 % part.

    In a short outage that fixed part is as large as the waits themselves, so a verdict must say
    when it rests on it; the usual jitter of a few milliseconds is not worth a word.
    """
    notes = []
    for k, (wait, (lower, upper), timing) in enumerate(
        zip(waits, bounds, timings, strict=True), start=1
    ):
        if timing is not None:
            continue
        if wait > 1.1 * upper:
            notes.append(f"attempt {k} {wait - upper:.1f} s late")
        elif wait < 0.9 * lower:
            notes.append(f"attempt {k} {lower - wait:.1f} s early")
    if not notes:
        return ""
    return f" ({_listing(notes)}: within the slack for the observer's timing)"


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


class BackoffGroup(RuleGroup):
    """Owns the reconnect attempts and episodes after each lost connection."""

    # The offline delivery review reads the 2.0.1 transactions (TransactionsGroup) when the
    # version has them; 1.6's offline queue is judged by its own group.

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.reconnects = Reconnects()

    def _check_attempt(self, refused: bool) -> None:
        session = self.session
        reconnects = self.reconnects
        assert reconnects.lost_at is not None
        reconnects.attempts.append(Attempt(session.now, refused))
        attempt = len(reconnects.attempts)
        since = reconnects.lost_at if attempt == 1 else reconnects.attempts[-2].at
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
            f"at least {lower:g} s required"
            if timing == "early"
            else f"at most {upper:g} s expected"
        )
        session.flag(
            rule,
            f"reconnect attempt {attempt} ({outcome}) came {wait:.1f} s after {after}; "
            f"{limit} ({_settings(backoff)})",
            SEVERITY[timing],
        )
        if attempt == 1 and timing == "late":
            self._explain_late(wait, backoff, refused)

    def _explain_late(self, wait: float, backoff: Backoff, refused: bool) -> None:
        """A first attempt later than its bound has two likely causes: the back-off was not
        reset after the last successful connection (BACKOFF-004: a warning where the version's
        text makes the reset a SHALL, OCPP-J 2.1 §5.4; info where it is inferred), or attempts
        the observer cannot see failed before it (BACKOFF-005, info)."""
        session = self.session
        episodes = self.reconnects.episodes
        if episodes and episodes[-1].backoff is not None:
            before = len(episodes[-1].attempts)
            if judge_wait(wait, _bounds(backoff, before + 1)) is None:
                session.flag(
                    "BACKOFF-004",
                    f"the {wait:.1f} s wait fits attempt {before + 1} of a back-off continued "
                    f"from the previous outage ({_counted(before, 'attempt')}): the station "
                    "seems not to reset its back-off after a successful connection",
                    Severity.WARNING if session.version.resets_backoff else Severity.INFO,
                )
        if refused:
            return
        lower = upper = 0.0
        for attempts in range(1, MAX_UNSEEN + 2):
            low, high = _bounds(backoff, attempts)
            lower, upper = lower + low, upper + high
            if lower > wait:
                return
            if attempts > 1 and judge_wait(wait, (lower, upper)) is None:
                session.flag(
                    "BACKOFF-005",
                    f"no failed attempt was seen, but the {wait:.1f} s until this one fit "
                    f"{attempts} attempts ({lower:g}-{upper:g} s): {attempts - 1} may have "
                    "failed where the observer cannot see them (before reaching it)",
                    details={"unseen_attempts": attempts - 1},
                )
                return

    def _conclude(self, event: ConnectionOpened) -> None:
        """BACKOFF-007 at the accepted reconnect: the episode judged with the per-attempt bounds."""
        session = self.session
        reconnects = self.reconnects
        assert reconnects.lost_at is not None
        attempts = tuple(reconnects.attempts)
        waits = tuple(b - a for a, b in pairwise([reconnects.lost_at, *(a.at for a in attempts)]))
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
            slack = _within_slack(waits, bounds, timings)
            message = f"{head}; expected {expected} s ({_settings(backoff)}): {verdict}{slack}"
        episode = ReconnectEpisode(
            lost_at=reconnects.lost_at,
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
        reconnects.episodes.append(episode)
        del reconnects.episodes[:-REMEMBERED_PERIODS]
        session.flag("BACKOFF-007", message, severity)
        if session.find(TransactionsGroup) is None:
            return
        session.at(
            ("offline-delivery", episode.lost_at),
            session.now + session.config.transaction_grace,
            lambda: self._review_delivery(episode),
        )

    def _review_delivery(self, episode: ReconnectEpisode) -> None:
        """BACKOFF-007 follow-up, once queued events should be in: were they flagged and complete?"""
        session = self.session
        period = (episode.lost_at, episode.reconnected_at)
        events, concerned = 0, 0
        unflagged: list[tuple[str, int]] = []
        gaps: list[tuple[str, int, int]] = []
        for transaction in session.group(TransactionsGroup).transactions.values():
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
        episodes = self.reconnects.episodes
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

    @on_close
    def connection_ended(self, event: ConnectionClosed) -> None:
        session = self.session
        if session.connections:
            return  # another connection of this station is still up
        reconnects = self.reconnects
        reconnects.attempts = []
        if event.closed_by == "charger":
            reconnects.lost_at = None
            return
        reconnects.lost_at = event.timestamp
        _expect_attempt(session, "losing its connection")

    @on_refused
    def attempt_refused(self, event: HandshakeRefused) -> None:
        session = self.session
        if self.reconnects.lost_at is not None:
            self._check_attempt(refused=True)
            _expect_attempt(session, f"refused attempt {len(self.reconnects.attempts)}")

    @on_open
    def reconnected(self, event: ConnectionOpened) -> None:
        session = self.session
        reconnects = self.reconnects
        if reconnects.lost_at is not None:
            session.cancel("reconnect")
            self._check_attempt(refused=False)
            self._conclude(event)
            reconnects.lost_at, reconnects.attempts = None, []

    @on_finish
    def review_deliveries(self) -> None:
        """End of observation: review the deliveries still inside their grace period."""
        session = self.session
        for episode in list(self.reconnects.episodes):
            if session.cancel(("offline-delivery", episode.lost_at)):
                self._review_delivery(episode)
