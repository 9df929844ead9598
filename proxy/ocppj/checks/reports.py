"""DM group, report streams: the station's reports follow the request that asked for them (B07,
B08: requestId, seqNo from 0 by 1, tbc until the last) and a full inventory names the variables
every station has (Part 6 TC_B_53_CS)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from proxy.ocppj.actions import Direction
from proxy.ocppj.checks.device_model import objects
from proxy.ocppj.routing import RuleGroup, on_call, on_error, on_result

if TYPE_CHECKING:
    from proxy.ocppj.messages import Call, CallError, CallResult
    from proxy.ocppj.rpc import PendingCall
    from proxy.ocppj.session import Session

STREAMS: Final = {
    "GetBaseReport": "NotifyReport",
    "GetReport": "NotifyReport",
    "GetMonitoringReport": "NotifyMonitoringReport",
    "GetChargingProfiles": "ReportChargingProfiles",
    "CustomerInformation": "NotifyCustomerInformation",
}
"""CSMS request -> the station's messages that deliver what it asked for, under its requestId."""

REQUIRED: Final = (
    ("AlignedDataCtrlr", "Interval", None),
    ("AlignedDataCtrlr", "Measurands", None),
    ("AlignedDataCtrlr", "TxEndedInterval", None),
    ("AlignedDataCtrlr", "TxEndedMeasurands", None),
    ("AuthCtrlr", "AuthorizeRemoteStart", None),
    ("AuthCtrlr", "LocalAuthorizeOffline", None),
    ("AuthCtrlr", "LocalPreAuthorize", None),
    ("ChargingStation", "AvailabilityState", None),
    ("ChargingStation", "Available", None),
    ("ChargingStation", "SupplyPhases", None),
    ("ClockCtrlr", "DateTime", None),
    ("ClockCtrlr", "TimeSource", None),
    ("Connector", "AvailabilityState", None),
    ("Connector", "Available", None),
    ("Connector", "ConnectorType", None),
    ("Connector", "SupplyPhases", None),
    ("DeviceDataCtrlr", "BytesPerMessage", "GetReport"),
    ("DeviceDataCtrlr", "BytesPerMessage", "GetVariables"),
    ("DeviceDataCtrlr", "BytesPerMessage", "SetVariables"),
    ("DeviceDataCtrlr", "ItemsPerMessage", "GetReport"),
    ("DeviceDataCtrlr", "ItemsPerMessage", "GetVariables"),
    ("DeviceDataCtrlr", "ItemsPerMessage", "SetVariables"),
    ("EVSE", "AvailabilityState", None),
    ("EVSE", "Available", None),
    ("EVSE", "Power", None),
    ("EVSE", "SupplyPhases", None),
    ("OCPPCommCtrlr", "FileTransferProtocols", None),
    ("OCPPCommCtrlr", "MessageTimeout", "Default"),
    ("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent"),
    ("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent"),
    ("OCPPCommCtrlr", "NetworkConfigurationPriority", None),
    ("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", None),
    ("OCPPCommCtrlr", "OfflineThreshold", None),
    ("OCPPCommCtrlr", "ResetRetries", None),
    ("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", None),
    ("SampledDataCtrlr", "TxEndedInterval", None),
    ("SampledDataCtrlr", "TxEndedMeasurands", None),
    ("SampledDataCtrlr", "TxStartedMeasurands", None),
    ("SampledDataCtrlr", "TxUpdatedInterval", None),
    ("SampledDataCtrlr", "TxUpdatedMeasurands", None),
    ("SecurityCtrlr", "CertificateEntries", None),
    ("SecurityCtrlr", "OrganizationName", None),
    ("SecurityCtrlr", "SecurityProfile", None),
    ("TxCtrlr", "EVConnectionTimeOut", None),
    ("TxCtrlr", "StopTxOnEVSideDisconnect", None),
    ("TxCtrlr", "StopTxOnInvalidId", None),
    ("TxCtrlr", "TxStartPoint", None),
    ("TxCtrlr", "TxStopPoint", None),
)
"""The core components and variables (with instance) Part 6 TC_B_53_CS expects in a full
inventory, whatever optional features the station has; Connector and EVSE ones at least once."""

REMEMBERED_STREAMS = 32


@dataclass(slots=True)
class Stream:
    """One requested report: whether the station accepted it, and what of it has arrived."""

    request: str
    full_inventory: bool = False
    status: str | None = None
    """The station's answer; None while the request is unanswered."""
    next_seq: int = 0
    ended: bool = False
    seen: dict[int, str] = field(default_factory=dict)
    """seqNo -> the message's payload (as compact JSON): a retransmission repeats it."""
    reported: set[tuple[str, str, str | None]] = field(default_factory=set)
    """(component, variable, instance) reported, for a full inventory."""
    reported_stray: bool = False


def _variables(call: Call) -> set[tuple[str, str, str | None]]:
    found: set[tuple[str, str, str | None]] = set()
    for item in objects((call.payload or {}).get("reportData")):
        component, variable = item.get("component"), item.get("variable")
        if isinstance(component, dict) and isinstance(variable, dict):
            names = component.get("name"), variable.get("name"), variable.get("instance")
            if isinstance(names[0], str) and isinstance(names[1], str):
                instance = names[2] if isinstance(names[2], str) else None
                found.add((names[0], names[1], instance))
    return found


def _has(
    reported: set[tuple[str, str, str | None]], component: str, variable: str, instance: str | None
) -> bool:
    """Reported with that instance; with any when none is required; 'Default' also unnamed."""
    accepted = {instance, None} if instance == "Default" else {instance}
    return any(
        (name, var) == (component, variable) and (instance is None or found in accepted)
        for name, var, found in reported
    )


class ReportsGroup(RuleGroup):
    """Follows each report request of the CSMS to the end of the station's stream."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.streams: dict[tuple[str, int], Stream] = {}

    @on_call(*STREAMS)
    def requested(self, call: Call) -> None:
        payload = call.payload or {}
        request_id = payload.get("requestId")
        if self.session.direction is not Direction.CSMS_TO_CHARGER or type(request_id) is not int:
            return
        key = (STREAMS[call.action], request_id)
        self.streams.pop(key, None)
        self.streams[key] = Stream(
            call.action,
            full_inventory=call.action == "GetBaseReport"
            and payload.get("reportBase") == "FullInventory",
        )
        if len(self.streams) > REMEMBERED_STREAMS:
            del self.streams[next(iter(self.streams))]

    @on_result(*STREAMS)
    def answered(self, pending: PendingCall, result: CallResult) -> None:
        stream = self._stream_of(pending)
        if stream is not None:
            stream.status = (result.payload or {}).get("status")

    @on_error(*STREAMS)
    def refused(self, pending: PendingCall, error: CallError) -> None:
        stream = self._stream_of(pending)
        if stream is not None:
            stream.status = error.error_code

    def _stream_of(self, pending: PendingCall) -> Stream | None:
        request_id = pending.payload.get("requestId")
        if type(request_id) is not int:
            return None
        return self.streams.get((STREAMS[pending.action], request_id))

    @on_call(*set(STREAMS.values()))
    def delivered(self, call: Call) -> None:
        """DM-003: a report message belongs to an accepted request and continues its stream."""
        session = self.session
        payload = call.payload or {}
        request_id, seq = payload.get("requestId"), payload.get("seqNo")
        if session.direction is not Direction.CHARGER_TO_CSMS or type(request_id) is not int:
            return
        stream = self.streams.get((call.action, request_id))
        what = f"{call.action} requestId {request_id}"
        if stream is None:
            if seq in (0, None) and session.link.first_connected is not None:
                session.flag(
                    "DM-003",
                    f"{what} answers no request seen; reports carry the requestId of the "
                    "CSMS request that asked for them",
                )
            return
        if stream.status != "Accepted" and not stream.reported_stray:
            stream.reported_stray = True
            answer = "not answered yet" if stream.status is None else f"answered {stream.status}"
            session.flag(
                "DM-003",
                f"{what} sent while its {stream.request} was {answer}; a report "
                "follows an Accepted response",
            )
        tbc = payload.get("tbc") is True
        if type(seq) is int:
            text = json.dumps(payload, sort_keys=True)
            if seq in stream.seen:
                if stream.seen[seq] != text:
                    session.flag("DM-003", f"{what} seqNo {seq} sent again with different content")
                return  # a retransmission
            stream.seen[seq] = text
            if stream.ended:
                session.flag("DM-003", f"{what} seqNo {seq} after the stream's last message")
            elif seq != stream.next_seq:
                expected = stream.next_seq
                session.flag(
                    "DM-003",
                    f"{what} has seqNo {seq} where {expected} was due; "
                    "seqNo starts at 0 and grows by 1",
                    details={"seq": seq, "expected": expected},
                )
            stream.next_seq = max(stream.next_seq, seq + 1)
        elif stream.ended:
            session.flag("DM-003", f"{what} after the stream's last message (tbc false)")
        if stream.full_inventory:
            stream.reported |= _variables(call)
        if not tbc and not stream.ended:
            stream.ended = True
            if stream.full_inventory:
                self._inventory_complete(stream, request_id)

    def _inventory_complete(self, stream: Stream, request_id: int) -> None:
        """DM-004: the full inventory lacks core variables (info: what OCTT would fail)."""
        missing = [
            f"{component}.{variable}" + (f"[{instance}]" if instance else "")
            for component, variable, instance in REQUIRED
            if not _has(stream.reported, component, variable, instance)
        ]
        if missing:
            shown = ", ".join(missing[:12]) + (
                f", … ({len(missing)} in all)" if len(missing) > 12 else ""
            )
            self.session.flag(
                "DM-004",
                f"FullInventory report {request_id} does not name {shown}",
                details={"missing": len(missing)},
            )
