"""The rule catalogue: every check the engine makes, as data.

The ids are this project's: a group prefix (WS transport, RPC framework, SCH schemas, BOOT,
HB heartbeat, STAT status, TX transactions, REM remote control, BACKOFF reconnects) and a number,
each rule with its severities and the OCPP section it checks (`reference`); `ocppscope rules`
prints the table and docs/engine.md says which ids are checked and which are not yet. Numbers
left free are checks planned, not made. BACKOFF-007 is the back-off analyser's verdict on a
reconnect episode, summarising what BACKOFF-002/003 and TX-003/007 judge one by one; RPC-020
judges the receiver's answer to an unknown action (RPC-009 judges its sender). RPC-016 is a
warning, not info, although libraries map violations to codes differently: it judges the code
against Table 8's meanings only where they are unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy.ocppj.findings import Severity

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO  # N for notice: info


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severities: tuple[Severity, ...]
    """The severities its findings can have; the first is the default."""
    title: str
    reference: str

    @property
    def severity(self) -> Severity:
        return self.severities[0]

    @property
    def group(self) -> str:
        return self.id.split("-", 1)[0]


_CATALOGUE = (
    # Transport and handshake
    Rule(
        "WS-001",
        (E, N),
        "Upgrade request offers OCPP subprotocols including ocpp2.0.1",
        "OCPP-J 2.0.1 §3.1.2",
    ),
    Rule(
        "WS-002",
        (E,),
        "CSMS selects exactly one subprotocol that the station offered",
        "OCPP-J 2.0.1 §3.2",
    ),
    Rule("WS-003", (E,), "Only MessageTypeIds 2, 3, 4 on ocpp2.0.1", "OCPP-J 2.0.1 Table 3"),
    Rule(
        "WS-004",
        (E, W),
        "Station identity: at most 48 characters of identifierString, no colon",
        "OCPP-J 2.0.1 §3.1.1; Errata 2023-12 §2.17.3",
    ),
    Rule("WS-006", (N,), "OCPP version not part of the endpoint URL", "Errata 2023-12 §4.1"),
    Rule("WS-007", (W,), "Station keeps the WebSocket open", "OCPP-J 2.0.1 §3.1"),
    Rule("WS-008", (W,), "OCPP messages travel in text frames", "OCPP-J 2.0.1 §4.1.2 (inferred)"),
    Rule("WS-010", (W,), "No empty text messages", "ocpp-rpc compatibility note"),
    Rule("WS-011", (W,), "CSMS accepts permessage-deflate when offered", "OCPP-J 2.0.1 §3.3"),
    Rule(
        "WS-014",
        (W,),
        "Messages fit the receiver's size limit (OCPP-J sets none)",
        "OCPP 2.0.1 Part 2 Appendices DeviceDataCtrlr.BytesPerMessage",
    ),
    Rule("WS-015", (W,), "One connection per station at a time", "OCPP-J 2.0.1 §3 (inferred)"),
    # RPC framework
    Rule("RPC-001", (E,), "Message is valid UTF-8 JSON", "OCPP-J 2.0.1 §4.1.2"),
    Rule(
        "RPC-002",
        (E,),
        "Message is an array starting with MessageTypeId 2, 3 or 4",
        "OCPP-J 2.0.1 §4.1.3",
    ),
    Rule(
        "RPC-003",
        (E,),
        "CALL/CALLRESULT/CALLERROR have the right elements and types",
        "OCPP-J 2.0.1 §4.2.1-4.2.3",
    ),
    Rule("RPC-004", (E,), "MessageId is a string of at most 36 characters", "OCPP-J 2.0.1 §4.1.4"),
    Rule(
        "RPC-005",
        (E, W),
        "A CALL's MessageId is never reused by the same sender",
        "OCPP-J 2.0.1 §4.1.4; Errata 2023-12 §4.2",
    ),
    Rule(
        "RPC-006",
        (E, W),
        "Responses answer an outstanding CALL of the peer, once, in time",
        "OCPP-J 2.0.1 §4.1.4",
    ),
    Rule("RPC-007", (E,), "One outstanding CALL per sender", "OCPP-J 2.0.1 §4.1.1"),
    Rule(
        "RPC-008",
        (W,),
        "The receiver answers every CALL within MessageTimeout",
        "OCPP-J 2.0.1 §4.1.1; Part 2 Appendices OCPPCommCtrlr.MessageTimeout",
    ),
    Rule(
        "RPC-009",
        (E,),
        "Action is a known 2.0.1 action sent by the side allowed to send it",
        "OCPP-J 2.0.1 §4.1.6, §4.2.1",
    ),
    Rule(
        "RPC-010",
        (W,),
        "The receiver does not accept a CALL that breaks its schema",
        "OCPP-J 2.0.1 §4.1.7, §4.2.3",
    ),
    Rule(
        "RPC-011",
        (E, W),
        "Empty optional fields are omitted; an empty payload is {}",
        "OCPP-J 2.0.1 §4.1.5",
    ),
    Rule(
        "RPC-012",
        (E, W),
        "CALLERROR errorCode is one of the 2.0.1 codes",
        "OCPP-J 2.0.1 §4.3 Table 8",
    ),
    Rule(
        "RPC-013",
        (E,),
        "CALLRESULT/CALLERROR only answer the peer's CALL, never a response",
        "OCPP-J 2.0.1 §4.2.3",
    ),
    Rule(
        "RPC-014",
        (E, W, N),
        'CALLERROR to an unparsable frame: RpcFrameworkError, MessageId "-1" only if unreadable',
        "OCPP-J 2.0.1 §4.2.3, §4.3 Table 8",
    ),
    Rule(
        "RPC-015",
        (E,),
        "An unknown MessageTypeId is answered with MessageTypeNotSupported",
        "OCPP-J 2.0.1 §4.1.3, §4.4",
    ),
    Rule(
        "RPC-016",
        (W,),
        "The CALLERROR code names the schema violation of the CALL it answers",
        "OCPP-J 2.0.1 §4.3 Table 8",
    ),
    Rule(
        "RPC-020",
        (E, W),
        "An unknown action is answered with a NotImplemented CALLERROR",
        "OCPP-J 2.0.1 §4.1.7, §4.3 Table 8",
    ),
    # Schemas
    Rule(
        "SCH-001",
        (E,),
        "Payload conforms to the OCPP 2.0.1 JSON schema of its action",
        "OCPP-J 2.0.1 §4.1.7; OCPP 2.0.1 Part 3 schemas",
    ),
    Rule(
        "SCH-002",
        (E, N),
        "No properties beyond the schema except inside customData",
        "OCPP-J 2.0.1 §9",
    ),
    Rule(
        "SCH-003",
        (W,),
        "Values the schemas leave open: dateTime precision, interval not negative",
        "OCPP 2.0.1 Part 2 primitive datatypes (as enforced by CitrineOS)",
    ),
    # Boot and registration
    Rule(
        "BOOT-001",
        (E, W),
        "Nothing but BootNotification before the CSMS accepted the station",
        "OCPP 2.0.1 B02.FR.09, B03.FR.07",
    ),
    Rule(
        "BOOT-002",
        (E,),
        "No messages while Rejected until the retry interval passed",
        "OCPP 2.0.1 B03.FR.03, B03.FR.08 (Errata 2023-12 §2.3.1)",
    ),
    Rule(
        "BOOT-003",
        (E,),
        "After Pending/Rejected, the next BootNotification waits the interval",
        "OCPP 2.0.1 B03.FR.06 (Errata 2023-12 §2.3.2)",
    ),
    Rule(
        "BOOT-005",
        (W,),
        "TriggerMessage(BootNotification) is Rejected once Accepted",
        "OCPP 2.0.1 F06.FR.17; Part 6 TC_F_26_CS",
    ),
    Rule(
        "BOOT-009",
        (W,),
        "CSMS currentTime agrees with the observer's clock (4 s)",
        "OCPP 2.0.1 B01.FR.02; Part 6 §2.1",
    ),
    # Heartbeat
    Rule(
        "HB-001",
        (W,),
        "No silence longer than the heartbeat interval",
        "Part 2 Appendices OCPPCommCtrlr.HeartbeatInterval",
    ),
    Rule(
        "HB-002",
        (N,),
        "Heartbeats far more frequent than the interval",
        "Part 2 Appendices OCPPCommCtrlr.HeartbeatInterval",
    ),
    # Connector status
    Rule(
        "STAT-001",
        (W,),
        "StatusNotification names a real EVSE and connector (not 0)",
        "Part 6 Reusable State Booted",
    ),
    Rule(
        "STAT-002",
        (W,),
        "Connector status agrees with the transaction on its EVSE",
        "Part 6 Reusable States EVConnectedPreSession",
    ),
    Rule(
        "STAT-004",
        (W,),
        "TriggerMessage(StatusNotification) names the EVSE and connector",
        "OCPP 2.0.1 F06.FR.12 (Errata 2023-12 §2.6.2)",
    ),
    # Transactions
    Rule(
        "TX-001",
        (E,),
        "A transactionId is not reused for another transaction",
        "OCPP 2.0.1 Part 0 §2.8.2",
    ),
    Rule(
        "TX-002",
        (E,),
        "Started, then Updated*, then one Ended (in seqNo order)",
        "Part 6 §2.1 General tool rules",
    ),
    Rule(
        "TX-003",
        (W, E, N),
        "seqNo counts +1 per TransactionEvent without gaps",
        "OCPP 2.0.1 E01.FR.07; Part 6 §2.1",
    ),
    Rule(
        "TX-005",
        (W,),
        "triggerReason reflects what triggered the event",
        "OCPP 2.0.1 F03.FR.09, F02.FR.01, F03.FR.03",
    ),
    Rule(
        "TX-006",
        (W, N),
        "stoppedReason on Ended says why (Remote after a remote stop)",
        "OCPP 2.0.1 E07.FR.04-06, F03.FR.03",
    ),
    Rule(
        "TX-007",
        (W, N),
        "Events that happened while offline carry offline=true",
        "TransactionEventRequest.offline; Part 6 TC_E_40_CS",
    ),
    Rule(
        "TX-009",
        (N, W, E),
        "Retransmissions only after CALLERROR or timeout, within attempts",
        "Part 6 TC_E_50_CS; Part 2 Appendices MessageAttempts",
    ),
    Rule(
        "TX-010",
        (E, W),
        "CSMS answers every TransactionEvent with a TransactionEventResponse",
        "OCPP 2.0.1 J02.FR.19, E01.FR.12",
    ),
    Rule(
        "TX-013",
        (W,),
        "Energy.Active.Import.Register never decreases within a transaction",
        "TransactionEventRequest meterValue (inferred)",
    ),
    Rule(
        "TX-014",
        (W,),
        "Event timestamps follow seqNo order and are not in the future",
        "Part 6 §2.1 (4 s tolerance)",
    ),
    # Remote control
    Rule(
        "REM-001",
        (E,),
        "RequestStartTransaction profile is a TxProfile without transactionId",
        "OCPP 2.0.1 F01.FR.09, F01.FR.11",
    ),
    Rule(
        "REM-002",
        (W,),
        "An accepted RequestStartTransaction is followed by its transaction",
        "OCPP 2.0.1 F01, F02.FR.01",
    ),
    Rule(
        "REM-003",
        (W,),
        "An accepted RequestStopTransaction stops a known transaction",
        "OCPP 2.0.1 F03.FR.03, F03.FR.07, F03.FR.08",
    ),
    Rule(
        "REM-004",
        (W,),
        "An accepted TriggerMessage is followed by the requested message",
        "OCPP 2.0.1 F06.FR.04",
    ),
    # Reconnect back-off
    Rule(
        "BACKOFF-001", (W,), "After a lost connection the station reconnects", "OCPP-J 2.0.1 §5.3"
    ),
    Rule(
        "BACKOFF-002",
        (E, W),
        "First reconnect after RetryBackOffWaitMinimum + random range",
        "OCPP-J 2.0.1 §5.3, §8.1-8.3; Part 6 TC_B_57_CS",
    ),
    Rule(
        "BACKOFF-003",
        (E, W),
        "Each further attempt doubles the wait, RetryBackOffRepeatTimes times",
        "OCPP-J 2.0.1 §5.3, §8.1; Part 6 TC_B_57_CS",
    ),
    Rule(
        "BACKOFF-007",
        (N, E, W),
        "Reconnect episode: the analyser's verdict",
        "OCPP-J 2.0.1 §5.3, §8; Part 6 TC_B_57_CS",
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _CATALOGUE}
