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
        "WS-009",
        "Fragmented messages are reassembled before parsing; fragmentation is legal",
        "RFC 6455 §5.4",
        "mitmproxy reassembles fragments inside its WebSocket layer before any addon hook, so "
        "the engine only ever sees whole messages (which is the reassembly the check asks for)",
    ),
    Unchecked(
        "WS-012",
        "Every Ping answered by a Pong with its data; station pings at WebSocketPingInterval",
        "RFC 6455 §5.5.2-5.5.3; Part 2 Appendices OCPPCommCtrlr.WebSocketPingInterval",
        "mitmproxy forwards Ping and Pong frames within its WebSocket layer and only logs them: "
        "no addon hook sees control frames, so their cadence and payloads cannot be judged",
    ),
    Unchecked(
        "WS-013",
        "Control frames are under 126 bytes and never fragmented",
        "RFC 6455 §5.5",
        "the WebSocket library under mitmproxy (wsproto) rejects such frames before any addon "
        "hook, closing the connection: the proxy enforces the rule rather than reporting it",
    ),
    Unchecked(
        "WS-016",
        "A Local Controller relays everything and its own CALL ids never collide with the CSMS's",
        "OCPP-J 2.0.1 §6",
        "a Local Controller's CALLs cannot be told from the CSMS's on the wire; colliding "
        "MessageIds are reported as RPC-005 or RPC-017 whoever sent them",
    ),
    Unchecked(
        "SEC-006",
        "The CSMS supports the required cipher suites; no TLS compression",
        "OCPP 2.0.1 Part 2 A00.FR.318, A00.FR.321",
        "the proxy terminates TLS on both legs, so the suites and compression it negotiates are "
        "its own, not the station's or the CSMS's; the station's offered suites are not recorded",
    ),
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
