"""Per-station state of the rule groups and the session: what a passive observer must remember."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from proxy.ocppj.findings import Severity

COMM = "OCPPCommCtrlr"
REMEMBERED_PERIODS = 32
"""Offline periods and reconnect episodes kept per station."""


@dataclass(slots=True)
class Registration:
    """S-REG: what the CSMS last answered to a BootNotification."""

    status: str | None = None
    """None until a BootNotificationResponse was seen; then Accepted, Pending or Rejected."""
    interval: int = 0
    answered_at: float = 0.0
    unbooted_reported: bool = False
    requested_at: float | None = None
    """When the station sent the BootNotification the CSMS has not answered yet; None otherwise."""
    requested_on: str | None = None
    """The connection that unanswered BootNotification was sent on."""
    unanswered_reported: float | None = None
    """`requested_at` of the unanswered BootNotification already named by a BOOT-001 finding."""


@dataclass(slots=True)
class DeviceModel:
    """S-DM: variable values learned from Set/GetVariables and NotifyReport traffic."""

    values: dict[tuple[str, str, str | None], str] = field(default_factory=dict)

    def learn(self, component: dict[str, Any], variable: dict[str, Any], value: Any) -> None:
        key = (component.get("name", ""), variable.get("name", ""), variable.get("instance"))
        self.values[key] = str(value)

    def number(self, variable: str, instance: str | None = None) -> float | None:
        """An OCPPCommCtrlr value; stations differ in naming the 'Default' instance or not."""
        for candidate in dict.fromkeys((instance, None, "Default")):
            raw = self.values.get((COMM, variable, candidate))
            if raw is not None:
                try:
                    return float(raw)
                except ValueError:
                    return None
        return None

    def setting(self, component: str, variable: str) -> str | None:
        """The value of a variable of another controller (TxCtrlr, AuthCtrlr, ...), as reported
        without an instance; None while unknown."""
        return self.values.get((component, variable, None))

    def integer(self, component: str, variable: str, instance: str | None = None) -> int | None:
        """A whole-number value of any component's variable (an instance, else the plain one)."""
        for candidate in dict.fromkeys((instance, None)):
            raw = self.values.get((component, variable, candidate))
            if raw is not None:
                try:
                    return int(raw)
                except ValueError:
                    return None
        return None

    def grant(self, variable: str, value: object) -> None:
        """An OCPPCommCtrlr value granted by other means than the variable (BootNotification)."""
        self.values[(COMM, variable, None)] = str(value)


@dataclass(slots=True)
class Backoff:
    """RetryBackOffWaitMinimum / RandomRange / RepeatTimes (OCPP-J §8.1-8.3)."""

    wait_minimum: float
    random_range: float
    repeat_times: int


class Attempt(NamedTuple):
    """One reconnect attempt after a lost connection: a refused handshake or the accepted one."""

    at: float
    refused: bool


Timing = Literal["early", "late"]
"""How a reconnect wait missed its bounds (`checks.backoff.judge_wait`); None when it did not."""


@dataclass(frozen=True, slots=True)
class OfflineDelivery:
    """What a station delivered, after reconnecting, of the TransactionEvents of its offline period.

    Reviewed `Config.transaction_grace` after the reconnect, when queued events should be in.
    """

    events: int
    """TransactionEvents of the offline period: timestamped inside it whatever the station's clock
    deviation (`checks.transactions.station_clock`), or within the tolerance of it and flagged
    offline."""
    unflagged: tuple[tuple[str, int], ...]
    """(transactionId, seqNo) of those among them without offline=true."""
    gaps: tuple[tuple[str, int, int], ...]
    """(transactionId, seqNo before, seqNo after) of each gap in the transactions concerned."""
    transactions: int
    """Transactions concerned: open when the link was lost, or with events from the period."""

    @property
    def ok(self) -> bool:
        return not (self.unflagged or self.gaps)


@dataclass(frozen=True, slots=True)
class ReconnectEpisode:
    """The back-off analyser's record of one lost connection, from the loss to the reconnect.

    Kept as data so that drivers export it (metrics, fault reports) without parsing findings.
    """

    lost_at: float
    attempts: tuple[Attempt, ...]
    """Every attempt after the loss; all refused but the last, accepted one."""
    waits: tuple[float, ...]
    """Seconds before each attempt: from the loss, then from the previous attempt."""
    backoff: Backoff | None
    """The RetryBackOff* values judged against; None when unknown (nothing judged)."""
    bounds: tuple[tuple[float, float], ...]
    """Shortest and longest allowed wait per attempt; empty when `backoff` is None."""
    timings: tuple[Timing | None, ...]
    """Per attempt: early, late, or None when within bounds (or not judged)."""
    verdict: str
    """'compliant', 'not compliant: …' naming the early and late attempts, or 'not judged: …'."""
    severity: Severity
    """Info when compliant or not judged, else the worst of its BACKOFF-002/003 findings."""
    connection_id: str
    """The connection the station came back on."""
    ref: object = None
    """The accepted handshake, as `Finding.ref` points to it."""
    delivery: OfflineDelivery | None = None
    """Set once the offline delivery was reviewed, if the outage concerned transactions."""

    @property
    def reconnected_at(self) -> float:
        return self.attempts[-1].at

    @property
    def compliant(self) -> bool | None:
        """None when the RetryBackOff* values were unknown."""
        return None if self.backoff is None else not any(self.timings)


@dataclass(slots=True)
class Link:
    """S-LINK: when the station was reachable; kept by the session, since every version needs it."""

    first_connected: float | None = None
    """When the first connection of this observation opened; the station was live since, but
    for `offline_periods`."""
    closed_by_station_at: float | None = None
    """Set while the station is away after closing its last connection itself."""
    offline_periods: list[tuple[float, float]] = field(default_factory=list)
    """The latest periods without any connection, oldest first."""
    disconnected_since: float | None = None
    clock_offset: float | None = None
    """The highest (event timestamp - arrival) of the station's live TransactionEvents on its
    latest connection that had any: its clock is at least this far ahead of the observer's, and
    little more if it sends promptly."""
    clock_connection: str | None = None
    """The connection `clock_offset` was measured on; a new one starts a new estimate, since a
    station may set its clock when it registers."""

    def opened(self, at: float) -> None:
        if self.disconnected_since is not None:
            self.offline_periods.append((self.disconnected_since, at))
            del self.offline_periods[:-REMEMBERED_PERIODS]
            self.disconnected_since = None
        self.closed_by_station_at = None
        if self.first_connected is None:
            self.first_connected = at

    def clocked(self, connection_id: str, offset: float) -> None:
        """A live event stamped `offset` s from its arrival on this connection."""
        if self.clock_connection != connection_id or self.clock_offset is None:
            self.clock_offset, self.clock_connection = offset, connection_id
        else:
            self.clock_offset = max(self.clock_offset, offset)

    def lost(self, at: float, closed_by_station: bool) -> None:
        """The station's last connection ended."""
        self.disconnected_since = at
        self.closed_by_station_at = at if closed_by_station else None


@dataclass(slots=True)
class Reconnects:
    """The back-off analyser's state: the reconnect attempts after a lost connection."""

    lost_at: float | None = None
    """Set while the station is away after a connection it did not close itself."""
    attempts: list[Attempt] = field(default_factory=list)
    episodes: list[ReconnectEpisode] = field(default_factory=list)
    """The latest reconnect episodes, oldest first."""


@dataclass(slots=True)
class TxEvent:
    event_type: str
    timestamp: float | None
    signature: tuple[Any, ...]
    energy_wh: float | None
    offline: bool = False
    """The offline flag of its first delivery."""
    attempts: int = 1
    acknowledged: bool = False
    ref: object = None
    """The frame that carried it, for findings raised later (seqNo gaps)."""


@dataclass(slots=True)
class Transaction:
    """S-TX: the events seen for one transactionId, keyed by seqNo."""

    transaction_id: str
    evse_id: int | None = None
    connector_id: int | None = None
    events: dict[int, TxEvent] = field(default_factory=dict)
    started_seq: int | None = None
    ended_seq: int | None = None
    ended_at: float | None = None
    max_seq: int = -1
    charging: bool = False
    started_at: float = 0.0
    reported_gaps: set[tuple[int, int]] = field(default_factory=set)
    status_conflict_reported: bool = False
    out_of_order_noted: bool = False


@dataclass(slots=True)
class RemoteStart:
    """A RequestStartTransaction and what came of it (the station may report before answering)."""

    answered: bool = False
    named: str | None = None
    """The transactionId the Accepted response named, if any."""
    reported: str | None = None
    """The transactionId of the first TransactionEvent carrying its remoteStartId."""


@dataclass(slots=True)
class TriggerRequest:
    """A TriggerMessage the station has not yet acted on."""

    asked_at: float
    message_id: str | None = None
    """MessageId of the station's CALL that answered the trigger, once sent."""
