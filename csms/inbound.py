"""What the reference CSMS owes a frame before any handler sees it: the CALLERROR that OCPP-J
2.0.1 §4.3 (Table 8) names for a frame that is no valid CALL, or nothing; spelled and checked
as the connection's OCPP version has it (csms/protocols.py).

The frame is read by the conformance engine's parser (proxy/ocppj/messages.py), which never raises,
whatever the nesting or the size of a number, and checked against the action's schema with date-
time formats and 32-bit integers (Part 2 §2.1), which the `ocpp` library does not check. The
library logs a traceback for every exception in a handler and drops frames it cannot parse; so
what is wrong is refused here, with one line, and the connection stays."""

from __future__ import annotations

import json
from collections.abc import Container
from dataclasses import dataclass

from csms.protocols import SPELLING_16, Protocol
from proxy.ocppj.checks.answers import FORMAT, fitting_codes
from proxy.ocppj.errors import ERROR_CODES
from proxy.ocppj.messages import MAX_ERROR_DESCRIPTION, Call, Parsed

UNREADABLE_ID = "-1"
"""§4.2.3: the MessageId of a CALLERROR to a frame whose own cannot be read."""
FORMAT_KINDS = frozenset({"Format", "Pattern", ""})
"""Schema breaches that are a value written wrongly (a dateTime that is none, a value nested too
deeply to be read): FormatViolation, "syntactically incorrect", is the most specific code."""


@dataclass(frozen=True, slots=True)
class Refusal:
    message_id: str
    code: str
    description: str

    def frame(self) -> str:
        assert self.code in ERROR_CODES or self.code in SPELLING_16.values()
        description = self.description[:MAX_ERROR_DESCRIPTION]
        return json.dumps([4, self.message_id, self.code, description, {}])


def refusal(parsed: Parsed, handled: Container[str], protocol: Protocol) -> Refusal | None:
    """The CALLERROR a frame from a station gets, or None: a CALL to hand to its handler (in
    `handled`), or a response or a 2.1 SEND (which no CALLERROR answers)."""
    found = _refusal(parsed, handled, protocol)
    if found is None:
        return None
    return Refusal(found.message_id, protocol.error_code(found.code), found.description)


def _refusal(parsed: Parsed, handled: Container[str], protocol: Protocol) -> Refusal | None:
    message = parsed.message
    first = parsed.violations[0].message if parsed.violations else ""
    if message is None and not parsed.violations:
        return None  # an ocpp2.1 SEND or CALLRESULTERROR: OCPP-J 2.1 has neither answered
    if message is None:  # no usable message at all
        message_id = parsed.message_id or UNREADABLE_ID
        code = "MessageTypeNotSupported" if parsed.unsupported_type else "RpcFrameworkError"
        return Refusal(message_id, code, first)
    if not isinstance(message, Call):
        return None
    if message.payload is None:
        return Refusal(message.message_id, FORMAT, first)
    if parsed.violations:  # the frame's shape: too many elements, a MessageId over 36
        return Refusal(message.message_id, "RpcFrameworkError", first)
    if message.action not in protocol.actions:
        return Refusal(message.message_id, "NotImplemented", f"unknown action {message.action}")
    if message.action not in handled:
        return Refusal(
            message.message_id, "NotSupported", f"this CSMS does not take {message.action}"
        )
    violations = protocol.validate_request(message.action, message.payload)
    if not violations:
        return None
    kind = violations[0].kind or ""
    code = FORMAT if kind in FORMAT_KINDS else fitting_codes((kind,))[0]
    return Refusal(message.message_id, code, violations[0].message)
