"""`ocppscope check`: run the conformance engine over a sequence of recorded events."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from proxy.ocppj.actions import Direction
from proxy.ocppj.events import Event, Frame
from proxy.ocppj.findings import Finding, Severity
from proxy.ocppj.messages import Call
from proxy.ocppj.observed import Observed
from proxy.ocppj.session import Config, Monitor, Session

OneSided = Literal["auto", "charger", "csms", "none"]
"""`--one-sided`: detect per station (auto), declare every station charger- or CSMS-only, or
judge every station as a two-sided conversation (none)."""

SIDE_OF: dict[Direction, Observed] = {
    Direction.CHARGER_TO_CSMS: "charger",
    Direction.CSMS_TO_CHARGER: "csms",
}


class InputError(ValueError):
    """The events cannot be judged as they are; `ref` is the event's (capture line), or None."""

    def __init__(self, ref: object, reason: str) -> None:
        super().__init__(reason)
        self.ref = ref


@dataclass(slots=True)
class Survey:
    """The look-ahead pass over the events: how many, and per station the first frame (its ref)
    of each direction seen."""

    events: int = 0
    first_frame: dict[str, dict[Direction, object]] = field(default_factory=dict)


def survey(events: Iterable[Event]) -> Survey:
    found = Survey()
    for event in events:
        found.events += 1
        directions = found.first_frame.setdefault(event.station, {})
        if isinstance(event, Frame):
            directions.setdefault(event.direction, event.ref)
    return found


def observed_sides(found: Survey, one_sided: OneSided = "auto") -> dict[str, Observed]:
    """Whose frames each station's events hold: detected (auto), or declared and then checked
    against the events (a declared charger-only capture with a CSMS frame is an input error)."""
    if found.events == 0:
        raise InputError(None, "holds no events: nothing to check")
    sides: dict[str, Observed] = {}
    for station, directions in found.first_frame.items():
        if one_sided == "none":
            sides[station] = "both"
        elif one_sided == "auto":
            only = list(directions)
            sides[station] = SIDE_OF[only[0]] if len(only) == 1 else "both"
        else:
            sides[station] = one_sided
            for direction, ref in directions.items():
                if SIDE_OF[direction] != one_sided:
                    raise InputError(
                        ref,
                        f"a {direction} frame of {station} in a capture declared "
                        f"--one-sided {one_sided}",
                    )
    return sides


@dataclass(slots=True)
class StationSummary:
    station: str
    connections: int
    frames: int
    transactions: int
    rtt_p50_ms: float | None
    counts: dict[Severity, int] = field(default_factory=dict)
    observed: Observed = "both"
    skipped: dict[str, str] = field(default_factory=dict)
    """Rules not judged for this station (one side observed), with the reason of each."""
    suppressed: dict[str, int] = field(default_factory=dict)
    """How often each skipped rule would have fired on what is only a gap in the log."""
    version: str = "ocpp2.0.1"
    """The subprotocol whose rules judged the station (its last connection's)."""


@dataclass(slots=True)
class CheckReport:
    stations: list[StationSummary]
    findings: list[Finding]
    events: int

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity is severity)


@dataclass(slots=True)
class _Tally:
    rtts: list[float] = field(default_factory=list)
    transactions: int = 0


def run_check(
    events: Iterable[Event],
    config: Config | None = None,
    observed: Mapping[str, Observed] | None = None,
) -> CheckReport:
    """Feed every event, finish at the last timestamp, and summarise per station; `observed`
    says whose frames each station's events hold (`observed_sides`)."""
    monitor = Monitor(config, observed=observed)
    findings: list[Finding] = []
    tallies: dict[str, _Tally] = {}
    count, last = 0, 0.0
    for event in events:
        count += 1
        last = max(last, event.timestamp)
        outcome = monitor.feed(event)
        findings.extend(outcome.findings)
        tally = tallies.setdefault(event.station, _Tally())
        if outcome.rtt is not None:
            tally.rtts.append(outcome.rtt)
        message = outcome.parsed.message if outcome.parsed else None
        if isinstance(message, Call) and _starts_transaction(message):
            tally.transactions += 1
    findings.extend(monitor.finish(last))
    findings.sort(key=lambda finding: finding.timestamp)
    stations = [
        _summary(session, tallies.get(station, _Tally()), findings)
        for station, session in sorted(monitor.sessions.items())
    ]
    return CheckReport(stations, findings, count)


def _starts_transaction(call: Call) -> bool:
    """A 2.0.1/2.1 TransactionEvent Started, or a 1.6 StartTransaction."""
    if call.action == "TransactionEvent":
        return (call.payload or {}).get("eventType") == "Started"
    return call.action == "StartTransaction"


def _summary(session: Session, tally: _Tally, findings: list[Finding]) -> StationSummary:
    counts = dict.fromkeys(Severity, 0)
    for finding in findings:
        if finding.station == session.station:
            counts[finding.severity] += 1
    p50 = statistics.median(tally.rtts) * 1000 if tally.rtts else None
    return StationSummary(
        session.station,
        session.connections_opened,
        session.frames,
        tally.transactions,
        p50,
        counts,
        session.observed,
        dict(session.skipped),
        dict(session.suppressed),
        session.version.name,
    )
