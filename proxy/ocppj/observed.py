"""Which side's frames an observation holds, and the rules it cannot judge when it holds one side.

Most implementations log only what they sent (a charger's firmware log, a CSMS's outgoing
messages). Such a one-sided capture is not a conversation: every CALL in it looks unanswered, every
response answers nothing the engine saw. The rules below pair a message of one side with one of the
other (OCPP-J 2.0.1 §4.1.1 and §4.1.4: a CALL and the response that carries its MessageId), or learn
their facts from the response, so a session that sees one side skips them instead of reporting
what is only a gap in the log. Each entry says why, for the report.
"""

from __future__ import annotations

from typing import Literal

Observed = Literal["both", "charger", "csms"]
"""`both`: frames of both directions are recorded; `charger`: only what the station sent
(charger_to_csms); `csms`: only what the CSMS sent (csms_to_charger)."""


NEEDS_BOTH_SIDES: dict[str, str] = {
    "RPC-006": "pairs each response with the peer's CALL of the same MessageId",
    "RPC-007": "counts a CALL outstanding until its response is seen",
    "RPC-008": "needs the responses to see that each CALL was answered in time",
    "RPC-017": "counts a CALL as being processed until its response is seen",
    "RPC-013": "tells a response to the peer's CALL from one to the sender's own CALL",
    "RPC-010": "needs the CALL and the CALLRESULT that accepted it",
    "RPC-014": "needs the rejected message and the CALLERROR answering it",
    "RPC-015": "needs the message of an unknown type and the peer's answer to it",
    "RPC-016": "needs the CALL and the CALLERROR answering it",
    "RPC-020": "needs the CALL of an unknown action and the peer's answer to it",
    "BOOT-001": "the registration status comes from the BootNotificationResponse to a seen CALL",
    "BOOT-002": "the registration status comes from the BootNotificationResponse to a seen CALL",
    "BOOT-003": "the retry interval comes from the BootNotificationResponse to a seen CALL",
    "BOOT-005": "needs the CSMS's TriggerMessage and the station's response",
    "HB-001": "the heartbeat interval and Accepted come from the BootNotificationResponse",
    "HB-002": "the heartbeat interval and Accepted come from the BootNotificationResponse",
    "TX-010": "needs each TransactionEvent and the CSMS's response to it",
    "REM-002": "needs the CSMS's request, the station's Accepted and the station's follow-up",
    "REM-003": "needs the CSMS's request, the station's Accepted and the station's follow-up",
    "REM-004": "needs the CSMS's request, the station's Accepted and the station's follow-up",
    "BOOT-004": "needs the CSMS's request and the station's answer while Pending",
    "BOOT-006": "an accepted boot is known from the BootNotificationResponse to a seen CALL",
    "BOOT-008": "OfflineThreshold is learned from the station's answers to the CSMS",
    "QUEUE-003": "the registration status comes from the BootNotificationResponse to a seen CALL",
    "DM-001": "pairs each request item with the station's result",
    "DM-002": "the limits are learned from the station's answers to the CSMS",
    "DM-003": "follows the CSMS's report request to the station's reports",
    "DM-004": "a full inventory is known from the CSMS's GetBaseReport",
    "DM-005": "needs the CSMS's SetVariables and the station's answer",
    "DM-006": "needs the CSMS's UpdateFirmware and the station's answer and reports",
    "DM-007": "compares the CSMS's request with what the station reported",
}
"""Rule id -> why a one-sided observation cannot judge it."""


def skipped_rules(observed: Observed) -> dict[str, str]:
    """The rules a session observing `observed` skips, with the reason of each."""
    if observed == "both":
        return {}
    missing = "CSMS" if observed == "charger" else "station"
    return {
        rule_id: f"{reason}; only the {_sender(observed)}'s frames are recorded, not the {missing}'s"
        for rule_id, reason in NEEDS_BOTH_SIDES.items()
    }


def _sender(observed: Observed) -> str:
    return "station" if observed == "charger" else "CSMS"
