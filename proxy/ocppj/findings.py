"""What the engine reports: one `Finding` per rule violation (or notable behaviour) it observes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from proxy.ocppj.actions import Direction


class Severity(StrEnum):
    """Error = a SHALL or schema violation; warning = SHOULD or timing-dependent; info = notable."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]


Detail = str | int | float | bool
"""A value of `Finding.details`: what a message says, as data."""

_RANK = {Severity.ERROR: 2, Severity.WARNING: 1, Severity.INFO: 0}


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule violation tied to a station and, when there is one, the frame that shows it."""

    rule_id: str
    severity: Severity
    station: str
    message: str
    reference: str
    timestamp: float
    connection_id: str | None = None
    message_id: str | None = None
    ref: object = None
    """Opaque pointer to the frame or event (capture line number, stored frame id)."""
    action: str | None = None
    """The OCPP action concerned, when there is one (a CALL's, or that of the CALL answered)."""
    direction: Direction | None = None
    """The direction of the frame concerned (for a timeout: of the unanswered CALL)."""
    details: Mapping[str, Detail] = field(default_factory=dict, hash=False)
    """Facts the message states (e.g. `lost` seqNos of a TX-003 gap), so that metrics and reports
    read them instead of parsing the message; empty for most rules."""
    version: str | None = None
    """The subprotocol the connection concerned selected (`versions.known_version`), None when it
    selected none the engine knows; for a finding about no connection, or one already gone, the
    station's latest connection's."""
