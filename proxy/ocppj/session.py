"""The per-station OCPP-J state machine: events in, findings out; no sockets, no clock of its own.

Shaped like `websockets.protocol`: a driver (the proxy, the simulator, `ocppscope check`) feeds each
event with its timestamp and gets back an `Outcome`. The RPC layer (message ids, request/response
matching, timeouts) lives here; the rule groups in `proxy.ocppj.checks` hang off `proxy.ocppj.hooks`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from proxy.ocppj import checks, hooks
from proxy.ocppj.actions import ACTIONS, Direction, may_send
from proxy.ocppj.errors import ERROR_CODES, LEGACY_ERROR_CODES
from proxy.ocppj.events import ConnectionClosed, ConnectionOpened, Event, Frame, HandshakeRefused
from proxy.ocppj.findings import Finding, Severity
from proxy.ocppj.messages import (
    Call,
    CallError,
    CallResult,
    Parsed,
    Violation,
    empty_fields,
    parse_frame,
)
from proxy.ocppj.rules import RULES
from proxy.ocppj.schemas import validate
from proxy.ocppj.state import (
    Backoff,
    DeviceModel,
    Link,
    Registration,
    RemoteStart,
    Transaction,
    TriggerRequest,
)

checks.register_all()

DEFAULT_SUBPROTOCOL = "ocpp2.0.1"


@dataclass(slots=True)
class Config:
    """Defaults for what the engine cannot learn from the traffic."""

    message_timeout: float = 30.0
    """Seconds before an unanswered CALL counts as timed out, until MessageTimeout is learned."""
    clock_tolerance: float = 4.0
    """Allowed clock deviation between station, CSMS and observer (Part 6 §2.1 uses 4 s)."""
    followup_timeout: float = 60.0
    """How long an accepted remote start/stop or trigger may take to show its effect."""
    transaction_grace: float = 30.0
    """How long after Ended a transaction's seqNo gaps may still be filled by late messages."""
    reconnect_bound: float = 300.0
    """A station not back this long after losing its connection did not reconnect."""
    backoff: Backoff | None = None
    """RetryBackOff* values to assume until they are learned from the traffic."""
    remembered_ids: int = 1024
    """MessageIds remembered per station and sender for the reuse check."""


@dataclass(slots=True)
class PendingCall:
    """A CALL seen on the wire and not yet answered."""

    call: Call
    direction: Direction
    timestamp: float
    connection_id: str
    ref: object
    forbidden: bool = False
    """Sent in breach of the registration gate: the CSMS should answer with SecurityError."""
    valid: bool = False
    """A known action whose payload passed its schema."""

    @property
    def action(self) -> str:
        return self.call.action

    @property
    def payload(self) -> dict[str, Any]:
        return self.call.payload or {}


@dataclass(slots=True)
class Connection:
    connection_id: str
    opened_at: float
    subprotocol: str | None
    subprotocol_checked: bool = False
    pending: dict[Direction, dict[str, PendingCall]] = field(
        default_factory=lambda: {Direction.CHARGER_TO_CSMS: {}, Direction.CSMS_TO_CHARGER: {}}
    )
    last_activity: float = 0.0
    last_heartbeat: float | None = None
    frequent_heartbeat_reported: bool = False
    rejected_frame: tuple[Direction, str] | None = None
    """Sender and MessageId ("-1" when unreadable) of the last frame that was no usable message:
    the CALLERROR that may answer it (RPC-014, RPC-015) answers no CALL."""


@dataclass(slots=True)
class Outcome:
    """What one event taught the engine; for frames also the decoded message and its timing."""

    findings: list[Finding]
    parsed: Parsed | None = None
    action: str | None = None
    """The action of a CALL, or of the CALL a response answers."""
    rtt: float | None = None
    """Seconds from the CALL to this response, when this frame answers a known CALL."""


@dataclass(slots=True)
class _Timer:
    deadline: float
    action: Callable[[], None]


class Session:
    """Everything the engine knows about one station, across its connections."""

    def __init__(self, station: str, config: Config | None = None) -> None:
        self.station = station
        self.config = config or Config()
        self.connections: dict[str, Connection] = {}
        self.registration = Registration()
        self.device_model = DeviceModel()
        self.link = Link()
        self.transactions: dict[str, Transaction] = {}
        self.connector_status: dict[tuple[int, int], tuple[str, float]] = {}
        """(evseId, connectorId) -> last reported connectorStatus and when."""
        self.pending_triggers: dict[str, TriggerRequest] = {}
        """Action a TriggerMessage asked for -> the request, until its message is sent."""
        self.custom_data_vendors: set[str] = set()
        self.frames = 0
        self.connections_opened = 0
        self._sent_ids: dict[Direction, dict[str, int]] = {d: {} for d in Direction}
        self._answered: dict[Direction, dict[str, PendingCall]] = {d: {} for d in Direction}
        self._timed_out: dict[Direction, dict[str, PendingCall]] = {d: {} for d in Direction}
        self._timers: dict[object, _Timer] = {}
        self._next_deadline = float("inf")
        self._findings: list[Finding] = []
        self.now = 0.0
        self.event: Event | None = None
        self.connection: Connection | None = None
        self.direction: Direction | None = None
        self.message_id: str | None = None
        self.current_call: PendingCall | None = None
        self.action: str | None = None
        """The action of the frame being handled (for a response: of the CALL it answers)."""
        self.remote_starts: dict[int, RemoteStart] = {}
        """remoteStartId of a RequestStartTransaction still awaiting its transaction."""
        self.remote_stops: dict[str, bool] = {}
        """transactionId of an accepted RequestStopTransaction -> RemoteStop event seen."""

    # ---- driving ---------------------------------------------------------------------------

    def feed(self, event: Event) -> Outcome:
        """Take one event (in time order) and return the findings it caused."""
        self._findings = []
        self._advance(event.timestamp)
        self.event = event
        self.message_id = None
        self.action = None
        self.direction = None
        outcome = Outcome(self._findings)
        if isinstance(event, Frame):
            self._frame(event, outcome)
        elif isinstance(event, ConnectionOpened):
            self._opened(event)
        elif isinstance(event, ConnectionClosed):
            self._closed(event)
        else:
            self._refused(event)
        self.event = None
        return outcome

    def tick(self, now: float) -> list[Finding]:
        """Let time pass without traffic: fires timeouts that are due."""
        self._findings = []
        self._advance(now)
        return self._findings

    def finish(self, now: float) -> list[Finding]:
        """End of observation: fire due timeouts, then the end-of-capture reviews."""
        findings = self.tick(now)
        self._findings = findings
        for handler in hooks.FINISHED:
            handler(self)
        return findings

    # ---- what rule groups call -------------------------------------------------------------

    def flag(
        self,
        rule_id: str,
        message: str,
        severity: Severity | None = None,
        *,
        message_id: str | None = None,
        ref: object = None,
        connection_id: str | None = None,
        action: str | None = None,
        direction: Direction | None = None,
    ) -> None:
        """Report a finding about the current event (or the frame named by `ref`)."""
        rule = RULES[rule_id]
        event = self.event
        self._findings.append(
            Finding(
                rule_id=rule_id,
                severity=severity or rule.severity,
                station=self.station,
                message=message,
                reference=rule.reference,
                timestamp=self.now,
                connection_id=connection_id
                or (self.connection.connection_id if self.connection else None),
                message_id=message_id or self.message_id,
                ref=ref if ref is not None else (event.ref if event is not None else None),
                action=action or self.action,
                direction=direction or (self.direction if event is not None else None),
            )
        )

    def at(self, key: object, deadline: float, action: Callable[[], None]) -> None:
        """Run `action` once the observed time reaches `deadline`, unless cancelled first."""
        self._timers[key] = _Timer(deadline, action)
        self._next_deadline = min(self._next_deadline, deadline)

    def cancel(self, key: object) -> bool:
        return self._timers.pop(key, None) is not None

    def excuse(self, connection_id: str, direction: Direction, message_id: str) -> None:
        """Stop waiting for the answer to a CALL sent in `direction`: a fault injected by the
        proxy dropped it, so its absence is nobody's fault (no RPC-008)."""
        connection = self.connections.get(connection_id)
        if (
            connection is not None
            and connection.pending[direction].pop(message_id, None) is not None
        ):
            self.cancel(("call", direction, message_id))

    def expect(
        self, key: object, within: float, rule_id: str, message: str, ref: object = None
    ) -> None:
        """Flag `message` unless `fulfil(key)` happens within `within` seconds from now."""
        connection_id = self.connection.connection_id if self.connection else None
        message_id, action, direction = self.message_id, self.action, self.direction
        ref = ref if ref is not None else (self.event.ref if self.event else None)
        self.at(
            key,
            self.now + within,
            lambda: self.flag(
                rule_id,
                message,
                message_id=message_id,
                ref=ref,
                connection_id=connection_id,
                action=action,
                direction=direction,
            ),
        )

    def fulfil(self, key: object) -> bool:
        return self.cancel(key)

    @property
    def message_timeout(self) -> float:
        learned = self.device_model.number("MessageTimeout", "Default")
        return learned if learned and learned > 0 else self.config.message_timeout

    @property
    def backoff(self) -> Backoff | None:
        dm, default = self.device_model, self.config.backoff
        minimum = dm.number("RetryBackOffWaitMinimum")
        spread = dm.number("RetryBackOffRandomRange")
        repeat = dm.number("RetryBackOffRepeatTimes")
        if default is None and None in (minimum, spread, repeat):
            return None
        fallback = default or Backoff(0.0, 0.0, 0)
        return Backoff(
            minimum if minimum is not None else fallback.wait_minimum,
            spread if spread is not None else fallback.random_range,
            int(repeat) if repeat is not None else fallback.repeat_times,
        )

    # ---- internals -------------------------------------------------------------------------

    def _advance(self, now: float) -> None:
        self.now = max(self.now, now)
        if self._next_deadline <= self.now:
            self.message_id = self.action = None  # the last frame's: not what a timer reports on
        while self._next_deadline <= self.now:
            due = sorted(
                (key for key, timer in self._timers.items() if timer.deadline <= self.now),
                key=lambda key: self._timers[key].deadline,
            )
            for key in due:
                timer = self._timers.pop(key)
                saved_now, self.now = self.now, timer.deadline
                timer.action()
                self.now = saved_now
            self._next_deadline = min(
                (timer.deadline for timer in self._timers.values()), default=float("inf")
            )

    def _opened(self, event: ConnectionOpened) -> None:
        connection = Connection(
            event.connection_id,
            event.timestamp,
            event.selected_subprotocol,
            last_activity=event.timestamp,
        )
        self.connection = connection
        self.connections_opened += 1
        for handler in hooks.OPENED:
            handler(self, event)
        self.connections[event.connection_id] = connection

    def _closed(self, event: ConnectionClosed) -> None:
        connection = self.connections.pop(event.connection_id, None)
        self.connection = connection
        if connection is not None:
            for direction in Direction:
                for pending in connection.pending[direction].values():
                    self.cancel(("call", direction, pending.call.message_id))
        for handler in hooks.CLOSED:
            handler(self, event)
        self.connection = None

    def _refused(self, event: HandshakeRefused) -> None:
        self.connection = None
        for handler in hooks.REFUSED:
            handler(self, event)

    def _frame(self, event: Frame, outcome: Outcome) -> None:
        self.frames += 1
        connection = self.connections.get(event.connection_id)
        if connection is None:  # a capture that starts mid-connection
            connection = Connection(
                event.connection_id,
                event.timestamp,
                DEFAULT_SUBPROTOCOL,
                last_activity=event.timestamp,
            )
            self.connections[event.connection_id] = connection
            self.connections_opened += 1
        self.connection = connection
        self.direction = event.direction
        if isinstance(event.data, bytes):
            self.flag(
                "WS-008",
                f"{event.direction.sender} sent a binary frame of "
                f"{len(event.data)} bytes; OCPP-J messages are UTF-8 JSON text frames",
            )
            try:
                text = event.data.decode("utf-8")
            except UnicodeDecodeError:
                self.flag("RPC-001", "binary frame is not valid UTF-8")
                return
        else:
            text = event.data
        parsed = parse_frame(text, connection.subprotocol)
        outcome.parsed = parsed
        self.message_id = parsed.message_id
        if isinstance(parsed.message, Call):
            self.action = parsed.message.action
        self._report(parsed.violations)
        for handler in hooks.FRAMES:
            handler(self, parsed)
        message = parsed.message
        if message is None:
            connection.rejected_frame = (event.direction, parsed.message_id or "-1")
            connection.last_activity = event.timestamp
            return
        if isinstance(message, CallError):
            compact = ""
        else:
            compact = "".join(text.split())
            if message.payload and ("{}" in compact or "[]" in compact or "null" in compact):
                for where, value in empty_fields(message.payload):
                    self.flag(
                        "RPC-011",
                        f"{where} is {json.dumps(value)}: omit an empty "
                        "optional field, fill a required one",
                    )
        if isinstance(message, Call):
            outcome.action = message.action
            self._call(message, compact)
        else:
            pending = self._response(message, connection)
            if pending is not None:
                self.action = outcome.action = pending.action
                outcome.rtt = event.timestamp - pending.timestamp
                self._dispatch_response(pending, message)
        connection.last_activity = event.timestamp

    def _report(self, violations: list[Violation]) -> None:
        for violation in violations:
            self.flag(violation.rule_id, violation.message, violation.severity)

    def _call(self, call: Call, compact: str) -> None:
        direction = self.direction
        assert direction is not None and self.connection is not None
        connection = self.connection
        known = call.action in ACTIONS
        if not known:
            self.flag(
                "RPC-009",
                f"unknown action '{call.action}' (actions are case-sensitive "
                "2.0.1 message names without 'Request')",
            )
        elif not may_send(call.action, direction):
            self.flag(
                "RPC-009",
                f"{call.action} is initiated by the "
                f"{direction.reverse.sender}, not by the {direction.sender}",
            )
        self._check_id_reuse(call, compact, direction)
        outstanding = connection.pending[direction]
        if outstanding:
            earlier = next(iter(outstanding.values()))
            self.flag(
                "RPC-007",
                f"{direction.sender} sent {call.action} while its "
                f"{earlier.action} ({earlier.call.message_id}) sent "
                f"{self.now - earlier.timestamp:.1f} s earlier is still unanswered",
            )
        pending = PendingCall(
            call,
            direction,
            self.now,
            connection.connection_id,
            self.event.ref if self.event else None,
        )
        outstanding[call.message_id] = pending
        self._expect_answer(pending)
        if known and call.payload is not None:
            violations = validate(f"{call.action}Request", call.payload)
            pending.valid = not violations
            self._report(violations)
        self.current_call = pending
        for handler in hooks.CALLS.get(call.action, ()):
            handler(self, call)
        for handler in hooks.CALLS[hooks.ANY]:
            handler(self, call)
        self.current_call = None

    def _check_id_reuse(self, call: Call, compact: str, direction: Direction) -> None:
        """RPC-005; CALLs are compared without whitespace, so a re-serialised retry is identical."""
        sent = self._sent_ids[direction]
        fingerprint = hash(compact)
        earlier = sent.get(call.message_id)
        if earlier is not None:
            if earlier == fingerprint:
                self.flag(
                    "RPC-005",
                    f"{call.action} retransmitted with the MessageId "
                    f"'{call.message_id}' of an earlier identical CALL; 2.0.1 expects a "
                    "new id for every CALL",
                    Severity.WARNING,
                )
            else:
                self.flag(
                    "RPC-005",
                    f"MessageId '{call.message_id}' was already used by the "
                    f"{direction.sender} for a different CALL",
                )
            del sent[call.message_id]
        sent[call.message_id] = fingerprint
        if len(sent) > self.config.remembered_ids:
            del sent[next(iter(sent))]

    def _expect_answer(self, pending: PendingCall) -> None:
        timeout = self.message_timeout
        key = ("call", pending.direction, pending.call.message_id)

        def timed_out() -> None:
            connection = self.connections.get(pending.connection_id)
            if connection is not None:
                connection.pending[pending.direction].pop(pending.call.message_id, None)
            self._remember(self._timed_out[pending.direction], pending)
            self.flag(
                "RPC-008",
                f"{pending.action} CALL from the {pending.direction.sender} "
                f"unanswered after {timeout:g} s (MessageTimeout)",
                message_id=pending.call.message_id,
                ref=pending.ref,
                connection_id=pending.connection_id,
                action=pending.action,
                direction=pending.direction,
            )

        self.at(key, pending.timestamp + timeout, timed_out)

    def _remember(self, table: dict[str, PendingCall], pending: PendingCall) -> None:
        table[pending.call.message_id] = pending
        if len(table) > 64:
            del table[next(iter(table))]

    def _response(
        self, message: CallResult | CallError, connection: Connection
    ) -> PendingCall | None:
        """Match a response to the CALL it answers; flag it when it answers none."""
        direction = self.direction
        assert direction is not None
        asker = direction.reverse
        kind = "CALLERROR" if isinstance(message, CallError) else "CALLRESULT"
        if isinstance(message, CallError):
            self._check_error_code(message.error_code)
        pending = connection.pending[asker].pop(message.message_id, None)
        if pending is not None:
            self.cancel(("call", asker, message.message_id))
            self._remember(self._answered[asker], pending)
            return pending
        late = self._timed_out[asker].pop(message.message_id, None)
        if late is not None:
            self.flag(
                "RPC-006",
                f"{kind} to {late.action} arrived "
                f"{self.now - late.timestamp:.1f} s after the CALL, past the "
                f"{self.message_timeout:g} s timeout",
                Severity.WARNING,
            )
            self._remember(self._answered[asker], late)
            return late
        answered = self._answered[asker].get(message.message_id)
        rejected = connection.rejected_frame
        if answered is not None:
            self.flag(
                "RPC-006",
                f"second response to {answered.action} CALL "
                f"'{message.message_id}', which was already answered",
            )
        elif message.message_id in connection.pending[direction] or (
            message.message_id in self._answered[direction]
        ):
            self.flag(
                "RPC-013",
                f"{direction.sender} sent a {kind} with the MessageId of its own "
                "CALL: responses answer the peer's CALLs, never a response",
            )
        elif isinstance(message, CallError) and rejected is not None and rejected[0] is asker:
            if rejected[1] == "-1" and message.message_id != "-1":
                self.flag(
                    "RPC-014",
                    f"CALLERROR answering an unreadable message must use "
                    f"MessageId \"-1\", not '{message.message_id}'",
                )
            elif message.message_id != rejected[1]:
                self.flag(
                    "RPC-006",
                    f"CALLERROR with MessageId '{message.message_id}' answers neither a CALL nor "
                    f"the rejected frame '{rejected[1]}' of the {asker.sender}",
                )
        else:
            self.flag(
                "RPC-006",
                f"{kind} with MessageId '{message.message_id}' answers no "
                f"outstanding CALL of the {asker.sender}",
            )
        connection.rejected_frame = None
        return None

    def _check_error_code(self, code: str) -> None:
        if code in ERROR_CODES:
            return
        modern = LEGACY_ERROR_CODES.get(code)
        if modern == "FormatViolation":
            self.flag(
                "RPC-012",
                f"errorCode '{code}' is the OCPP 1.6 spelling; 2.0.1 uses '{modern}'",
                Severity.WARNING,
            )
        elif modern is not None:
            self.flag(
                "RPC-012",
                f"errorCode '{code}': Part 4 Table 8 spells it '{modern}' "
                "(both spellings circulate in 2.0.1 implementations)",
                Severity.INFO,
            )
        else:
            self.flag("RPC-012", f"errorCode '{code}' is not one of the 12 OCPP 2.0.1 codes")

    def _dispatch_response(self, pending: PendingCall, message: CallResult | CallError) -> None:
        if isinstance(message, CallResult):
            if message.payload is not None and pending.action in ACTIONS:
                self._report(validate(f"{pending.action}Response", message.payload))
            for handler in hooks.RESULTS.get(pending.action, ()):
                handler(self, pending, message)
            for handler in hooks.RESULTS[hooks.ANY]:
                handler(self, pending, message)
        else:
            for on_error in hooks.ERRORS.get(pending.action, ()):
                on_error(self, pending, message)
            for on_error in hooks.ERRORS[hooks.ANY]:
                on_error(self, pending, message)


class Monitor:
    """Routes events to one `Session` per station; what the drivers hold."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.sessions: dict[str, Session] = {}

    def session(self, station: str) -> Session:
        session = self.sessions.get(station)
        if session is None:
            session = self.sessions[station] = Session(station, self.config)
        return session

    def excuse(
        self, station: str, connection_id: str, direction: Direction, message_id: str
    ) -> None:
        self.session(station).excuse(connection_id, direction, message_id)

    def feed(self, event: Event) -> Outcome:
        return self.session(event.station).feed(event)

    def tick(self, now: float) -> list[Finding]:
        return [finding for session in self.sessions.values() for finding in session.tick(now)]

    def finish(self, now: float) -> list[Finding]:
        return [finding for session in self.sessions.values() for finding in session.finish(now)]
