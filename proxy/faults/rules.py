"""A fault rule: a FaultSpec at work in one proxy worker, with its id, when it was added and
how often it has been applied. The spec is the value; the rule is its running state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from proxy.faults.kinds import Kind
from proxy.faults.spec import FaultSpec, Selector


@dataclass(slots=True)
class FaultRule:
    id: int
    spec: FaultSpec
    created_at: float
    applied: int = 0
    seen: dict[str, int] = field(default_factory=dict)
    """Frames matched so far per station (for `nth`)."""

    @property
    def kind(self) -> Kind:
        return self.spec.kind

    @property
    def selector(self) -> Selector:
        return self.spec.selector

    @property
    def expires_at(self) -> float | None:
        duration = self.spec.duration
        return None if duration is None else self.created_at + duration

    def alive(self, now: float) -> bool:
        count = self.spec.count
        if count is not None and self.applied >= count:
            return False
        expires_at = self.expires_at
        return expires_at is None or now < expires_at

    def describe(self) -> dict[str, Any]:
        """The rule as the admin API shows it: its spec's body (which posted again is the same
        spec), its id, when it expires and how often it was applied."""
        return {
            "id": self.id,
            **self.spec.body(),
            "expiresAt": self.expires_at,
            "applied": self.applied,
        }
