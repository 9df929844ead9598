"""The record of a fault: every rule added, applied, removed or expired becomes a `FaultEvent`,
which the console prints, the store writes to `fault_events`, and the admin API lists; a frame a
fault touched carries a `FaultMark`, which the engine, the metrics and the store read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proxy.faults.kinds import Kind
from proxy.ocppj.actions import Direction


@dataclass(frozen=True, slots=True)
class FrameFacts:
    """What the selector needs to know of a frame."""

    message_type: str
    message_id: str | None
    action: str | None


@dataclass(frozen=True, slots=True)
class FaultMark:
    """What a fault did to one frame (a frame carries one at most): set by the faults addon,
    read by the addons after it."""

    label: str
    """In words, for the console and the fault events."""
    status: str
    """ocpp_message_log.status: dropped, delayed, injected, duplicated, corrupted or sent (the
    store writes `after_close` for a frame sent after the other side's Close, with no fault)."""
    rule_id: int | None = None
    kind: Kind | None = None
    """The rule and its kind; None for a frame only held behind another's fault."""
    judged: bool = True
    """Whether the conformance engine sees it. Under a fault the engine judges the conversation
    as the two ends had it: a frame the proxy dropped or held back is not judged (a delayed
    one is, when delivered), nor a copy or an answer the proxy made up (reply-error's CALLERROR
    is: it answers the CALL the engine saw)."""
    recorded: bool = True
    """Whether the store writes it (a delayed frame is recorded once, when it arrived)."""
    excused: str | None = None
    """The MessageId of the CALL this dropped frame answered: the engine stops waiting."""
    facts: FrameFacts | None = None
    """Message type, MessageId and action of a frame the engine did not judge, as the faults
    addon read it (so the record still says what it was)."""


@dataclass(frozen=True, slots=True)
class FaultEvent:
    at: float
    fault_id: int
    kind: Kind
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
            "kind": self.kind.value,
            "event": self.event,
            "station": self.station,
            "direction": self.direction.value if self.direction else None,
            "action": self.action,
            "messageId": self.message_id,
            "detail": self.detail,
        }
