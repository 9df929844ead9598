"""The proxy's fault rules and what they decide for each frame and handshake. Pure: time and
randomness come from the caller, frames are text; the addon (addons/faults.py) does the I/O.

One fault at most per frame: the first live rule (in the order they were added) whose selector
matches and whose probability draw succeeds. Responses are matched by their CALL's action,
which the book learns from the CALLs it sees while it has rules. A frame is read as the
connection's negotiated version (1.6, 2.0.1, 2.1) speaks; a reply-error rule answers in that
version's spelling of its code, and passes over the connections of a version without it."""

from __future__ import annotations

import random
from dataclasses import dataclass

import orjson

from proxy.faults.kinds import Kind, Target
from proxy.faults.record import FrameFacts
from proxy.faults.rules import FaultRule
from proxy.faults.spec import FaultSpec
from proxy.ocppj.actions import Direction
from proxy.ocppj.messages import Call, Parsed, Send, parse_frame
from proxy.ocppj.versions import version_of

CALLS_KEPT = 1000
"""Unanswered CALLs remembered per connection and direction (for the action of responses)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one frame or handshake."""

    rule: FaultRule
    delay: float = 0.0
    """delay and slow-accept: seconds to hold it."""
    data: str | None = None
    """corrupt: the text to deliver instead; reply-error: the CALLERROR to answer with."""
    facts: FrameFacts | None = None
    error_code: str | None = None
    """reply-error: the code answered, as the connection's version spells it."""

    @property
    def kind(self) -> Kind:
        return self.rule.kind

    @property
    def label(self) -> str:
        """How the record (ocpp_message_log.status, the console) names what happened."""
        rule = self.rule
        if rule.kind is Kind.DELAY:
            return f"delayed {self.delay * 1000:.0f} ms (fault {rule.id})"
        if rule.kind is Kind.REPLY_ERROR:
            return f"answered by the proxy with {self.error_code} (fault {rule.id})"
        if rule.kind is Kind.CORRUPT:
            path = rule.spec.field_path
            what = f"field {path}" if path else "invalid JSON"
            return f"corrupted: {what} (fault {rule.id})"
        past = {
            Kind.DROP: "dropped",
            Kind.BLACKHOLE: "dropped (blackhole)",
            Kind.DUPLICATE: "duplicated",
            Kind.DISCONNECT: "dropped; connection closed",
            Kind.OUTAGE: "refused (outage)",
            Kind.SLOW_ACCEPT: f"held {self.delay:.1f} s",
        }
        return f"{past[rule.kind]} (fault {rule.id})"


class FaultBook:
    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()
        self.rules: dict[int, FaultRule] = {}
        self._next_id = 1
        self._calls: dict[tuple[str, Direction], dict[str, str]] = {}

    # ---- the rules ----------------------------------------------------------------------------

    def add(self, spec: FaultSpec, now: float) -> FaultRule:
        """A new rule applying `spec` from `now`."""
        rule = FaultRule(self._next_id, spec, now)
        self._next_id += 1
        self.rules[rule.id] = rule
        return rule

    def remove(self, rule_id: int) -> FaultRule | None:
        return self.rules.pop(rule_id, None)

    def clear(self) -> list[FaultRule]:
        removed = list(self.rules.values())
        self.rules.clear()
        return removed

    def retire(self, now: float) -> list[FaultRule]:
        """Remove the rules whose lifetime is over; they are returned for the record."""
        over = [rule for rule in self.rules.values() if not rule.alive(now)]
        for rule in over:
            del self.rules[rule.id]
        return over

    def live(self, now: float) -> list[FaultRule]:
        return [rule for rule in self.rules.values() if rule.alive(now)]

    # ---- frames -------------------------------------------------------------------------------

    def frame(
        self,
        station: str,
        connection_id: str,
        direction: Direction,
        text: str,
        now: float,
        subprotocol: str | None = None,
    ) -> Decision | None:
        """The fault for one text frame of a connection that selected `subprotocol`, if any.
        Frames are only parsed while rules exist."""
        rules = [r for r in self.live(now) if r.spec.on_frames]
        if not rules:
            return None
        facts = self._facts(connection_id, direction, text, subprotocol)
        version = version_of(subprotocol)
        decision = None
        for rule in rules:
            selector = rule.selector
            if not selector.matches_frame(station, direction, facts.message_type, facts.action):
                continue
            if rule.spec.row.calls_only and facts.message_type != "CALL":
                continue
            error_code = None
            if rule.kind is Kind.REPLY_ERROR:
                error_code = rule.spec.reply_code(version)
                if error_code is None:
                    continue  # a code this connection's version does not have
            if selector.nth is not None:  # counted even when an earlier rule took the frame
                seen = rule.seen[station] = rule.seen.get(station, 0) + 1
                if seen != selector.nth:
                    continue
            if decision is not None or self.rng.random() >= rule.spec.probability:
                continue
            rule.applied += 1
            decision = self._decide(rule, facts, text, error_code)
        return decision

    def closed(self, connection_id: str) -> None:
        """Forget a connection's unanswered CALLs."""
        for direction in Direction:
            self._calls.pop((connection_id, direction), None)

    def _facts(
        self, connection_id: str, direction: Direction, text: str, subprotocol: str | None
    ) -> FrameFacts:
        parsed = parse_frame(text, subprotocol)
        message = parsed.message
        if isinstance(message, Call):
            calls = self._calls.setdefault((connection_id, direction), {})
            calls[message.message_id] = message.action
            if len(calls) > CALLS_KEPT:
                del calls[next(iter(calls))]
        if isinstance(message, Call | Send):
            return _own_facts(parsed)
        action = None
        if parsed.message_id is not None:
            calls = self._calls.get((connection_id, direction.reverse), {})
            action = calls.pop(parsed.message_id, None)
        return FrameFacts(parsed.message_type, parsed.message_id, action)

    def _decide(
        self, rule: FaultRule, facts: FrameFacts, text: str, error_code: str | None
    ) -> Decision:
        spec = rule.spec
        if rule.kind is Kind.DELAY:
            return Decision(rule, spec.delay + self.rng.uniform(0, spec.jitter), facts=facts)
        if rule.kind is Kind.CORRUPT:
            return Decision(rule, data=corrupted(text, spec.field_path), facts=facts)
        if rule.kind is Kind.REPLY_ERROR:
            answer: list[object] = [
                4,
                facts.message_id,
                error_code,
                f"injected by ocppscope fault {rule.id}",
                {},
            ]
            data = orjson.dumps(answer).decode()
            return Decision(rule, data=data, facts=facts, error_code=error_code)
        return Decision(rule, facts=facts)

    # ---- handshakes ---------------------------------------------------------------------------

    def handshake(self, station: str, now: float) -> Decision | None:
        """An outage refuses the handshake; slow-accept holds it."""
        for rule in self.live(now):
            if rule.spec.row.acts_on is not Target.CONNECTIONS:
                continue
            if not rule.selector.matches_station(station):
                continue
            if self.rng.random() >= rule.spec.probability:
                continue
            rule.applied += 1
            delay = rule.spec.delay + self.rng.uniform(0, rule.spec.jitter)
            return Decision(rule, delay=delay if rule.kind is Kind.SLOW_ACCEPT else 0.0)
        return None


def read_facts(text: str, subprotocol: str | None = None) -> FrameFacts:
    """What a frame is, read on its own (a response's action is not known this way)."""
    return _own_facts(parse_frame(text, subprotocol))


def _own_facts(parsed: Parsed) -> FrameFacts:
    """What a parsed frame says of itself: a CALL's or SEND's action, no response's."""
    message = parsed.message
    action = message.action if isinstance(message, Call | Send) else None
    return FrameFacts(parsed.message_type, parsed.message_id, action)


def corrupted(text: str, path: str | None) -> str:
    """The frame with a schema violation in field `path` of its payload (the value replaced by
    one of the wrong type), or, with no path or no JSON payload, no longer valid JSON."""
    if path is not None:
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            message = None
        if isinstance(message, list) and message and isinstance(message[-1], dict):
            _break(message[-1], path.strip(".").split("."))
            return orjson.dumps(message).decode()
    return text.rstrip()[:-1] if text.rstrip().endswith("]") else text + "]"


def _break(payload: dict[str, object], names: list[str]) -> None:
    """Give the field a value of the wrong type (creating it if absent: an unknown field is a
    violation too, the schemas forbid additional properties)."""
    target: dict[str, object] = payload
    for name in names[:-1]:
        child = target.get(name)
        if not isinstance(child, dict):
            child = target[name] = {}
        target = child
    value = target.get(names[-1])
    target[names[-1]] = 12345 if isinstance(value, str) else "corrupted by ocppscope"
