"""Behaviour profiles: `compliant` and the named misbehaviours that exercise the conformance
engine on purpose, each meant to trigger exactly one of its rules."""

from __future__ import annotations

from dataclasses import dataclass

PROFILES = {
    "compliant": "behaves as OCPP 2.0.1 asks",
    "skips-seqno": "leaves a gap in each transaction's seqNo (TX-003)",
    "no-boot": "sends Heartbeats and StatusNotifications without a BootNotification (BOOT-001)",
    "bad-schema": "sends a TransactionEvent whose meter value is a string (SCH-001)",
    "wrong-backoff": "reconnects at once instead of backing off (BACKOFF-002)",
    "duplicate-ids": "reuses the MessageId of its previous CALL (RPC-005)",
}
"""Each profile and what it does, as docs/simulator.md and `--help` say it."""


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What a profile changes; the defaults are the compliant station. Each flag is checked at
    the one place it changes what the station does."""

    boots: bool = True
    """no-boot: never sends BootNotification (BOOT-001)."""
    skips_seq_no: bool = False
    """skips-seqno: leaves out the seqNo after Started in each transaction (TX-003)."""
    string_meter_value: bool = False
    """bad-schema: the first Updated of each session carries a meter value as text (SCH-001)."""
    backs_off: bool = True
    """wrong-backoff: the first attempt after a lost connection comes at once (BACKOFF-002)."""
    reuses_message_ids: bool = False
    """duplicate-ids: every CALL on a connection has the first CALL's MessageId (RPC-005)."""


BEHAVIOURS = {
    "compliant": Behaviour(),
    "skips-seqno": Behaviour(skips_seq_no=True),
    "no-boot": Behaviour(boots=False),
    "bad-schema": Behaviour(string_meter_value=True),
    "wrong-backoff": Behaviour(backs_off=False),
    "duplicate-ids": Behaviour(reuses_message_ids=True),
}
