"""The entries of the check catalogue this engine does not judge, each with the reason.

Our rule ids follow the numbering of a catalogue of 113 checks a passive observer of OCPP 2.0.1
can make; `RULES` holds those the engine judges, this table the rest, so that `ocppscope rules`
and docs/rules.md can say what is not checked and why instead of staying silent about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Unchecked:
    id: str
    title: str
    reference: str
    why: str
    """Why a passive observer, or this one, does not judge it."""


_UNCHECKED: Final[tuple[Unchecked, ...]] = (
    Unchecked(
        "AUTH-001",
        "AuthorizeResponse carries idTokenInfo with its status",
        "OCPP 2.0.1 Part 2 C01; AuthorizeResponse schema",
        "both fields are required by AuthorizeResponse's schema, so SCH-001 reports their "
        "absence; a second rule would report one defect twice",
    ),
    Unchecked(
        "BACKOFF-006",
        "After NetworkProfileConnectionAttempts failures the station tries its next "
        "NetworkConnectionProfile",
        "OCPP 2.0.1 Part 2 Appendices, OCPPCommCtrlr.NetworkProfileConnectionAttempts",
        "another profile may keep the same URL over another interface or reach another CSMS "
        "address entirely: no attempt the proxy sees can be tied to a profile",
    ),
    Unchecked(
        "QUEUE-002",
        "Critical security events raised while offline are queued and sent after reconnect",
        "Errata 2023-12 §2.2.1",
        "the failures that raise critical events (TLS version, cipher suite, CSMS certificate) "
        "never reach the proxy as such, so it cannot know an event was due",
    ),
    Unchecked(
        "QUEUE-004",
        "After reconnect, status changes and queued TransactionEvents may come in any order",
        "OCPP 2.0.1 Part 6 §2.1 (general tool rules)",
        "it allows behaviour rather than forbidding any: there is no defect to report, and an "
        "info note fired on every ordinary reconnect",
    ),
)

UNCHECKED: Final[dict[str, Unchecked]] = {entry.id: entry for entry in _UNCHECKED}
