"""Fault rules: what to break, where, how often and for how long. Pure: parsed from the JSON the
admin API takes (the CLI and fault plans send the same), no clock, no sockets.

A rule is a kind, a selector (station id or glob, direction, action, message type, and
optionally "the Nth matching frame" per station), a probability and a lifetime (a number of
applications, a duration, or until removed)."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from proxy.ocppj.actions import ACTIONS, Direction
from proxy.ocppj.errors import ERROR_CODES


class Kind(StrEnum):
    DROP = "drop"
    DELAY = "delay"
    DUPLICATE = "duplicate"
    CORRUPT = "corrupt"
    REPLY_ERROR = "reply-error"
    BLACKHOLE = "blackhole"
    DISCONNECT = "disconnect"
    OUTAGE = "outage"
    SLOW_ACCEPT = "slow-accept"


FRAME_KINDS = {
    Kind.DROP,
    Kind.DELAY,
    Kind.DUPLICATE,
    Kind.CORRUPT,
    Kind.REPLY_ERROR,
    Kind.BLACKHOLE,
}
"""Applied to the frames their selector matches (a disconnect too, when its selector names
frames; otherwise it closes the matching connections at once)."""
HANDSHAKE_KINDS = {Kind.OUTAGE, Kind.SLOW_ACCEPT}
"""Applied to new connections (an outage also ends the ones that are up)."""

MESSAGE_TYPES = {"CALL", "CALLRESULT", "CALLERROR"}
DIRECTIONS = {
    "charger-to-csms": Direction.CHARGER_TO_CSMS,
    "csms-to-charger": Direction.CSMS_TO_CHARGER,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class FaultError(ValueError):
    """A rule that cannot be used; the message is one line naming the field."""


def parse_duration(value: object, what: str) -> float:
    """Seconds from 20, 20.5, "500ms", "20s", "10m" or "1h"."""
    if isinstance(value, bool):
        raise FaultError(f"{what} must be a duration like 500ms, 20s, 10m or 1h")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise FaultError(
                f"{what} {value!r} is not a duration like 500ms, 20s, 10m or 1h"
            ) from None
        seconds = float(match[1]) * _UNITS[match[2]]
    if not 0 <= seconds <= 7 * 86_400:
        raise FaultError(f"{what} must be between 0 and 7 days")
    return seconds


@dataclass(frozen=True, slots=True)
class Selector:
    station: str = "*"
    """Station id or glob (fnmatch: *, ?, [..])."""
    direction: Direction | None = None
    action: str | None = None
    message_type: str | None = None
    nth: int | None = None
    """Only the Nth frame (1-based, per station) that matches the rest."""

    @property
    def frame_level(self) -> bool:
        """Whether it names frames rather than only stations."""
        return any(
            v is not None for v in (self.direction, self.action, self.message_type, self.nth)
        )

    def matches_station(self, station: str) -> bool:
        return fnmatch.fnmatchcase(station, self.station)

    def matches_frame(
        self, station: str, direction: Direction, message_type: str, action: str | None
    ) -> bool:
        """Everything but `nth`, which counts the frames this returns True for."""
        return (
            self.matches_station(station)
            and (self.direction is None or self.direction is direction)
            and (self.message_type is None or self.message_type == message_type)
            and (self.action is None or self.action == action)
        )


@dataclass(slots=True)
class FaultRule:
    id: int
    kind: Kind
    selector: Selector
    created_at: float
    probability: float = 1.0
    count: int | None = None
    """Applications before the rule retires itself; None: no limit."""
    duration: float | None = None
    """Seconds from creation before it retires; None: until removed."""
    delay: float = 0.0
    """delay, slow-accept: seconds added; plus up to `jitter` more."""
    jitter: float = 0.0
    code: int = 1001
    """disconnect, outage: the close code sent to both sides."""
    reset: bool = False
    """disconnect, outage: reset the TCP connection instead of closing the WebSocket."""
    error_code: str = "InternalError"
    """reply-error: the CALLERROR's code."""
    field_path: str | None = None
    """corrupt: the payload field (dot path) given a wrong type; None: break the JSON."""
    applied: int = 0
    seen: dict[str, int] = field(default_factory=dict)
    """Frames matched so far per station (for `nth`)."""

    @property
    def expires_at(self) -> float | None:
        return None if self.duration is None else self.created_at + self.duration

    def alive(self, now: float) -> bool:
        if self.count is not None and self.applied >= self.count:
            return False
        return self.expires_at is None or now < self.expires_at

    def describe(self) -> dict[str, Any]:
        """The rule as the admin API shows it (the same names it accepts)."""
        selector = self.selector
        shown: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind.value,
            "station": selector.station,
            "direction": next((k for k, v in DIRECTIONS.items() if v is selector.direction), None),
            "action": selector.action,
            "messageType": selector.message_type,
            "nth": selector.nth,
            "probability": self.probability,
            "count": self.count,
            "for": self.duration,
            "expiresAt": self.expires_at,
            "applied": self.applied,
        }
        if self.kind in (Kind.DELAY, Kind.SLOW_ACCEPT):
            shown |= {"delay": self.delay, "jitter": self.jitter}
        if self.kind in (Kind.DISCONNECT, Kind.OUTAGE):
            shown |= {"code": self.code, "reset": self.reset}
        if self.kind is Kind.REPLY_ERROR:
            shown["errorCode"] = self.error_code
        if self.kind is Kind.CORRUPT:
            shown["field"] = self.field_path
        return shown


_SHOWN_ONLY = {"id", "expiresAt", "applied"}
"""What describe() adds; accepted and ignored, so that a rule as shown can be posted again."""
_PARAMETERS = {
    "delay": {Kind.DELAY, Kind.SLOW_ACCEPT},
    "jitter": {Kind.DELAY, Kind.SLOW_ACCEPT},
    "code": {Kind.DISCONNECT, Kind.OUTAGE},
    "reset": {Kind.DISCONNECT, Kind.OUTAGE},
    "errorCode": {Kind.REPLY_ERROR},
    "field": {Kind.CORRUPT},
}
"""The kinds each parameter means something to; given to another kind it is refused, not ignored."""
_CLOSE_CODES = (range(1000, 1004), range(1007, 1015), range(3000, 5000))
"""Close codes a peer may send (RFC 6455 7.4: 1005, 1006 and 1015 are never sent; 1004 and
1015-2999 are reserved)."""
_FIELDS = {
    "kind",
    "station",
    "direction",
    "action",
    "messageType",
    "nth",
    "probability",
    "count",
    "for",
    "delay",
    "jitter",
    "code",
    "reset",
    "errorCode",
    "field",
}


def parse_rule(body: object, rule_id: int, now: float) -> FaultRule:
    """A rule from its JSON description; FaultError (one line, naming the field) if unusable."""
    if not isinstance(body, dict):
        raise FaultError("a fault rule is a JSON object")
    unknown = sorted(set(body) - _FIELDS - _SHOWN_ONLY)
    if unknown:
        raise FaultError(f"unknown field {unknown[0]!r} (fields: {', '.join(sorted(_FIELDS))})")
    try:
        kind = Kind(body.get("kind"))
    except ValueError:
        raise FaultError(
            f"kind {body.get('kind')!r} is not one of {', '.join(k.value for k in Kind)}"
        ) from None
    for name, kinds in _PARAMETERS.items():
        if body.get(name) is not None and kind not in kinds:
            raise FaultError(
                f"{name} applies only to {' and '.join(sorted(k.value for k in kinds))} rules"
            )
    selector = _selector(body, kind)
    rule = FaultRule(rule_id, kind, selector, now)
    rule.probability = _number(body, "probability", 1.0, 0.0, 1.0)
    if body.get("count") is not None:
        rule.count = int(_number(body, "count", 1, 1, 1e9, integer=True))
    if "for" in body and body["for"] is not None:
        rule.duration = parse_duration(body["for"], "for")
    rule.delay = parse_duration(body.get("delay", 0), "delay")
    rule.jitter = parse_duration(body.get("jitter", 0), "jitter")
    rule.code = int(_number(body, "code", 1001, 1000, 4999, integer=True))
    if not any(rule.code in codes for codes in _CLOSE_CODES):
        raise FaultError(
            f"code {rule.code} is not a close code a peer may send (1000-1003, 1007-1014, "
            "3000-4999); for a link that just dies, use reset"
        )
    reset = body.get("reset", False)
    if not isinstance(reset, bool):
        raise FaultError("reset must be true or false")
    rule.reset = reset
    error_code = body.get("errorCode", "InternalError")
    if not isinstance(error_code, str) or error_code not in ERROR_CODES:
        raise FaultError(
            f"errorCode {error_code!r} is not an OCPP-J error code "
            f"({', '.join(sorted(ERROR_CODES))})"
        )
    rule.error_code = error_code
    path = body.get("field")
    if path is not None and (not isinstance(path, str) or not path.strip(". ")):
        raise FaultError("field must be a payload field name or dot path, e.g. idToken.idToken")
    rule.field_path = path
    _check_kind(rule)
    return rule


def _selector(body: dict[str, Any], kind: Kind) -> Selector:
    station = body.get("station", "*")
    if not isinstance(station, str) or not station or "/" in station:
        raise FaultError("station must be a station id or a glob such as 'emart_*'")
    direction = body.get("direction")
    if direction is not None and (not isinstance(direction, str) or direction not in DIRECTIONS):
        raise FaultError(f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
    action = body.get("action")
    if action is not None and (not isinstance(action, str) or action not in ACTIONS):
        raise FaultError(f"action {action!r} is not an OCPP 2.0.1 action (case matters)")
    message_type = body.get("messageType")
    if message_type is not None and (
        not isinstance(message_type, str) or message_type not in MESSAGE_TYPES
    ):
        raise FaultError(f"messageType {message_type!r} is not one of CALL, CALLRESULT, CALLERROR")
    nth = None
    if body.get("nth") is not None:
        nth = int(_number(body, "nth", 1, 1, 1e9, integer=True))
    selector = Selector(
        station, DIRECTIONS[direction] if direction else None, action, message_type, nth
    )
    if kind in HANDSHAKE_KINDS and selector.frame_level:
        given = next(n for n in ("direction", "action", "messageType", "nth") if body.get(n))
        raise FaultError(
            f"{kind.value} applies to connections, not frames: leave out {given} "
            "(only station selects)"
        )
    return selector


def _check_kind(rule: FaultRule) -> None:
    selector = rule.selector
    if rule.kind is Kind.REPLY_ERROR and selector.message_type not in (None, "CALL"):
        raise FaultError("reply-error answers CALLs: messageType must be CALL or left out")
    if rule.kind is Kind.BLACKHOLE and selector.direction is None:
        raise FaultError("blackhole swallows one direction: give direction")
    if rule.kind is Kind.DELAY and rule.delay + rule.jitter <= 0:
        raise FaultError("delay needs a delay (e.g. 500ms) or a jitter")
    if rule.kind is Kind.SLOW_ACCEPT and rule.delay + rule.jitter <= 0:
        raise FaultError("slow-accept needs a delay (e.g. 5s): how long handshakes are held")
    if rule.kind is Kind.OUTAGE and rule.duration is None:
        raise FaultError("outage needs 'for': how long the server is down")


def _number(
    body: dict[str, Any],
    name: str,
    default: float,
    lowest: float,
    highest: float,
    integer: bool = False,
) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{name} must be a number")
    if integer and value != int(value):
        raise FaultError(f"{name} must be a whole number")
    if not lowest <= value <= highest:
        raise FaultError(f"{name} must be between {lowest:g} and {highest:g}")
    return float(value)
