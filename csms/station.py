"""One connected charging station speaking OCPP 2.0.1 or 2.1 as the CSMS sees it: the `ocpp`
library's ChargePoint with the reference CSMS's answers, and the commands the REST API sends.
The messages handled and sent here differ between the two versions only in optional fields."""

from __future__ import annotations

import logging
from typing import Any

from ocpp import v21
from ocpp.charge_point import snake_to_camel_case
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result

from csms.metering import event_from_request, samples
from csms.peer import Peer, now

log = logging.getLogger("ocppscope.csms")
PROFILE_IDS = {"TxDefaultProfile": 1, "TxProfile": 2}
"""One profile id per purpose: a new limit replaces the previous one (K01.FR.05) instead of
piling up profiles at the same stack level, which a station may reject (K01.FR.53)."""


class Station(Peer, ChargePoint):
    # ---- the station's calls ------------------------------------------------------------------

    @on("BootNotification")
    async def on_boot_notification(
        self, charging_station: dict[str, Any], reason: str, **_: Any
    ) -> call_result.BootNotification:
        status = await self.admit(
            charging_station.get("vendor_name", ""),
            charging_station.get("model", ""),
            charging_station.get("serial_number"),
            charging_station.get("firmware_version"),
        )
        full = status == "TooManyStations"
        return call_result.BootNotification(
            current_time=now(),
            interval=self.policy.heartbeat_interval,
            status="Rejected" if full else status,
            status_info={"reason_code": status} if full else None,
        )

    @on("Heartbeat")
    async def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        await self.alive()
        return call_result.Heartbeat(current_time=now())

    @on("StatusNotification")
    async def on_status_notification(
        self, connector_status: str, **_: Any
    ) -> call_result.StatusNotification:
        await self.connector(connector_status)
        return call_result.StatusNotification()

    @on("Authorize")
    async def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_token_info={"status": self._token_status(id_token)})

    @on("TransactionEvent")
    async def on_transaction_event(self, **request: Any) -> call_result.TransactionEvent:
        payload = snake_to_camel_case(request)
        transaction_id, event = event_from_request(payload)
        usage = await self.record(transaction_id, event, payload)
        answer: dict[str, Any] = {}
        if event.event_type == "Ended":
            answer["total_cost"] = usage.cost
        token = request.get("id_token")
        if token:
            answer["id_token_info"] = {"status": self._token_status(token)}
        return call_result.TransactionEvent(**answer)

    @on("MeterValues")
    async def on_meter_values(
        self, evse_id: int, meter_value: list[dict[str, Any]], **_: Any
    ) -> call_result.MeterValues:
        readings = samples(snake_to_camel_case(meter_value))
        powers = [s.power_kw for s in readings if s.power_kw is not None]
        if powers:
            await self.power(powers[-1], "Available")
        return call_result.MeterValues()

    @on("NotifyEvent")
    def on_notify_event(self, **_: Any) -> call_result.NotifyEvent:
        return call_result.NotifyEvent()

    @on("SecurityEventNotification")
    def on_security_event(self, type: str, **_: Any) -> call_result.SecurityEventNotification:  # noqa: A002 (the field's name)
        log.info("%s: security event %s", self.id, type)
        return call_result.SecurityEventNotification()

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, status: str, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on("NotifyReport")
    def on_notify_report(self, **_: Any) -> call_result.NotifyReport:
        return call_result.NotifyReport()

    @on("LogStatusNotification")
    def on_log_status(self, **_: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    def _token_status(self, id_token: dict[str, Any]) -> str:
        return "Blocked" if id_token.get("id_token") in self.policy.denied_tokens else "Accepted"

    # ---- the CSMS's commands ------------------------------------------------------------------

    async def request_start(self, id_token: str, evse_id: int | None, remote_start_id: int) -> Any:
        """The station's answer; raises OCPPError on a CALLERROR."""
        return await self.call(
            call.RequestStartTransaction(
                id_token={"id_token": id_token, "type": "Central"},
                remote_start_id=remote_start_id,
                evse_id=evse_id,
            ),
            suppress=False,
        )

    async def request_stop(self, transaction_id: str) -> Any:
        return await self.call(
            call.RequestStopTransaction(transaction_id=transaction_id), suppress=False
        )

    async def limit_power(
        self, max_power_kw: float, transaction_id: str | None, evse_id: int
    ) -> Any:
        """TxProfile on the running transaction, else TxDefaultProfile for the station (EVSE 0)."""
        purpose = "TxProfile" if transaction_id else "TxDefaultProfile"
        profile: dict[str, Any] = {
            "id": PROFILE_IDS[purpose],
            "stack_level": 0,
            "charging_profile_purpose": purpose,
            "charging_profile_kind": "Relative",
            "charging_schedule": [
                {
                    "id": 1,
                    "charging_rate_unit": "W",
                    "charging_schedule_period": [
                        {"start_period": 0, "limit": round(max_power_kw * 1000, 1)}
                    ],
                }
            ],
        }
        if transaction_id:
            profile["transaction_id"] = transaction_id
        return await self.call(
            call.SetChargingProfile(
                evse_id=evse_id if transaction_id else 0, charging_profile=profile
            ),
            suppress=False,
        )


class Station21(Station):
    """OCPP 2.1: what we handle and send differs from 2.0.1 only in optional fields, so the 2.0.1
    handlers serve, with the 2.1 schemas and result classes of `ocpp.v21`'s ChargePoint."""

    _ocpp_version = v21.ChargePoint._ocpp_version
    _call = v21.ChargePoint._call
    _call_result = v21.ChargePoint._call_result
