"""OCPP 2.0.1 requests of a simulated station (`simulator.dialect`), in the `ocpp` library's
v201 message classes; `simulator.v21` is the same with the 2.1 classes."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ocpp.v201 import call

from simulator.clock import iso
from simulator.events import card_type
from simulator.evse import Evse
from simulator.fleet import StationSpec
from simulator.link import Attached, Link


class V201:
    subprotocol = "ocpp2.0.1"
    link: type[Attached] = Link
    messages: ModuleType = call

    def boot(self, spec: StationSpec, reason: str) -> Any:
        return self.messages.BootNotification(
            charging_station={
                "model": spec.model,
                "vendor_name": spec.vendor,
                "serial_number": spec.serial_number,
                "firmware_version": "1.0.0",
            },
            reason=reason,
        )

    def boot_answer(self, answer: Any) -> tuple[str, int]:
        return answer.status, answer.interval

    def connector_status(self, evse: Evse) -> str:
        return evse.connector_status

    def status(self, evse: int, status: str, now: float) -> Any:
        return self.messages.StatusNotification(
            timestamp=iso(now), connector_status=status, evse_id=evse, connector_id=1
        )

    def authorize(self, id_token: str) -> Any:
        return self.messages.Authorize(id_token={"id_token": id_token, "type": card_type(id_token)})

    def authorized(self, answer: Any) -> bool:
        return bool(answer.id_token_info.get("status") == "Accepted")

    def heartbeat(self) -> Any:
        return self.messages.Heartbeat()

    def started_up(self, now: float) -> Any | None:
        return self.messages.SecurityEventNotification(
            type="StartupOfTheDevice", timestamp=iso(now)
        )

    def transaction(self, event: dict[str, Any]) -> Any | None:
        return self.messages.TransactionEvent(**event)

    def transacted(self, event: dict[str, Any], answer: Any) -> bool:
        """The station names its transactions itself: nothing to note. (TxCtrlr
        StopTxOnInvalidId is not simulated for 2.0.1 and 2.1.)"""
        return False

    def local_transaction(self, transaction_id: str | int) -> str | None:
        return str(transaction_id)
