"""The rule catalogue: every check the engine makes, as data.

The ids are this project's: a group prefix (WS transport, RPC framework, SCH schemas, BOOT,
HB heartbeat, STAT status, TX transactions, AUTH authorization, REM remote control, SC smart
charging, DM device model, BACKOFF reconnects, QUEUE offline queue, SEC security profiles) and a
number, each rule with its severities and the OCPP section it checks (`reference`); `ocppscope
rules` prints the table, and with it the catalogue entries not checked and why (`unchecked.py`).
BACKOFF-007 is the back-off analyser's verdict on a reconnect episode, summarising what
BACKOFF-002/003 and TX-003/007 judge one by one; RPC-020 judges the receiver's answer to an
unknown action (RPC-009 judges its sender). WS-017, a message sent after the peer's Close, is the
proxy's own too: the catalogue's WS ids end at WS-016. RPC-016 is a warning, not info, although libraries map
violations to codes differently: it judges the code against Table 8's meanings only where they
are unambiguous. SEC-010 warns about a misspelt Appendix 1 event name and only notes another
unknown one: Appendix 1 is not exhaustive, and a proprietary event is allowed for what none of
its events describes.

Which versions a rule judges its id says (`Rule.versions`): WS, RPC, SCH and BACKOFF rules are
OCPP-J's own (framing, message ids, one CALL in flight, timeouts, schemas, transport, back-off)
and judge every version with the same id. A rule about a version's messages carries the version
in its group prefix: BOOT16-001 is an OCPP 1.6 rule, a TX21-… rule would be 2.1's only. A prefix
without digits (BOOT, TX, SEC, ...) names a 2.0.1 rule, which judges 2.1 as well: 2.1 keeps
2.0.1's messages and use cases. `only` narrows a shared rule to the versions that have what it
judges (RPC-019: SEND exists in 2.1 alone; WS-004, WS-006 and WS-011 come from OCPP-J 2.0.1 and
its errata, which OCPP-J 1.6 does not require; OCPP-J 1.6 has no RpcFrameworkError, no
MessageTypeNotSupported (§4.1.3: an unknown MessageTypeId is ignored) and no signed messages, so
RPC-014, RPC-015 and RPC-018 judge 2.0.1 and 2.1 only); its group asks `Session.judges` first.

A shared rule cites each version's own OCPP-J text: it names the topics (`ocppj`), each
`Version` knows where its document says them (RPC-010 is OCPP-J 1.6 §4.2.3 on a 1.6 connection,
OCPP-J 2.0.1 §4.1.7, §4.2.3 on a 2.0.1 one), and a finding carries its connection's citation.
Where the texts differ on what a shared rule judges, the `Version` says how (§4.1.4 message ids,
RPC-005/017: unique per connection on 1.6, per station on 2.0.1 and 2.1, a 2.1 retry may keep
its id; an unknown MessageTypeId, RPC-015: answered on 2.0.1 (§4.4), ignored on 2.1 (§4.1.3,
§4.4); the back-off reset, BACKOFF-004: a SHALL of 2.1 §5.4 only).
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy.ocppj.findings import Severity
from proxy.ocppj.versions import OCPP16, OCPP21, OCPP201, VERSIONS

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO  # N for notice: info

SHARED_GROUPS = frozenset({"WS", "RPC", "SCH", "BACKOFF"})
"""Rule groups of OCPP-J itself: their rules judge every version."""
VERSION_DIGITS = {"16": (OCPP16,), "21": (OCPP21,)}
"""A group prefix ending in these digits is that version's alone (BOOT16)."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severities: tuple[Severity, ...]
    """The severities its findings can have; the first is the default."""
    title: str
    cites: str
    """What it cites besides the OCPP-J sections of `ocppj`: the same for every version."""
    only: tuple[str, ...] = ()
    """The versions a shared rule is limited to; empty: as its id says."""
    ocppj: tuple[str, ...] = ()
    """Topics of the OCPP-J text (`Version.sections`), cited from each version's own document."""

    def reference_for(self, version: str) -> str:
        """What a finding on a connection speaking `version` cites."""
        return "; ".join(filter(None, (VERSIONS[version].cite(*self.ocppj), self.cites)))

    @property
    def reference(self) -> str:
        """Every judged version's references, for a listing: versions whose OCPP-J texts number
        the topics alike share a citation ('OCPP-J 2.0.1/2.1 §4.1.7')."""
        numbers: dict[str, list[str]] = {}
        for name in self.versions:
            version = VERSIONS[name]
            sections = version.sections_of(*self.ocppj)
            if sections:
                numbers.setdefault(sections, []).append(version.number)
        cited = [f"OCPP-J {'/'.join(n)} {sections}" for sections, n in numbers.items()]
        return "; ".join(filter(None, (*cited, self.cites)))

    @property
    def versions(self) -> tuple[str, ...]:
        """The subprotocols whose connections this rule judges."""
        if self.only:
            return self.only
        group = self.group
        for digits, versions in VERSION_DIGITS.items():
            if group.endswith(digits):
                return versions
        return tuple(VERSIONS) if group in SHARED_GROUPS else (OCPP201, OCPP21)

    @property
    def applies(self) -> str:
        """The versions as a listing shows them: '1.6, 2.0.1, 2.1'."""
        return ", ".join(version.removeprefix("ocpp") for version in self.versions)

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
        "Upgrade request offers the OCPP subprotocol the connection is judged by (ocpp2.0.1 "
        "when the CSMS selects none)",
        "",
        ocppj=("subprotocol",),
    ),
    Rule(
        "WS-002",
        (E,),
        "CSMS selects exactly one subprotocol that the station offered",
        "",
        ocppj=("server_response",),
    ),
    Rule(
        "WS-003",
        (E,),
        "Only MessageTypeIds 2, 3, 4 on ocpp1.6 and ocpp2.0.1 (5 and 6 are ocpp2.1's)",
        "",
        ocppj=("message_type",),
    ),
    Rule(
        "WS-004",
        (E, W),
        "Station identity: at most 48 characters of identifierString, no colon",
        "OCPP 2.0.1 Errata 2023-12 §2.17.3",
        only=(OCPP201, OCPP21),
        ocppj=("url",),
    ),
    Rule(
        "WS-005",
        (N,),
        "A CSMS refusing the upgrade for an unknown identity answers 404",
        "",
        ocppj=("server_response",),
    ),
    Rule(
        "WS-006",
        (N,),
        "OCPP version not part of the endpoint URL",
        "OCPP 2.0.1 Errata 2023-12 §4.1",
        only=(OCPP201, OCPP21),
        ocppj=("subprotocol",),
    ),
    Rule("WS-007", (W,), "Station keeps the WebSocket open", "", ocppj=("open",)),
    Rule("WS-008", (W,), "OCPP messages travel in text frames", "inferred", ocppj=("encoding",)),
    Rule("WS-010", (W,), "No empty text messages", "ocpp-rpc compatibility note"),
    Rule(
        "WS-011",
        (W,),
        "CSMS accepts permessage-deflate when offered",
        "",
        only=(OCPP201, OCPP21),
        ocppj=("compression",),
    ),
    Rule(
        "WS-014",
        (W,),
        "Messages fit the receiver's size limit: the station's learned BytesPerMessage, the "
        "proxy's --max-message-size (OCPP-J sets none)",
        "OCPP 2.0.1/2.1 Part 2 Appendices DeviceDataCtrlr/LocalAuthListCtrlr.BytesPerMessage",
    ),
    Rule("WS-015", (W,), "One connection per station at a time", "OCPP-J §3 (inferred)"),
    Rule(
        "WS-017",
        (N,),
        "Messages sent after the peer's Close reach no one",
        "RFC 6455 §5.5.1, §7.1.2",
    ),
    # RPC framework
    Rule("RPC-001", (E,), "Message is valid UTF-8 JSON", "", ocppj=("encoding",)),
    Rule(
        "RPC-002",
        (E,),
        "Message is an array starting with MessageTypeId 2, 3 or 4",
        "",
        ocppj=("message_type",),
    ),
    Rule(
        "RPC-003",
        (E,),
        "CALL/CALLRESULT/CALLERROR have the right elements and types",
        "",
        ocppj=("call", "callresult", "callerror"),
    ),
    Rule(
        "RPC-004",
        (E,),
        "MessageId is a string of at most 36 characters",
        "",
        ocppj=("message_id",),
    ),
    Rule(
        "RPC-005",
        (E, W),
        "A CALL's MessageId is new for its sender: on the connection (1.6), on any of the "
        "station's (2.0.1, 2.1, which counts SENDs too); a 2.1 retry may keep its id",
        "",
        ocppj=("message_id",),
    ),
    Rule(
        "RPC-006",
        (E, W),
        "Responses answer an outstanding CALL of the peer, once, in time",
        "",
        ocppj=("message_id",),
    ),
    Rule("RPC-007", (E,), "One outstanding CALL per sender", "", ocppj=("synchronicity",)),
    Rule(
        "RPC-008",
        (W,),
        "The receiver answers every CALL within MessageTimeout",
        "OCPP 2.0.1/2.1 Part 2 Appendices OCPPCommCtrlr.MessageTimeout",
        ocppj=("synchronicity",),
    ),
    Rule(
        "RPC-009",
        (E,),
        "Action is a known action of the version, sent by the side allowed to send it",
        "",
        ocppj=("action", "call"),
    ),
    Rule(
        "RPC-010",
        (W,),
        "The receiver does not accept a CALL that breaks its schema",
        "",
        ocppj=("validity", "callerror"),
    ),
    Rule(
        "RPC-011",
        (E, W),
        "Empty optional fields are omitted; an empty payload is {}",
        "",
        ocppj=("payload",),
    ),
    Rule(
        "RPC-012",
        (E, W),
        "CALLERROR errorCode is one of the version's codes (1.6 spells two otherwise)",
        "",
        ocppj=("error_codes",),
    ),
    Rule(
        "RPC-013",
        (E,),
        "CALLRESULT/CALLERROR only answer the peer's CALL, never a response",
        "",
        ocppj=("callerror",),
    ),
    Rule(
        "RPC-014",
        (E, W, N),
        'CALLERROR to an unparsable frame: RpcFrameworkError, MessageId "-1" only if unreadable',
        "",
        only=(OCPP201, OCPP21),
        ocppj=("callerror", "error_codes"),
    ),
    Rule(
        "RPC-015",
        (E, W),
        "An unknown MessageTypeId is answered with MessageTypeNotSupported (2.0.1) or ignored "
        "(2.1), never by closing the connection",
        "",
        only=(OCPP201, OCPP21),
        ocppj=("message_type", "unknown_type"),
    ),
    Rule(
        "RPC-016",
        (W,),
        "The CALLERROR code names the schema violation of the CALL it answers",
        "",
        ocppj=("error_codes",),
    ),
    Rule(
        "RPC-017",
        (W,),
        "No CALL repeats the MessageId of the sender's CALL still being processed (2.1: unless "
        "it retries that CALL)",
        "",
        ocppj=("message_id", "callerror"),
    ),
    Rule(
        "RPC-018",
        (N,),
        "A -Signed CALL carries a flattened JWS naming its action and message type",
        "",
        only=(OCPP201, OCPP21),
        ocppj=("signed",),
    ),
    Rule(
        "RPC-019",
        (E,),
        "SEND (MessageTypeId 6, ocpp2.1) is never answered",
        "",
        only=(OCPP21,),
        ocppj=("send",),
    ),
    Rule(
        "RPC-020",
        (E, W),
        "An unknown action is answered with a NotImplemented CALLERROR",
        "",
        ocppj=("validity", "error_codes"),
    ),
    # Schemas
    Rule(
        "SCH-001",
        (E,),
        "Payload conforms to the JSON schema of its action in the version",
        "the version's JSON schemas (OCPP 1.6 JSON schemas; OCPP 2.0.1/2.1 Part 3)",
        ocppj=("validity",),
    ),
    Rule(
        "SCH-002",
        (E, N),
        "No properties beyond the schema except inside customData",
        "the schemas' additionalProperties false",
        ocppj=("custom_data",),
    ),
    Rule(
        "SCH-003",
        (W,),
        "Values the schemas leave open: dateTime precision, interval not negative",
        "OCPP 2.0.1 Part 2 primitive datatypes, OCPP 1.6 §3.15 Time notations (as enforced by "
        "CitrineOS)",
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
        "BOOT-004",
        (W,),
        "While Pending the station answers the CSMS's requests; remote start/stop Rejected",
        "OCPP 2.0.1 B02.FR.01, B02.FR.05; Part 6 TC_B_02_CS",
    ),
    Rule(
        "BOOT-005",
        (W,),
        "TriggerMessage(BootNotification) is Rejected once Accepted",
        "OCPP 2.0.1 F06.FR.17; Part 6 TC_F_26_CS",
    ),
    Rule(
        "BOOT-006",
        (W,),
        "After an accepted boot the station reports the status of every connector",
        "OCPP 2.0.1 Part 6 reusable state Booted, TC_B_01_CS",
    ),
    Rule(
        "BOOT-007",
        (N,),
        "No BootNotification on a mere reconnect with unchanged content",
        "",
        ocppj=("reconnect",),
    ),
    Rule(
        "BOOT-008",
        (W,),
        "Back after more than OfflineThreshold, the station reports every connector",
        "OCPP 2.0.1 B04.FR.01; Part 2 Appendix OfflineThreshold; Part 6 TC_B_51_CS",
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
    Rule(
        "HB-003",
        (W,),
        "CSMS answers a valid Heartbeat with a HeartbeatResponse (its currentTime)",
        "OCPP 2.0.1 G02; HeartbeatResponse.currentTime",
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
        "STAT-003",
        (N,),
        "No status report for the other connectors of an EVSE when one is plugged in",
        "OCPP 2.0.1 G01.FR.08 (Errata 2023-12 §2.7.1)",
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
        "TX-004",
        (N,),
        "TransactionEvents delivered out of seqNo order (allowed, noted)",
        "Part 6 §2.1 General tool rules; TC_E_31_CSMS",
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
        "TX-008",
        (W,),
        "Events name the EVSE when the cable is plugged in and the idToken when one is presented",
        "Part 6 §2.1 General tool rules; OCPP 2.0.1 E03",
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
        "TX-011",
        (W,),
        "A refused idToken ends the transaction when TxStopPoint ends it with authorization",
        "OCPP 2.0.1 E06.FR.04",
    ),
    Rule(
        "TX-012",
        (N, W),
        "Started matches TxStartPoint; Ended only after the energy transfer stopped",
        "OCPP 2.0.1 E01.FR.01-06, E06; Errata 2023-12 §2.17.4",
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
    Rule(
        "TX-015",
        (W, E),
        "GetTransactionStatus: ongoingIndicator only with a transactionId, true only while it runs",
        "OCPP 2.0.1 E14.FR.01-06; Part 6 TC_E_28-32_CS",
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
    # Authorization
    Rule(
        "AUTH-002",
        (W,),
        "No AuthorizeRequest for idTokens of type Central or NoAuthorization",
        "OCPP 2.0.1 C03.FR.01, C05.FR.01",
    ),
    Rule(
        "AUTH-003",
        (W,),
        "No authorizing TransactionEvent for an idToken the CSMS refused",
        "OCPP 2.0.1 C01; Part 6 TC_C_02_CS",
    ),
    Rule(
        "AUTH-004",
        (N,),
        "Remote start idToken authorized as AuthorizeRemoteStart says",
        "OCPP 2.0.1 F01.FR.01, F01.FR.02",
    ),
    Rule(
        "AUTH-005",
        (N,),
        "idToken value has the form of its type (ISO14443, ISO15693, eMAID)",
        "OCPP 2.0.1 Part 2 IdTokenEnumType",
    ),
    # Smart charging
    Rule(
        "SC-001",
        (E, W),
        "TxProfile: evseId > 0, transactionId of the transaction running on that EVSE",
        "OCPP 2.0.1 K01.FR.03, K01.FR.09, K01.FR.16, K01.FR.33",
    ),
    Rule(
        "SC-002",
        (E, W),
        "ChargingStationMaxProfile: evseId 0, not Relative",
        "OCPP 2.0.1 K01.FR.38",
    ),
    Rule(
        "SC-003",
        (E, W),
        "Schedule periods start at 0 and strictly increase",
        "OCPP 2.0.1 K01.FR.31, K01.FR.35",
    ),
    Rule(
        "SC-004",
        (W,),
        "startSchedule by profile kind; phaseToUse only single-phase and if switching is supported",
        "OCPP 2.0.1 K01.FR.19, K01.FR.20, K01.FR.40, K01.FR.41",
    ),
    Rule(
        "SC-005",
        (W,),
        "No ChargingStationExternalConstraints from the CSMS; NotSupported without smart charging",
        "OCPP 2.0.1 K01.FR.22, K01.FR.29",
    ),
    Rule(
        "SC-006",
        (N, W),
        "stackLevel within ProfileStackLevel; no TxProfile for an ended transaction",
        "Part 2 Appendices SmartChargingCtrlr.ProfileStackLevel; OCPP 2.0.1 K02.FR.05",
    ),
    Rule(
        "SC-007",
        (E, N),
        "statusInfo.reasonCode at most 20 characters (errata names)",
        "StatusInfoType.reasonCode string[20]; Errata 2023-12 §2.20.1",
    ),
    # Reconnect back-off
    Rule(
        "BACKOFF-001",
        (W,),
        "After a lost connection the station reconnects",
        "",
        ocppj=("reconnect",),
    ),
    Rule(
        "BACKOFF-002",
        (E, W),
        "First reconnect after RetryBackOffWaitMinimum + random range",
        "OCPP 2.0.1 Part 6 TC_B_57_CS",
        ocppj=("reconnect", "backoff"),
    ),
    Rule(
        "BACKOFF-003",
        (E, W),
        "Each further attempt doubles the wait, RetryBackOffRepeatTimes times",
        "OCPP 2.0.1 Part 6 TC_B_57_CS",
        ocppj=("reconnect", "backoff"),
    ),
    Rule(
        "BACKOFF-004",
        (N, W),
        "A late first attempt that continues the previous outage's back-off: not reset after "
        "the successful connection (a SHALL of 2.1; info where inferred, 1.6 and 2.0.1)",
        "",
        ocppj=("reconnect", "backoff"),
    ),
    Rule(
        "BACKOFF-005",
        (N,),
        "A late first attempt that fits attempts the observer could not see",
        "inferred",
        ocppj=("reconnect", "backoff"),
    ),
    Rule(
        "BACKOFF-007",
        (N, E, W),
        "Reconnect episode: the analyser's verdict",
        "OCPP 2.0.1 Part 6 TC_B_57_CS",
        ocppj=("reconnect", "backoff"),
    ),
    # Provisioning and device model
    Rule(
        "DM-001",
        (E,),
        "One result per Get/SetVariables or SetVariableMonitoring item, naming that item",
        "OCPP 2.0.1 B05.FR.01/02/12, B06.FR.01/02/11, N04.FR.01/02",
    ),
    Rule(
        "DM-002",
        (W,),
        "CSMS requests within the station's ItemsPerMessage / BytesPerMessage",
        "OCPP 2.0.1 B06.FR.05, N06.FR.04; Part 2 Appendix DeviceDataCtrlr, MonitoringCtrlr",
    ),
    Rule(
        "DM-003",
        (W,),
        "Reports follow an accepted request: its requestId, seqNo 0, 1, ..., tbc until the last",
        "OCPP 2.0.1 B07, B08.FR.03; Part 6 TC_B_12_CS, TC_B_13_CS",
    ),
    Rule(
        "DM-004",
        (N,),
        "A FullInventory report names the core components and variables",
        "OCPP 2.0.1 Part 6 TC_B_53_CS",
    ),
    Rule(
        "DM-005",
        (W,),
        "A negative WebSocketPingInterval is Rejected",
        "",
        ocppj=("configuration",),
    ),
    Rule(
        "DM-006",
        (W,),
        "Firmware statuses carry the update's requestId; InstallRebooting before restarting",
        "OCPP 2.0.1 L01.FR.01, L01.FR.15; Part 6 §2.1",
    ),
    Rule(
        "DM-007",
        (W, N),
        "CSMS requests agree with the station: certificate hashes, display message transactions",
        "OCPP 2.0.1 M04.FR.07, O01.FR.04",
    ),
    # Offline queueing
    Rule(
        "QUEUE-001",
        (W,),
        "A transaction open when the link was lost is ended from the queue",
        "OCPP 2.0.1 E04 (offline transactions); Part 6 TC_E_40_CS",
    ),
    Rule(
        "QUEUE-003",
        (E,),
        "Queued TransactionEvents wait until the station is Accepted",
        "OCPP 2.0.1 B02.FR.09, B03.FR.07 (libocpp holds its queue until Accepted)",
    ),
    # Security profiles and security events
    Rule(
        "SEC-001",
        (E,),
        "Once HTTP Basic was seen, every upgrade carries a well-formed Basic header",
        "OCPP 2.0.1 Part 2 A00.FR.202-205, A00.FR.301-304; Part 6 TC_A_01_CS",
    ),
    Rule(
        "SEC-002",
        (E,),
        "The Basic-auth username is the station identity of the URL",
        "OCPP 2.0.1 Part 2 A00 (Basic username); Part 6 TC_A_01_CS",
    ),
    Rule(
        "SEC-003",
        (E,),
        "BasicAuthPassword: 16 to 40 alphanumerics or identifierString specials",
        "Part 2 Appendices SecurityCtrlr.BasicAuthPassword; Errata 2023-12 §2.17.3",
    ),
    Rule(
        "SEC-004",
        (W,),
        "Profile 1 (Basic over ws://) only on trusted networks",
        "OCPP 2.0.1 Part 2 A00 security profile 1",
    ),
    Rule(
        "SEC-005",
        (E,),
        "TLS 1.2 or later on a TLS connection",
        "OCPP 2.0.1 Part 2 A00.FR.313, A00.FR.416",
    ),
    Rule(
        "SEC-007",
        (E, W),
        "Profile 3: a client certificate whose CN holds the serial number, no Basic",
        "OCPP 2.0.1 Part 2 A00.FR.405, B01.FR.12; Part 6 TC_A_04_CS",
    ),
    Rule(
        "SEC-008",
        (W,),
        "A station does not fall back to a lower security profile",
        "OCPP 2.0.1 Part 2 A05.FR.04; Part 6 TC_A_22_CS (inferred)",
    ),
    Rule(
        "SEC-009",
        (E,),
        "After accepting a new BasicAuthPassword the station connects with it",
        "OCPP 2.0.1 Part 2 A01; Part 6 TC_A_09_CS",
    ),
    Rule(
        "SEC-010",
        (W, N),
        "Security events use Appendix 1 names; StartupOfTheDevice after each boot",
        "Part 2 Appendices Appendix 1; Part 6 Reusable State Booted",
    ),
    Rule(
        "SEC-011",
        (N,),
        "A station refusing invalid OCPP may report InvalidMessages",
        "Part 2 Appendices Appendix 1 InvalidMessages",
    ),
    # OCPP 1.6J (checks.v16_*): ids carry the version, references cite OCPP 1.6 edition 2 by section
    Rule(
        "BOOT16-001",
        (E, W),
        "Before BootNotification.conf Accepted the charge point sends no other request (while "
        "Pending only what TriggerMessage asked for)",
        "OCPP 1.6 §4.2 Boot Notification; §6.4 BootNotification.conf; §5.17 Trigger Message",
    ),
    Rule(
        "BOOT16-002",
        (E,),
        "After Pending or Rejected the interval is the retry time: no BootNotification sooner, "
        "nothing at all while Rejected",
        "OCPP 1.6 §4.2 Boot Notification; §6.4 BootNotification.conf interval",
    ),
    Rule(
        "BOOT16-003",
        (E,),
        "No RemoteStartTransaction or RemoteStopTransaction to a Pending charge point",
        "OCPP 1.6 §4.2 Boot Notification (Pending)",
    ),
    Rule(
        "HB16-001",
        (N, W),
        "Silence beyond the heartbeat interval (BootNotification.conf, ChangeConfiguration "
        "HeartbeatInterval) is info, heartbeats being optional over WebSocket; a day and the "
        "interval without any OCPP message is a warning (a daily Heartbeat is advised)",
        "OCPP 1.6 edition 2 §4.6 Heartbeat; §9.1.10 HeartbeatInterval",
        ocppj=("heartbeat",),
    ),
    Rule(
        "STAT16-001",
        (E,),
        "StatusNotification Faulted names its errorCode (not NoError)",
        "OCPP 1.6 §4.9 Status Notification; §7.6 ChargePointErrorCode",
    ),
    Rule(
        "STAT16-002",
        (E,),
        "connectorId 0 reports only Available, Unavailable or Faulted",
        "OCPP 1.6 §4.9 Status Notification (connectorId 0); §7.7 ChargePointStatus",
    ),
    Rule(
        "STAT16-003",
        (W,),
        "A tripped protection device (GroundFailure, OverCurrentFailure, PowerSwitchFailure) "
        "comes with status Faulted or Unavailable",
        "OCPP 1.6 §7.6 ChargePointErrorCode, §7.7 ChargePointStatus (inferred)",
    ),
    Rule(
        "TX16-001",
        (E, W),
        "MeterValues with a transactionId name an open transaction the Central System gave",
        "OCPP 1.6 §4.7 Meter Values; §6.31 MeterValues.req transactionId",
    ),
    Rule(
        "TX16-002",
        (E, W),
        "StopTransaction ends a known open transaction, once",
        "OCPP 1.6 §4.10 Stop Transaction; §6.49 StopTransaction.req transactionId",
    ),
    Rule(
        "TX16-003",
        (E,),
        "meterStop is not below the transaction's meterStart",
        "OCPP 1.6 §6.45 StartTransaction.req meterStart, §6.49 StopTransaction.req meterStop",
    ),
    Rule(
        "TX16-004",
        (E,),
        "StartTransaction.conf gives a transactionId no open transaction has",
        "OCPP 1.6 §4.8 Start Transaction; §6.46 StartTransaction.conf transactionId",
    ),
    Rule(
        "TX16-005",
        (W,),
        "A transaction deauthorised by its StartTransaction.conf idTagInfo stops with reason "
        "DeAuthorized",
        "OCPP 1.6 §3.5.4 Unknown Offline Authorization; §4.8 Start Transaction; §7.36 Reason "
        "(DeAuthorized); §9.1.24 StopTransactionOnInvalidId",
    ),
    Rule(
        "TX16-006",
        (E,),
        "A connector starts no transaction while its previous one was not stopped",
        "OCPP 1.6 §4.8 Start Transaction, §4.10 Stop Transaction",
    ),
    Rule(
        "QUEUE16-001",
        (E,),
        "After a reboot, queued transaction messages wait for BootNotification.conf Accepted",
        "OCPP 1.6 §4.2 Boot Notification (cached messages); §3.7 Transaction-related messages",
    ),
    Rule(
        "QUEUE16-002",
        (E,),
        "A transaction begun offline is named by the transactionId of its StartTransaction.conf",
        "OCPP 1.6 §3.5.4 Unknown Offline Authorization; §3.7 Transaction-related messages; "
        "§6.46 StartTransaction.conf transactionId",
    ),
    Rule(
        "QUEUE16-003",
        (E,),
        "A transaction open when the connection was lost is stopped by a queued "
        "StopTransaction before its connector starts another",
        "OCPP 1.6 §3.7 Transaction-related messages (queued, in chronological order); §4.10 Stop "
        "Transaction",
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _CATALOGUE}
