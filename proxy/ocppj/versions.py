"""What differs between the OCPP-J versions the engine judges, one `Version` per subprotocol.

A connection speaks the subprotocol the CSMS selected in its handshake (OCPP-J 1.6 §3.2,
OCPP-J 2.0.1 §3.2, OCPP-J 2.1 §3.3); everything version-specific below the rule groups (which
actions exist and who may send them, their schemas, the CALLERROR codes, the MessageTypeIds, and
where the version's OCPP-J text says what the shared rules judge) is read from that connection's
`Version`. The schemas are the OCA files the `ocpp` package ships.

The section maps follow OCPP-J 1.6 (2015-10-08), OCPP 2.0.1 Part 4
(edition 3) and OCPP 2.1 Part 4 (edition 2). The three share most numbers, not all: 1.6 defines
no payload, action or validity sections of its own (§4.2.1 and §4.2.3 say it) and puts its
errorCode table in §4.2.3; 2.1 inserts §3.2 before the server response and §5.2 before
reconnecting; only 2.0.1 and 2.1 define back-off, signed messages and customData.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Final

from proxy.ocppj.actions import CHARGER_INITIATED, Direction
from proxy.ocppj.errors import ERROR_CODES, LEGACY_ERROR_CODES
from proxy.ocppj.signed import signed_action

OCPP16: Final = "ocpp1.6"
OCPP201: Final = "ocpp2.0.1"
OCPP21: Final = "ocpp2.1"


@dataclass(frozen=True, slots=True, eq=False)
class Version:
    """Hashed by identity: there is one of each, and schema caches are keyed by it."""

    name: str
    """The subprotocol, as the handshake names it."""
    schema_dir: Traversable
    request_suffix: str
    """How a request schema's file name ends after the action: 1.6 names it `<Action>.json`."""
    draft: int
    """The JSON Schema draft the files declare."""
    actions: frozenset[str]
    charger_initiated: frozenset[str]
    both_ways: frozenset[str]
    error_codes: frozenset[str]
    """The CALLERROR codes of the version's errorCode table."""
    respelled: dict[str, str]
    """Codes of another version that this one spells otherwise: what RPC-012 tells the sender."""
    message_types: frozenset[int]
    sections: Mapping[str, str]
    """Where that document says what a shared rule judges, by topic ('validity': '§4.1.7'); a
    topic it has no text for is absent."""
    send_actions: frozenset[str] = frozenset()
    """2.1: actions sent with SEND (MessageTypeId 6), which are never answered."""
    signed: bool = True
    """Signed messages, `<Action>-Signed` (OCPP-J 2.0.1 §7, kept by 2.1; 1.6 has none)."""
    unknown_type_code: str | None = None
    """The CALLERROR code that answers a frame of unknown MessageTypeId (OCPP-J 2.0.1 §4.4);
    None where the receiver SHALL ignore it (OCPP-J 1.6 §4.1.3, OCPP-J 2.1 §4.1.3 and §4.4)."""
    ids_per_connection: bool = False
    """A CALL's message ID is new on its WebSocket connection (OCPP-J 1.6 §4.1.4), not on any
    connection of the station as 2.0.1 and 2.1 §4.1.4 want."""
    retry_keeps_id: bool = False
    """A retried CALL MAY keep its original's message ID (OCPP-J 2.1 §4.1.4); 2.0.1 §4.1.4
    wants a new one for retries too, 1.6 §4.1.4 for every CALL."""
    resets_backoff: bool = False
    """After a successful connection the back-off SHALL be reset (OCPP-J 2.1 §5.4); 1.6 sets no
    back-off, and 2.0.1 §5.3 does not say it."""

    def knows(self, action: str) -> bool:
        """An action of this version, or its signed form (the receiver processes what it signs)."""
        return action in self.actions or (
            self.signed and signed_action(action, self.actions) is not None
        )

    def may_send(self, action: str, direction: Direction) -> bool:
        """True when the sender on `direction` is allowed to initiate `action`."""
        if action in self.both_ways:
            return True
        if direction is Direction.CHARGER_TO_CSMS:
            return action in self.charger_initiated
        return action in self.actions and action not in self.charger_initiated

    def own_code(self, code: str) -> str | None:
        """A CALLERROR code of any version as this one spells it (`respelled`); None when this
        version has no such code (1.6 has neither RpcFrameworkError nor MessageTypeNotSupported)."""
        return code if code in self.error_codes else self.respelled.get(code)

    def request_schema(self, action: str) -> str:
        """The schema file (without .json) of an action's request, or of its SEND."""
        return action if action in self.send_actions else f"{action}{self.request_suffix}"

    def sections_of(self, *topics: str) -> str:
        """'§4.1.7, §4.2.3': where this version's OCPP-J text says `topics`, each section once
        (§4.2.3 not beside §4.2.3 Table 7); '' when it says none of them."""
        found = dict.fromkeys(self.sections[t] for t in topics if t in self.sections)
        return ", ".join(s for s in found if not any(o.startswith(f"{s} ") for o in found))

    def cite(self, *topics: str) -> str:
        """'OCPP-J 1.6 §4.2.3': `sections_of` in the document's name, for findings; ''."""
        sections = self.sections_of(*topics)
        return f"{self.ocppj} {sections}" if sections else ""

    @property
    def number(self) -> str:
        """'1.6', '2.0.1', '2.1'."""
        return self.name.removeprefix("ocpp")

    @property
    def label(self) -> str:
        """'OCPP 1.6', 'OCPP 2.0.1', 'OCPP 2.1': for messages."""
        return f"OCPP {self.number}"

    @property
    def ocppj(self) -> str:
        """Its OCPP-J document as references name it: 'OCPP-J 1.6'."""
        return f"OCPP-J {self.number}"


def _actions(schema_dir: Traversable, request_suffix: str) -> frozenset[str]:
    ending = f"{request_suffix}.json"
    return frozenset(
        entry.name.removesuffix(ending)
        for entry in schema_dir.iterdir()
        if entry.name.endswith(ending) and not entry.name.endswith("Response.json")
    )


_CODES_16: Final = frozenset(
    {
        "FormationViolation",
        "GenericError",
        "InternalError",
        "NotImplemented",
        "NotSupported",
        "OccurenceConstraintViolation",
        "PropertyConstraintViolation",
        "ProtocolError",
        "SecurityError",
        "TypeConstraintViolation",
    }
)
"""OCPP-J 1.6 §4.2.3: ten codes, two of them spelt as the 1.6 text spells them (kept so by its
errata), and neither RpcFrameworkError nor MessageTypeNotSupported."""

_V16_DIR = files("ocpp.v16") / "schemas"
_V201_DIR = files("ocpp.v201") / "schemas"
_V21_DIR = files("ocpp.v21") / "schemas"

_V16_CHARGER: Final = frozenset(
    {
        "Authorize",
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
        # The 1.6 security extension (Improved security for OCPP 1.6-J, §4-§6).
        "LogStatusNotification",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
    }
)
"""OCPP 1.6 §4 (operations initiated by the Charge Point) and the security whitepaper's."""

_V21_CHARGER: Final = CHARGER_INITIATED | frozenset(
    {
        "BatterySwap",
        "ClosePeriodicEventStream",
        "GetCertificateChainStatus",
        "NotifyDERAlarm",
        "NotifyDERStartStop",
        "NotifyPeriodicEventStream",
        "NotifyPriorityCharging",
        "NotifySettlement",
        "OpenPeriodicEventStream",
        "PullDynamicScheduleUpdate",
        "ReportDERControl",
        "VatNumberValidation",
    }
)
"""OCPP 2.1 Part 2: the 2.0.1 station messages and those 2.1 adds (battery swap, DER control,
periodic event streams, settlement, priority charging, dynamic schedules, VAT numbers)."""

_OCPPJ_16: Final = {
    "url": "§3.1.1",
    "subprotocol": "§3.1.2",
    "server_response": "§3.2",
    "open": "§5.5",
    "compression": "§5.1",
    "synchronicity": "§4.1.1",
    "encoding": "§4.1.2",
    "message_type": "§4.1.3",
    "unknown_type": "§4.1.3",
    "message_id": "§4.1.4",
    "payload": "§4.2.1",
    "action": "§4.2.1",
    "call": "§4.2.1",
    "callresult": "§4.2.2",
    "validity": "§4.2.3",
    "callerror": "§4.2.3",
    "error_codes": "§4.2.3 Table 7",
    "heartbeat": "§5.3",
    "reconnect": "§5.4",
    "configuration": "§7",
}
"""OCPP-J 1.6: a CALL that breaks its PDU is answered with a CallError (§4.2.3), an unknown
MessageTypeId is ignored (§4.1.3), reconnecting only asks for no needless BootNotification (§5.4)
and sets no back-off."""

_OCPPJ_201: Final = {
    "url": "§3.1.1",
    "subprotocol": "§3.1.2",
    "server_response": "§3.2",
    "open": "§3.1",
    "compression": "§3.3",
    "synchronicity": "§4.1.1",
    "encoding": "§4.1.2",
    "message_type": "§4.1.3",
    "message_id": "§4.1.4",
    "payload": "§4.1.5",
    "action": "§4.1.6",
    "validity": "§4.1.7",
    "call": "§4.2.1",
    "callresult": "§4.2.2",
    "callerror": "§4.2.3",
    "error_codes": "§4.3 Table 8",
    "unknown_type": "§4.4",
    "heartbeat": "§5.2",
    "reconnect": "§5.3",
    "backoff": "§8.1-8.3",
    "configuration": "§8.4",
    "signed": "§7.1, §7.3",
    "custom_data": "§9",
}

_OCPPJ_21: Final = {
    **_OCPPJ_201,
    "server_response": "§3.3",
    "compression": "§3.4",
    "error_codes": "§4.3 Table 9",
    "send": "§4.2.4",
    "heartbeat": "§5.3",
    "reconnect": "§5.4",
}
"""OCPP-J 2.1 edition 2: CALLRESULTERROR shares §4.2.3 with CALLERROR, SEND is §4.2.4."""

V16: Final = Version(
    name=OCPP16,
    schema_dir=_V16_DIR,
    request_suffix="",
    draft=4,
    actions=_actions(_V16_DIR, ""),
    charger_initiated=_V16_CHARGER,
    both_ways=frozenset({"DataTransfer"}),
    error_codes=_CODES_16,
    sections=_OCPPJ_16,
    signed=False,
    ids_per_connection=True,
    respelled={
        "FormatViolation": "FormationViolation",
        "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
    },
    message_types=frozenset({2, 3, 4}),
)

V201: Final = Version(
    name=OCPP201,
    schema_dir=_V201_DIR,
    request_suffix="Request",
    draft=6,
    actions=_actions(_V201_DIR, "Request"),
    charger_initiated=CHARGER_INITIATED,
    both_ways=frozenset({"DataTransfer"}),
    error_codes=ERROR_CODES,
    respelled=LEGACY_ERROR_CODES,
    sections=_OCPPJ_201,
    message_types=frozenset({2, 3, 4}),
    unknown_type_code="MessageTypeNotSupported",
)

V21: Final = Version(
    name=OCPP21,
    schema_dir=_V21_DIR,
    request_suffix="Request",
    draft=6,
    # NotifyPeriodicEventStream has one schema file of its own name: it is only ever SENT.
    actions=_actions(_V21_DIR, "Request") | {"NotifyPeriodicEventStream"},
    charger_initiated=_V21_CHARGER,
    both_ways=frozenset({"DataTransfer"}),
    error_codes=ERROR_CODES,
    respelled=V201.respelled,
    sections=_OCPPJ_21,
    message_types=frozenset({2, 3, 4, 5, 6}),
    send_actions=frozenset({"NotifyPeriodicEventStream"}),
    retry_keeps_id=True,
    resets_backoff=True,
)

VERSIONS: Final[dict[str, Version]] = {v.name: v for v in (V16, V201, V21)}
ALL_ACTIONS: Final = frozenset().union(*(v.actions for v in VERSIONS.values()))
"""Every action of every version: the bounded set of names metrics label series by."""
ALL_ERROR_CODES: Final = frozenset().union(*(v.error_codes for v in VERSIONS.values()))
"""Every CALLERROR code of every version, each version's spelling (a fault may reply with any)."""
DEFAULT: Final = V201
"""What a connection without a (known) selected subprotocol is judged by (WS-002 says why)."""


UNKNOWN: Final = "unknown"
"""How metrics and reports name the version of a connection that selected none of VERSIONS."""


def known_version(subprotocol: str | None) -> str | None:
    """The selected subprotocol when it names one of VERSIONS, else None: what stored frames and
    findings, metrics and reports carry (a connection without one is judged by DEFAULT's rules,
    and WS-002 says so, but it did not select that version)."""
    return subprotocol if subprotocol in VERSIONS else None


def version_of(subprotocol: str | None) -> Version:
    """The version a connection that selected `subprotocol` speaks; 2.0.1 when none or unknown."""
    return VERSIONS.get(subprotocol or "", DEFAULT)
