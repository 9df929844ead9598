"""What a scenario run is judged on: its window, the rows the lab wrote during it, and the
checks. Plain data, no I/O: `scenarios.verify` fills it from PostgreSQL, `scenarios.checks`
judges it, and the tests build it by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class RunWindow:
    """Where a scenario's rows are: between `started_at` and `ended_at` (wall clock), for
    `charger_ids`.

    `speed` is the simulator's time compression (1 = real time). The stations' clocks start at
    `started_at` and run `speed` times faster, so what they stamp (TransactionEvent times, and
    what the CSMS derives from them: start/end times, durations, energy) runs ahead of the wall
    clock; rows are found by what the proxy and the CSMS stamp themselves (`logged_at`,
    `received_at`), which is wall-clock time.
    """

    started_at: datetime
    ended_at: datetime
    speed: float
    charger_ids: tuple[str, ...]

    def simulated(self, real: timedelta) -> float:
        """Seconds of simulated time that a wall-clock span stands for."""
        return real.total_seconds() * self.speed


@dataclass(frozen=True)
class Check:
    """One judgement of a scenario: what it expected, what the database showed, and the verdict."""

    name: str
    expected: str
    observed: str
    passed: bool


@dataclass(frozen=True)
class Message:
    """A row of ocpp_message_log."""

    logged_at: datetime
    charger_id: str
    direction: str
    """charger_to_csms or csms_to_charger."""
    message_type: str
    action: str | None
    message_id: str | None
    payload: Any
    status: str = "sent"
    rtt_ms: float | None = None


@dataclass(frozen=True)
class Finding:
    """A row of findings."""

    logged_at: datetime
    charger_id: str
    rule_id: str
    severity: str
    message: str


@dataclass(frozen=True)
class LinkEvent:
    """A row of proxy_connection_log: a connection opened or closed, or a handshake refused."""

    logged_at: datetime
    charger_id: str
    event: str
    """open, close or refused."""
    closed_by: str | None = None
    http_status: int | None = None


@dataclass(frozen=True)
class CsmsConnection:
    """A row of charger_connection_log (the guide's Q1)."""

    logged_at: datetime
    charger_id: str
    status: str


@dataclass(frozen=True)
class TransactionEvent:
    """A TransactionEvent as the CSMS received it (charger_transaction_event)."""

    seq_no: int
    event_type: str
    timestamp: datetime
    """The station's (simulated) time."""
    offline: bool = False


@dataclass(frozen=True)
class Transaction:
    """A row of charger_usage_log with its events."""

    transaction_id: str
    charger_id: str
    energy_kwh: float
    cost: float
    duration_seconds: int
    start_time: datetime
    end_time: datetime | None
    stopped_reason: str | None = None
    id_token: str | None = None
    remote_start_id: int | None = None
    events: tuple[TransactionEvent, ...] = ()


@dataclass(frozen=True)
class PowerReading:
    """A row of charger_status_log: a charger's connector status and power from then on."""

    logged_at: datetime
    charger_id: str
    status: str
    power_kw: float


@dataclass(frozen=True)
class Evidence:
    """Everything the lab recorded about a window's chargers during the window."""

    messages: tuple[Message, ...] = ()
    findings: tuple[Finding, ...] = ()
    links: tuple[LinkEvent, ...] = ()
    csms_connections: tuple[CsmsConnection, ...] = ()
    transactions: tuple[Transaction, ...] = ()
    power: tuple[PowerReading, ...] = ()
    ratings: dict[str, float] = field(default_factory=dict)
    """charger_info.max_power_kw of each charger."""

    def of(self, charger_id: str) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.charger_id == charger_id)
