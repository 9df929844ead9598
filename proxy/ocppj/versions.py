"""What differs between the OCPP-J versions the engine judges, one `Version` per subprotocol.

A connection speaks the subprotocol the CSMS selected in its handshake (OCPP-J 1.6 §3.1.1,
OCPP-J 2.0.1 §3.2, OCPP-J 2.1 §3.2); everything version-specific below the rule groups (which
actions exist and who may send them, their schemas, the CALLERROR codes, the MessageTypeIds) is
read from that connection's `Version`. The schemas are the OCA files the `ocpp` package ships.
"""

from __future__ import annotations

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
    error_table: str
    """Where the errorCodes are defined, for messages."""
    send_actions: frozenset[str] = frozenset()
    """2.1: actions sent with SEND (MessageTypeId 6), which are never answered."""
    signed: bool = True
    """Signed messages, `<Action>-Signed` (OCPP-J 2.0.1 §7, kept by 2.1; 1.6 has none)."""

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

    @property
    def label(self) -> str:
        """'OCPP 1.6', 'OCPP 2.0.1', 'OCPP 2.1': for messages."""
        return f"OCPP {self.name.removeprefix('ocpp')}"


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

V16: Final = Version(
    name=OCPP16,
    schema_dir=_V16_DIR,
    request_suffix="",
    draft=4,
    actions=_actions(_V16_DIR, ""),
    charger_initiated=_V16_CHARGER,
    both_ways=frozenset({"DataTransfer"}),
    error_codes=_CODES_16,
    error_table="OCPP-J 1.6 §4.2.3",
    signed=False,
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
    error_table="Part 4 Table 8",
    message_types=frozenset({2, 3, 4}),
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
    error_table="OCPP-J 2.1 §4.3",
    message_types=frozenset({2, 3, 4, 5, 6}),
    send_actions=frozenset({"NotifyPeriodicEventStream"}),
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
