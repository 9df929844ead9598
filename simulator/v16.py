"""OCPP 1.6J requests of a simulated station (`simulator.dialect`), in the `ocpp` library's v16
message classes. A session's queued events become StartTransaction, MeterValues and
StopTransaction when they are sent; the CSMS gives the transactionId in StartTransaction.conf
(OCPP 1.6 §4.8), and the station's later messages of that session carry it."""

from __future__ import annotations

import logging
from typing import Any

from ocpp.v16 import call

from simulator.clock import iso
from simulator.evse import Evse
from simulator.fleet import StationSpec
from simulator.link import Attached
from simulator.link16 import Link16

log = logging.getLogger("ocppscope.simulator")

REASONS = {
    "Local": "Local",
    "Remote": "Remote",
    "EVDisconnected": "EVDisconnected",
    "ImmediateReset": "HardReset",
    "DeAuthorized": "DeAuthorized",
}
"""StopTransaction's reason for a session's stoppedReason; others (EnergyLimitReached is not a
1.6 reason) are Other."""


class V16:
    subprotocol = "ocpp1.6"
    link: type[Attached] = Link16

    def __init__(self) -> None:
        self.transactions: dict[str, tuple[int, int]] = {}
        """The station's id of each transaction → (the CSMS's transactionId, its connector)."""

    def boot(self, spec: StationSpec, reason: str) -> Any:
        """1.6 has no boot reason."""
        return call.BootNotification(
            charge_point_vendor=spec.vendor,
            charge_point_model=spec.model,
            charge_point_serial_number=spec.serial_number,
            firmware_version="1.0.0",
        )

    def boot_answer(self, answer: Any) -> tuple[str, int]:
        return answer.status, answer.interval

    def connector_status(self, evse: Evse) -> str:
        """ChargePointStatus: Preparing with an EV plugged in and no session yet, Charging
        during one, Finishing after it until the EV leaves."""
        if evse.faulted:
            return "Faulted"
        if evse.session is not None:
            return "Charging"
        if not evse.operative:
            return "Unavailable"
        if evse.finished:
            return "Finishing"
        return "Preparing" if evse.plugged else "Available"

    def status(self, evse: int, status: str, now: float) -> Any:
        return call.StatusNotification(
            connector_id=evse,
            error_code="OtherError" if status == "Faulted" else "NoError",
            status=status,
            timestamp=iso(now),
        )

    def authorize(self, id_token: str) -> Any:
        return call.Authorize(id_tag=id_token)

    def authorized(self, answer: Any) -> bool:
        return bool(answer.id_tag_info.get("status") == "Accepted")

    def heartbeat(self) -> Any:
        return call.Heartbeat()

    def started_up(self, now: float) -> Any | None:
        return None  # SecurityEventNotification is in 1.6's security extension only

    def transaction(self, event: dict[str, Any]) -> Any | None:
        local = event["transaction_info"]["transaction_id"]
        reading = event["meter_value"][0]
        register_wh = round(float(reading["sampled_value"][0]["value"]))
        if event["event_type"] == "Started":
            return call.StartTransaction(
                connector_id=event["evse"]["id"],
                id_tag=event["id_token"]["id_token"],
                meter_start=register_wh,
                timestamp=event["timestamp"],
            )
        if local not in self.transactions:  # its StartTransaction was given up
            log.warning("%s has no transactionId from the CSMS; not sent", local)
            return None
        transaction_id, connector = self.transactions[local]
        if event["event_type"] == "Updated":
            return call.MeterValues(
                connector_id=connector,
                transaction_id=transaction_id,
                meter_value=[_meter_value(reading)],
            )
        return call.StopTransaction(
            meter_stop=register_wh,
            timestamp=event["timestamp"],
            transaction_id=transaction_id,
            reason=REASONS.get(event["transaction_info"]["stopped_reason"], "Other"),
            id_tag=event["id_token"]["id_token"],
        )

    def transacted(self, event: dict[str, Any], answer: Any) -> bool:
        """A StartTransaction.conf names the transaction; one refusing the idTag (a session
        started offline) ends it, as StopTransactionOnInvalidId true asks (OCPP 1.6 §9.1)."""
        if event["event_type"] != "Started":
            return False
        local = event["transaction_info"]["transaction_id"]
        self.transactions[local] = (int(answer.transaction_id), event["evse"]["id"])
        return bool(answer.id_tag_info.get("status") != "Accepted")

    def local_transaction(self, transaction_id: str | int) -> str | None:
        return next(
            (local for local, (csms, _) in self.transactions.items() if csms == transaction_id),
            None,
        )


def _meter_value(reading: dict[str, Any]) -> dict[str, Any]:
    """A 2.0.1 MeterValue as 1.6 writes it: values as text, the unit beside the measurand."""
    return {
        "timestamp": reading["timestamp"],
        "sampled_value": [
            {
                "value": str(sampled["value"]),
                "context": "Sample.Periodic",
                "measurand": sampled["measurand"],
                "unit": sampled["unit_of_measure"]["unit"],
            }
            for sampled in reading["sampled_value"]
        ],
    }
