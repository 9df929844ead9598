"""A fault as a value: `FaultSpec`, frozen and valid once made. `parse_spec` is the one parser
every edge uses (the admin API's JSON, the CLI's options, fault plans in YAML or TOML), so a bad
rule is the same one-line FaultError wherever it comes from; `FaultSpec.body()` is the JSON the
admin API takes and shows, and parses back to the same spec. Pure: no clock, no sockets."""

from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass, field
from typing import Any

from proxy.faults.kinds import (
    KINDS,
    PARAMS,
    FaultError,
    Kind,
    KindRow,
    Target,
    kinds_for,
    parse_duration,
)
from proxy.faults.kinds import parse_number as _number
from proxy.ocppj.actions import Direction
from proxy.ocppj.versions import ALL_ACTIONS, VERSIONS, Version

MESSAGE_TYPES = ("CALL", "CALLRESULT", "CALLERROR", "CALLRESULTERROR", "SEND")
"""The last two exist on ocpp2.1 connections only (OCPP-J 2.1 §4.2)."""
DIRECTIONS = {
    "charger-to-csms": Direction.CHARGER_TO_CSMS,
    "csms-to-charger": Direction.CSMS_TO_CHARGER,
}
MATCHERS = ("station", "direction", "action", "messageType", "nth", "probability", "count", "for")
"""The fields every kind takes: which frames or connections, how often, for how long."""
_FRAME_MATCHERS = ("direction", "action", "messageType", "nth")
_SHOWN_ONLY = {"id", "expiresAt", "applied"}
"""What a rule's listing adds; accepted and ignored, so that a rule as shown can be posted
again."""
_FIELDS = {"kind", *MATCHERS, *PARAMS}


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


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """What to break, where, how often and for how long; the parameters a kind does not take
    keep their defaults (parse_spec refuses them)."""

    kind: Kind
    selector: Selector = field(default_factory=Selector)
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

    @property
    def row(self) -> KindRow:
        return KINDS[self.kind]

    @property
    def on_frames(self) -> bool:
        """Whether it acts on the frames its selector matches (else on connections)."""
        acts_on = self.row.acts_on
        return acts_on is Target.FRAMES or (acts_on is Target.EITHER and self.selector.frame_level)

    def body(self) -> dict[str, Any]:
        """The JSON the admin API takes (and shows, with the kind's parameters only)."""
        selector = self.selector
        return {
            "kind": self.kind.value,
            "station": selector.station,
            "direction": next((k for k, v in DIRECTIONS.items() if v is selector.direction), None),
            "action": selector.action,
            "messageType": selector.message_type,
            "nth": selector.nth,
            "probability": self.probability,
            "count": self.count,
            "for": self.duration,
        } | self.params()

    def params(self) -> dict[str, Any]:
        """The kind's parameters by their JSON names."""
        return {name: getattr(self, PARAMS[name].attr) for name in self.row.params}

    def reply_code(self, version: Version) -> str | None:
        """reply-error: the code answered on a connection speaking `version`, in its spelling
        (OccurrenceConstraintViolation is OccurenceConstraintViolation on 1.6, and back); None
        when that version has no such code: the rule does not act on its connections."""
        return version.own_code(self.error_code)


def parse_spec(body: object) -> FaultSpec:
    """A fault from its JSON description (a dict from JSON, YAML, TOML or the CLI's options);
    FaultError, one line naming the field, if unusable."""
    if not isinstance(body, dict):
        raise FaultError("a fault rule is a JSON object")
    unknown = sorted(set(body) - _FIELDS - _SHOWN_ONLY)
    if unknown:
        raise FaultError(f"unknown field {unknown[0]!r} (fields: {', '.join(sorted(_FIELDS))})")
    given_kind = body.get("kind")
    if not isinstance(given_kind, str) or given_kind not in {k.value for k in Kind}:
        raise FaultError(f"kind {given_kind!r} is not one of {', '.join(k.value for k in Kind)}")
    kind = Kind(given_kind)
    row = KINDS[kind]
    for name in PARAMS:
        if body.get(name) is not None and name not in row.params:
            takes = " and ".join(sorted(k.value for k in kinds_for(name)))
            raise FaultError(f"{name} applies only to {takes} rules")
    selector = _selector(body, row)
    values: dict[str, Any] = {
        "probability": _number(body.get("probability", 1.0), "probability", 0.0, 1.0)
    }
    if body.get("count") is not None:
        values["count"] = int(_number(body["count"], "count", 1, 1e9, integer=True))
    if body.get("for") is not None:
        values["duration"] = parse_duration(body["for"], "for")
    for name in row.params:
        if name in body:
            values[PARAMS[name].attr] = PARAMS[name].read(body[name])
    spec = FaultSpec(kind, selector, **values)
    _check(spec)
    return spec


def _selector(body: dict[str, Any], row: KindRow) -> Selector:
    station = body.get("station", "*")
    if not isinstance(station, str) or not station or "/" in station:
        raise FaultError("station must be a station id or a glob such as 'emart_*'")
    direction = body.get("direction")
    if direction is not None and (not isinstance(direction, str) or direction not in DIRECTIONS):
        raise FaultError(f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
    action = body.get("action")
    if action is not None and (not isinstance(action, str) or action not in ALL_ACTIONS):
        raise FaultError(
            f"action {action!r} is not an action of OCPP 1.6, 2.0.1 or 2.1{_near(action)}"
        )
    message_type = body.get("messageType")
    if message_type is not None and (
        not isinstance(message_type, str) or message_type not in MESSAGE_TYPES
    ):
        raise FaultError(f"messageType {message_type!r} is not one of {', '.join(MESSAGE_TYPES)}")
    nth = None
    if body.get("nth") is not None:
        nth = int(_number(body["nth"], "nth", 1, 1e9, integer=True))
    selector = Selector(
        station, DIRECTIONS[direction] if direction else None, action, message_type, nth
    )
    if row.acts_on is Target.CONNECTIONS and selector.frame_level:
        given = next(n for n in _FRAME_MATCHERS if body.get(n))
        raise FaultError(
            f"{row.kind.value} applies to connections, not frames: leave out {given} "
            "(only station selects)"
        )
    return selector


def _check(spec: FaultSpec) -> None:
    """What the kind's row says it cannot do without."""
    row = spec.row
    if row.calls_only and spec.selector.message_type not in (None, "CALL"):
        raise FaultError(f"{row.kind.value} answers CALLs: messageType must be CALL or left out")
    for need in row.needs:
        if not any(_given(spec, name) for name in need.fields):
            raise FaultError(need.message)
    if spec.kind is Kind.REPLY_ERROR and spec.selector.action is not None:
        _check_reply_code(spec, spec.selector.action)


def _check_reply_code(spec: FaultSpec, action: str) -> None:
    """A reply-error whose action exists only in versions without its code would never act:
    refused now rather than silently idle (RpcFrameworkError on StartTransaction, 1.6 only)."""
    having = [version for version in VERSIONS.values() if action in version.actions]
    if not any(spec.reply_code(version) for version in having):
        names = " and ".join(version.label for version in having)
        raise FaultError(
            f"errorCode {spec.error_code!r} does not exist in {names} "
            f"({', '.join(version.error_table for version in having)}), "
            f"the only version{'s' if len(having) > 1 else ''} with action {action}"
        )


def _near(action: object) -> str:
    """': did you mean X?' for a misspelt action (case, a letter or two), else '(case
    matters)'."""
    if isinstance(action, str) and len(action) <= 64:
        close = difflib.get_close_matches(action, ALL_ACTIONS, n=1, cutoff=0.8)
        if not close:
            close = [name for name in ALL_ACTIONS if name.lower() == action.lower()]
        if close:
            return f": did you mean {close[0]}?"
    return " (case matters)"


def _given(spec: FaultSpec, name: str) -> bool:
    if name == "for":
        return spec.duration is not None
    if name == "direction":
        return spec.selector.direction is not None
    return bool(getattr(spec, PARAMS[name].attr))
