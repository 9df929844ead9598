"""The record of a fault: every rule added, applied, removed or expired becomes a `FaultEvent`,
which the console prints, the store writes to `fault_events`, and the admin API lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proxy.ocppj.actions import Direction


@dataclass(frozen=True, slots=True)
class FaultEvent:
    at: float
    fault_id: int
    kind: str
    event: str
    """added, applied, removed or expired."""
    station: str | None = None
    connection_id: str | None = None
    direction: Direction | None = None
    action: str | None = None
    message_id: str | None = None
    detail: str = ""

    def describe(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "fault": self.fault_id,
            "kind": self.kind,
            "event": self.event,
            "station": self.station,
            "direction": self.direction.value if self.direction else None,
            "action": self.action,
            "messageId": self.message_id,
            "detail": self.detail,
        }
