"""OCPP-J framing: one frame's text in, a typed message and its framing violations out (OCPP-J §4)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from proxy.ocppj.findings import Severity
from proxy.ocppj.versions import version_of

MAX_MESSAGE_ID = 36
MAX_ERROR_DESCRIPTION = 255
CALL, CALLRESULT, CALLERROR, CALLRESULTERROR, SEND = 2, 3, 4, 5, 6
TYPE_NAMES = {CALL: "CALL", CALLRESULT: "CALLRESULT", CALLERROR: "CALLERROR"}
OCPP21_TYPES = {CALLRESULTERROR: "CALLRESULTERROR", SEND: "SEND"}
_MISSING = object()


@dataclass(slots=True)
class Call:
    message_id: str
    action: str
    payload: dict[str, Any] | None
    """None when the payload was not an object (already reported; not schema-checked)."""


@dataclass(slots=True)
class CallResult:
    message_id: str
    payload: dict[str, Any] | None


@dataclass(slots=True)
class CallError:
    message_id: str
    error_code: str
    description: str
    details: Any


@dataclass(slots=True)
class CallResultError(CallError):
    """OCPP-J 2.1 §4.2.3: the CALL's sender refusing the CALLRESULT it got; answers nothing."""


@dataclass(slots=True)
class Send:
    """OCPP-J 2.1 §4.2.4: a CALL that is never answered (MessageTypeId 6)."""

    message_id: str
    action: str
    payload: dict[str, Any] | None


Message = Call | CallResult | CallError | Send


@dataclass(slots=True)
class Violation:
    """A rule broken by one frame, before the session adds station, time and frame reference."""

    rule_id: str
    message: str
    severity: Severity | None = None
    """None means the catalogue's default severity for the rule."""
    kind: str | None = None
    """For a schema violation, the JSON Schema keyword it breaks (jsonschema-rs's error kind:
    `Required`, `Type`, `Enum`, ...): what CALLERROR code the receiver owes (RPC-016)."""


@dataclass(slots=True)
class Parsed:
    message: Message | None
    message_type: str
    """CALL, CALLRESULT, CALLERROR, or INVALID when the frame is not a usable OCPP-J message."""
    message_id: str | None = None
    """The id when it could be read, even from an otherwise broken frame."""
    violations: list[Violation] = field(default_factory=list)
    text: str = ""
    """The frame as received."""
    unsupported_type: bool = False
    """A MessageTypeId this link does not speak: the receiver owes MessageTypeNotSupported."""


def parse_frame(text: str, subprotocol: str | None) -> Parsed:
    """Decode an OCPP-J text frame; never raises, whatever the text."""
    parsed = Parsed(None, "INVALID", text=text)
    if not text.strip():
        return _invalid(parsed, "WS-010", "empty text message: not an OCPP message")
    try:
        decoded = _decode(text)
    except (ValueError, RecursionError) as exc:
        return _invalid(parsed, "RPC-001", f"not valid JSON: {_short(exc)}")
    if not isinstance(decoded, list):
        return _invalid(parsed, "RPC-002", f"message is a JSON {_json_type(decoded)}, not an array")
    if not decoded or type(decoded[0]) is not int:
        first = _json_type(decoded[0]) if decoded else "nothing"
        return _invalid(
            parsed, "RPC-002", f"first element must be an integer MessageTypeId, got {first}"
        )
    if len(decoded) > 1 and type(decoded[1]) is str:
        parsed.message_id = decoded[1]
    _parse_array(decoded, subprotocol, parsed)
    return parsed


def _decode(text: str) -> Any:
    """orjson first (about twice as fast); the standard parser only for what orjson refuses but
    JSON allows: a lone surrogate escape, a number beyond the double range (1e400), nesting deeper
    than 1024. Integers beyond 64 bits are read as doubles by both (as orjson, JSON.parse and ajv
    do; no OCPP integer field is that large, and a schema still sees a whole number), 1e400 as
    infinity, which the schemas then refuse (SCH-001). Nesting deeper than the standard parser's
    recursion is read without recursion. Neither accepts NaN or Infinity."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as fast_error:
        try:
            return _STRICT_JSON.decode(text)
        except ValueError:
            raise fast_error from None
        except RecursionError:
            pass
        try:
            return _decode_deep(text)
        except ValueError:
            raise fast_error from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value (RFC 8259)")


def _parse_int(text: str) -> int | float:
    """64-bit integers as int, larger ones as the double orjson would read (inf beyond its range);
    also spares int() its 4300-digit limit, which would call valid JSON invalid."""
    if len(text) <= 18:
        return int(text)
    number = int(text) if len(text) <= 21 else None
    if number is not None and -(2**63) <= number < 2**64:
        return number
    return float(text)


_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_STRICT_JSON = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_parse_int)
_SPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}


def _decode_deep(text: str) -> Any:
    """The JSON grammar (RFC 8259) with an explicit stack instead of recursion, for nesting deeper
    than the standard parser can go; raises ValueError where the text is not JSON."""
    stack: list[tuple[list[Any] | dict[str, Any], str]] = []  # open containers, the pending key
    pos = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    while True:
        char = text[pos : pos + 1]
        value: Any
        if char in ("[", "{"):
            pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
            if text[pos : pos + 1] == ("]" if char == "[" else "}"):
                value, pos = ([] if char == "[" else {}), pos + 1
            else:
                if char == "[":
                    stack.append(([], ""))
                else:
                    key, pos = _key(text, pos)
                    stack.append(({}, key))
                continue
        elif char == '"':
            value, pos = _scanstring(text, pos + 1)
        elif (word := next((w for w in _LITERALS if text.startswith(w, pos)), None)) is not None:
            value, pos = _LITERALS[word], pos + len(word)
        elif (number := _NUMBER.match(text, pos)) is not None:
            literal = number.group()
            value = float(literal) if number.group(1) or number.group(2) else _parse_int(literal)
            pos = number.end()
        else:
            raise ValueError(f"expected a value at character {pos}")
        while True:  # put the value in its container; close the containers that end here
            pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
            if not stack:
                if pos != len(text):
                    raise ValueError(f"extra data at character {pos}")
                return value
            container, key = stack[-1]
            if isinstance(container, list):
                container.append(value)
            else:
                container[key] = value
            char = text[pos : pos + 1]
            if char == ",":
                pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
                if isinstance(container, dict):
                    key, pos = _key(text, pos)
                    stack[-1] = (container, key)
                break
            if char != ("]" if isinstance(container, list) else "}"):
                raise ValueError(f"expected ',' or a closing bracket at character {pos}")
            value, pos = container, pos + 1
            stack.pop()


def _key(text: str, pos: int) -> tuple[str, int]:
    """An object's key and its colon; returns the key and where its value starts."""
    if text[pos : pos + 1] != '"':
        raise ValueError(f"expected a property name at character {pos}")
    key, pos = _scanstring(text, pos + 1)
    pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
    if text[pos : pos + 1] != ":":
        raise ValueError(f"expected ':' at character {pos}")
    return key, _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]


def _parse_array(items: list[Any], subprotocol: str | None, parsed: Parsed) -> None:
    type_id = items[0]
    if type_id not in TYPE_NAMES and not _known_type(type_id, subprotocol, parsed):
        return
    if len(items) < 2:
        name = TYPE_NAMES.get(type_id) or OCPP21_TYPES[type_id]
        parsed.violations.append(Violation("RPC-003", f"{name} has no MessageId"))
        return
    message_id = items[1]
    if type(message_id) is not str:
        parsed.violations.append(
            Violation(
                "RPC-004",
                f"MessageId must be a string, got {_json_type(message_id)} {_short(message_id)}",
            )
        )
        return
    if type_id in (CALL, SEND) and len(message_id) > MAX_MESSAGE_ID:  # a response echoes it
        parsed.violations.append(
            Violation(
                "RPC-004",
                f"MessageId is {len(message_id)} characters long, the maximum is {MAX_MESSAGE_ID}",
            )
        )
    if type_id in (CALL, SEND):
        _parse_call(items, parsed, type_id)
    elif type_id == CALLRESULT:
        _parse_callresult(items, parsed)
    else:
        _parse_callerror(items, parsed, type_id)


def _known_type(type_id: int, subprotocol: str | None, parsed: Parsed) -> bool:
    """Whether a MessageTypeId other than 2, 3, 4 is one of the connection's version (2.1's 5
    and 6); WS-003 or RPC-002 when it is not."""
    known = version_of(subprotocol).message_types
    if type_id in known:
        return True
    if type_id in OCPP21_TYPES:
        parsed.violations.append(
            Violation(
                "WS-003",
                f"MessageTypeId {type_id} ({OCPP21_TYPES[type_id]}) exists only on ocpp2.1, "
                f"this connection speaks {subprotocol or 'no negotiated subprotocol'}",
            )
        )
    else:
        listed = ", ".join(str(number) for number in sorted(known))
        parsed.violations.append(
            Violation("RPC-002", f"unknown MessageTypeId {type_id}: OCPP-J knows {listed}")
        )
    parsed.unsupported_type = True
    return False


def _parse_call(items: list[Any], parsed: Parsed, type_id: int) -> None:
    kind = "CALL" if type_id == CALL else "SEND"
    if len(items) != 4:
        shape = f'[{type_id}, "<MessageId>", "<Action>", {{<Payload>}}]'
        _check_length(items, 4, kind, shape, parsed)
    action = items[2] if len(items) > 2 else None
    if type(action) is not str:
        parsed.violations.append(
            Violation("RPC-003", f"{kind} Action must be a string, got {_json_type(action)}")
        )
        return
    payload = _payload(items[3] if len(items) > 3 else _MISSING, kind, parsed)
    message_class = Call if type_id == CALL else Send
    parsed.message = message_class(parsed.message_id or "", action, payload)
    parsed.message_type = kind


def _parse_callresult(items: list[Any], parsed: Parsed) -> None:
    _check_length(items, 3, "CALLRESULT", '[3, "<MessageId>", {<Payload>}]', parsed)
    payload = _payload(items[2] if len(items) > 2 else _MISSING, "CALLRESULT", parsed)
    parsed.message = CallResult(parsed.message_id or "", payload)
    parsed.message_type = "CALLRESULT"


def _parse_callerror(items: list[Any], parsed: Parsed, type_id: int) -> None:
    kind = "CALLERROR" if type_id == CALLERROR else "CALLRESULTERROR"
    shape = f'[{type_id}, "<MessageId>", "<errorCode>", "<errorDescription>", {{<errorDetails>}}]'
    _check_length(items, 5, kind, shape, parsed)
    code, description, details = [*items[2:], None, None, None][:3]
    if type(code) is not str:
        parsed.violations.append(
            Violation("RPC-003", f"{kind} errorCode must be a string, got {_json_type(code)}")
        )
        code = ""
    if type(description) is not str:
        parsed.violations.append(
            Violation(
                "RPC-003",
                f"{kind} errorDescription must be a string "
                f'("" when there is nothing to say), got {_json_type(description)}',
            )
        )
        description = ""
    elif len(description) > MAX_ERROR_DESCRIPTION:
        parsed.violations.append(
            Violation(
                "RPC-003",
                f"{kind} errorDescription is {len(description)} characters, "
                f"the maximum is {MAX_ERROR_DESCRIPTION}",
            )
        )
    if type(details) is not dict:
        parsed.violations.append(
            Violation(
                "RPC-003",
                f"{kind} errorDetails must be a JSON object ({{}} when empty), "
                f"got {_json_type(details)}",
            )
        )
    message_class = CallError if type_id == CALLERROR else CallResultError
    parsed.message = message_class(parsed.message_id or "", code, description, details)
    parsed.message_type = kind


def _check_length(items: list[Any], expected: int, kind: str, shape: str, parsed: Parsed) -> None:
    if len(items) != expected:
        parsed.violations.append(
            Violation("RPC-003", f"{kind} has {len(items)} elements, expected {expected}: {shape}")
        )


def _payload(value: Any, kind: str, parsed: Parsed) -> dict[str, Any] | None:
    if type(value) is dict:
        return value
    if value is None:
        parsed.violations.append(
            Violation(
                "RPC-011", f"{kind} payload is null; an empty payload is {{}}", Severity.WARNING
            )
        )
    elif value is not _MISSING:  # a missing element is already an RPC-003 length violation
        parsed.violations.append(
            Violation("RPC-003", f"{kind} payload must be a JSON object, got {_json_type(value)}")
        )
    return None


def _invalid(parsed: Parsed, rule_id: str, message: str) -> Parsed:
    parsed.violations.append(Violation(rule_id, message))
    return parsed


def empty_fields(payload: dict[str, Any]) -> list[tuple[str, Any]]:
    """Fields below the top level whose value is null, {} or [] (P4 §4.1.5: omit them)."""
    found: list[tuple[str, Any]] = []
    stack: list[tuple[str, Any]] = [("", payload)]
    while stack:
        path, value = stack.pop()
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            where = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)
            if item is None or item in ({}, []):
                found.append((where, item))
            elif isinstance(item, dict | list):
                stack.append((where, item))
    return sorted(found)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(value: Any, limit: int = 60) -> str:
    text = str(value) if isinstance(value, Exception) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
