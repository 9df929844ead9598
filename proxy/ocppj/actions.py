"""The 64 OCPP 2.0.1 actions and who may send each (Part 4 §4.2.1; rule RPC-009)."""

from __future__ import annotations

from enum import StrEnum
from importlib.resources import files


class Direction(StrEnum):
    """Which way a frame travels; the engine speaks of senders, captures and the database of this."""

    CHARGER_TO_CSMS = "charger_to_csms"
    CSMS_TO_CHARGER = "csms_to_charger"

    @property
    def reverse(self) -> Direction:
        if self is Direction.CHARGER_TO_CSMS:
            return Direction.CSMS_TO_CHARGER
        return Direction.CHARGER_TO_CSMS

    @property
    def sender(self) -> str:
        return "station" if self is Direction.CHARGER_TO_CSMS else "CSMS"

    @property
    def side(self) -> str:
        """The sender as `ConnectionClosed.closed_by` names it: 'charger' or 'csms'."""
        return "charger" if self is Direction.CHARGER_TO_CSMS else "csms"


SCHEMA_DIR = files("ocpp.v201") / "schemas"

ACTIONS: frozenset[str] = frozenset(
    entry.name.removesuffix("Request.json")
    for entry in SCHEMA_DIR.iterdir()
    if entry.name.endswith("Request.json")
)

CHARGER_INITIATED: frozenset[str] = frozenset(
    {
        "Authorize",
        "BootNotification",
        "ClearedChargingLimit",
        "FirmwareStatusNotification",
        "Get15118EVCertificate",
        "GetCertificateStatus",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "NotifyChargingLimit",
        "NotifyCustomerInformation",
        "NotifyDisplayMessages",
        "NotifyEVChargingNeeds",
        "NotifyEVChargingSchedule",
        "NotifyEvent",
        "NotifyMonitoringReport",
        "NotifyReport",
        "PublishFirmwareStatusNotification",
        "ReportChargingProfiles",
        "ReservationStatusUpdate",
        "SecurityEventNotification",
        "SignCertificate",
        "StatusNotification",
        "TransactionEvent",
    }
)
BOTH_WAYS: frozenset[str] = frozenset({"DataTransfer"})
CSMS_INITIATED: frozenset[str] = ACTIONS - CHARGER_INITIATED - BOTH_WAYS


def may_send(action: str, direction: Direction) -> bool:
    """True when the sender on `direction` is allowed to initiate `action`."""
    if action in BOTH_WAYS:
        return True
    if direction is Direction.CHARGER_TO_CSMS:
        return action in CHARGER_INITIATED
    return action in CSMS_INITIATED
