"""RPC16 group: the CALLERROR codes of an OCPP-J 1.6 link (OCPP-J 1.6 §4.2.3).

1.6 has ten codes and spells two of them its own way (FormationViolation,
OccurenceConstraintViolation): on a 1.6 link those spellings are right, and the 2.0.1 names of
the same codes, or 2.0.1's additions (RpcFrameworkError, MessageTypeNotSupported), are not 1.6
codes: a 1.6 peer may not understand them. Every CALLERROR is judged, also one answering no known
CALL, so the check runs on the decoded frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.ocppj.messages import CallError
from proxy.ocppj.routing import RuleGroup, on_frame

if TYPE_CHECKING:
    from proxy.ocppj.messages import Parsed

ERROR_CODES_16 = frozenset(
    {
        "NotImplemented",
        "NotSupported",
        "InternalError",
        "ProtocolError",
        "SecurityError",
        "FormationViolation",
        "PropertyConstraintViolation",
        "OccurenceConstraintViolation",
        "TypeConstraintViolation",
        "GenericError",
    }
)
FROM_201 = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
    "RpcFrameworkError": "ProtocolError or FormationViolation",
    "MessageTypeNotSupported": "NotImplemented",
}
"""2.0.1-only codes and the 1.6 code that says the same."""


class Rpc16Group(RuleGroup):
    """Judges each CALLERROR's code: no state."""

    @on_frame
    def error_code(self, parsed: Parsed) -> None:
        message = parsed.message
        if not isinstance(message, CallError) or message.error_code in ERROR_CODES_16:
            return
        code = message.error_code
        session = self.session
        sender = session.direction.sender if session.direction else "peer"
        instead = FROM_201.get(code)
        if instead is not None:
            session.flag(
                "RPC16-001",
                f"{sender} sent errorCode '{code}', an OCPP 2.0.1 code, on an OCPP 1.6 link; "
                f"the 1.6 code is {instead}",
                details={"got_code": code, "expected_code": instead},
            )
        else:
            session.flag(
                "RPC16-001",
                f"{sender} sent errorCode '{code}', not one of the 10 OCPP-J 1.6 codes",
                details={"got_code": code},
            )
