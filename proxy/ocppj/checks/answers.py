"""How the receiver of a CALL answers it (OCPP-J 2.0.1 §4.1.7, §4.2.3, §4.3; OCPP-J 1.6 §4.2.3), in
both directions; each finding cites the sections of its connection's version (`Version.cite`).

RPC-010: a CALL that breaks its schema is accepted with a CALLRESULT. RPC-016: a CALLERROR code
that does not name the schema violation of the CALL it answers. RPC-020: an unknown action is
answered otherwise than with NotImplemented, or the receiver closes the connection instead.
Frames that are no message at all (RPC-014, RPC-015) are judged by the RPC layer (`rpc.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from proxy.ocppj.actions import Direction
from proxy.ocppj.errors import LEGACY_ERROR_CODES
from proxy.ocppj.findings import Severity
from proxy.ocppj.routing import RuleGroup, on_close, on_error, on_result

if TYPE_CHECKING:
    from proxy.ocppj.events import ConnectionClosed
    from proxy.ocppj.messages import CallError, CallResult
    from proxy.ocppj.rpc import PendingCall

OCCURRENCE: Final = "OccurrenceConstraintViolation"
TYPE: Final = "TypeConstraintViolation"
PROPERTY: Final = "PropertyConstraintViolation"
FORMAT: Final = "FormatViolation"
SCHEMA_CODES: Final = (OCCURRENCE, TYPE, PROPERTY, FORMAT)

FITTING_CODES: Final[dict[str, tuple[str, ...]]] = {
    # Table 8: "at least one of the fields violates occurrence constraints" (cardinality too).
    "Required": (OCCURRENCE,),
    "MinItems": (OCCURRENCE,),
    "MaxItems": (OCCURRENCE,),
    "MinProperties": (OCCURRENCE,),
    "MaxProperties": (OCCURRENCE,),
    # Table 8: "violates data type constraints (e.g. "somestring": 12)".
    "Type": (TYPE,),
    # Table 8: "syntactically correct but at least one field contains an invalid value". An
    # enumeration and a string[n]'s length are part of OCPP's data types (Part 2 datatypes:
    # *EnumType, string[36]), so a data type code names their breach as well.
    "Enum": (PROPERTY, TYPE),
    "MinLength": (PROPERTY, TYPE),
    "MaxLength": (PROPERTY, TYPE),
    "Constant": (PROPERTY,),
    "Minimum": (PROPERTY,),
    "Maximum": (PROPERTY,),
    "ExclusiveMinimum": (PROPERTY,),
    "ExclusiveMaximum": (PROPERTY,),
    "MultipleOf": (PROPERTY,),
    # A malformed dateTime is an invalid value, or a syntactically incorrect one: both fit.
    "Format": (PROPERTY, FORMAT),
    "Pattern": (PROPERTY, FORMAT),
    # A property the PDU does not define: Table 8 has no code for it alone.
    "AdditionalProperties": (OCCURRENCE, PROPERTY, FORMAT),
}
"""Per JSON Schema keyword (jsonschema-rs's error kind), the Table 8 codes that name its breach."""

JUDGED_CODES: Final = frozenset(
    {*SCHEMA_CODES, "GenericError", "ProtocolError", "InternalError", "RpcFrameworkError"}
)
"""Codes judged against the CALL's violations. NotSupported, NotImplemented and SecurityError
give another reason to refuse (the action itself, the registration gate) and are not judged."""

_WHAT = {
    OCCURRENCE: "a required field missing or a wrong number of items",
    TYPE: "a field of the wrong JSON type",
    PROPERTY: "a value out of range, not in its enumeration or of the wrong format",
}


def fitting_codes(violations: tuple[str, ...]) -> tuple[str, ...]:
    """The codes that name at least one of the violations, most specific first."""
    codes: dict[str, None] = {}
    for kind in violations:
        codes.update(dict.fromkeys(FITTING_CODES.get(kind, SCHEMA_CODES)))
    return tuple(codes)


class AnswersGroup(RuleGroup):
    """Stateless: what it judges is on the pending CALL (its action, its schema violations)."""

    @on_result()
    def accepted(self, pending: PendingCall, result: CallResult) -> None:
        session = self.session
        receiver = pending.direction.reverse.sender
        if not session.version.knows(pending.action):
            session.flag(
                "RPC-020",
                f"the {receiver} answered the unknown action '{pending.action}' with a "
                "CALLRESULT; an unknown action is an invalid message, answered with "
                f"NotImplemented ({session.version.cite('validity', 'error_codes')})",
                details={"expected_code": "NotImplemented", "got": "CALLRESULT"},
            )
        elif pending.violations:
            session.flag(
                "RPC-010",
                f"the {receiver} accepted a {pending.action} CALL that breaks its schema "
                f"({len(pending.violations)} violation(s)) with a CALLRESULT; "
                f"{session.version.cite('validity')} expects a CALLERROR",
                details={
                    "violations": len(pending.violations),
                    "violated": ",".join(kind for kind in pending.violations if kind),
                    "expected_code": fitting_codes(pending.violations)[0],
                },
            )

    @on_error()
    def refused(self, pending: PendingCall, error: CallError) -> None:
        session = self.session
        got = LEGACY_ERROR_CODES.get(error.error_code, error.error_code)
        if not session.version.knows(pending.action):
            if got != "NotImplemented":
                session.flag(
                    "RPC-020",
                    f"unknown action '{pending.action}' answered with {error.error_code}; "
                    f"{session.version.cite('error_codes')} names NotImplemented for an action "
                    "the receiver does not know (NotSupported is for a known one it does not "
                    "support)",
                    Severity.WARNING,
                    details={"expected_code": "NotImplemented", "got_code": got},
                )
            return
        if not pending.violations or got not in JUDGED_CODES:
            return
        expected = fitting_codes(pending.violations)
        if got in expected:
            return
        version = session.version
        named = [c if c in version.error_codes else version.respelled.get(c, c) for c in expected]
        session.flag(
            "RPC-016",
            f"{pending.action} CALL with {_WHAT.get(expected[0], 'a schema violation')} answered "
            f"with {error.error_code}; {version.cite('error_codes')} names "
            f"{' or '.join(named)}",
            details={
                "expected_code": expected[0],
                "got_code": got,
                "violated": ",".join(kind for kind in pending.violations if kind),
            },
        )

    @on_close
    def closed_instead(self, event: ConnectionClosed) -> None:
        connection = self.session.connection
        if connection is None or event.closed_by is None:
            return
        for direction in Direction:
            if direction.reverse.side != event.closed_by:
                continue
            for pending in connection.pending[direction].values():
                if self.session.version.knows(pending.action):
                    continue
                receiver = direction.reverse.sender
                self.session.flag(
                    "RPC-020",
                    f"the {receiver} closed the connection instead of answering the unknown "
                    f"action '{pending.action}' with a NotImplemented CALLERROR",
                    Severity.WARNING,
                    message_id=pending.call.message_id,
                    ref=pending.ref,
                    action=pending.action,
                    direction=direction,
                    details={"expected_code": "NotImplemented", "unanswered_by": receiver},
                )
