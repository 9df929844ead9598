"""One websocket connection of a simulated OCPP 2.0.1 station (and, with the 2.1 message
classes, a 2.1 one: `simulator.v21`): the `ocpp` library's ChargePoint, answering the CSMS's
calls on the station's behalf. `@on` handlers decide the answer from the station's state;
`@after` handlers act once the answer is sent, so that a StatusNotification or a
TransactionEvent never overtakes the CALLRESULT that announced it. The calls the station does
not implement get the library's NotImplemented CALLERROR."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from ocpp.charge_point import ChargePoint as LibraryChargePoint
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint
from websockets.asyncio.client import ClientConnection

from simulator.variables import echo, variable_status

if TYPE_CHECKING:
    from simulator.station import SimulatedStation

TRIGGERABLE = {"BootNotification", "Heartbeat", "StatusNotification"}
PROFILE_PURPOSES = {"TxProfile", "TxDefaultProfile", "ChargingStationMaxProfile"}


class Attached(LibraryChargePoint):
    """What every version's link keeps beside the library's ChargePoint: its station, the
    socket (to cut it) and the task reading it."""

    def __init__(
        self, station_id: str, ws: ClientConnection, timeout: float, station: SimulatedStation
    ) -> None:
        super().__init__(station_id, ws, response_timeout=timeout)
        self.station = station
        self.transport: asyncio.Transport = ws.transport
        self.reader: asyncio.Task[None] | None = None
        self.first_id = str(uuid.uuid4())
        """The MessageId a duplicate-ids station gives every CALL on this connection."""

    def send_triggered(self, requested_message: str, evse: int | None) -> None:
        """After an accepted TriggerMessage: the requested message (StatusNotification of
        `evse`, or of every EVSE when it names none of the station's)."""
        station = self.station
        if requested_message == "Heartbeat":
            station.spawn(station.quietly(station.heartbeat()))
        elif requested_message == "BootNotification":
            station.spawn(station.quietly(station.boot_again()))
        elif requested_message == "StatusNotification":
            numbers = [evse] if evse in station.evses else station.evses
            for number in numbers:
                station.spawn(station.quietly(station.status(number)))


class Link(Attached, ChargePoint):
    """The OCPP 2.0.1 handlers; the answers are built from the class's `_call_result` so that
    the 2.1 link (the same messages in `ocpp.v21`) shares them."""

    # ---- transactions ------------------------------------------------------------------------

    @on("RequestStartTransaction")
    def on_request_start(self, evse_id: int | None = None, **_: Any) -> Any:
        free = self.station.free_evse(evse_id)
        return self._call_result.RequestStartTransaction(
            status="Accepted" if free is not None else "Rejected"
        )

    @after("RequestStartTransaction")
    def after_request_start(
        self,
        id_token: dict[str, Any],
        remote_start_id: int,
        evse_id: int | None = None,
        **_: Any,
    ) -> None:
        if self.station.free_evse(evse_id) is not None:
            self.station.spawn(
                self.station.plug_in_and_charge(
                    id_token["id_token"],
                    evse=evse_id,
                    remote_start_id=remote_start_id,
                    token_type=id_token["type"],
                )
            )

    @on("RequestStopTransaction")
    def on_request_stop(self, transaction_id: str, **_: Any) -> Any:
        running = self.station.session_of(transaction_id) is not None
        return self._call_result.RequestStopTransaction(
            status="Accepted" if running else "Rejected"
        )

    @after("RequestStopTransaction")
    def after_request_stop(self, transaction_id: str, **_: Any) -> None:
        evse = self.station.session_of(transaction_id)
        if evse is not None:
            self.station.spawn(self.station.stop_charging("Remote", evse.number))

    @on("SetChargingProfile")
    def on_set_charging_profile(
        self, evse_id: int, charging_profile: dict[str, Any], **_: Any
    ) -> Any:
        """The first period's limit, in W, on the EVSE (0: every EVSE; a station maximum is
        shared equally). A TxProfile needs a transaction on its EVSE."""
        schedule = charging_profile["charging_schedule"][0]
        purpose = charging_profile["charging_profile_purpose"]
        station = self.station
        reason = None
        if schedule["charging_rate_unit"] != "W":  # ChargingScheduleChargingRateUnit: W only
            reason = "UnsupportedRateUnit"
        elif purpose not in PROFILE_PURPOSES or (evse_id != 0 and evse_id not in station.evses):
            reason = "UnsupportedRequest"
        elif purpose == "TxProfile" and (evse_id == 0 or station.evses[evse_id].session is None):
            reason = "TxNotFound"
        if reason is not None:
            return self._call_result.SetChargingProfile(
                status="Rejected", status_info={"reason_code": reason}
            )
        limit_w = float(schedule["charging_schedule_period"][0]["limit"])
        if purpose == "ChargingStationMaxProfile":
            limit_w /= len(station.evses)
        station.limit(limit_w / 1000, evse_id)
        return self._call_result.SetChargingProfile(status="Accepted")

    # ---- device model ------------------------------------------------------------------------

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        return self._call_result.GetVariables(
            get_variable_result=[self._get(item) for item in get_variable_data]
        )

    def _get(self, item: dict[str, Any]) -> dict[str, Any]:
        status = variable_status(item)
        result = {"attribute_status": status, **echo(item)}
        if status == "Accepted":
            result["attribute_value"] = str(self.station.settings.get(item["variable"]["name"]))
        return result

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        return self._call_result.SetVariables(
            set_variable_result=[self._set(item) for item in set_variable_data]
        )

    def _set(self, item: dict[str, Any]) -> dict[str, Any]:
        status = variable_status(item)
        name = item["variable"]["name"]
        if status == "Accepted":
            value = str(item["attribute_value"])
            if value.isdigit() and self.station.settings.valid(name, int(value)):
                self.station.set_variable(name, int(value))
            else:
                status = "Rejected"
        return {"attribute_status": status, **echo(item)}

    # ---- availability and reset --------------------------------------------------------------

    @on("Reset")
    def on_reset(self, type: str, evse_id: int | None = None, **_: Any) -> Any:  # noqa: A002 (the field's name)
        if evse_id is not None:  # resetting one EVSE is optional in OCPP 2.0.1; not here
            return self._call_result.Reset(
                status="Rejected", status_info={"reason_code": "UnsupportedRequest"}
            )
        return self._call_result.Reset(status=self.station.reset_answer(type))

    @after("Reset")
    def after_reset(self, type: str, evse_id: int | None = None, **_: Any) -> None:  # noqa: A002
        if evse_id is None:
            self.station.reset(type)

    @on("ChangeAvailability")
    def on_change_availability(
        self, operational_status: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> Any:
        number = (evse or {}).get("id", 0)
        status = self.station.change_availability(operational_status == "Operative", number)
        return self._call_result.ChangeAvailability(status=status)

    @after("ChangeAvailability")
    def after_change_availability(self, **_: Any) -> None:
        self.station.report_all()

    # ---- triggered messages ------------------------------------------------------------------

    @on("TriggerMessage")
    def on_trigger_message(self, requested_message: str, **_: Any) -> Any:
        status = "Accepted" if requested_message in TRIGGERABLE else "NotImplemented"
        return self._call_result.TriggerMessage(status=status)

    @after("TriggerMessage")
    def after_trigger_message(
        self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> None:
        self.send_triggered(requested_message, evse.get("id") if evse else None)
