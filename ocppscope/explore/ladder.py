"""The ladder of one station's conversation, built from its stored rows; pure code.

The store keeps frames, findings, fault events and connection events in separate tables; the
page shows them as one ladder: each frame with the findings it raised and the fault that touched
it, each answer linked to its CALL with its round-trip time, and each reconnection with the wait
before it. Findings and faults that belong to no frame on the page (a timeout, a fault rule
added) stand on their own at their time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

RESPONSES = ("CALLRESULT", "CALLERROR")
REVERSE = {"charger_to_csms": "csms_to_charger", "csms_to_charger": "charger_to_csms"}


@dataclass(frozen=True, slots=True)
class StoredFrame:
    key: str
    """`proxy_run:seq`, unique across proxies and runs."""
    at: float
    connection_id: str
    direction: str
    message_type: str
    action: str | None
    message_id: str | None
    status: str
    rtt_ms: float | None
    finding_ids: tuple[str, ...]
    size_bytes: int


@dataclass(frozen=True, slots=True)
class StoredFinding:
    key: str
    """`proxy_run.seq` of its row."""
    at: float
    rule_id: str
    severity: str
    message: str
    reference: str
    connection_id: str | None
    direction: str | None
    message_id: str | None
    action: str | None


@dataclass(frozen=True, slots=True)
class StoredFault:
    key: str
    at: float
    fault_id: int
    kind: str
    event: str
    connection_id: str | None
    direction: str | None
    message_id: str | None
    action: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    at: float
    event: str
    """open, close or refused."""
    connection_id: str | None
    subprotocol: str | None
    remote_address: str | None
    close_code: int | None
    closed_by: str | None
    http_status: int | None


@dataclass(frozen=True, slots=True)
class Answer:
    """What pairing found for a CALLRESULT or CALLERROR."""

    call_key: str | None
    """The CALL's frame, None when it is not among the frames given (an earlier page)."""
    rtt_ms: float | None


@dataclass(slots=True)
class Rung:
    """One line of the ladder: a frame, or a finding or fault event of no frame."""

    at: float
    frame: StoredFrame | None = None
    answer: Answer | None = None
    findings: list[StoredFinding] = field(default_factory=list)
    faults: list[StoredFault] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The frame's key, else that of the finding or fault standing alone."""
        if self.frame is not None:
            return self.frame.key
        return f"finding.{self.findings[0].key}" if self.findings else f"fault.{self.faults[0].key}"

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "key": self.key,
            "at": self.at,
            "findings": [_finding_json(finding) for finding in self.findings],
            "faults": [_fault_json(fault) for fault in self.faults],
        }
        frame = self.frame
        if frame is not None:
            document |= {
                "connection": frame.connection_id,
                "direction": frame.direction,
                "type": frame.message_type,
                "action": frame.action,
                "messageId": frame.message_id,
                "status": frame.status,
                "size": frame.size_bytes,
                "call": self.answer.call_key if self.answer else None,
                "rttMs": self.answer.rtt_ms if self.answer else None,
            }
        return document


def pair_answers(frames: Sequence[StoredFrame]) -> dict[str, Answer]:
    """Each answer's CALL: the latest CALL before it on the same connection, with the same
    MessageId, sent the other way (OCPP-J 2.0.1 §4.1.3: a response carries its request's id).
    The round-trip time is the proxy's stored one; when it has none (the CALL was judged by no
    engine), the difference of the two frames' times."""
    calls: dict[tuple[str, str, str | None], StoredFrame] = {}
    answers: dict[str, Answer] = {}
    for frame in frames:
        if frame.message_type == "CALL":
            calls[(frame.connection_id, frame.direction, frame.message_id)] = frame
        elif frame.message_type in RESPONSES:
            call = calls.pop(
                (frame.connection_id, REVERSE[frame.direction], frame.message_id), None
            )
            rtt = frame.rtt_ms
            if rtt is None and call is not None:
                rtt = (frame.at - call.at) * 1000.0
            answers[frame.key] = Answer(call.key if call else None, rtt)
    return answers


def _frame_of(
    frames: dict[tuple[str | None, str | None, str | None], list[StoredFrame]],
    connection_id: str | None,
    direction: str | None,
    message_id: str | None,
) -> list[StoredFrame]:
    return frames.get((connection_id, direction, message_id), [])


def build_ladder(
    frames: Sequence[StoredFrame],
    findings: Iterable[StoredFinding],
    faults: Iterable[StoredFault],
) -> list[Rung]:
    """The rungs in time order. A finding goes to the first frame of its connection, direction
    and MessageId that lists its rule and has not taken that rule already; an applied fault to
    the first frame of its connection, direction and MessageId; anything else is a rung of its
    own."""
    answers = pair_answers(frames)
    rungs = {frame.key: Rung(frame.at, frame, answers.get(frame.key)) for frame in frames}
    by_message: dict[tuple[str | None, str | None, str | None], list[StoredFrame]] = defaultdict(
        list
    )
    for frame in frames:
        by_message[(frame.connection_id, frame.direction, frame.message_id)].append(frame)
    loose: list[Rung] = []
    taken: dict[str, list[str]] = {frame.key: list(frame.finding_ids) for frame in frames}
    for finding in findings:
        candidates = _frame_of(
            by_message, finding.connection_id, finding.direction, finding.message_id
        )
        home = next((f for f in candidates if finding.rule_id in taken[f.key]), None)
        if home is None:
            loose.append(Rung(finding.at, findings=[finding]))
            continue
        taken[home.key].remove(finding.rule_id)
        rungs[home.key].findings.append(finding)
    for fault in faults:
        candidates = _frame_of(by_message, fault.connection_id, fault.direction, fault.message_id)
        if fault.event == "applied" and candidates:
            rungs[candidates[0].key].faults.append(fault)
        else:
            loose.append(Rung(fault.at, faults=[fault]))
    ladder = list(rungs.values()) + loose
    ladder.sort(key=lambda rung: (rung.at, rung.frame is None))
    return ladder


def backoff_waits(events: Sequence[ConnectionEvent]) -> list[float | None]:
    """For each connection event (in time order): on an `open` or `refused` that follows a
    close or a refusal, the seconds the station waited since then (its reconnection back-off,
    OCPP-J 2.0.1 §5.3, the waits the BACKOFF rules judge); None elsewhere."""
    waits: list[float | None] = []
    ended: float | None = None
    for event in events:
        if event.event in ("open", "refused") and ended is not None:
            waits.append(event.at - ended)
        else:
            waits.append(None)
        ended = event.at if event.event in ("close", "refused") else None
    return waits


def _finding_json(finding: StoredFinding) -> dict[str, Any]:
    return {
        "at": finding.at,
        "rule": finding.rule_id,
        "severity": finding.severity,
        "message": finding.message,
        "reference": finding.reference,
        "action": finding.action,
    }


def _fault_json(fault: StoredFault) -> dict[str, Any]:
    return {
        "at": fault.at,
        "fault": fault.fault_id,
        "kind": fault.kind,
        "event": fault.event,
        "detail": fault.detail,
    }
