"""The fault kinds, one table row each: what the kind does (the one line `ocppscope fault add
--help` and the README show), what it acts on, which parameters it takes and what it cannot do
without. The parser (proxy/faults/spec.py), the CLI's help and the admin API read this table, so
a new kind is a row here plus its behaviour in the book and the addon."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from proxy.ocppj.versions import ALL_ERROR_CODES


class FaultError(ValueError):
    """A fault that cannot be used; the message is one line naming the field."""


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


class Target(StrEnum):
    """What a kind acts on, which decides the selector fields it may be given."""

    FRAMES = "frames"
    CONNECTIONS = "connections"
    """New handshakes (and, for an outage, the connections that are up): only station selects."""
    EITHER = "frames or connections"
    """Connections at once, or the frames the selector names when it names frames."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_CLOSE_CODES = (range(1000, 1004), range(1007, 1015), range(3000, 5000))
"""Close codes a peer may send (RFC 6455 7.4: 1005, 1006 and 1015 are never sent; 1004 and
1015-2999 are reserved)."""


def parse_duration(value: object, what: str) -> float:
    """Seconds from 20, 20.5, "500ms", "20s", "10m" or "1h"."""
    if isinstance(value, bool):
        raise FaultError(f"{what} must be a duration like 500ms, 20s, 10m or 1h")
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds):
            raise FaultError(f"{what} must be a finite duration like 500ms, 20s, 10m or 1h")
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise FaultError(f"{what} {value!r} is not a duration like 500ms, 20s, 10m or 1h")
        seconds = float(match[1]) * _UNITS[match[2]]
    if not 0 <= seconds <= 7 * 86_400:
        raise FaultError(f"{what} must be between 0 and 7 days")
    return seconds


def parse_number(
    value: object, name: str, lowest: float, highest: float, integer: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{name} must be a number")
    if not math.isfinite(value):  # JSON's 1e309 is infinity, which int() refuses
        raise FaultError(f"{name} must be a finite number")
    if integer and value != int(value):
        raise FaultError(f"{name} must be a whole number")
    if not lowest <= value <= highest:
        raise FaultError(f"{name} must be between {lowest:g} and {highest:g}")
    return float(value)


def _close_code(value: object) -> int:
    code = int(parse_number(value, "code", 1000, 4999, integer=True))
    if not any(code in codes for codes in _CLOSE_CODES):
        raise FaultError(
            f"code {code} is not a close code a peer may send (1000-1003, 1007-1014, "
            "3000-4999); for a link that just dies, use reset"
        )
    return code


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise FaultError("reset must be true or false")
    return value


def _error_code(value: object) -> str:
    """A code of any version's errorCode table (OCPP-J 1.6 §4.2.3, 2.0.1 Part 4 Table 8, 2.1
    §4.3), in that version's spelling; spec.py checks that the rule can use it somewhere."""
    if not isinstance(value, str) or value not in ALL_ERROR_CODES:
        raise FaultError(
            f"errorCode {value!r} is not a CALLERROR code of OCPP 1.6, 2.0.1 or 2.1 "
            f"({', '.join(sorted(ALL_ERROR_CODES))})"
        )
    return value


def _field_path(value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip(". ")):
        raise FaultError("field must be a payload field name or dot path, e.g. idToken.idToken")
    return value


@dataclass(frozen=True, slots=True)
class Param:
    """A kind's parameter: `name` in JSON bodies and plans (the CLI's option is its kebab
    case), `attr` on FaultSpec; `read` checks a given value (FaultError) and returns it."""

    name: str
    attr: str
    type: str
    unit: str | None
    default: object
    help: str
    read: Callable[[object], object]

    @property
    def shown_default(self) -> str:
        """The default as help and docs show it; empty when it means 'none' or 'off'."""
        return "" if self.default in (None, False, 0.0) else f"default {self.default}"


PARAMS = {
    param.name: param
    for param in (
        Param("delay", "delay", "duration", "s", 0.0, "how long to hold it, e.g. 500ms",
              lambda value: parse_duration(value, "delay")),
        Param("jitter", "jitter", "duration", "s", 0.0, "up to this much longer",
              lambda value: parse_duration(value, "jitter")),
        Param("code", "code", "close code", None, 1001, "the close code both sides get",
              _close_code),
        Param("reset", "reset", "boolean", None, False,
              "reset the TCP connection, no close frame", _flag),
        Param("errorCode", "error_code", "OCPP-J error code", None, "InternalError",
              "the CALLERROR's code, of any version; each connection gets its version's "
              "spelling", _error_code),
        Param("field", "field_path", "payload dot path", None, None,
              "the payload field given a wrong type (default: break the JSON)", _field_path),
    )
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Need:
    """At least one of `fields` must be given (non-zero) or the kind has nothing to do."""

    fields: tuple[str, ...]
    message: str


@dataclass(frozen=True, slots=True)
class KindRow:
    kind: Kind
    acts_on: Target
    summary: str
    """One line: what it does (CLI help, README)."""
    params: tuple[str, ...] = ()
    """Names in PARAMS it takes; given to another kind, a parameter is refused, not ignored."""
    needs: tuple[Need, ...] = ()
    calls_only: bool = False
    """It acts on CALLs only: messageType must be CALL or left out."""
    status: str = "dropped"
    """ocpp_message_log.status of a frame it hits (a duplicated frame's copy is `duplicated`,
    reply-error's CALLERROR `injected`)."""


_TIMED = ("delay", "jitter")
_CLOSING = ("code", "reset")
_ROWS = (
    KindRow(Kind.DROP, Target.FRAMES,
            "the message is never delivered (an answer dropped is excused in the engine)"),
    KindRow(Kind.DELAY, Target.FRAMES,
            "delivered `delay` (+ up to `jitter`) later; later messages of that direction wait "
            "behind it, so the order on the connection is kept",
            _TIMED, (Need(_TIMED, "delay needs a delay (e.g. 500ms) or a jitter"),),
            status="delayed"),
    KindRow(Kind.DUPLICATE, Target.FRAMES,
            "delivered twice; the receiver's answer to the copy is not judged", status="sent"),
    KindRow(Kind.CORRUPT, Target.FRAMES,
            "the receiver gets invalid JSON, or with `field` (a dot path such as "
            "`idToken.idToken`) the payload with that field given a value of the wrong type",
            ("field",), status="corrupted"),
    KindRow(Kind.REPLY_ERROR, Target.FRAMES,
            "the CALL is not forwarded; the proxy answers the sender with a CALLERROR `errorCode`",
            ("errorCode",), calls_only=True),
    KindRow(Kind.BLACKHOLE, Target.FRAMES,
            "everything in one `direction` is swallowed for the rule's life: a half-open link",
            needs=(Need(("direction",), "blackhole swallows one direction: give direction"),)),
    KindRow(Kind.DISCONNECT, Target.EITHER,
            "both sides are closed with `code`, or with `reset` the charger's TCP connection is "
            "reset (it sees 1006); at once on every matching connection, or, when the selector "
            "names frames, on the matching frame (which is not delivered)",
            _CLOSING),
    KindRow(Kind.OUTAGE, Target.CONNECTIONS,
            "matching connections close now and their handshakes get HTTP 503 for `for`: the "
            "server is down",
            _CLOSING, (Need(("for",), "outage needs 'for': how long the server is down"),)),
    KindRow(Kind.SLOW_ACCEPT, Target.CONNECTIONS,
            "handshakes are held `delay` (+ up to `jitter`) before going on", _TIMED,
            (Need(_TIMED, "slow-accept needs a delay (e.g. 5s): how long handshakes are held"),)),
)  # fmt: skip
KINDS = {row.kind: row for row in _ROWS}


def kinds_for(param: str) -> list[Kind]:
    """The kinds that take `param`, in table order."""
    return [row.kind for row in _ROWS if param in row.params]


def kinds_help() -> str:
    """One line per kind, for `ocppscope fault add --help`."""
    return "\n\n".join(f"{row.kind.value}: {row.summary}" for row in _ROWS)


def param_help(name: str) -> str:
    """A parameter's CLI help: the kinds that take it and what it does."""
    param = PARAMS[name]
    default = f" ({param.shown_default})" if param.shown_default else ""
    return f"{'/'.join(k.value for k in kinds_for(name))}: {param.help}{default}."


def kinds_markdown() -> str:
    """The kinds as the README's table shows them (tests/faults/test_rules.py keeps it so)."""
    lines = ["| kind | acts on | parameters | what happens |", "| --- | --- | --- | --- |"]
    for row in _ROWS:
        params = [_param_markdown(PARAMS[name]) for name in row.params]
        needs = [" or ".join(f"`{name}`" for name in need.fields) for need in row.needs]
        given = "; ".join(params + [f"needs {need}" for need in needs]) or "-"
        lines.append(f"| `{row.kind.value}` | {row.acts_on.value} | {given} | {row.summary} |")
    return "\n".join(lines)


def _param_markdown(param: Param) -> str:
    unit = f" in {param.unit}" if param.unit else ""
    default = f", {param.shown_default}" if param.shown_default else ""
    return f"`{param.name}` ({param.type}{unit}{default})"
