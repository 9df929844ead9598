"""The OCPP-J 2.0.1 CALLERROR codes (Part 4 Table 8) and the legacy spellings seen in the wild."""

from __future__ import annotations

ERROR_CODES: frozenset[str] = frozenset(
    {
        "FormatViolation",
        "GenericError",
        "InternalError",
        "MessageTypeNotSupported",
        "NotImplemented",
        "NotSupported",
        "OccurrenceConstraintViolation",
        "PropertyConstraintViolation",
        "ProtocolError",
        "RpcFrameworkError",
        "SecurityError",
        "TypeConstraintViolation",
    }
)

LEGACY_ERROR_CODES: dict[str, str] = {
    # OCPP-J 1.6 spelling, kept "Do not fix" there, still sent by libocpp v2 (RPC-012 warns).
    "FormationViolation": "FormatViolation",
    # Spelled this way by several 2.0.1 libraries and in a B06.FR.16 quote; Part 4 spells it with "rr".
    "OccurenceConstraintViolation": "OccurrenceConstraintViolation",
}
