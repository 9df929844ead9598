"""A fault as a value: `FaultSpec`, frozen and valid once made. `parse_spec` is the one parser
every edge uses (the admin API's JSON, the CLI's options, fault plans in YAML or TOML), so a bad
rule is the same one-line FaultError wherever it comes from; `FaultSpec.body()` is the JSON the
admin API takes and shows, and parses back to the same spec. Pure: no clock, no sockets."""

from __future__ import annotations

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
from proxy.ocppj.actions import ACTIONS, Direction

MESSAGE_TYPES = {"CALL", "CALLRESULT", "CALLERROR"}
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
    if action is not None and (not isinstance(action, str) or action not in ACTIONS):
        raise FaultError(f"action {action!r} is not an OCPP 2.0.1 action (case matters)")
    message_type = body.get("messageType")
    if message_type is not None and (
        not isinstance(message_type, str) or message_type not in MESSAGE_TYPES
    ):
        raise FaultError(f"messageType {message_type!r} is not one of CALL, CALLRESULT, CALLERROR")
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


def _given(spec: FaultSpec, name: str) -> bool:
    if name == "for":
        return spec.duration is not None
    if name == "direction":
        return spec.selector.direction is not None
    return bool(getattr(spec, PARAMS[name].attr))
