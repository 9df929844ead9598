"""The one record per WebSocket message that travels through the addons (docs/architecture.md).

Each addon enriches the same `Frame` in hook order; nobody parses the JSON twice. It lives in
`flow.metadata[FRAME_KEY]` while its message is being handled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from proxy.ocppj import events
from proxy.ocppj.session import Monitor
from proxy.ocppj.versions import known_version

if TYPE_CHECKING:
    from proxy.faults.record import FaultMark, FrameFacts
    from proxy.ocppj.actions import Direction
    from proxy.ocppj.findings import Finding
    from proxy.ocppj.session import Outcome

FRAME_KEY = "ocppscope.frame"


@dataclass(slots=True)
class Frame:
    connection_id: str
    station: str
    direction: Direction
    received_at: float
    """When the proxy had the whole message (epoch seconds)."""
    data: str | bytes
    outcome: Outcome | None = None
    """What the conformance engine made of it: parsed message, findings, action, rtt."""
    fault: FaultMark | None = None
    """What a fault did to it, if anything (one fault at most)."""
    version: str | None = None
    """The subprotocol its connection selected when it is one the engine knows
    (`versions.known_version`), else None."""
    after_close: bool = False
    """Sent after the other side's Close: the proxy forwarded it to no one."""

    @property
    def judged(self) -> bool:
        """Whether the conformance engine sees it (see FaultMark.judged)."""
        return self.fault is None or self.fault.judged

    @property
    def recorded(self) -> bool:
        """Whether the store writes it."""
        return self.fault is None or self.fault.recorded

    @property
    def findings(self) -> list[Finding]:
        return self.outcome.findings if self.outcome else []

    @property
    def facts(self) -> FrameFacts | None:
        """What the faults addon read of a frame the engine did not judge."""
        return self.fault.facts if self.fault else None

    @property
    def action(self) -> str | None:
        if self.outcome is None:
            return self.facts.action if self.facts else None
        return self.outcome.action

    @property
    def rtt(self) -> float | None:
        """Seconds since the CALL this frame answers, for CALLRESULT and CALLERROR frames."""
        return self.outcome.rtt if self.outcome else None

    @property
    def message_type(self) -> str:
        if self.outcome is None:
            return self.facts.message_type if self.facts else "INVALID"
        return self.outcome.parsed.message_type if self.outcome.parsed else "INVALID"

    @property
    def message_id(self) -> str | None:
        if self.outcome is None:
            return self.facts.message_id if self.facts else None
        return self.outcome.parsed.message_id if self.outcome.parsed else None


def observed_frames(
    observed: Iterable[events.Event], monitor: Monitor | None = None
) -> list[Frame]:
    """The frames among `observed` as the proxy's addons hold them once the conformance engine
    has seen them (outcome attached): for benches and tests that need realistic Frames."""
    monitor = monitor or Monitor()
    frames = []
    selected: dict[str, str | None] = {}
    for event in observed:
        outcome = monitor.feed(event)
        if isinstance(event, events.ConnectionOpened):
            selected[event.connection_id] = known_version(event.selected_subprotocol)
        elif isinstance(event, events.Frame):
            frames.append(
                Frame(
                    event.connection_id,
                    event.station,
                    event.direction,
                    event.timestamp,
                    event.data,
                    outcome,
                    version=selected.get(event.connection_id),
                )
            )
    return frames
