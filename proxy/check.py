"""`ocppscope check`: run the conformance engine over a sequence of recorded events."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from proxy.ocppj.events import Event
from proxy.ocppj.findings import Finding, Severity
from proxy.ocppj.messages import Call
from proxy.ocppj.session import Config, Monitor, Session


@dataclass(slots=True)
class StationSummary:
    station: str
    connections: int
    frames: int
    transactions: int
    rtt_p50_ms: float | None
    counts: dict[Severity, int] = field(default_factory=dict)


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


def run_check(events: Iterable[Event], config: Config | None = None) -> CheckReport:
    """Feed every event, finish at the last timestamp, and summarise per station."""
    monitor = Monitor(config)
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
        if (
            isinstance(message, Call)
            and message.action == "TransactionEvent"
            and ((message.payload or {}).get("eventType") == "Started")
        ):
            tally.transactions += 1
    findings.extend(monitor.finish(last))
    findings.sort(key=lambda finding: finding.timestamp)
    stations = [
        _summary(session, tallies.get(station, _Tally()), findings)
        for station, session in sorted(monitor.sessions.items())
    ]
    return CheckReport(stations, findings, count)


def _summary(session: Session, tally: _Tally, findings: list[Finding]) -> StationSummary:
    counts = dict.fromkeys(Severity, 0)
    for finding in findings:
        if finding.station == session.station:
            counts[finding.severity] += 1
    p50 = statistics.median(tally.rtts) * 1000 if tally.rtts else None
    return StationSummary(
        session.station, session.connections_opened, session.frames, tally.transactions, p50, counts
    )
