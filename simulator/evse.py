"""An EVSE of a simulated station (one connector each): its meter, its session, and the state
its StatusNotifications report. Pure apart from the asyncio primitives a session carries."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from simulator.meter import Meter


@dataclass
class Session:
    """A transaction running on one EVSE."""

    transaction_id: str
    id_token: str
    started_at: float
    evse: int
    remote_start_id: int | None = None
    token_type: str = "ISO14443"
    """IdTokenEnumType of `id_token`: the remote start's, else what the card's value is."""
    leaves_after: bool = True
    """The EV was plugged in for this session and is unplugged when it ends."""
    seq_no: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stopped_reason: str = "Local"
    task: asyncio.Task[None] | None = None

    def next_seq_no(self) -> int:
        number, self.seq_no = self.seq_no, self.seq_no + 1
        return number


@dataclass
class Evse:
    number: int
    meter: Meter
    session: Session | None = None
    plugged: bool = False
    faulted: bool = False
    operative: bool = True
    pending_operative: bool | None = None
    """A ChangeAvailability answered Scheduled: applied when the session ends."""
    metered_at: float = 0.0
    """Simulated time up to which the meter has run."""
    finished: bool = False
    """A session ended and its EV is still plugged in (what OCPP 1.6 reports as Finishing)."""
    reported: str | None = None
    """The connector status last reported on this connection (None: not yet)."""

    @property
    def connector_status(self) -> str:
        """ConnectorStatusEnumType as the station reports it now."""
        if self.faulted:
            return "Faulted"
        if self.session is not None:
            return "Occupied"
        if not self.operative:
            return "Unavailable"
        return "Occupied" if self.plugged else "Available"

    @property
    def free(self) -> bool:
        """A new session may start here."""
        return (
            self.session is None
            and not self.faulted
            and self.operative
            and self.pending_operative is not False
        )

    @property
    def power_kw(self) -> float:
        return self.meter.power_kw() if self.session is not None else 0.0

    def catch_up(self, moment: float) -> None:
        """Let the meter run up to `moment` (simulated) at the power it had."""
        self.meter.advance(moment - self.metered_at)
        self.metered_at = max(self.metered_at, moment)
