"""One connected charge point speaking OCPP 1.6J as the CSMS sees it: the `ocpp` library's v16
ChargePoint with the reference CSMS's answers, and the REST API's commands in their 1.6 form.

Its transactions are recorded in the 2.0.1 TransactionEvent form (csms/metering16.py), so the
usage row, the map and the REST API's waits are the 2.0.1 path's own."""

from __future__ import annotations

from typing import Any

from ocpp.charge_point import snake_to_camel_case
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result

from csms import metering16
from csms.metering import event_from_request, samples
from csms.peer import Names, Peer, now
from csms.station import PROFILE_IDS

IDTAG_LENGTH = 20
"""OCPP 1.6 IdToken is a CiString20Type."""


class Station16(Peer, ChargePoint):
    names = Names(
        "RemoteStartTransaction", "RemoteStopTransaction", "StartTransaction", "StopTransaction"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.remote_starts: dict[str, int] = {}
        """remoteStartId of each idTag sent in a RemoteStartTransaction not yet started: 1.6
        has no remoteStartId, the StartTransaction that follows names the idTag."""

    # ---- the charge point's calls -------------------------------------------------------------

    @on("BootNotification")
    async def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **request: Any
    ) -> call_result.BootNotification:
        status = await self.admit(
            charge_point_vendor,
            charge_point_model,
            request.get("charge_point_serial_number"),
            request.get("firmware_version"),
        )
        return call_result.BootNotification(
            current_time=now(),
            interval=self.policy.heartbeat_interval,
            status="Accepted" if status == "Accepted" else "Rejected",
        )

    @on("Heartbeat")
    async def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        await self.alive()
        return call_result.Heartbeat(current_time=now())

    @on("StatusNotification")
    async def on_status_notification(
        self, connector_id: int, status: str, **_: Any
    ) -> call_result.StatusNotification:
        await self.connector(status)
        return call_result.StatusNotification()

    @on("Authorize")
    async def on_authorize(self, id_tag: str, **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info=self._id_tag_info(id_tag))

    @on("StartTransaction")
    async def on_start_transaction(self, **request: Any) -> call_result.StartTransaction:
        payload = snake_to_camel_case(request)
        transaction_id, new = await self.repository.transaction_id_16(
            self.id, metering16.start_key(payload)
        )
        if new:  # a repeat is answered with the same id and changes nothing
            remote_start_id = self.remote_starts.pop(payload["idTag"], None)
            await self._record(metering16.started(transaction_id, payload, remote_start_id))
        return call_result.StartTransaction(
            transaction_id=transaction_id, id_tag_info=self._id_tag_info(payload["idTag"])
        )

    @on("MeterValues")
    async def on_meter_values(self, **request: Any) -> call_result.MeterValues:
        payload = snake_to_camel_case(request)
        if payload.get("transactionId") is not None:
            await self._record(metering16.updated(payload))
        else:
            readings = samples(metering16.meter_values(payload["meterValue"]))
            powers = [s.power_kw for s in readings if s.power_kw is not None]
            if powers:
                await self.power(powers[-1], "Available")
        return call_result.MeterValues()

    @on("StopTransaction")
    async def on_stop_transaction(self, **request: Any) -> call_result.StopTransaction:
        payload = snake_to_camel_case(request)
        await self._record(metering16.ended(payload))
        id_tag = payload.get("idTag")
        return call_result.StopTransaction(
            id_tag_info=self._id_tag_info(id_tag) if id_tag else None
        )

    @on("DiagnosticsStatusNotification")
    def on_diagnostics_status(self, **_: Any) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    async def _record(self, request: dict[str, Any]) -> None:
        transaction_id, event = event_from_request(request)
        await self.record(transaction_id, event, request)

    def _id_tag_info(self, id_tag: str) -> dict[str, str]:
        return {"status": "Blocked" if id_tag in self.policy.denied_tokens else "Accepted"}

    # ---- the CSMS's commands ------------------------------------------------------------------

    async def request_start(self, id_token: str, evse_id: int | None, remote_start_id: int) -> Any:
        """RemoteStartTransaction; the station's answer, raises OCPPError on a CALLERROR."""
        if len(id_token) > IDTAG_LENGTH:
            raise ValueError(f"an OCPP 1.6 idTag is at most {IDTAG_LENGTH} characters")
        self.remote_starts[id_token] = remote_start_id
        try:
            answer = await self.call(
                call.RemoteStartTransaction(id_tag=id_token, connector_id=evse_id), suppress=False
            )
        except BaseException:  # a CALLERROR, no answer in time: no start will follow
            self.remote_starts.pop(id_token, None)
            raise
        if answer.status != "Accepted":
            self.remote_starts.pop(id_token, None)
        return answer

    async def request_stop(self, transaction_id: str) -> Any:
        """RemoteStopTransaction; a 1.6 transactionId is an integer."""
        if not transaction_id.isdecimal():
            raise ValueError(f"an OCPP 1.6 transactionId is an integer, not {transaction_id!r}")
        return await self.call(
            call.RemoteStopTransaction(transaction_id=int(transaction_id)), suppress=False
        )

    async def limit_power(
        self, max_power_kw: float, transaction_id: str | None, evse_id: int
    ) -> Any:
        """TxProfile on the running transaction, else TxDefaultProfile for the charge point
        (connector 0), in the 1.6 form (OCPP 1.6 §5.16 Set Charging Profile)."""
        purpose = "TxProfile" if transaction_id else "TxDefaultProfile"
        profile: dict[str, Any] = {
            "charging_profile_id": PROFILE_IDS[purpose],
            "stack_level": 0,
            "charging_profile_purpose": purpose,
            "charging_profile_kind": "Relative",
            "charging_schedule": {
                "charging_rate_unit": "W",
                "charging_schedule_period": [
                    {"start_period": 0, "limit": round(max_power_kw * 1000, 1)}
                ],
            },
        }
        if transaction_id:
            profile["transaction_id"] = int(transaction_id)
        return await self.call(
            call.SetChargingProfile(
                connector_id=evse_id if transaction_id else 0, cs_charging_profiles=profile
            ),
            suppress=False,
        )
