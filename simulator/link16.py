"""One websocket connection of a simulated OCPP 1.6J station: the `ocpp` library's v16
ChargePoint answering the CSMS's calls from the station's state (`@on`) and acting once the
answer is sent (`@after`), as `simulator.link` does for 2.0.1. Calls the station does not
implement get the library's NotImplemented CALLERROR."""

from __future__ import annotations

from typing import Any

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call_result

from simulator.link import TRIGGERABLE, Attached
from simulator.variables import Settings

KEYS = {
    "HeartbeatInterval": "HeartbeatInterval",
    "TransactionMessageAttempts": "MessageAttempts",
    "TransactionMessageRetryInterval": "MessageAttemptInterval",
    **{name: name for name in Settings.NAMES if name.startswith("RetryBackOff")},
}
"""1.6 configuration keys (OCPP 1.6 §9.1) → the station's setting; the RetryBackOff keys are
the simulator's own (1.6 has no standard back-off keys)."""
PROFILE_PURPOSES = {"TxProfile", "TxDefaultProfile", "ChargePointMaxProfile"}


class Link16(Attached, ChargePoint):
    @on("RemoteStartTransaction")
    def on_remote_start(
        self, id_tag: str, connector_id: int | None = None, **_: Any
    ) -> call_result.RemoteStartTransaction:
        free = self.station.free_evse(connector_id)
        return call_result.RemoteStartTransaction(
            status="Accepted" if free is not None else "Rejected"
        )

    @after("RemoteStartTransaction")
    def after_remote_start(self, id_tag: str, connector_id: int | None = None, **_: Any) -> None:
        """The station authorizes the idTag first (AuthorizeRemoteTxRequests true)."""
        if self.station.free_evse(connector_id) is not None:
            self.station.spawn(self.station.plug_in_and_charge(id_tag, evse=connector_id))

    @on("RemoteStopTransaction")
    def on_remote_stop(self, transaction_id: int, **_: Any) -> call_result.RemoteStopTransaction:
        running = self._running(transaction_id) is not None
        return call_result.RemoteStopTransaction(status="Accepted" if running else "Rejected")

    @after("RemoteStopTransaction")
    def after_remote_stop(self, transaction_id: int, **_: Any) -> None:
        evse = self._running(transaction_id)
        if evse is not None:
            self.station.spawn(self.station.stop_charging("Remote", evse))

    def _running(self, transaction_id: int) -> int | None:
        """The connector whose session the CSMS knows as `transaction_id`."""
        local = self.station.protocol.local_transaction(transaction_id)
        evse = self.station.session_of(local) if local is not None else None
        return evse.number if evse is not None else None

    @on("SetChargingProfile")
    def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> call_result.SetChargingProfile:
        """The first period's limit, in W, as `simulator.link` applies it for 2.0.1."""
        station = self.station
        schedule = cs_charging_profiles["charging_schedule"]
        purpose = cs_charging_profiles["charging_profile_purpose"]
        if purpose not in PROFILE_PURPOSES or schedule["charging_rate_unit"] != "W":
            return call_result.SetChargingProfile(status="NotSupported")
        if (connector_id != 0 and connector_id not in station.evses) or (
            purpose == "TxProfile"
            and (connector_id == 0 or station.evses[connector_id].session is None)
        ):
            return call_result.SetChargingProfile(status="Rejected")
        limit_w = float(schedule["charging_schedule_period"][0]["limit"])
        if purpose == "ChargePointMaxProfile":
            limit_w /= len(station.evses)
        station.limit(limit_w / 1000, connector_id)
        return call_result.SetChargingProfile(status="Accepted")

    @on("GetConfiguration")
    def on_get_configuration(
        self, key: list[str] | None = None, **_: Any
    ) -> call_result.GetConfiguration:
        wanted = KEYS if key is None else key
        known = [name for name in wanted if name in KEYS]
        values = [
            {"key": name, "readonly": False, "value": str(self.station.settings.get(KEYS[name]))}
            for name in known
        ]
        unknown = [name for name in wanted if name not in KEYS]
        return call_result.GetConfiguration(configuration_key=values, unknown_key=unknown or None)

    @on("ChangeConfiguration")
    def on_change_configuration(
        self, key: str, value: str, **_: Any
    ) -> call_result.ChangeConfiguration:
        if key not in KEYS:
            return call_result.ChangeConfiguration(status="NotSupported")
        name = KEYS[key]
        if not value.isdigit() or not self.station.settings.valid(name, int(value)):
            return call_result.ChangeConfiguration(status="Rejected")
        self.station.set_variable(name, int(value))
        return call_result.ChangeConfiguration(status="Accepted")

    @on("Reset")
    def on_reset(self, type: str, **_: Any) -> call_result.Reset:  # noqa: A002 (the field's name)
        return call_result.Reset(status="Accepted")

    @after("Reset")
    def after_reset(self, **_: Any) -> None:
        """Hard or Soft alike: sessions end and the station reboots at once."""
        self.station.reset("Immediate")

    @on("ChangeAvailability")
    def on_change_availability(
        self,
        connector_id: int,
        type: str,  # noqa: A002 (the field's name)
        **_: Any,
    ) -> call_result.ChangeAvailability:
        status = self.station.change_availability(type == "Operative", connector_id)
        return call_result.ChangeAvailability(status=status)

    @after("ChangeAvailability")
    def after_change_availability(self, **_: Any) -> None:
        self.station.report_all()

    @on("TriggerMessage")
    def on_trigger_message(self, requested_message: str, **_: Any) -> call_result.TriggerMessage:
        status = "Accepted" if requested_message in TRIGGERABLE else "NotImplemented"
        return call_result.TriggerMessage(status=status)

    @after("TriggerMessage")
    def after_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> None:
        self.send_triggered(requested_message, connector_id)
