"""The per-station OCPP-J state machine: events in, findings out; no sockets, no clock of its own.

Shaped like `websockets.protocol`: a driver (the proxy, the simulator, `ocppscope check`) feeds each
event with its timestamp and gets back an `Outcome`.

A `Session` keeps only what is connection-wide: the connections, the RPC layer
(`proxy.ocppj.rpc`), timers, the observed clock, the context of the event being handled and frame
counters. Everything a rule knows lives in the rule group that owns it (`proxy.ocppj.checks`),
one instance per session, made from the explicit ruleset of the protocol version
(`proxy.ocppj.rulesets`). A group that needs another's knowledge asks for that group by its class,
`session.group(BootGroup).registration`: typed, greppable, and declared in its `needs`, which is
simpler than copying shared facts into extra objects that every group would have to keep in step.
See docs/architecture.md, "Engine".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.device_model import DeviceModelGroup
from proxy.ocppj.events import ConnectionClosed, ConnectionOpened, Event, Frame, HandshakeRefused
from proxy.ocppj.findings import Detail, Finding, Severity
from proxy.ocppj.messages import (
    Call,
    CallError,
    CallResult,
    CallResultError,
    Parsed,
    Send,
    Violation,
    empty_fields,
    parse_frame,
)
from proxy.ocppj.observed import Observed, skipped_rules
from proxy.ocppj.routing import Routes, RuleGroup
from proxy.ocppj.rpc import Connection, PendingCall, Rpc
from proxy.ocppj.rules import RULES
from proxy.ocppj.rulesets import groups_for
from proxy.ocppj.schemas import validate
from proxy.ocppj.state import Backoff, Link
from proxy.ocppj.versions import DEFAULT, OCPP201, VERSIONS, Version, known_version, version_of

__all__ = ["Config", "Connection", "Monitor", "Outcome", "PendingCall", "Session"]

G = TypeVar("G", bound=RuleGroup)
REMEMBERED_CLOSED = 4
"""Closed connections remembered per station: a frame can be reported after its connection's
close (an answer already on the wire when the proxy closed the link for a fault), and it
still answers the CALLs of that connection."""


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
    observed: Observed = "both"
    """Whose frames the observation holds, for every station not given its own
    (`Monitor(observed=...)`); a one-sided session skips the rules of
    `proxy.ocppj.observed.NEEDS_BOTH_SIDES`."""


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

    def __init__(
        self,
        station: str,
        config: Config | None = None,
        *,
        version: str = OCPP201,
        groups: Sequence[type[RuleGroup]] | None = None,
        observed: Observed | None = None,
    ) -> None:
        """`version` is the subprotocol whose rules judge the station (`proxy.ocppj.versions`);
        `groups` replaces its ruleset (tests, tools judging one group alone); `observed`
        replaces the config's for this station."""
        kinds = groups_for(version) if groups is None else groups
        self.station = station
        self.version: Version = VERSIONS[version]
        self.config = config or Config()
        self.observed: Observed = observed or self.config.observed
        self.skipped: dict[str, str] = skipped_rules(self.observed)
        """Rules this session does not judge (it sees one side only), with the reason of each."""
        self.suppressed: dict[str, int] = {}
        """How often each skipped rule would have been reported: not findings, gaps in the log."""
        self.connections: dict[str, Connection] = {}
        self.closed: dict[str, Connection] = {}
        """The latest closed connections, by id, with the CALLs they left unanswered."""
        self.link = Link()
        """When the station was reachable: every version's rules judge against it."""
        self.frames = 0
        self.connections_opened = 0
        self.selected: str | None = None
        """The known subprotocol the latest connection selected (`known_version`)."""
        self.rpc = Rpc(self)
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
        self._groups: dict[type[RuleGroup], RuleGroup] = {kind: kind(self) for kind in kinds}
        for kind in kinds:
            missing = [need.__name__ for need in kind.needs if need not in self._groups]
            if missing:
                raise ValueError(f"{kind.__name__} needs {', '.join(missing)} in its ruleset")
        self.routes = Routes.build(self._groups.values())
        self._settings = cast("DeviceModelGroup | None", self._groups.get(DeviceModelGroup))

    def group(self, kind: type[G]) -> G:
        """This session's instance of a rule group, for what that group knows."""
        return cast(G, self._groups[kind])

    def judges(self, rule_id: str) -> bool:
        """Whether the rule applies to this session's version (`Rule.versions`)."""
        return self.version.name in RULES[rule_id].versions

    def find(self, kind: type[G]) -> G | None:
        """A rule group this session's version may lack (a shared group asking a version's)."""
        return cast("G | None", self._groups.get(kind))

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
            latest = self.connection
            self._frame(event, outcome)
            if event.connection_id in self.closed:  # reported after its connection's close
                self.connection = latest
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
        for handler in self.routes.finished:
            handler()
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
        details: dict[str, Detail] | None = None,
    ) -> None:
        """Report a finding about the current event (or the frame named by `ref`).

        `details` carries the facts the message states, for metrics and reports to read.
        """
        rule = RULES[rule_id]
        if rule_id in self.skipped:
            self.suppressed[rule_id] = self.suppressed.get(rule_id, 0) + 1
            return
        event = self.event
        connection_id = connection_id or (
            self.connection.connection_id if self.connection else None
        )
        self._findings.append(
            Finding(
                rule_id=rule_id,
                severity=severity or rule.severity,
                station=self.station,
                message=message,
                reference=rule.reference_for(self.version.name),
                timestamp=self.now,
                connection_id=connection_id,
                message_id=message_id or self.message_id,
                ref=ref if ref is not None else (event.ref if event is not None else None),
                action=action or self.action,
                direction=direction or (self.direction if event is not None else None),
                details=details or {},
                version=self._selected_by(connection_id),
            )
        )

    def _selected_by(self, connection_id: str | None) -> str | None:
        """The known subprotocol `connection_id` selected; for a connection gone (a timeout
        after its close) or none, the latest connection's."""
        connection = self.connection
        if connection is None or connection.connection_id != connection_id:
            connection = self.connections.get(connection_id) if connection_id else None
        return known_version(connection.subprotocol) if connection else self.selected

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
        """MessageTimeout as learned from the device model, else the configured default."""
        learned = (
            self._settings.model.number("MessageTimeout", "Default") if self._settings else None
        )
        return learned if learned and learned > 0 else self.config.message_timeout

    @property
    def backoff(self) -> Backoff | None:
        """RetryBackOff* as learned from the device model, completed by the configured ones."""
        if self._settings is None:
            return self.config.backoff
        return self._settings.backoff(self.config.backoff)

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
        self.selected = known_version(event.selected_subprotocol)
        self.link.opened(event.timestamp)
        for handler in self.routes.opened:
            handler(event)
        self.connections[event.connection_id] = connection

    def _closed(self, event: ConnectionClosed) -> None:
        connection = self.connections.pop(event.connection_id, None)
        self.connection = connection
        if connection is not None:
            self.closed[event.connection_id] = connection
            if len(self.closed) > REMEMBERED_CLOSED:
                del self.closed[next(iter(self.closed))]
            for direction in Direction:
                if self.cancel(("rejected", direction, event.connection_id)):
                    self.rpc.closed_before_answer(connection, direction, event.closed_by)
                for pending in connection.pending[direction].values():
                    self.cancel(("call", direction, pending.call.message_id))
        if not self.connections:
            self.link.lost(event.timestamp, closed_by_station=event.closed_by == "charger")
        for handler in self.routes.closed:
            handler(event)
        self.connection = None

    def _refused(self, event: HandshakeRefused) -> None:
        self.connection = None
        for handler in self.routes.refused:
            handler(event)

    def _frame(self, event: Frame, outcome: Outcome) -> None:
        self.frames += 1
        connection = self.connections.get(event.connection_id) or self.closed.get(
            event.connection_id
        )
        if connection is None:  # a capture that starts mid-connection
            connection = Connection(
                event.connection_id,
                event.timestamp,
                self.version.name,
                last_activity=event.timestamp,
            )
            self.connections[event.connection_id] = connection
            self.connections_opened += 1
        self.connection = connection
        self.direction = event.direction
        text = event.data if isinstance(event.data, str) else self._binary(event, event.data)
        if text is None:
            return
        parsed = parse_frame(text, connection.subprotocol)
        outcome.parsed = parsed
        self.message_id = parsed.message_id
        message = parsed.message
        if isinstance(message, Call) or isinstance(message, Send):  # noqa: SIM101 (faster than a union)
            self.action = message.action
        self.report(parsed.violations)
        for handler in self.routes.frames:
            handler(parsed)
        if message is None:
            self.rpc.rejected(parsed, connection)
            connection.last_activity = event.timestamp
            return
        if isinstance(message, CallError):
            if isinstance(message, CallResultError):
                self.rpc.result_refused(message)
                connection.last_activity = event.timestamp
                return
            compact = ""
        else:
            compact = "".join(text.split())
            if message.payload and ("{}" in compact or "[]" in compact or "null" in compact):
                self._empty_fields(message.payload)
        if isinstance(message, Call):
            outcome.action = message.action
            self.current_call = self.rpc.call(message, compact, connection)
            routes = self.routes
            for on_call in routes.calls.get(message.action, routes.any_call):
                on_call(message)
            self.current_call = None
        elif isinstance(message, Send):
            outcome.action = message.action
            self.rpc.send(message, compact, connection)
        else:
            pending = self.rpc.response(message, connection)
            if pending is not None:
                self.action = outcome.action = pending.action
                outcome.rtt = event.timestamp - pending.timestamp
                self._dispatch_response(pending, message)
        connection.last_activity = event.timestamp

    def _binary(self, event: Frame, data: bytes) -> str | None:
        """WS-008 for a binary frame; its text, or None (RPC-001) when it is not UTF-8."""
        self.flag(
            "WS-008",
            f"{event.direction.sender} sent a binary frame of "
            f"{len(data)} bytes; OCPP-J messages are UTF-8 JSON text frames",
        )
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.flag("RPC-001", "binary frame is not valid UTF-8")
            return None

    def _empty_fields(self, payload: dict[str, object]) -> None:
        """RPC-011: null, {} or [] below the top level of a payload."""
        for where, value in empty_fields(payload):
            self.flag(
                "RPC-011",
                f"{where} is {json.dumps(value)}: omit an empty optional field, fill a required one",
            )

    def report(self, violations: list[Violation]) -> None:
        for violation in violations:
            self.flag(violation.rule_id, violation.message, violation.severity)

    def _dispatch_response(self, pending: PendingCall, message: CallResult | CallError) -> None:
        routes = self.routes
        if isinstance(message, CallResult):
            version = self.version
            if (
                message.payload is not None
                and pending.action in version.actions
                and pending.action not in version.send_actions  # no response schema: never answered
            ):
                self.report(validate(f"{pending.action}Response", message.payload, False, version))
            for handler in routes.results.get(pending.action, routes.any_result):
                handler(pending, message)
        else:
            for on_error in routes.errors.get(pending.action, routes.any_error):
                on_error(pending, message)


class Monitor:
    """Routes events to one `Session` per station, of the version its connection selected."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        observed: Mapping[str, Observed] | None = None,
    ) -> None:
        """`observed`: whose frames are recorded, per station (others: `config.observed`)."""
        self.config = config or Config()
        self.observed: Mapping[str, Observed] = observed or {}
        self.sessions: dict[str, Session] = {}

    def session(self, station: str, version: str = DEFAULT.name) -> Session:
        """The station's session; a new one of `version` for a station not seen yet."""
        session = self.sessions.get(station)
        if session is None:
            session = self.sessions[station] = Session(
                station, self.config, version=version, observed=self.observed.get(station)
            )
        return session

    def excuse(
        self, station: str, connection_id: str, direction: Direction, message_id: str
    ) -> None:
        self.session(station).excuse(connection_id, direction, message_id)

    def feed(self, event: Event) -> Outcome:
        if not isinstance(event, ConnectionOpened):
            return self.session(event.station).feed(event)
        version = version_of(event.selected_subprotocol).name
        session = self.sessions.get(event.station)
        if session is None or session.version.name == version:
            return self.session(event.station, version).feed(event)
        # Reconnected speaking another version: what the old session knew (its boot, its
        # transactions, its device model) belongs to that version's rules; its due timeouts
        # still fire, then a new session judges the station by the new version.
        earlier = session.tick(event.timestamp)
        del self.sessions[event.station]
        outcome = self.session(event.station, version).feed(event)
        outcome.findings[:0] = earlier
        return outcome

    def tick(self, now: float) -> list[Finding]:
        return [finding for session in self.sessions.values() for finding in session.tick(now)]

    def finish(self, now: float) -> list[Finding]:
        return [finding for session in self.sessions.values() for finding in session.finish(now)]
